import type { WharfServer } from '../server.js';
import type { Logger } from '../core/logger.js';
import type { XferLog } from '../core/xferlog.js';
import { parseHostPort } from '../admin/host-port.js';
import { flagValue, type FlagValue } from './config.js';
import type { FlagSpec } from './flags.js';

/** What `wharf serve` runs beside the FTP server: the xferlog and the admin endpoint. */
export interface Operations {
  /** Messages for the start-up banner. */
  banner: string[];
  /** Reopens log files (SIGHUP, after logrotate). */
  reopen(): void;
  close(): Promise<void>;
}

export async function startOperations(server: WharfServer, values: ReadonlyMap<FlagSpec, FlagValue>, log: Logger): Promise<Operations> {
  const banner: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  let xferlog: XferLog | undefined;
  const xferPath = flagValue(values, 'xferlog');
  if (typeof xferPath === 'string') {
    // Loaded only when configured: a plain server does not carry what it does not use.
    const { XferLog } = await import('../core/xferlog.js');
    xferlog = new XferLog(xferPath, server.events);
    closers.push(() => xferlog!.close());
    banner.push(`transfers logged to ${xferPath} (xferlog format)`);
  }
  const admin = flagValue(values, 'admin-listen');
  if (typeof admin === 'string') {
    try {
      const { startAdminServer } = await import('../admin/server.js'); // node:http, only when asked for
      const started = await startAdminServer(server, parseHostPort(admin));
      closers.push(() => started.close());
      const host = started.address.host.includes(':') ? `[${started.address.host}]` : started.address.host;
      banner.push(`metrics on http://${host}:${started.address.port}/metrics, health on /healthz`);
      log.info({ admin: `${host}:${started.address.port}` }, 'admin endpoint listening');
    } catch (err) {
      await Promise.all(closers.map((c) => c()));
      throw new Error(`--admin-listen ${admin}: ${(err as Error).message}`);
    }
  }
  return {
    banner,
    reopen: () => xferlog?.reopen(),
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
