import * as net from 'node:net';
import type { FtpContext } from './context.js';
import { Session } from './session.js';
import { formatReply } from './control/reply.js';
import { plainAddress } from './data/address.js';

/**
 * Accepts control connections for one FTP listener: applies connection limits before any
 * work, greets, and hands the socket to a Session.
 */
export class FtpListener {
  readonly server: net.Server;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly ctx: FtpContext) {
    this.server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) => this.accept(socket));
    this.server.on('error', (err) => ctx.log.error({ err: err.message }, 'listener error'));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const ip = plainAddress(socket.remoteAddress);
    if (!ip) {
      socket.destroy();
      return;
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
    const session = new Session(this.ctx, socket);
    this.ctx.sessions.add(session);
    void session.whenClosed().then(() => {
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    this.ctx.events.emit('session:open', session.info);
    session.reply(220, this.ctx.settings.greeting);
  }

  private refuse(socket: net.Socket, text: string): void {
    socket.end(formatReply(421, text));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, ipv6Only: false, backlog: 1024 }, () => {
        this.server.off('error', onError);
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
