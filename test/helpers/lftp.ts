import { run, requireBinary, type RunResult } from './run.js';

export interface LftpOptions {
  port: number;
  user: string;
  password: string;
  /** Active mode (PORT/EPRT): `set ftp:passive-mode off`. */
  active?: boolean;
  /** Server host as it goes in the URL (default 127.0.0.1; `[::1]` for IPv6). */
  host?: string;
  /** lftp's local working folder (for relative local paths). */
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs lftp non-interactively: bounded retries and timeouts, no TLS attempt, and
 * `cmd:fail-exit` so the first failing command makes lftp exit non-zero. With `-d` the
 * protocol dialogue goes to stderr, so tests can check which data mode was really used.
 */
export function lftp(commands: string[], o: LftpOptions): Promise<RunResult> {
  requireBinary('lftp');
  const settings = [
    'set cmd:fail-exit yes',
    'set net:max-retries 1',
    'set net:timeout 5',
    'set net:reconnect-interval-base 1',
    'set ftp:ssl-allow no',
    `set ftp:passive-mode ${o.active ? 'off' : 'on'}`,
    `open -u ${quote(o.user)},${quote(o.password)} ftp://${o.host ?? '127.0.0.1'}:${o.port}`,
  ];
  return run('lftp', ['-d', '-c', [...settings, ...commands].join('; ')], {
    timeoutMs: o.timeoutMs ?? 20_000,
    ...(o.cwd ? { cwd: o.cwd, env: { HOME: o.cwd } } : {}),
  });
}

/** Quotes an argument for lftp's command line. */
export function quote(s: string): string {
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}
