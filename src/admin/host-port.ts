// The admin endpoint's address syntax, apart from the endpoint itself: the flag table
// validates --admin-listen with it, and an FTP server started without an admin endpoint
// should not load node:http just for that (~1.8 MiB RSS).

export interface AdminAddress {
  host: string;
  port: number;
}

/** Parses `HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback); throws saying what was expected. */
export function parseHostPort(value: string): AdminAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`expected HOST:PORT (e.g. 127.0.0.1:9021 or [::1]:9021), got "${value}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
