import * as net from 'node:net';
import { Readable } from 'node:stream';
import { read as readCb, readSync, closeSync } from 'node:fs';
import { nativeIo, plainSocketFd, sendfileError, errnoError, fileSideErrno, EAGAIN, type NativeIo } from '../native.js';
import { transferEngine, tlsLinkOf, tlsLinkFailure, CANCELLED, CODE_TLS_FAILED, ENGINE_MIN_BYTES, type EngineJob, type TransferEngine } from './transfer-engine.js';

const CHUNK = 1024 * 1024;
/** Buffers in the send pool: one being read into while the others are with the kernel. */
const POOL_SIZE = 4;
/**
 * Full-size send buffers kept between downloads. Allocating fresh 1 MiB buffers for every
 * transfer cost a page fault per 4 KiB touched (50 concurrent 2 MiB downloads: ~40 000 faults
 * per round); the spares are dropped after a quiet second so an idle server does not keep them.
 */
const spare: Buffer[] = [];
const MAX_SPARE = 16;
const SPARE_IDLE_MS = 1000;
let spareTimer: NodeJS.Timeout | undefined;

function takeSpare(size: number): Buffer {
  if (size === CHUNK) {
    const buffer = spare.pop();
    if (buffer) return buffer;
  }
  return size < 64 * 1024 ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
}

function giveBack(buffer: Buffer): void {
  if (buffer.length !== CHUNK || spare.length >= MAX_SPARE) return;
  spare.push(buffer);
  if (spareTimer) spareTimer.refresh();
  else {
    spareTimer = setTimeout(() => {
      spare.length = 0;
      spareTimer = undefined;
    }, SPARE_IDLE_MS);
    spareTimer.unref();
  }
}

/**
 * Most bytes one sendfile call may move before other sessions get a turn: at loopback speed
 * about a millisecond of copying.
 */
const SENDFILE_SLICE = 4 * 1024 * 1024;
/** Bytes queued through the socket itself while waiting for room (see sendNative). */
const WAIT_CHUNK = 16 * 1024;

/** Files up to this size are read synchronously (see readAt). */
const SYNC_READ_LIMIT = 256 * 1024;

/**
 * A file opened for download. As a Readable it works with any consumer (ASCII conversion,
 * hashing). Its fast path, `pumpTo`, is for sending to a socket: Node has no sendfile, so the
 * next read is already running while the previous chunk is being written, and a small pool
 * of 1 MiB buffers is recycled when the socket has handed each write to the kernel — no
 * per-chunk allocation, and disk and network overlap instead of taking turns.
 */
export class FileSource extends Readable {
  private position: number;
  /** Reads still running on the thread pool: the descriptor is closed only once they are done. */
  private inFlight = 0;
  private closeWhenIdle: (() => void) | undefined;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly chunkSize = CHUNK,
    /** File size when opened: small files get small buffers. */
    private readonly size = Infinity,
  ) {
    super({ highWaterMark: chunkSize });
    this.position = start;
  }

  /**
   * One positioned read. Small files are read synchronously (a page-cache copy of a few KB
   * takes microseconds, a thread-pool trip ~50-100 us on a busy 2-core machine); large ones
   * on the thread pool (callback API: no promise per chunk), overlapping disk and network.
   */
  private readAt(buffer: Buffer, position: number): Promise<number> {
    if (this.size <= SYNC_READ_LIMIT) {
      try {
        return Promise.resolve(readSync(this.fd, buffer, 0, buffer.length, position));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    this.inFlight++;
    return new Promise((resolve, reject) => {
      readCb(this.fd, buffer, 0, buffer.length, position, (err, bytesRead) => {
        this.inFlight--;
        if (this.inFlight === 0) this.closeWhenIdle?.();
        if (err) reject(err);
        else resolve(bytesRead);
      });
    });
  }

  override _read(): void {
    // Generic consumers may keep the chunk, so this path allocates one per read.
    const buffer = Buffer.allocUnsafe(this.chunkSize);
    this.readAt(buffer, this.position).then(
      (bytesRead) => {
        if (bytesRead === 0) return void this.push(null);
        this.position += bytesRead;
        this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const close = () => {
      this.closeWhenIdle = undefined;
      try {
        closeSync(this.fd); // microseconds; a thread-pool trip cost far more (see LocalStorage)
      } catch {
        // nothing useful to do: the descriptor is released either way
      }
      callback(err);
    };
    if (this.inFlight === 0) close();
    else this.closeWhenIdle = close; // never close a descriptor a read is still using
  }

  /** True when `pumpTo` can drive this sink (a TCP or TLS socket, whose write callbacks mean "handed over"). */
  static canPumpTo(sink: unknown): sink is net.Socket {
    return sink instanceof net.Socket;
  }

  /**
   * Sends the rest of the file to `socket`, calling `onBytes` per chunk. Resolves when the
   * last chunk is queued (closing the socket flushes it); rejects when the socket closes or
   * fails first. Must not be mixed with reading this stream as a Readable.
   */
  async pumpTo(socket: net.Socket, onBytes: (n: number) => void): Promise<void> {
    const socketFd = nativeIo ? plainSocketFd(socket) : undefined;
    if (nativeIo && socketFd !== undefined) {
      if (transferEngine && this.size - this.position >= ENGINE_MIN_BYTES) {
        // FTPS terminated by the engine: its thread reads the file itself (no hop through the plaintext socket).
        const link = socket.bytesWritten === 0 ? tlsLinkOf(socket) : undefined;
        const sent = link?.send(this.fd, this.position, this.size - this.position, onBytes);
        if (sent) return this.engineSent(sent, socket);
        return this.sendByEngine(transferEngine, nativeIo, socket, socketFd, onBytes);
      }
      return this.sendNative(nativeIo, socket, socketFd, onBytes);
    }
    // Buffers sized to what is left (plus one byte, so end of file is seen in the same read
    // when the size did not change): a 4 KB file does not allocate 4 MiB.
    const remaining = this.size - this.position;
    const bufferSize = Math.max(1, Math.min(this.chunkSize, remaining + 1));
    const poolSize = Math.min(POOL_SIZE, Math.ceil((remaining + 1) / bufferSize));
    const free: Buffer[] = [];
    for (let i = 0; i < poolSize; i++) free.push(takeSpare(bufferSize));
    let finished = false;
    /** A buffer the kernel or a read no longer uses: back to this transfer, or to the spares once it is over. */
    const release = (buffer: Buffer) => {
      if (finished) giveBack(buffer);
      else {
        free.push(buffer);
        signal();
      }
    };
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const signal = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onClose = () => {
      failure ??= new Error('data connection closed by peer');
      signal();
    };
    const onError = (err: Error) => {
      failure ??= err;
      signal();
    };
    socket.on('close', onClose);
    socket.on('error', onError);
    const takeBuffer = async (): Promise<Buffer> => {
      while (free.length === 0 && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
      return free.pop()!;
    };
    const readAt = async (buffer: Buffer, position: number) => ({ buffer, n: await this.readAt(buffer, position) });
    let pending: Promise<{ buffer: Buffer; n: number }> | undefined;
    try {
      if (socket.destroyed) throw new Error('data connection closed by peer');
      pending = readAt(await takeBuffer(), this.position);
      for (;;) {
        const { buffer, n } = await pending;
        pending = undefined;
        if (failure) throw failure;
        if (n === 0) break;
        this.position += n;
        onBytes(n);
        socket.write(n === buffer.length ? buffer : buffer.subarray(0, n), () => release(buffer));
        if (n < buffer.length) break; // a short read of a regular file is its end: no extra read for the 0
        pending = readAt(await takeBuffer(), this.position);
      }
    } finally {
      finished = true;
      for (const buffer of free.splice(0)) giveBack(buffer);
      pending?.then(({ buffer }) => giveBack(buffer), () => undefined); // reusable once its read is done
      socket.off('close', onClose);
      socket.off('error', onError);
    }
  }

  /**
   * The native data path (src/ftp/data/native-endpoint.ts): sends the rest of the file to a
   * bare non-blocking socket descriptor, without a net.Socket. What fits right away goes
   * with one synchronous sendfile (a small file: all of it); the rest, and large files from
   * the start, on the transfer engine's thread. Undefined when this cannot run here (no
   * engine): the caller then sends through a net.Socket, from where this stopped. Never
   * closes `socketFd`.
   */
  sendToFd(socketFd: number, onBytes: (n: number) => void): { done: Promise<void>; cancel(): void; finished?: boolean } | undefined {
    const io = nativeIo;
    const engine = transferEngine;
    if (!io || !engine) return undefined;
    if (this.size - this.position < ENGINE_MIN_BYTES) {
      const left = this.size - this.position;
      // The socket is closed after its last byte (by the caller, or by the engine when this does not
      // finish): corked, that last piece and the FIN share a segment.
      const n = left > 0 ? (io.sendfileLast ?? io.sendfile)(socketFd, this.fd, this.position, left) : 0;
      if (n > 0) {
        this.position += n;
        onBytes(n);
      }
      if (n === 0 || this.position >= this.size) return { done: Promise.resolve(), cancel() {}, finished: true };
      if (n < 0 && n !== -EAGAIN) return { done: Promise.reject(sendfileError(n)), cancel() {} };
    }
    const job = engine.download(socketFd, this.fd, this.position, this.size - this.position, onBytes);
    if (!job) return undefined;
    return { done: this.engineEnded(job.ended, () => new Error('transfer cancelled')), cancel: () => job.cancel() };
  }

  /**
   * sendfile(2) on the transfer engine's thread, until the size announced in 150 is sent:
   * nothing runs on the event loop per wakeup. The socket stays with Node for everything
   * else (a reset or ABOR closes it, which cancels the job); JavaScript writes nothing to
   * it until the engine has released it.
   */
  private sendByEngine(engine: TransferEngine, io: NativeIo, socket: net.Socket, socketFd: number, onBytes: (n: number) => void): Promise<void> {
    const job = engine.download(socketFd, this.fd, this.position, this.size - this.position, onBytes);
    if (!job) return this.sendNative(io, socket, socketFd, onBytes);
    return this.engineSent(job, socket);
  }

  /** An engine job sending to `socket`'s connection: a close or failure of the socket cancels it. */
  private engineSent(job: EngineJob, socket: net.Socket): Promise<void> {
    let closed: Error | undefined;
    const onClose = () => {
      closed ??= new Error('data connection closed by peer');
      job.cancel();
    };
    const onError = (err: Error) => {
      closed ??= err;
      job.cancel();
    };
    socket.on('close', onClose);
    socket.on('error', onError);
    const detached = job.ended.then((end) => {
      socket.off('close', onClose);
      socket.off('error', onError);
      return end;
    });
    return this.engineEnded(detached, () => closed ?? new Error('data connection closed by peer'));
  }

  /**
   * An engine download's end: the position moves past what it sent. Every byte with the
   * kernel (code 0) is success, even when the client's close was seen before the engine's
   * report (a client that closes as soon as it has them all still gets its 226).
   */
  private engineEnded(ended: EngineJob['ended'], cancelled: () => Error): Promise<void> {
    return ended.then((end) => {
      const { code, bytes } = end;
      this.position += bytes;
      if (code === 0) return;
      if (code === CANCELLED) throw cancelled();
      if (code === CODE_TLS_FAILED) throw tlsLinkFailure(end); // the connection's failure: a 426
      const fileErrno = nativeIo ? fileSideErrno(nativeIo, -code) : undefined;
      if (fileErrno !== undefined) throw errnoError(fileErrno, 'read'); // a TLS link's read of the file
      throw sendfileError(-code);
    });
  }

  /**
   * sendfile(2): the kernel sends page-cache pages itself, no copy through JavaScript. The
   * socket is non-blocking, so each call moves what fits and says EAGAIN when it is full.
   * Node offers no "writable again" event for bytes written behind its back, so the next few
   * bytes are queued through the socket itself: libuv waits for room to write them, and their
   * callback is the signal to go on. Bytes stay in order because nothing else writes to the
   * socket until that callback.
   */
  private sendNative(io: NativeIo, socket: net.Socket, socketFd: number, onBytes: (n: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let waitBuffer: Buffer | undefined;
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        socket.off('close', onClose);
        socket.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => finish(new Error('data connection closed by peer'));
      const onError = (err: Error) => finish(err);
      socket.on('close', onClose);
      socket.on('error', onError);
      const waitForRoom = () => {
        waitBuffer ??= Buffer.allocUnsafe(WAIT_CHUNK);
        let n: number;
        try {
          n = readSync(this.fd, waitBuffer, 0, waitBuffer.length, this.position);
        } catch (err) {
          return finish(err as Error);
        }
        if (n === 0) return finish();
        this.position += n;
        onBytes(n);
        socket.write(n === waitBuffer.length ? waitBuffer : waitBuffer.subarray(0, n), (err) => (err ? finish(err) : send()));
      };
      const send = () => {
        if (done) return;
        if (socket.destroyed) return finish(new Error('data connection closed by peer'));
        let budget = SENDFILE_SLICE;
        for (;;) {
          // The size at open is what 150 announced: stop there without one more call to see EOF.
          const left = this.size - this.position;
          if (left <= 0) return finish();
          const n = io.sendfile(socketFd, this.fd, this.position, Math.min(budget, left));
          if (n > 0) {
            this.position += n;
            onBytes(n);
            budget -= n;
            if (budget <= 0) return void setImmediate(send); // let other sessions run
            continue;
          }
          if (n === 0) return finish(); // end of file
          if (n === -EAGAIN) return waitForRoom();
          return finish(sendfileError(n));
        }
      };
      send();
    });
  }
}
