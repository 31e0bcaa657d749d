import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import * as net from 'node:net';
import * as tls from 'node:tls';

/**
 * The optional native fast path (native/wharf.c, built by scripts/build-native.mjs): sendfile(2)
 * for downloads and splice(2) for uploads on plain data connections. Without it every byte
 * crosses into JavaScript and back; with it the kernel moves pages directly. Absent (no C
 * compiler at build time, not Linux, or WHARF_NATIVE=off) Wharf uses the JavaScript path.
 */
export interface NativeIo {
  /** Sends up to `count` bytes of `fileFd` from `offset`: bytes sent (0 at end of file) or -errno (-EAGAIN: socket full). */
  sendfile(socketFd: number, fileFd: number, offset: number, count: number): number;
  /** sendfile for the last bytes before the socket closes: TCP_CORK first, so the close sends them with the FIN (absent in older builds). */
  sendfileLast?(socketFd: number, fileFd: number, offset: number, count: number): number;
  /** A non-blocking pipe for one upload's spliceToFile calls: [readFd, writeFd], or -errno. */
  pipe(): [number, number] | number;
  /**
   * Moves up to `max` waiting bytes from the socket through the pipe into the file at
   * `offset`: bytes stored (0 when nothing waits or the peer finished), -errno for a socket
   * failure, or -(FILE_ERROR_BASE + errno) for a file failure.
   */
  spliceToFile(socketFd: number, pipeRead: number, pipeWrite: number, fileFd: number, offset: number, max: number): number;
  /** Returns freed C heap memory to the system (glibc malloc_trim); 1 when some went back. */
  trimMemory(): number;
  /** Unmaps clean, never-written file pages (the node executable's) from this process: KiB released, or -errno (native/file-pages.c). */
  releaseFilePages?(): number;
  /**
   * V8's low-memory collection (node::LowMemoryNotification): compacts, shrinks the young
   * generation and returns pooled heap pages. Absent when the running node does not export it.
   */
  lowMemory?(): number;
  /** One non-blocking send(2) of a control reply: bytes sent or -errno (absent in older builds; see ftp/control/direct-write.ts). */
  sendNow?(socketFd: number, data: Uint8Array): number;
  readonly FILE_ERROR_BASE: number;
}

export const EAGAIN = 11;

/** Whether `io` (an older or partial build of the module, perhaps) has every one of these functions. */
function hasFunctions<T extends object>(io: object | undefined, names: readonly (keyof T & string)[]): io is T {
  return io !== undefined && names.every((name) => typeof (io as Record<string, unknown>)[name] === 'function');
}

function load(): NativeIo | undefined {
  if (process.env.WHARF_NATIVE === 'off' || process.platform !== 'linux') return undefined;
  try {
    const io = createRequire(import.meta.url)('../../native/wharf.node') as Partial<NativeIo>;
    if (!hasFunctions<NativeIo>(io, ['sendfile', 'pipe', 'spliceToFile', 'trimMemory']) || typeof io.FILE_ERROR_BASE !== 'number') return undefined;
    return io as NativeIo;
  } catch {
    return undefined; // not built: the JavaScript path serves every transfer
  }
}

/** The native fast path, when it was built and is enabled. */
export const nativeIo: NativeIo | undefined = load();

interface HandleWithFd {
  fd?: unknown;
}

/**
 * The descriptor of a plain TCP socket that nothing else is writing to, or undefined (TLS
 * sockets encrypt in user space, so their bytes must pass through JavaScript).
 */
export function plainSocketFd(socket: net.Socket): number | undefined {
  if (socket instanceof tls.TLSSocket || socket.destroyed || socket.writableLength > 0) return undefined;
  const fd = (socket as unknown as { _handle?: HandleWithFd | null })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd > 2 ? fd : undefined;
}

/** Socket errors mean the data connection broke (426); anything else is the file's fault (451). */
const SOCKET_ERRNOS = new Set(['EPIPE', 'ECONNRESET', 'ENOTCONN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ECONNABORTED']);

/** An Error shaped like Node's own fs/net errors, from a negative errno returned by the addon. */
export function errnoError(negativeErrno: number, syscall: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(negativeErrno);
  } catch {
    code = 'EIO';
  }
  const err: NodeJS.ErrnoException = new Error(`${syscall} failed: ${code}`);
  err.code = code;
  err.errno = negativeErrno;
  err.syscall = syscall;
  return err;
}

/**
 * The error a negative sendfile result stands for. sendfile cannot say which side failed, so
 * the errno decides: a broken connection is a failed 'write' (426), anything else a failed
 * 'read' of the file (a storage error).
 */
export function sendfileError(result: number): NodeJS.ErrnoException {
  const err = errnoError(result, 'read');
  if (err.code !== undefined && SOCKET_ERRNOS.has(err.code)) err.syscall = 'write';
  return err;
}

/** A negative native result that stands for a failure of the file (-(FILE_ERROR_BASE + errno)): its -errno; undefined for a socket's. */
export function fileSideErrno(io: NativeIo, result: number): number | undefined {
  return result <= -io.FILE_ERROR_BASE ? result + io.FILE_ERROR_BASE : undefined;
}

/** The error a negative spliceToFile result stands for, and whether the file (not the socket) failed. */
export function spliceError(io: NativeIo, result: number): { error: NodeJS.ErrnoException; fileSide: boolean } {
  const fileErrno = fileSideErrno(io, result);
  return fileErrno !== undefined ? { error: errnoError(fileErrno, 'write'), fileSide: true } : { error: errnoError(result, 'read'), fileSide: false };
}

/**
 * The transfer engine (native/engine.c): one worker thread with its own epoll runs plain
 * uploads and downloads to completion off the event loop. src/core/storage/transfer-engine.ts
 * owns the protocol of these calls.
 */
export interface NativeEngine {
  /**
   * Starts the worker once per process. `onEvent(id, event, bytes, code)` runs on the main
   * thread: event 0 is progress, 1 the job's end (code 0 done, -1 cancelled, errno, or
   * FILE_ERROR_BASE + errno for the file side). Returns 0 or -errno.
   */
  engineStart(onEvent: (id: number, event: number, bytes: number, code: number, reason?: string) => void): number;
  /** splice socket -> file from `offset` until the peer ends: 0 (accepted) or -errno. The engine works on duplicates of both descriptors. */
  engineUpload(id: number, socketFd: number, fileFd: number, offset: number): number;
  /** sendfile `count` bytes of the file from `offset`: 0 (accepted) or -errno. */
  engineDownload(id: number, socketFd: number, fileFd: number, offset: number, count: number): number;
  /** Asks a running job to stop; its end (code -1) follows through onEvent. 1 when it was running. */
  engineCancel(id: number): number;
  /** Ends (code 0) once `fd` is readable: a native passive listener waiting for its client (absent in older builds). */
  engineWaitReadable?(id: number, fd: number): number;
  /** Empty upload pipes the engine keeps for the next upload (two descriptors each; absent in older builds). */
  enginePipesKept?(): number;
  /**
   * Small uploads stored from the event loop itself (native/loop-upload.c; absent in older
   * builds). `onEnd(id, code, bytes)`: code 0 the stream ended, LOOP_HANDOFF `limit` bytes are
   * stored and the rest is the caller's, -1 cancelled, errno or FILE_ERROR_BASE + errno.
   */
  loopStart?(onEnd: (id: number, code: number, bytes: number) => void): number;
  loopUpload?(id: number, socketFd: number, fileFd: number, offset: number, limit: number): number;
  loopCancel?(id: number): number;
  /**
   * Terminates TLS on a connected socket with a tlsContext() (native/tls-link.c; absent in
   * older builds): JavaScript's end of the plaintext socketpair, or -errno. onEvent then
   * reports event 2 when the handshake is done (code 1: the session was resumed, 2: a full
   * handshake) and event 1 at the end (CODE_TLS_FAILED with OpenSSL's reason).
   */
  engineTls?(id: number, context: NativeTlsContext, socketFd: number): number;
  /**
   * A TLS server context for engineTls that resumes sessions of Node's context with the same
   * ticket keys and session id context: the context, or what is wrong with the arguments.
   */
  tlsContext?(cert: Buffer, key: Buffer, ticketKeys: Buffer, sessionIdContext: Buffer, minVersion: number, cipherList: string, cipherSuites: string, options: number): NativeTlsContext | string;
  /** The link `linkId` stores the rest of its upload into the file at `offset` (reported under `storeId`): 0 or -errno. */
  engineTlsStore?(linkId: number, storeId: number, fileFd: number, offset: number): number;
  /** The link `linkId` sends `count` bytes of the file from `offset` itself (reported under `sendId`): 0 or -errno. */
  engineTlsSend?(linkId: number, sendId: number, fileFd: number, offset: number, count: number): number;
  /** Adds a session Node's 'newSession' reported (DER) to the context's cache (TLS 1.2 session ids): 1 when added. */
  tlsAddSession?(context: NativeTlsContext, session: Buffer): number;
}

/** An SSL_CTX owned by the native module (freed when collected). */
export type NativeTlsContext = { readonly __nativeTlsContext: unique symbol };

/** The engine's functions, when the module was built with them and is enabled. */
export const nativeEngine: NativeEngine | undefined = hasFunctions<NativeEngine>(nativeIo, ['engineStart', 'engineUpload', 'engineDownload', 'engineCancel']) ? nativeIo : undefined;

/**
 * Directory listings formatted in C (native/listing.c), used by LocalStorage.listFormatted
 * through src/core/storage/native-listing.ts, which owns the protocol of these calls.
 */
export interface NativeListing {
  /**
   * Opens a directory for one listing: a handle, or -errno. `format` 0 writes LIST lines, 1
   * MLSD fact lines with the `facts` bits (LIST_FACT_BITS) and these `perm` letters per type.
   */
  listOpen(path: Buffer, format: 0 | 1, nowMs: number, facts: number, permFile: string, permDir: string, permOther: string): NativeListHandle | number;
  /**
   * Appends lines to `out` from `offset`: `end * 4 + status` (status 0: out is nearly full, 1:
   * end of directory, 2: the next entry is for JavaScript, see listName), or -errno.
   */
  listFill(handle: NativeListHandle, out: Buffer, offset: number): number;
  /** The raw name of the entry that status 2 handed back. */
  listName(handle: NativeListHandle): Buffer;
  /** Closes the directory (again: harmless; a forgotten handle closes when collected). */
  listClose(handle: NativeListHandle): number;
}

/** An open native listing (a Node-API external: opaque to JavaScript). */
export type NativeListHandle = object;

/** The native listing functions, when the module was built with them and is enabled. */
export const nativeListing: NativeListing | undefined = hasFunctions<NativeListing>(nativeIo, ['listOpen', 'listFill', 'listName', 'listClose']) ? nativeIo : undefined;
