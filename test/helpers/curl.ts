import { run, requireBinary, type RunResult } from './run.js';

/** An ftp:// URL for a server path; each segment is percent-encoded so any name survives. */
export function ftpUrl(port: number, path: string, host = '127.0.0.1'): string {
  const encoded = path
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
  return `ftp://${host}:${port}${encoded.startsWith('/') ? '' : '/'}${encoded}`;
}

export interface CurlOptions {
  user?: string;
  password?: string;
  /** Active mode: curl listens on 127.0.0.1 and sends EPRT/PORT. */
  active?: boolean;
  timeoutMs?: number;
  cwd?: string;
}

/**
 * Runs curl against Wharf with bounded time, no retries and no config file. `args` are
 * extra curl arguments (the URL among them).
 */
export function curl(args: readonly string[], options: CurlOptions = {}): Promise<RunResult> {
  requireBinary('curl');
  const base = ['-q', '--silent', '--show-error', '--max-time', '15', '--connect-timeout', '5'];
  if (options.user !== undefined) base.push('--user', `${options.user}:${options.password ?? ''}`);
  if (options.active) base.push('--ftp-port', '127.0.0.1');
  return run('curl', [...base, ...args], { timeoutMs: options.timeoutMs ?? 20_000, ...(options.cwd ? { cwd: options.cwd } : {}) });
}
