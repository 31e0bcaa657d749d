import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** Protocol-neutral metadata for one directory entry. */
export interface FileStat {
  /** Base name (surrogate-escaped when not valid UTF-8, see core/bytes.ts). */
  name: string;
  type: EntryType;
  size: number;
  mtime: Date;
  /** POSIX permission bits (e.g. 0o644); backends without modes report a sensible default. */
  mode: number;
  nlink?: number;
  /** A stable identity for MLSD `unique` when the backend has one (dev+inode). */
  unique?: string;
  /** For symlinks: the link text, and what it points at when that is inside the root. */
  linkTarget?: string;
  target?: { type: EntryType; size: number; mtime: Date; mode: number };
}

/**
 * How a backend that can format listings itself (LocalStorage with the native module) should
 * write the lines. Line formats are the front end's business; this only says which of the two
 * it wants and hands over what varies per session, plus the front end's own formatter for the
 * entries the fast path leaves to it.
 */
export interface ListFormatSpec {
  /** 'ls': `ls -l` lines (FTP LIST); 'facts': RFC 3659 fact lines (MLSD). */
  format: 'ls' | 'facts';
  /** Milliseconds since the epoch: 'ls' shows the time of entries within six months of it, else the year. */
  now: number;
  /** For 'facts': the enabled facts (type, size, modify, perm, unique, unix.mode). */
  facts: ReadonlySet<string>;
  /** For 'facts': the `perm` letters per entry type. */
  perms: { file: string; dir: string; other: string };
  /** One line (without CRLF) for an entry the fast path leaves to JavaScript (symlinks, mostly). */
  line(entry: FileStat): string;
}

export interface ReadOptions {
  /** Byte offset to start at (REST). */
  start?: number;
  /** Stream chunk size hint. */
  highWaterMark?: number;
}

/** What `openDownload` found: the open stream and its size, or the kind of entry that is not a file. */
export type OpenedDownload = { stream: Readable; size: number } | { notAFile: EntryType };

export interface WriteOptions {
  /** Byte offset to write at without truncating what is before it (REST + STOR). */
  start?: number;
  /** Append to the end (APPE). */
  append?: boolean;
  /** Fail when the file exists (STOU). */
  exclusive?: boolean;
  /** Write to a temporary name and rename over the target only when `commit()` is called. */
  atomic?: boolean;
  /** fsync before reporting success. */
  fsync?: boolean;
}

/**
 * A writable upload target. The front end pipes bytes into `stream`, then calls `commit()`
 * when the transfer succeeded (flush, fsync, atomic rename) or `abort()` when it did not.
 */
export interface UploadSink {
  stream: Writable;
  /**
   * Optional fast path for binary uploads: reads `socket` to its end straight into storage,
   * calling `onBytes` per chunk. Resolves when every byte is stored; when the peer vanishes,
   * what arrived is stored first (resumable), then it rejects. Storage errors are WharfErrors.
   */
  receiveFrom?(socket: Socket, onBytes: (n: number) => void): Promise<void>;
  /**
   * Optional native fast path for binary uploads (src/ftp/data/native-endpoint.ts): stores
   * what a bare plain-TCP socket descriptor sends until it ends, with the same rules as
   * receiveFrom; `cancel` (ABOR) stops it, keeping what arrived. Undefined: not this time.
   */
  receiveFromFd?(socketFd: number, onBytes: (n: number) => void): { done: Promise<void>; cancel(): void } | undefined;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Every storage backend speaks virtual paths ('/a/b', already normalized and inside the
 * user's root) and throws WharfError with semantic codes. No protocol knowledge here.
 */
export interface StorageBackend {
  stat(path: string): Promise<FileStat>;
  list(path: string): AsyncIterable<FileStat>;
  /** Optional: the same entries in batches (cheaper for large folders than one promise per entry). */
  listBatches?(path: string): AsyncIterable<FileStat[]>;
  /**
   * Optional fast path: the listing of a directory as ready-made lines (Buffers of whole
   * CRLF-terminated lines, in directory order), or undefined when this backend cannot do it
   * right now (the caller then formats `listBatches`). See ListFormatSpec.
   */
  listFormatted?(path: string, spec: ListFormatSpec): AsyncIterable<Buffer> | undefined;
  read(path: string, options?: ReadOptions): Promise<Readable>;
  /**
   * Optional fast path for a download: checks that the path is a regular file (without
   * opening anything else), opens it and reports its size, in one containment check, where
   * stat() then read() resolve the path twice. Errors as read() (missing: STORAGE_NOT_FOUND).
   */
  openDownload?(path: string, options?: ReadOptions): Promise<OpenedDownload>;
  write(path: string, options?: WriteOptions): Promise<UploadSink>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  setTimes(path: string, mtime: Date): Promise<void>;
  chmod?(path: string, mode: number): Promise<void>;
}
