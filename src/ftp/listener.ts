import * as net from 'node:net';
import type { FtpContext } from './context.js';
import { Session } from './session.js';
import { formatReply } from './control/reply.js';
import { plainAddress } from './data/address.js';
import { secureSession, type FtpTls } from './tls.js';
import { keepShape } from '../core/warm-shapes.js';
import { applyPerSocket, setInheritedControlOptions } from './control/socket-options.js';

/**
 * Accepts control connections for one FTP listener: applies connection limits before any
 * work, greets, and hands the socket to a Session.
 */
export class FtpListener {
  readonly server: net.Server;
  private readonly perIp = new Map<string, number>();
  /** TCP_NODELAY and keep-alive come from the listening socket (see control/socket-options.ts). */
  private optionsInherited = false;

  constructor(private readonly ctx: FtpContext) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => ctx.log.error({ err: err.message }, 'listener error'));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (!this.optionsInherited) applyPerSocket(socket);
    const ip = plainAddress(socket.remoteAddress);
    if (!ip) {
      socket.destroy();
      return;
    }
    // Banned addresses are turned away before any other work (no session, no greeting).
    if (this.ctx.defender.isBanned(ip)) {
      this.ctx.events.emit('security:refused', { ip, reason: 'banned' });
      return this.refuse(socket, 'Too many failed logins from your address; try again later');
    }
    const { maxConnections, maxConnectionsPerIp } = this.ctx.settings.limits;
    if (this.ctx.state.closing) return this.refuse(socket, 'Server is shutting down');
    if (this.ctx.sessions.size >= maxConnections) {
      this.ctx.events.emit('security:refused', { ip, reason: 'max-connections' });
      return this.refuse(socket, 'Too many users, try again later');
    }
    const count = this.perIp.get(ip) ?? 0;
    if (count >= maxConnectionsPerIp) {
      this.ctx.events.emit('security:refused', { ip, reason: 'max-connections-per-ip' });
      return this.refuse(socket, 'Too many connections from your address');
    }
    this.perIp.set(ip, count + 1);
    if (this.ctx.tls === 'implicit' && this.ctx.ftps) return this.acceptImplicit(socket, ip, this.ctx.ftps);
    this.startSession(socket, ip);
  }

  /** Implicit FTPS: TLS from the first byte; the session and its 220 start after the handshake. */
  private acceptImplicit(socket: net.Socket, ip: string, ftps: FtpTls): void {
    ftps.upgrade(socket, this.ctx.settings.timeouts.loginMs || 30_000).then(
      (secured) => {
        if (this.ctx.state.closing) {
          secured.destroy();
          return this.release(ip);
        }
        this.startSession(secured, ip, (session) => secureSession(session, ftps, true));
      },
      (err: Error) => {
        this.ctx.log.debug({ ip, err: err.message }, 'implicit TLS handshake failed');
        this.release(ip);
      },
    );
  }

  private release(ip: string): void {
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, left);
  }

  private startSession(socket: net.Socket, ip: string, prepare?: (session: Session) => void): void {
    const session = new Session(this.ctx, socket);
    prepare?.(session);
    this.ctx.sessions.add(session);
    session.afterClose(() => {
      this.release(ip);
      // A closed session keeps the maps of a session's objects, and the login path's optimized code, alive: see core/warm-shapes.ts.
      keepShape(this.ctx.tls === 'implicit' ? 'session:implicit-tls' : 'session:plain', session);
    });
    if (this.ctx.events.listenerCount('session:open') > 0) this.ctx.events.emit('session:open', session.info);
    session.reply(220, this.ctx.settings.greeting);
  }

  private refuse(socket: net.Socket, text: string): void {
    // Discard whatever the peer sends: unread input would hide its FIN, and the socket (and
    // server.close()) would wait for it forever.
    socket.resume();
    socket.end(formatReply(421, text));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, ipv6Only: false, backlog: 1024 }, () => {
        this.server.off('error', onError);
        this.optionsInherited = setInheritedControlOptions(this.server);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}
