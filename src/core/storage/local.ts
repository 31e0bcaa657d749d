import {
  lstatSync,
  statSync,
  fstatSync,
  openSync,
  closeSync,
  realpathSync,
  opendirSync,
  readlinkSync,
  type Dir,
  mkdirSync,
  rmdirSync,
  unlinkSync,
  renameSync,
  constants as fsc,
  type Stats,
  fsync as fsyncCb,
  close as closeCb,
  ftruncate as ftruncateCb,
} from 'node:fs';
import { promisify } from 'node:util';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { WharfError, fromFsError } from '../errors.js';
import { decodeBytes, encodeBytes } from '../bytes.js';
import { baseName, parentOf, splitVirtual } from '../vpath.js';
import { FileSource } from './file-source.js';
import { UploadOpener } from './upload-opener.js';
import { FdWriter } from './file-sink.js';
import { lstatEntry } from './listing-lstat.js';
import { nativeListLines } from './native-listing.js';
import { nativeListing } from '../native.js';
import { keepShape } from '../warm-shapes.js';
import type { EntryType, FileStat, ListFormatSpec, OpenedDownload, ReadOptions, StorageBackend, UploadSink, WriteOptions } from './types.js';

const ONE_MIB = 1024 * 1024;
const fdSync = promisify(fsyncCb);
const fdClose = promisify(closeCb);
const fdTruncate = promisify(ftruncateCb);
const STAT_BATCH = 256;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already reported by the operation that failed
  }
}

/**
 * Uploads that reach this far are closed on the thread pool. Replacing a file (O_TRUNC) makes
 * ext4 start writeback of all its delayed blocks in close() (auto_da_alloc): ~190 ms for a
 * 512 MiB upload measured here, time a synchronous close took from every other session.
 * Small files close synchronously: for them the hop to the pool costs more than the close.
 */
const ASYNC_CLOSE_BYTES = 4 * 1024 * 1024;

function closeMayFlush(reach: number | null): boolean {
  return reach === null || reach >= ASYNC_CLOSE_BYTES;
}

const NON_ASCII = /[^\x00-\x7f]/;
const SLASH = Buffer.from('/');

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toFileStat(name: string, st: Stats): FileStat {
  return {
    name,
    type: typeOf(st),
    size: st.size,
    // The same Date as st.mtime (Node rounds mtimeMs too), without reading that accessor,
    // which redefines the property and turns the Stats object into a slow dictionary.
    mtime: new Date(Math.round(st.mtimeMs)),
    mode: st.mode & 0o7777,
    nlink: st.nlink,
    unique: `${st.dev.toString(16)}g${st.ino.toString(16)}`,
  };
}

/**
 * The local filesystem under one root folder. Containment is enforced here, on real paths:
 * every operation resolves symlinks of the existing part of the path and refuses anything
 * whose real location leaves the root (a planted symlink to /etc reads as "outside root").
 *
 * Metadata calls (realpath, stat, open, unlink, rename...) are synchronous on purpose: on a
 * local filesystem they take microseconds, while each thread-pool round trip cost ~100 us
 * of latency on this 2-core machine and made a 4 KB RETR or STOR 3x slower than vsftpd's.
 * Data (read, write, fsync) stays on the thread pool.
 */
export class LocalStorage implements StorageBackend {
  readonly root: string;
  private realRoot: Promise<Buffer>;
  /** The root path has no symlinks in it (enables plainBelowRoot). */
  private readonly rootIsReal: boolean;
  /** Creates upload targets: on the event loop, or on the thread pool after a slow one. */
  private readonly uploadOpener = new UploadOpener();

  constructor(root: string) {
    this.root = nodePath.resolve(root);
    this.realRoot = fsp.realpath(this.root).then((p) => encodeBytes(p));
    this.realRoot.catch(() => undefined);
    try {
      this.rootIsReal = realpathSync.native(this.root) === this.root;
    } catch {
      this.rootIsReal = false; // not there (yet): every path takes the general check
    }
  }

  /** The on-disk path for a virtual path, as bytes (names need not be UTF-8). */
  private diskPath(vpath: string): Buffer {
    return this.diskPathOf(splitVirtual(vpath));
  }

  private diskPathOf(parts: readonly string[]): Buffer {
    return encodeBytes(parts.length ? this.root + '/' + parts.join('/') : this.root);
  }

  /**
   * The common case, cheaply: when the root is its own real path and every component below
   * it is a plain directory (the last one a plain entry or missing), the path is inside the
   * root. One lstat per component below the root, where realpath(3) readlinks every
   * component of the whole absolute path. Anything else (a symlink, '..', a missing
   * directory) returns false and takes the general path. With `followLast`, an existing last
   * component comes back as its lstat, which is also its stat (it is not a link).
   */
  private plainBelowRoot(parts: readonly string[], disk: Buffer, followLast: boolean): Stats | boolean {
    if (!this.rootIsReal) return false;
    const checked = followLast ? parts.length : parts.length - 1;
    let prefix = this.root;
    for (let i = 0; i < checked; i++) {
      const part = parts[i]!;
      if (part === '..') return false;
      prefix += '/' + part;
      let st;
      try {
        // the whole path is already encoded: the last component needs no second encoding
        st = lstatSync(i === parts.length - 1 ? disk : encodeBytes(prefix), { throwIfNoEntry: false });
      } catch {
        return false;
      }
      const last = i === parts.length - 1;
      if (!st) return last; // a missing last component: a new file in a plain directory
      if (st.isSymbolicLink()) return false;
      if (!last && !st.isDirectory()) return false;
      if (last) return st;
    }
    return true;
  }

  private async within(real: Buffer): Promise<boolean> {
    const root = await this.realRoot.catch((err) => {
      throw fromFsError(err, 'storage root');
    });
    if (real.equals(root)) return true;
    const rootSlash = root[root.length - 1] === 0x2f ? root : Buffer.concat([root, Buffer.from('/')]);
    return real.length > rootSlash.length && real.subarray(0, rootSlash.length).equals(rootSlash);
  }

  /**
   * Resolves a virtual path to a disk path whose real location is inside the root.
   * `followLast` false checks only the parent (for unlink/rename/lstat of a link itself).
   */
  private async contained(vpath: string, followLast = true): Promise<Buffer> {
    const parts = splitVirtual(vpath);
    const disk = this.diskPathOf(parts);
    if (parts.length === 0) return disk;
    if (this.plainBelowRoot(parts, disk, followLast) !== false) return disk;
    const probe = followLast ? disk : this.diskPath(parentOf(vpath));
    let real: Buffer;
    try {
      real = realpathSync.native(probe, { encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fromFsError(err, 'resolve');
      // The target does not exist yet (upload, mkdir): its parent must be inside the root.
      if (!followLast) throw fromFsError(err, 'resolve');
      const parent = this.diskPath(parentOf(vpath));
      try {
        real = realpathSync.native(parent, { encoding: 'buffer' });
      } catch (perr) {
        throw fromFsError(perr, 'resolve');
      }
      if (!(await this.within(real))) throw new WharfError('PATH_OUTSIDE_ROOT', 'Path is outside the root');
      // A dangling symlink as the last component would let a create escape; refuse it.
      try {
        const lst = lstatSync(disk);
        if (lst.isSymbolicLink()) throw new WharfError('PATH_OUTSIDE_ROOT', 'Dangling symbolic link');
      } catch (lerr) {
        if (lerr instanceof WharfError) throw lerr;
      }
      return disk;
    }
    if (!(await this.within(real))) throw new WharfError('PATH_OUTSIDE_ROOT', 'Path is outside the root');
    return disk;
  }

  async stat(vpath: string): Promise<FileStat> {
    const disk = await this.contained(vpath);
    try {
      return toFileStat(baseName(vpath), statSync(disk));
    } catch (err) {
      throw fromFsError(err, 'stat');
    }
  }

  async *list(vpath: string): AsyncIterable<FileStat> {
    for await (const batch of this.listBatches(vpath)) yield* batch;
  }

  /**
   * The entries of a directory in batches. Each batch is read and lstat'ed synchronously:
   * readdir just brought those inodes into cache, so an lstat takes about a microsecond, where
   * a thread-pool round trip (and a promise) per entry made listings several times slower.
   * The batch bound keeps memory flat for huge folders and lets the caller yield between
   * batches.
   *
   * Names are read as latin1 strings: one char per byte, so no byte is lost (names need not
   * be UTF-8), and three times cheaper than a Buffer per name. The common all-ASCII name is
   * then already its decoded form and, joined to an ASCII directory path, an lstat path.
   * Entries need no containment check of their own: the directory is inside the root and an
   * lstat does not follow links (symlinks are checked in describeLink).
   */
  async *listBatches(vpath: string): AsyncIterable<FileStat[]> {
    const disk = await this.contained(vpath);
    let dir: Dir;
    try {
      dir = opendirSync(disk, { encoding: 'latin1', bufferSize: 32 });
    } catch (err) {
      throw fromFsError(err, 'list');
    }
    const dirText = disk.toString('latin1') + '/';
    const dirIsAscii = isAscii(disk);
    try {
      for (;;) {
        const batch: FileStat[] = [];
        let done = false;
        while (batch.length < STAT_BATCH) {
          const dirent = dir.readSync();
          if (dirent === null) {
            done = true;
            break;
          }
          const rawName = dirent.name; // latin1: each char is one byte of the on-disk name
          const nameIsAscii = !NON_ASCII.test(rawName);
          const name = nameIsAscii ? rawName : decodeBytes(Buffer.from(rawName, 'latin1'));
          const full: string | Buffer = dirIsAscii && nameIsAscii ? dirText + rawName : Buffer.from(dirText + rawName, 'latin1');
          const entry = await this.describeEntry(full, name);
          if (entry) batch.push(entry);
        }
        if (batch.length) yield batch;
        if (done) break;
      }
    } catch (err) {
      throw fromFsError(err, 'list');
    } finally {
      try {
        dir.closeSync();
      } catch {
        // closing a directory handle cannot lose data
      }
    }
  }

  /**
   * The listing as ready-made lines, formatted in C (native/listing.c), when the native module
   * is loaded; undefined otherwise (the caller formats listBatches). The directory passes the
   * same containment check as listBatches, and symlinks are described by describeLink here.
   */
  listFormatted(vpath: string, spec: ListFormatSpec): AsyncIterable<Buffer> | undefined {
    const io = nativeListing;
    if (!io) return undefined;
    return (async function* (storage: LocalStorage) {
      const disk = await storage.contained(vpath);
      yield* nativeListLines(io, disk, spec, (rawName) => storage.describeEntry(Buffer.concat([disk, SLASH, rawName]), decodeBytes(rawName)));
    })(this);
  }

  /** One listed entry by its full path (a latin1 string or bytes): lstat, and for a symlink its description; undefined when it vanished since readdir. */
  private async describeEntry(full: string | Buffer, name: string): Promise<FileStat | undefined> {
    const entry = lstatEntry(full, name);
    if (entry?.type === 'symlink') await this.describeLink(typeof full === 'string' ? Buffer.from(full, 'latin1') : full, entry);
    return entry;
  }

  /** Synchronous, like the other metadata calls: three thread-pool round trips per link made link-heavy folders list slowly. */
  private async describeLink(full: Buffer, entry: FileStat): Promise<void> {
    try {
      entry.linkTarget = decodeBytes(readlinkSync(full, { encoding: 'buffer' }));
      const real = realpathSync.native(full, { encoding: 'buffer' });
      if (!(await this.within(real))) return; // never reveal metadata of what lies outside
      const st = statSync(full);
      entry.target = { type: typeOf(st), size: st.size, mtime: st.mtime, mode: st.mode & 0o7777 };
    } catch {
      // dangling link: shown as a link without a target
    }
  }

  async read(vpath: string, options: ReadOptions = {}): Promise<Readable> {
    return this.openFile(await this.contained(vpath), options).stream;
  }

  async openDownload(vpath: string, options: ReadOptions = {}): Promise<OpenedDownload> {
    const parts = splitVirtual(vpath);
    let disk = this.diskPathOf(parts);
    const plain = parts.length > 0 ? this.plainBelowRoot(parts, disk, true) : false;
    let st: Stats;
    if (typeof plain === 'object') st = plain;
    else {
      if (plain === false) disk = await this.contained(vpath);
      try {
        st = statSync(disk);
      } catch (err) {
        throw fromFsError(err, 'stat');
      }
    }
    // Never open what is not a regular file: opening a FIFO blocks, a device may act on open.
    if (!st.isFile()) return { notAFile: typeOf(st) };
    return this.openFile(disk, options);
  }

  /** Opens a contained path for reading; the checks after open are the ones that count (the file may have been swapped). */
  private openFile(disk: Buffer, options: ReadOptions): { stream: FileSource; size: number } {
    let fd: number;
    try {
      fd = openSync(disk, fsc.O_RDONLY);
    } catch (err) {
      throw fromFsError(err, 'open');
    }
    let size: number;
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
      if (!st.isFile()) throw new WharfError('PERMISSION_DENIED', 'Not a regular file');
      const start = options.start ?? 0;
      if (start > st.size) throw new WharfError('STORAGE_INVALID_RANGE', 'Restart offset beyond end of file');
      size = st.size;
      keepShape('stats', st); // fs.Stats objects live for microseconds: see core/warm-shapes.ts
    } catch (err) {
      closeSync(fd);
      throw fromFsError(err, 'open');
    }
    return { stream: new FileSource(fd, options.start ?? 0, options.highWaterMark ?? ONE_MIB, size), size };
  }

  /**
   * Opens an upload's target. `plainParents`: only the folders on the way were checked
   * (plainBelowRoot), so the last component must not be followed: O_NOFOLLOW makes the open
   * fail with ELOOP on a symlink, and such a path then takes the full check (which allows a
   * link whose real target is inside the root and refuses the rest, dangling links included),
   * exactly as if it had been checked first.
   */
  private async openUploadTarget(vpath: string, target: Buffer, flags: number, plainParents: boolean): Promise<number> {
    if (!plainParents) return this.uploadOpener.open(target, flags, 0o644);
    try {
      return await this.uploadOpener.open(target, flags | fsc.O_NOFOLLOW, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
    }
    return this.uploadOpener.open(await this.contained(vpath), flags, 0o644);
  }

  async write(vpath: string, options: WriteOptions = {}): Promise<UploadSink> {
    const atomic = options.atomic === true && !options.append && !options.start;
    const parts = splitVirtual(vpath);
    // The common upload (not atomic, every folder on the way a plain directory) skips the
    // containment lstat of its last component: the open itself refuses a symlink there
    // (O_NOFOLLOW, see openUploadTarget), atomically, where the lstat only looked first.
    // (Not for STOU's O_EXCL: there a symlink fails with EEXIST before O_NOFOLLOW is looked
    // at. A replacing STOR also tries O_EXCL first, but its EEXIST leads to a plain open,
    // where O_NOFOLLOW does its work.)
    const direct = parts.length > 0 && parts[parts.length - 1] !== '..' ? this.diskPathOf(parts) : undefined;
    const plainParents = !atomic && !options.exclusive && direct !== undefined && this.plainBelowRoot(parts, direct, false) === true;
    const disk = plainParents ? direct! : await this.contained(vpath);
    const target = atomic
      ? Buffer.concat([this.diskPath(parentOf(vpath)), Buffer.from(`/.wharf-upload-${randomBytes(6).toString('hex')}.part`)])
      : disk;
    // A plain STOR replaces the file, but only once its data connection is there: the file
    // is opened without O_TRUNC and written from offset 0, and its old bytes past the upload
    // are cut when the upload ends. A transfer that never starts (425, ABOR before the
    // connection) thus leaves an existing file as it was, and removes a file it created.
    const replace = !atomic && !options.exclusive && !options.append && !(options.start && options.start > 0);
    let flags: number;
    if (options.exclusive || replace) flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL;
    else if (options.append) flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND;
    else if (options.start && options.start > 0) flags = fsc.O_WRONLY | fsc.O_CREAT;
    else flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC;
    let fd: number;
    /** This upload made the file: one that never starts removes it again. */
    let created = false;
    try {
      // On the event loop like the other metadata calls, unless creates here turned out slow
      // (see upload-opener.ts).
      try {
        fd = await this.openUploadTarget(vpath, target, flags, plainParents);
        created = replace;
      } catch (err) {
        if (!replace || (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // O_CREAT again: the file may have been deleted since (then it is simply not "ours").
        fd = await this.openUploadTarget(vpath, target, fsc.O_WRONLY | fsc.O_CREAT, plainParents);
      }
    } catch (err) {
      throw fromFsError(err, 'open');
    }
    /** A replaced file's old bytes past the upload are cut when it ends. */
    const cutTail = replace && !created;
    let identity: { dev: number; ino: number };
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Not a regular file');
      if (options.start && options.start > st.size) throw new WharfError('STORAGE_INVALID_RANGE', 'Restart offset beyond end of file');
      identity = { dev: st.dev, ino: st.ino };
    } catch (err) {
      closeSync(fd);
      throw fromFsError(err, 'open');
    }
    // A numeric fd (not a FileHandle) so the writes can finish, then fsync, then close, in that order.
    const writer = new FdWriter(fd, options.append ? null : (options.start ?? 0));
    let settled = false;
    /** Whether the bytes began to move (the data connection was there). */
    let started = false;
    const removeTemp = () => (atomic ? fsp.rm(target, { force: true }).catch(() => undefined) : Promise.resolve());
    /**
     * Removes the file this upload created, unless something else has taken its name since.
     * Synchronous, like the other metadata calls, and for a reason of its own: the session's
     * next command (a retry of the same STOR above all) must not run before the name is free.
     */
    const removeCreated = () => {
      try {
        const now = lstatSync(target);
        if (now.dev === identity.dev && now.ino === identity.ino) unlinkSync(target);
      } catch {
        // gone already
      }
    };
    return {
      get stream() {
        started = true;
        return writer.stream;
      },
      receiveFrom: (socket, onBytes) => {
        started = true;
        return writer.receiveFrom(socket, onBytes);
      },
      receiveFromFd: (socketFd, onBytes) => {
        const receiving = writer.receiveFromFd(socketFd, onBytes);
        if (receiving) started = true;
        return receiving;
      },
      commit: async () => {
        if (settled) return;
        settled = true;
        try {
          if (cutTail) await fdTruncate(fd, writer.reach ?? 0);
        } catch (err) {
          closeQuietly(fd);
          throw fromFsError(err, 'write');
        }
        try {
          if (options.fsync) await fdSync(fd);
        } catch (err) {
          closeQuietly(fd);
          await removeTemp();
          throw fromFsError(err, 'fsync');
        }
        try {
          // The descriptor is released even when close reports an error: never twice.
          if (closeMayFlush(writer.reach)) await fdClose(fd);
          else closeSync(fd);
        } catch (err) {
          await removeTemp();
          throw fromFsError(err, 'close');
        }
        keepShape('fileWriter', writer); // see core/warm-shapes.ts
        if (atomic) {
          try {
            await fsp.rename(target, disk);
          } catch (err) {
            await removeTemp();
            throw fromFsError(err, 'rename');
          }
        }
      },
      abort: async () => {
        if (settled) return;
        settled = true;
        if (!started) {
          closeQuietly(fd);
          if (created) removeCreated();
          await removeTemp();
          return;
        }
        const stream = writer.streamUsed;
        // An errored stream (ENOSPC, EIO) is not destroyed (autoClose is off, so neither is
        // autoDestroy) and will never emit 'finish': waiting for it would leak the descriptor.
        if (stream?.errored) stream.destroy();
        else if (stream && !stream.writableFinished && !stream.destroyed) {
          // keep what arrived (a resumable partial upload), unless the upload is atomic
          await new Promise<void>((resolve) => {
            stream.once('finish', () => resolve());
            stream.once('error', () => resolve());
            stream.end();
          });
        }
        // What arrived replaces the file (a resumable partial upload), not a mix with its old tail.
        if (cutTail) await fdTruncate(fd, writer.reach ?? 0).catch(() => undefined);
        await fdClose(fd).catch(() => undefined);
        await removeTemp();
      },
    };
  }

  async mkdir(vpath: string): Promise<void> {
    const disk = await this.contained(vpath);
    try {
      mkdirSync(disk);
    } catch (err) {
      throw fromFsError(err, 'mkdir');
    }
  }

  async rmdir(vpath: string): Promise<void> {
    if (splitVirtual(vpath).length === 0) throw new WharfError('PERMISSION_DENIED', 'Cannot remove the root');
    const disk = await this.contained(vpath, false);
    try {
      const st = lstatSync(disk);
      if (!st.isDirectory()) throw new WharfError('STORAGE_NOT_A_DIRECTORY', 'Not a directory');
      rmdirSync(disk);
    } catch (err) {
      throw fromFsError(err, 'rmdir');
    }
  }

  async unlink(vpath: string): Promise<void> {
    const disk = await this.contained(vpath, false);
    try {
      // unlink(2) never removes a directory, so no lstat first (a syscall per DELE): only a
      // refusal is examined, so that a directory is reported as one whatever errno the
      // platform chose (Linux EISDIR, POSIX EPERM).
      unlinkSync(disk);
    } catch (err) {
      throw isDirectoryRefusal(err, disk) ? new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory') : fromFsError(err, 'delete');
    }
  }

  async rename(from: string, to: string): Promise<void> {
    if (splitVirtual(from).length === 0) throw new WharfError('PERMISSION_DENIED', 'Cannot rename the root');
    const src = await this.contained(from, false);
    const dst = await this.contained(to, false);
    try {
      lstatSync(src);
      renameSync(src, dst);
    } catch (err) {
      throw fromFsError(err, 'rename');
    }
  }

  async setTimes(vpath: string, mtime: Date): Promise<void> {
    const disk = await this.contained(vpath);
    try {
      await fsp.utimes(disk, mtime, mtime);
    } catch (err) {
      throw fromFsError(err, 'utimes');
    }
  }

  async chmod(vpath: string, mode: number): Promise<void> {
    const disk = await this.contained(vpath);
    try {
      await fsp.chmod(disk, mode & 0o777);
    } catch (err) {
      throw fromFsError(err, 'chmod');
    }
  }
}

/** An unlink refused because the target is a directory (EISDIR on Linux, EPERM elsewhere). */
function isDirectoryRefusal(err: unknown, disk: Buffer): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EISDIR' && code !== 'EPERM') return false;
  try {
    return lstatSync(disk, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}
