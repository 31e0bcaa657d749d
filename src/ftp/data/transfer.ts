import type * as net from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Session, TransferDirection, TransferState } from '../session.js';
import { DataConnectionError } from './endpoints.js';
import { endAndAwaitPeer, endDataSocket } from './end-socket.js';
import { NativePassiveEndpoint } from './native-endpoint.js';
import { adoptSocket, nativeData, type NativeDataIo } from './native-data.js';
import { replyForError } from '../error-replies.js';
import { fromFsError } from '../../core/errors.js';
import { FileSource } from '../../core/storage/file-source.js';
import { noteTransferStart, releaseMemorySoon } from '../../core/idle-memory.js';
import { keepShape } from '../../core/warm-shapes.js';
import { effectiveStallMs, watchForStall } from './stall-watch.js';

export interface TransferPlan {
  direction: TransferDirection;
  path: string;
  size?: number;
  /** The text after 150/125, e.g. "Opening BINARY mode data connection for x (12 bytes)". */
  opening: string;
  /** Moves the bytes; resolves when every byte reached its destination. */
  run(socket: Duplex, state: TransferState): Promise<void>;
  /**
   * The native data path (a plain passive connection on a bare descriptor, see
   * native-endpoint.ts): moves the bytes over `fd` without a net.Socket. Set only where this
   * transfer can (binary, local storage); undefined back means "not this time", and `run`
   * then gets the same connection as a net.Socket. Never closes `fd`.
   */
  runFd?(fd: number, state: TransferState): FdTransfer | undefined;
  /** Called once, with whether the transfer completed (226). */
  finish?(ok: boolean, state: TransferState): Promise<void> | void;
}

/** A transfer running on a bare descriptor (TransferPlan.runFd). */
export interface FdTransfer {
  /** Settles when the bytes are moved (and, for uploads, stored) or the transfer failed. */
  readonly done: Promise<void>;
  /** ABOR, QUIT: stop soon; `done` then settles. */
  cancel(): void;
  /** Every byte moved already, when runFd returned (a small file sent with one sendfile). */
  readonly finished?: boolean;
  /**
   * `done` resolves only after the peer's end of stream was read (an upload): nothing can be
   * left to drain, so the connection is closed without the drain read endDataFd does.
   */
  readonly readToEnd?: boolean;
}

export interface TransferOutcome {
  ok: boolean;
  bytes: number;
  durationMs: number;
}

/**
 * The one place a data transfer happens: take the session's data slot, announce 150/125,
 * connect (either order), secure (PROT P), move bytes, close the data socket and only then
 * answer 226. ABOR, QUIT, a vanished client and storage errors all end here with the reply
 * PROTOCOL.md asks for, and the endpoint is always released.
 */
export async function runTransfer(session: Session, plan: TransferPlan): Promise<TransferOutcome> {
  const endpoint = session.takeDataEndpoint();
  const startedAt = Date.now();
  if (!endpoint) {
    session.reply(425, 'Use PORT, EPRT, PASV or EPSV first');
    await plan.finish?.(false, { direction: plan.direction, path: plan.path, bytes: 0, startedAt, abort() {} });
    return { ok: false, bytes: 0, durationMs: 0 };
  }
  noteTransferStart(); // paired with releaseMemorySoon() in the finally below
  let socket: Duplex | undefined;
  let raw: net.Socket | undefined;
  /** The native path's connection, owned here until it is closed or adopted into `raw`. */
  let fd = -1;
  let fdTransfer: FdTransfer | undefined;
  const state: TransferState = {
    direction: plan.direction,
    path: plan.path,
    bytes: 0,
    startedAt,
    size: plan.size,
    // Every field from the start, none added later: one object shape (see core/warm-shapes.ts).
    connected: false,
    abortedBy: undefined,
    abort() {
      state.abortedBy ??= 'ABOR';
      endpoint.close();
      socket?.destroy();
      fdTransfer?.cancel();
    },
  };
  session.transfer = state;
  let ok = false;
  let stopWatching: (() => void) | undefined;
  /** A plain passive connection on a bare descriptor, for a plan that can use one (runFd). */
  const nativePath = plan.runFd !== undefined && nativeData !== undefined && endpoint instanceof NativePassiveEndpoint && !session.protectData;
  // The native path with its connection already there: the transfer may be over before its
  // 125 went out, and then 125 and 226 leave together (released below, and always in finally).
  if (nativePath && endpoint.ready) session.holdReplies();
  try {
    // A client already connected counts as connected from here: a QUIT that follows the 125
    // lets this transfer finish instead of aborting it as one still waiting for its client.
    state.connected = endpoint.ready;
    session.reply(state.connected ? 125 : 150, plan.opening);
    try {
      const timeoutMs = session.ctx.settings.timeouts.dataConnectMs;
      if (nativePath) fd = await endpoint.openFd(timeoutMs);
      else {
        raw = await endpoint.open(timeoutMs);
        socket = session.protectData && session.secureDataSocket ? await session.secureDataSocket(raw) : raw;
      }
    } catch (err) {
      if (state.abortedBy) throw err;
      const why = err instanceof DataConnectionError ? err.message : (err as Error).message;
      session.reply(425, `Can't open data connection: ${why}`);
      return { ok: false, bytes: 0, durationMs: Date.now() - startedAt };
    }
    // ABOR or a closed session while the connection was being made (a TLS handshake that
    // finished all the same): not one byte for a transfer that is over. The catch closes it.
    if (state.abortedBy) throw new Error('aborted');
    state.connected = true;
    stopWatching = watchForStall(state, session.ctx.settings.timeouts.dataStallMs);
    if (fd >= 0) fdTransfer = plan.runFd!(fd, state);
    if (!fdTransfer?.finished) session.releaseReplies();
    if (fdTransfer) {
      await fdTransfer.done;
      if (state.abortedBy) throw new Error('aborted');
      const done = fd;
      fd = -1;
      if (fdTransfer.readToEnd) nativeData!.dataClose(done);
      else await endDataFd(nativeData!, done, session);
    } else {
      if (fd >= 0) {
        raw = socket = adoptSocket(fd); // the fast path declined: the old path, on the same connection
        fd = -1;
      }
      if (!raw || !socket) throw new Error('no data connection');
      if (raw.isPaused()) raw.resume();
      await plan.run(socket, state);
      if (state.abortedBy) throw new Error('aborted');
      await endDataSocket(socket);
    }
    ok = true;
    session.reply(226, `Transfer complete (${state.bytes} bytes)`); // held replies leave in finally
  } catch (err) {
    socket?.destroy();
    if (fd >= 0) nativeData!.dataClose(fd);
    fd = -1;
    if (state.abortedBy === 'stall') session.reply(426, `No data moved for ${Math.round(effectiveStallMs(session.ctx.settings.timeouts.dataStallMs) / 1000)} s; transfer aborted`);
    else if (state.abortedBy) session.reply(426, 'Connection closed; transfer aborted');
    else if (isStorageFailure(err)) {
      const { code, text } = replyForError(err, 'transfer');
      session.reply(code === 550 ? 551 : code, text);
    } else session.reply(426, 'Connection closed; transfer aborted');
  } finally {
    stopWatching?.();
    session.releaseReplies();
    endpoint.close();
    if (raw) keepShape(`dataSocket:${plan.direction}`, raw); // see core/warm-shapes.ts
    if (fdTransfer) keepShape('fdTransfer', fdTransfer);
    if (session.transfer === state) session.transfer = undefined;
    await plan.finish?.(ok, state);
    releaseMemorySoon();
  }
  return { ok, bytes: state.bytes, durationMs: Date.now() - startedAt };
}

/**
 * Ends a native data connection after its last byte (as endDataSocket does for plain TCP):
 * closed at once unless the peer is still writing to it, which gets the patient ending.
 */
function endDataFd(io: NativeDataIo, fd: number, session: Session): Promise<void> {
  if (io.dataEnd(fd) === 0) return Promise.resolve();
  session.releaseReplies(); // the client waits for the ending: it has its 125 first
  return endAndAwaitPeer(adoptSocket(fd));
}

function isStorageFailure(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'WharfError';
}

/** Streams `source` into the data socket, counting bytes, honouring backpressure. */
export function sendStream(source: Readable, socket: Duplex, state: TransferState): Promise<void> {
  if (source instanceof FileSource && FileSource.canPumpTo(socket)) {
    return source.pumpTo(socket, (n) => (state.bytes += n)).catch((err: unknown) => {
      // A reset by the reader is also a failed 'read' (of the socket): that is a 426, not a storage error.
      const fromFile = (err as { syscall?: string }).syscall === 'read' && err !== socket.errored && (err as { code?: string }).code !== 'ECONNRESET';
      throw fromFile ? fromFsError(err, 'read') : err;
    });
  }
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error | null) => {
      if (done) return;
      done = true;
      source.off('data', onData);
      socket.off('drain', onDrain);
      socket.off('error', finish);
      socket.off('close', onClose);
      if (err) {
        source.destroy();
        reject(err);
      } else resolve();
    };
    const onData = (chunk: Buffer) => {
      state.bytes += chunk.length;
      if (!socket.write(chunk)) source.pause();
    };
    const onDrain = () => source.resume();
    const onClose = () => finish(new Error('data connection closed by peer'));
    source.on('data', onData);
    source.once('end', () => finish());
    source.once('error', (err) => finish(fromFsError(err, 'read')));
    socket.on('drain', onDrain);
    socket.once('error', finish);
    socket.once('close', onClose);
  });
}

/**
 * Streams the data socket into `sink`. When the peer vanishes mid-upload, what already
 * arrived is still flushed to storage (so REST can resume it) before the error is raised.
 */
export function receiveStream(socket: Duplex, sink: Writable, state: TransferState, transform?: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const source: Readable = transform ? socket.pipe(transform) : socket;
    let failure: Error | undefined;
    let ended = false;
    let socketEnded = false;
    socket.once('end', () => {
      socketEnded = true;
    });
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      state.bytes += chunk.length;
    });
    source.pipe(sink, { end: false });
    source.once('end', () => {
      ended = true;
      sink.end();
    });
    socket.once('error', (err) => {
      failure ??= err;
    });
    socket.once('close', () => {
      if (ended || socketEnded) return;
      failure ??= new Error('data connection closed before the end of the upload');
      source.unpipe(sink);
      sink.end();
    });
    sink.once('finish', () => settle(failure));
    sink.once('error', (err) => {
      socket.destroy();
      settle(fromFsError(err, 'write'));
    });
  });
}
