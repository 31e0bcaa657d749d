import * as net from 'node:net';
import { closeSync, createWriteStream, writev, writevSync, type WriteStream } from 'node:fs';
import { fromFsError } from '../errors.js';
import { nativeIo, plainSocketFd, spliceError, type NativeIo } from '../native.js';
import { transferEngine, tlsLinkOf, CANCELLED, type EngineJob } from './transfer-engine.js';

/** The part of a socket's libuv handle used to stop and restart reading while the engine owns the socket. */
interface ReadableHandle {
  readStart(): number;
  readStop(): number;
}

function readableHandle(socket: net.Socket): ReadableHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<ReadableHandle> | null })._handle;
  return handle && typeof handle.readStart === 'function' && typeof handle.readStop === 'function' ? (handle as ReadableHandle) : undefined;
}

/** Stop reading the socket while this much waits for the disk; resume below half. */
const HIGH_WATER = 8 * 1024 * 1024;
/** Batches up to this size are written synchronously (see flush). */
const SYNC_WRITE_LIMIT = 128 * 1024;
/**
 * Past this many bytes an upload that JavaScript carries (TLS, whose reads arrive one 16 KiB
 * record at a time) is bulk: its chunks are gathered for one event-loop turn and written with
 * one writev instead of one per record. Batches up to BULK_SYNC_WRITE_LIMIT stay synchronous:
 * the just-decrypted bytes are still in this core's cache, and in interleaved FTPS STOR runs
 * the thread pool cost ~20% more CPU per GB (1.52-1.70 against 1.29-1.48 s/GB) for the same speed.
 */
const BULK_AFTER = 1024 * 1024;
const BULK_SYNC_WRITE_LIMIT = 1024 * 1024;
/** The size of libuv's reads from a socket. */
const LIBUV_READ_SIZE = 64 * 1024;
/** Most bytes one splice call may store before other sessions get a turn. */
const SPLICE_SLICE = 8 * 1024 * 1024;
/** writev accepts at most IOV_MAX (1024 on Linux) buffers per call. */
const MAX_IOV = 1024;

/**
 * The bytes of one upload going into an open file descriptor. `receiveFrom` is the fast
 * path for a socket: chunks are gathered while a write is in flight and written with one
 * writev, so a 1 GB upload costs a few hundred thread-pool round trips instead of the
 * ~16 000 of a WriteStream fed 64 KiB chunks. `stream` (created on first use) serves
 * everything else (ASCII conversion).
 */
export class FdWriter {
  private writeStream: WriteStream | undefined;

  constructor(
    private readonly fd: number,
    /** Next file offset; null appends (O_APPEND). */
    private position: number | null,
  ) {}

  get stream(): WriteStream {
    this.writeStream ??= createWriteStream('', {
      fd: this.fd,
      ...(this.position === null ? {} : { start: this.position }),
      highWaterMark: 1024 * 1024,
      autoClose: false,
    });
    return this.writeStream;
  }

  /**
   * The file offset this upload's bytes reached, or null when appending (unknown). The
   * stream path (ASCII) does not move `position`, so its count is added.
   */
  get reach(): number | null {
    if (this.position === null) return null;
    return this.position + (this.writeStream?.bytesWritten ?? 0);
  }

  /** Whether the stream was handed out (abort must then settle it before closing the fd). */
  get streamUsed(): WriteStream | undefined {
    return this.writeStream;
  }

  static canReceiveFrom(source: unknown): source is net.Socket {
    return source instanceof net.Socket;
  }

  /**
   * The native data path (src/ftp/data/native-endpoint.ts): everything a bare socket
   * descriptor sends goes into the file until the peer ends, whatever the size: the first
   * 256 KiB stored from the event loop, the rest spliced by the transfer engine (see
   * TransferEngine.uploadFromLoop; the end of stream wakes either at once). A cancel
   * (ABOR, QUIT) still stores what had arrived. Undefined when this cannot run (no engine, an
   * append, which splice cannot do): the caller then reads through a net.Socket. Never closes
   * `socketFd`.
   */
  receiveFromFd(socketFd: number, onBytes: (n: number) => void): { done: Promise<void>; cancel(): void } | undefined {
    const io = nativeIo;
    const position = this.position;
    if (!io || !transferEngine || position === null) return undefined;
    const job = transferEngine.uploadFromLoop(socketFd, this.fd, position, onBytes);
    if (!job) return undefined;
    return { done: this.engineStored(io, job, position), cancel: () => job.cancel() };
  }

  /** Settles an engine upload that started at `position`: resolves when the client's stream ended. */
  private engineStored(io: NativeIo, job: EngineJob, position: number): Promise<void> {
    return job.ended.then(({ code, bytes }) => {
      this.position = position + bytes;
      if (code === 0) return;
      if (code === CANCELLED) throw new Error('data connection closed before the end of the upload');
      const { error, fileSide } = spliceError(io, -code);
      throw fileSide ? fromFsError(error, 'write') : error; // a reset: what arrived is kept, and the upload is a 426
    });
  }

  /**
   * Writes everything `socket` sends until it ends. Resolves once every byte is written to
   * the file. When the peer vanishes, what already arrived is still written (a partial
   * upload REST can resume) before rejecting; a write error (ENOSPC, EIO) rejects with the
   * fs error at once and destroys the socket.
   */
  receiveFrom(socket: net.Socket, onBytes: (n: number) => void): Promise<void> {
    // FTPS terminated by the engine: its thread stores the decrypted bytes itself (no hop
    // through the plaintext socket and this event loop). Nothing was read from the socket yet.
    const position = this.position;
    const stored = nativeIo && position !== null && socket.bytesRead === 0 ? tlsLinkOf(socket)?.store(this.fd, position, onBytes) : undefined;
    if (stored) return this.engineStored(nativeIo!, stored, position!);
    return new Promise((resolve, reject) => {
      let queue: Buffer[] = [];
      let queued = 0;
      let writing = false;
      let ended = false;
      let failure: Error | undefined;
      let settled = false;
      let received = 0;
      let flushScheduled: NodeJS.Immediate | undefined;

      const cleanup = () => {
        if (flushScheduled) clearImmediate(flushScheduled);
        if (pipe) {
          closeSync(pipe[0]);
          closeSync(pipe[1]);
          pipe = undefined;
        }
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onClose);
        socket.off('error', onError);
      };
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        cleanup();
        if (err) reject(err);
        else resolve();
      };
      const maybeDone = () => {
        if (writing || queued > 0 || engineJob) return; // never settle (then close the file) while the engine uses it
        if (failure) settle(failure);
        else if (ended) settle();
      };
      const flush = () => {
        if (writing || queued === 0 || settled) return maybeDone();
        const batch = queue.length > MAX_IOV ? queue.splice(0, MAX_IOV) : queue;
        if (batch === queue) queue = [];
        let size = 0;
        for (const b of batch) size += b.length;
        queued -= size;
        if (size <= (received > BULK_AFTER ? BULK_SYNC_WRITE_LIMIT : SYNC_WRITE_LIMIT)) {
          // A small batch goes into the page cache synchronously: microseconds, where a
          // thread-pool trip costs ~50-100 us (a 4 KB upload is one such batch).
          try {
            writeAllSync(this.fd, batch, this.position);
          } catch (err) {
            socket.destroy();
            return settle(fromFsError(err, 'write'));
          }
          if (this.position !== null) this.position += size;
          return flush();
        }
        writing = true;
        writeAll(this.fd, batch, size, this.position, (err) => {
          writing = false;
          if (err) {
            socket.destroy();
            return settle(fromFsError(err, 'write'));
          }
          if (this.position !== null) this.position += size;
          if (socket.isPaused() && queued < HIGH_WATER / 2 && !ended && !failure) socket.resume();
          flush();
        });
      };
      // splice(2) needs a plain socket and a known offset (it refuses O_APPEND files).
      const socketFd = nativeIo && this.position !== null ? plainSocketFd(socket) : undefined;
      let pipe: [number, number] | undefined;
      /** The engine job that owns the socket, while it runs: libuv is not reading then. */
      let engineJob: EngineJob | undefined;
      /**
       * Hands the rest of the upload to the transfer engine (splice on its thread until the
       * peer ends). Called from libuv's read callback with nothing queued: libuv reading
       * stops before the job starts, so no byte is read twice or out of order. True when the
       * engine took it.
       */
      const handOff = (io: NativeIo, fd: number, position: number): boolean => {
        const handle = transferEngine && readableHandle(socket);
        if (!transferEngine || !handle) return false;
        // The handle's `reading` flag stays set, so Node does not restart reading behind the engine's back.
        if (handle.readStop() !== 0) return false;
        const job = transferEngine.upload(fd, this.fd, position, onBytes);
        if (!job) {
          handle.readStart();
          return false;
        }
        engineJob = job;
        void job.ended.then(({ code, bytes }) => {
          engineJob = undefined;
          this.position = position + bytes;
          if (code === 0) {
            // The engine read the end of the stream; libuv reads it again and 'end' settles as usual.
            if (settled || socket.destroyed) return maybeDone();
            if (handle.readStart() === 0) return;
            ended = true; // cannot happen on a live TCP handle; the end was seen, so the upload is whole
            return flush();
          }
          if (code === CANCELLED) return maybeDone(); // the socket closed (ABOR, peer gone): onClose recorded why
          const { error, fileSide } = spliceError(io, -code);
          socket.destroy();
          if (fileSide) return settle(fromFsError(error, 'write'));
          failure ??= error; // a reset: what arrived is kept, and the upload is a 426
          maybeDone();
        });
        return true;
      };
      /**
       * The native fast path: libuv's read of this chunk says the socket has data; whatever
       * else already waits moves socket -> pipe -> file inside the kernel, without a copy
       * through JavaScript. Only when nothing is queued or buffered, so bytes stay in order.
       */
      const spliceWaiting = (lastRead: number) => {
        // libuv reads up to 64 KiB at a time: a shorter read emptied the socket, so nothing waits
        // (a 4 KB upload never pays for a pipe).
        if (lastRead < LIBUV_READ_SIZE && !pipe) return;
        if (!nativeIo || socketFd === undefined || writing || queued > 0 || settled || socket.readableLength > 0 || this.position === null) return;
        if (engineJob || handOff(nativeIo, socketFd, this.position)) return;
        if (!pipe) {
          const created = nativeIo.pipe();
          if (typeof created === 'number') return; // out of descriptors: the JavaScript path carries on
          pipe = created;
        }
        const n = nativeIo.spliceToFile(socketFd, pipe[0], pipe[1], this.fd, this.position, SPLICE_SLICE);
        if (n >= 0) {
          this.position += n;
          if (n > 0) onBytes(n);
          return;
        }
        const { error, fileSide } = spliceError(nativeIo, n);
        socket.destroy();
        if (fileSide) return settle(fromFsError(error, 'write'));
        // The peer's reset was consumed here, so libuv would next see only an end of
        // stream: record it as the failure it is, or a cut-off upload would look complete.
        failure ??= error;
        maybeDone();
      };
      const flushNextTurn = () => {
        flushScheduled = undefined;
        flush();
      };
      const onData = (chunk: Buffer) => {
        onBytes(chunk.length);
        queue.push(chunk);
        queued += chunk.length;
        received += chunk.length;
        if (queued >= HIGH_WATER) socket.pause(); // the disk is behind: let TCP push back
        if (received > BULK_AFTER && socketFd === undefined) {
          // The rest of this turn's reads join the same writev (see BULK_AFTER).
          if (!writing) flushScheduled ??= setImmediate(flushNextTurn);
          return;
        }
        if (!writing) flush(); // otherwise the chunk joins the next writev
        spliceWaiting(chunk.length);
      };
      const onEnd = () => {
        ended = true;
        flush();
      };
      const onClose = () => {
        if (ended) return;
        engineJob?.cancel();
        failure ??= new Error('data connection closed before the end of the upload');
        flush();
      };
      const onError = (err: Error) => {
        failure ??= err;
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onClose);
      socket.on('error', onError);
      if (socket.readableEnded) onEnd();
      else if (socket.destroyed) onClose();
      else socket.resume();
    });
  }
}

/** writevSync until every byte is written. */
function writeAllSync(fd: number, buffers: Buffer[], position: number | null): void {
  let rest = buffers;
  let at = position;
  for (;;) {
    let size = 0;
    for (const b of rest) size += b.length;
    if (size === 0) return;
    const written = writevSync(fd, rest, at ?? undefined);
    if (written >= size) return;
    if (at !== null) at += written;
    rest = skipBytes(rest, written);
  }
}

function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  const rest: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}

/** writev until all `size` bytes are written (a short write continues where it stopped). */
function writeAll(fd: number, buffers: Buffer[], size: number, position: number | null, done: (err: NodeJS.ErrnoException | null) => void): void {
  writev(fd, buffers, position, (err, written) => {
    if (err) return done(err);
    if (written >= size) return done(null);
    writeAll(fd, skipBytes(buffers, written), size - written, position === null ? null : position + written, done);
  });
}
