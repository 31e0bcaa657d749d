import * as net from 'node:net';

/** `::ffff:1.2.3.4` → `1.2.3.4`: IPv4 clients on a dual-stack socket are IPv4 clients. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  return address;
}

export function isIPv6(address: string): boolean {
  return net.isIPv6(plainAddress(address));
}

/** PASV's h1,h2,h3,h4,p1,p2 */
export function pasvTuple(ipv4: string, port: number): string {
  return `${ipv4.replaceAll('.', ',')},${port >> 8},${port & 0xff}`;
}

/** Parses PORT's h1,h2,h3,h4,p1,p2; null when malformed. */
export function parsePortArg(arg: string): { host: string; port: number } | null {
  const parts = arg.trim().split(',');
  if (parts.length !== 6 || parts.some((p) => !/^\d{1,3}$/.test(p.trim()))) return null;
  const n = parts.map((p) => Number(p.trim()));
  if (n.some((x) => x > 255)) return null;
  return { host: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]! };
}

/** Parses EPRT's |proto|addr|port| (any delimiter in 33..126); null when malformed. */
export function parseEprtArg(arg: string): { family: 4 | 6; host: string; port: number } | null {
  const s = arg.trim();
  if (s.length < 7) return null;
  const d = s[0]!;
  const code = d.charCodeAt(0);
  if (code < 33 || code > 126) return null;
  const parts = s.split(d);
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return null;
  const [, proto, host, portText] = parts as [string, string, string, string, string];
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (proto === '1' && net.isIPv4(host)) return { family: 4, host, port };
  if (proto === '2' && net.isIPv6(host)) return { family: 6, host: plainAddress(host), port };
  return null;
}

/** The wildcard address (`0.0.0.0`, `::` in any spelling): "no particular interface". */
export function isUnspecifiedAddress(host: string): boolean {
  const plain = plainAddress(host);
  if (net.isIPv4(plain)) return plain === '0.0.0.0';
  return net.isIPv6(plain) && /^[0:]+$/.test(plain);
}

/** Two addresses name the same host (mapped and plain forms compare equal). */
export function sameHost(a: string | undefined, b: string | undefined): boolean {
  const pa = plainAddress(a);
  const pb = plainAddress(b);
  if (!pa || !pb) return false;
  if (pa === pb) return true;
  if (net.isIPv6(pa) && net.isIPv6(pb)) return expandV6(pa) === expandV6(pb);
  return false;
}

function expandV6(addr: string): string {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = addr.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((x) => x.toLowerCase().replace(/^0+(?=.)/, '')).join(':');
}
