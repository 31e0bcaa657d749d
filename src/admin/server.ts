import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WharfMetrics, type MetricsSource } from '../core/metrics.js';

/**
 * The admin endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz`. Plain
 * node:http, off by default, meant for loopback or a private network: it has no
 * authentication, and metrics reveal traffic volumes and client behaviour.
 */

export { parseHostPort, type AdminAddress } from './host-port.js';
import type { AdminAddress } from './host-port.js';

/** What /healthz and /metrics read from the FTP server. */
export interface AdminSource extends MetricsSource {
  addresses(): Array<{ host: string; port: number }>;
}

export class AdminServer {
  readonly metrics: WharfMetrics;
  private readonly http: Server;

  constructor(private readonly source: AdminSource) {
    this.metrics = new WharfMetrics(source);
    this.http = createHttpServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : this.metrics.render());
        return;
      }
      if (path === '/healthz') {
        // Healthy while the FTP listeners are bound; a closing or never-started server is not.
        const listening = this.source.addresses();
        const ok = listening.length > 0;
        const body = JSON.stringify({ status: ok ? 'ok' : 'unavailable', listeners: listening, sessions: this.source.sessionCount }) + '\n';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    });
    // Slow or idle scrapers must not hold sockets forever.
    this.http.requestTimeout = 10_000;
    this.http.headersTimeout = 5_000;
    this.http.keepAliveTimeout = 5_000;
  }

  listen(address: AdminAddress): Promise<AdminAddress> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(address.port, address.host, () => {
        this.http.off('error', reject);
        const info = this.http.address() as AddressInfo;
        resolve({ host: info.address, port: info.port });
      });
    });
  }

  close(): Promise<void> {
    this.metrics.stop();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}

/** Starts the admin endpoint for a server. */
export async function startAdminServer(source: AdminSource, address: AdminAddress): Promise<AdminServer & { address: AdminAddress }> {
  const admin = new AdminServer(source);
  const bound = await admin.listen(address);
  return Object.assign(admin, { address: bound });
}
