import * as net from 'node:net';

/**
 * Address lists for policy: plain IPs and CIDR blocks, IPv4 and IPv6. An IPv4 client seen
 * through a dual-stack socket as `::ffff:a.b.c.d` matches IPv4 entries.
 */
export class AddressList {
  private readonly blocks: net.BlockList = new net.BlockList();
  readonly entries: readonly string[];

  constructor(entries: readonly string[] = []) {
    this.entries = entries.map((e) => e.trim()).filter((e) => e !== '');
    for (const entry of this.entries) addEntry(this.blocks, entry);
  }

  get size(): number {
    return this.entries.length;
  }

  has(ip: string): boolean {
    if (this.entries.length === 0) return false;
    const plain = unmapIPv4(ip);
    const family = net.isIPv4(plain) ? 'ipv4' : net.isIPv6(plain) ? 'ipv6' : undefined;
    if (!family) return false;
    return this.blocks.check(plain, family);
  }
}

/** Throws a readable error for anything that is not an IP or a CIDR block. */
export function parseAddressEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const address = unmapIPv4(slash < 0 ? text : text.slice(0, slash));
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) throw new Error(`"${entry}" is not an IP address or CIDR block`);
  const max = family === 'ipv4' ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw new Error(`"${entry}": prefix length must be 0 to ${max}`);
  return { address, prefix: Number(prefixText), family };
}

function addEntry(list: net.BlockList, entry: string): void {
  const { address, prefix, family } = parseAddressEntry(entry);
  list.addSubnet(address, prefix, family);
}

export function unmapIPv4(ip: string): string {
  if (ip.length < 8 || ip.charCodeAt(0) !== 0x3a) return ip; // not "::ffff:..." (plain IPv4 above all): no lower-cased copy per call
  return ip.toLowerCase().startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}
