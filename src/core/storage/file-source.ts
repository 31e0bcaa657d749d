import * as net from 'node:net';
import { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 1024 * 1024;
/** Buffers in the send pool: one being read into while the others are with the kernel. */
const POOL_SIZE = 4;

/**
 * A file opened for download. As a Readable it works with any consumer (ASCII conversion,
 * hashing). Its fast path, `pumpTo`, is for sending to a socket: Node has no sendfile, so the
 * next read is already running while the previous chunk is being written, and a small pool
 * of 1 MiB buffers is recycled when the socket has handed each write to the kernel — no
 * per-chunk allocation, and disk and network overlap instead of taking turns.
 */
export class FileSource extends Readable {
  private position: number;

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly chunkSize = CHUNK,
  ) {
    super({ highWaterMark: chunkSize });
    this.position = start;
  }

  override _read(): void {
    // Generic consumers may keep the chunk, so this path allocates one per read.
    const buffer = Buffer.allocUnsafe(this.chunkSize);
    this.handle.read(buffer, 0, buffer.length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) return void this.push(null);
        this.position += bytesRead;
        this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // FileHandle.close waits for reads still in flight.
    this.handle.close().then(
      () => callback(err),
      () => callback(err),
    );
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
    const free: Buffer[] = [];
    for (let i = 0; i < POOL_SIZE; i++) free.push(Buffer.allocUnsafeSlow(this.chunkSize));
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
    const readAt = async (buffer: Buffer, position: number) => ({ buffer, n: (await this.handle.read(buffer, 0, buffer.length, position)).bytesRead });
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
        socket.write(n === buffer.length ? buffer : buffer.subarray(0, n), () => {
          free.push(buffer);
          signal();
        });
        pending = readAt(await takeBuffer(), this.position);
      }
    } finally {
      pending?.catch(() => undefined);
      socket.off('close', onClose);
      socket.off('error', onError);
    }
  }
}
