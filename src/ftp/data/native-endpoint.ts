import type * as net from 'node:net';
import { sameHost } from './address.js';
import { DataConnectionError, closeUnused, type DataEndpoint, type PassiveEndpointEvents } from './endpoints.js';
import { EAGAIN, ECONNABORTED, adoptSocket, type NativeDataIo } from './native-data.js';
import type { NativeListener } from './ports.js';
import { errnoError } from '../../core/native.js';
import { keepShape } from '../../core/warm-shapes.js';
import { transferEngine, type EngineJob } from '../../core/storage/transfer-engine.js';

/**
 * A plain passive data connection on bare descriptors (native/datapath.c): the same contract
 * as PassiveEndpoint (one connection, only from the control peer's IP, listener closed as
 * soon as it arrives; PROTOCOL.md §4) without a net.Server, and for the fast path without a
 * net.Socket either.
 *
 * Accepting is lazy: the transfer command (and `ready`, for its 125/150) accepts whatever is
 * queued without blocking, and clients nearly always connect before sending it. A listener
 * still without its client WATCH_DELAY_MS after the PASV is swept: what is queued is accepted
 * (a foreign peer is reset and reported, the right one closes the listener), and if nothing
 * is, the transfer engine's thread watches it (no net.Server, no busy loop) and says when a
 * connection arrives; so does a transfer command that finds nothing queued. The delay spares
 * the usual transfer (connect, then command, within a millisecond) the engine's round trip.
 *
 * `openFd` hands the bare descriptor to a transfer that can use it (plain binary RETR/STOR
 * from local storage); `open` wraps it in a net.Socket for the rest.
 */
export class NativePassiveEndpoint implements DataEndpoint {
  readonly kind = 'passive';
  /** The listening descriptor until the right peer arrives or the endpoint closes. */
  private listener: NativeListener | undefined;
  /** The control peer's connection, accepted and not yet handed out. */
  private connected = -1;
  private closed = false;
  private waiter: { resolve: (fd: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private waitJob: EngineJob | undefined;
  /** The engine was ever given (a duplicate of) the listener to watch. */
  private watched = false;

  constructor(
    private readonly io: NativeDataIo,
    listener: NativeListener,
    private readonly clientIp: string,
    private readonly events: PassiveEndpointEvents = {},
  ) {
    this.listener = listener;
    this.port = listener.port;
    sweepSoon(this);
  }

  /** The port announced in 227/229. */
  readonly port: number;

  get ready(): boolean {
    try {
      return this.connected >= 0 || this.acceptQueued();
    } catch {
      return false; // the transfer's own accept reports the failure (425)
    }
  }

  /**
   * Accepts what is queued without blocking: foreign peers are reset and reported, the control
   * peer's connection is kept and closes the listener. True once that connection is here.
   * Throws on an accept failure other than "nothing queued" (EMFILE, for instance).
   */
  private acceptQueued(): boolean {
    while (this.listener && this.connected < 0) {
      const accepted = this.io.dataAccept(this.listener.fd);
      if (typeof accepted === 'number') {
        if (accepted === -ECONNABORTED) continue; // that peer gave up before we took it
        if (accepted === -EAGAIN) return false;
        throw new DataConnectionError(`accept failed: ${errnoError(accepted, 'accept').code ?? accepted}`);
      }
      const [fd, ip] = accepted;
      if (!sameHost(ip, this.clientIp)) {
        this.io.dataReset(fd);
        this.events.onForeignPeer?.(ip);
        continue;
      }
      this.connected = fd;
      this.closeListener();
      keepShape('nativePassiveEndpoint', this); // see core/warm-shapes.ts
    }
    return this.connected >= 0;
  }

  private closeListener(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    unswept.delete(this);
    this.waitJob?.cancel();
    this.waitJob = undefined;
    listener.release(this.watched);
  }

  /**
   * The control peer's connected descriptor, owned by the caller from then on (nothing was
   * read from or written to it). Rejects with DataConnectionError on timeout or close.
   */
  openFd(timeoutMs: number): Promise<number> {
    if (this.closed) return Promise.reject(new DataConnectionError('Data connection closed'));
    try {
      if (this.acceptQueued()) return Promise.resolve(this.handOut());
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.waiter) return Promise.reject(new DataConnectionError('Data connection already awaited'));
    if (!this.waitJob) this.watch();
    if (!this.waitJob) return Promise.reject(new DataConnectionError('cannot wait for the data connection'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new DataConnectionError('Timed out waiting for the data connection'));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  async open(timeoutMs: number): Promise<net.Socket> {
    return adoptSocket(await this.openFd(timeoutMs));
  }

  private handOut(): number {
    const fd = this.connected;
    this.connected = -1;
    return fd;
  }

  /** The sweep (see the class comment): accepts what is queued, else has the engine watch. */
  sweep(): void {
    if (this.closed || !this.listener || this.waitJob) return;
    try {
      if (this.acceptQueued()) return;
    } catch {
      // accepting fails (out of descriptors): the transfer command will report it
      return;
    }
    this.watch();
  }

  /** Lets the engine's thread wait until a connection is queued, then accepts it. */
  private watch(): void {
    unswept.delete(this);
    const job = this.listener ? transferEngine?.waitReadable(this.listener.fd) : undefined;
    this.waitJob = job;
    if (job) this.watched = true;
    void job?.ended.then(({ code }) => {
      if (this.waitJob !== job) return; // cancelled: the listener closed (accepted, or the endpoint closed)
      this.waitJob = undefined;
      try {
        if (this.acceptQueued()) {
          if (this.waiter) this.settleWaiter(this.handOut());
          return;
        }
      } catch (err) {
        return this.settleWaiter(err as Error);
      }
      if (code === 0) this.watch(); // only foreign peers (or one that gave up): watch on
      else this.settleWaiter(new DataConnectionError('Data connection closed'));
    });
  }

  private settleWaiter(result: number | Error): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    if (typeof result === 'number') waiter.resolve(result);
    else waiter.reject(result);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Connections still queued would get RST when the listener closes (some clients then report
    // ECONNRESET instead of the reply that explains why): take them and close them gently.
    try {
      this.acceptQueued();
    } catch {
      // nothing more can be accepted: the listener closes below all the same
    }
    this.closeListener();
    if (this.connected >= 0) closeUnusedFd(this.io, this.handOut());
    if (this.waiter) this.settleWaiter(new DataConnectionError('Data connection closed')); // an Error's stack costs microseconds: only for someone
  }
}

/**
 * How long a passive listener may wait for its client before it is swept (see
 * NativePassiveEndpoint). A foreign peer is reset and reported within about this long.
 */
const WATCH_DELAY_MS = 20;
/** Listeners opened within the last WATCH_DELAY_MS that have not met their client yet. */
const unswept = new Set<NativePassiveEndpoint>();
/** One timer sweeps them all (not one per PASV). */
let sweepTimer: NodeJS.Timeout | undefined;

function sweepSoon(endpoint: NativePassiveEndpoint): void {
  unswept.add(endpoint);
  if (sweepTimer) return;
  sweepTimer = setTimeout(sweepAll, WATCH_DELAY_MS);
  sweepTimer.unref(); // a pending listener is no reason to stay alive: its session is
}

function sweepAll(): void {
  sweepTimer = undefined;
  const due = [...unswept];
  unswept.clear();
  for (const endpoint of due) endpoint.sweep();
}

/** A connection no transfer used: FIN after dropping its input; a peer still writing gets the patient close. */
function closeUnusedFd(io: NativeDataIo, fd: number): void {
  if (io.dataEnd(fd) === 1) closeUnused(adoptSocket(fd));
}
