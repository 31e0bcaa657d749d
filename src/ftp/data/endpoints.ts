import * as net from 'node:net';
import { sameHost } from './address.js';
import { keepShape } from '../../core/warm-shapes.js';
import { closeHandedOver, handedToEngine } from '../engine-tls.js';

export class DataConnectionError extends Error {
  override readonly name = 'DataConnectionError';
}

/** One side of a future data connection: a passive listener or an active target. */
export interface DataEndpoint {
  readonly kind: 'passive' | 'active';
  /** A connection is already established (the reply is then 125, not 150). */
  readonly ready: boolean;
  /** The connected socket; rejects with DataConnectionError on timeout or refusal. */
  open(timeoutMs: number): Promise<net.Socket>;
  /** Releases the listener or socket; safe to call more than once. */
  close(): void;
}

export interface PassiveEndpointEvents {
  /** A connection from another host was dropped (passive port theft). */
  onForeignPeer?(address: string): void;
  /** The control peer's data connection arrived (before any transfer command may have). */
  onConnected?(socket: net.Socket): void;
}

/**
 * A passive listener that accepts exactly one connection, and only from the control peer's
 * IP: anything else is closed before a byte is exchanged. The listener closes as soon as
 * the right peer arrives, so the port returns to the pool.
 */
export class PassiveEndpoint implements DataEndpoint {
  readonly kind = 'passive';
  private socket: net.Socket | undefined;
  private closed = false;
  private waiters: Array<{ resolve: (s: net.Socket) => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly server: net.Server,
    private readonly clientIp: string,
    private readonly events: PassiveEndpointEvents = {},
  ) {
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => this.close());
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get ready(): boolean {
    return this.socket !== undefined && (!this.socket.destroyed || handedToEngine(this.socket));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    // Reset before Node got to it: no address to check, and no one to report as a foreign peer.
    if (socket.remoteAddress === undefined) return void socket.destroy();
    if (this.closed || this.socket || !sameHost(socket.remoteAddress, this.clientIp)) {
      if (!this.closed && !this.socket) this.events.onForeignPeer?.(socket.remoteAddress);
      socket.resetAndDestroy();
      return;
    }
    this.socket = socket;
    this.server.close();
    keepShape('passiveListener', this.server); // see core/warm-shapes.ts
    keepShape('passiveEndpoint', this);
    this.events.onConnected?.(socket);
    for (const w of this.waiters.splice(0)) w.resolve(socket);
  }

  open(timeoutMs: number): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.closed) return Promise.reject(new DataConnectionError('Data connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new DataConnectionError('Timed out waiting for the data connection'));
      }, timeoutMs);
      const waiter = {
        resolve: (s: net.Socket) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    if (this.socket) closeUnused(this.socket);
    for (const w of this.waiters.splice(0)) w.reject(new DataConnectionError('Data connection closed'));
  }
}

/**
 * Closes a data connection that no transfer used (the command was refused, or replaced by a
 * new PASV). A plain destroy() would send RST when the client already wrote something, and
 * some clients (basic-ftp) then report "ECONNRESET" instead of the 5xx reply; so: discard
 * what arrives, send FIN, and cut it off only if the peer never closes. A socket that a
 * transfer is using is destroyed by the transfer itself (ABOR, errors).
 */
export function closeUnused(socket: net.Socket): void {
  if (socket.destroyed) {
    // PROT P: the engine may hold its connection, and give the socket it secured to close instead.
    const secured = closeHandedOver(socket);
    if (secured) closeUnused(secured);
    return;
  }
  socket.on('error', () => undefined);
  socket.resume();
  if (!socket.writableEnded) socket.end(); // ending twice builds (and throws away) an error with a stack
  setTimeout(() => socket.destroy(), 2000).unref();
}

export interface ActiveTarget {
  host: string;
  port: number;
  /** Bind the server's side here (the control connection's local address). */
  localAddress?: string;
  /** Source port for the server's side (20 by tradition); falls back to any when unavailable. */
  localPort?: number;
}

/** PORT/EPRT: the server connects out when the transfer command arrives. */
export class ActiveEndpoint implements DataEndpoint {
  readonly kind = 'active';
  private socket: net.Socket | undefined;
  private closed = false;
  /** Ends the connect still in progress, if any (see close). */
  private abandonConnect: (() => void) | undefined;

  constructor(
    readonly target: ActiveTarget,
    private readonly onSourcePortUnavailable?: (err: Error) => void,
  ) {}

  get ready(): boolean {
    return false;
  }

  async open(timeoutMs: number): Promise<net.Socket> {
    if (this.closed) throw new DataConnectionError('Data connection closed');
    const { localPort } = this.target;
    if (localPort) {
      try {
        return await this.connect(timeoutMs, localPort);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw this.wrap(err);
        this.onSourcePortUnavailable?.(err as Error);
      }
    }
    try {
      return await this.connect(timeoutMs, undefined);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private wrap(err: unknown): DataConnectionError {
    return err instanceof DataConnectionError ? err : new DataConnectionError(`Cannot connect to ${this.target.host} port ${this.target.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }

  private connect(timeoutMs: number, localPort: number | undefined): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: this.target.host,
        port: this.target.port,
        ...(this.target.localAddress ? { localAddress: this.target.localAddress } : {}),
        ...(localPort ? { localPort } : {}),
      });
      // Nothing is read until the transfer wants it: with PROT P the transfer engine may take the
      // connection over, and the client's ClientHello must still be in the kernel then.
      socket.pause();
      this.socket = socket;
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.abandonConnect = undefined;
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new DataConnectionError(`Timed out connecting to ${this.target.host} port ${this.target.port}`)), timeoutMs);
      // A destroyed socket that never connected emits neither 'connect' nor 'error': close()
      // must end the wait itself, or ABOR and QUIT wait for the timeout (a client whose
      // firewall drops our SYN is common).
      this.abandonConnect = () => fail(new DataConnectionError('Data connection closed'));
      socket.once('connect', () => {
        clearTimeout(timer);
        this.abandonConnect = undefined;
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        if (this.closed) {
          socket.destroy();
          reject(new DataConnectionError('Data connection closed'));
        } else resolve(socket);
      });
      socket.once('error', fail);
    });
  }

  close(): void {
    this.closed = true;
    this.abandonConnect?.();
    if (!this.socket) return;
    this.socket.destroy();
    closeHandedOver(this.socket)?.destroy(); // PROT P: the engine may hold its connection
  }
}
