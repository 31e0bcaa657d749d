import { createHash, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';

/** The file digests Wharf offers (FTP HASH / XSHA256 / XSHA1 / XMD5 / XCRC). */
export const DIGEST_ALGORITHMS = ['SHA-256', 'SHA-1', 'MD5', 'CRC32'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** `sha-256`, `SHA256`, `sha1`, `crc` ... → the canonical name; undefined when unknown. */
export function parseDigestAlgorithm(name: string): DigestAlgorithm | undefined {
  const key = name.trim().toUpperCase().replace(/-/g, '');
  if (key === 'SHA256') return 'SHA-256';
  if (key === 'SHA1') return 'SHA-1';
  if (key === 'MD5') return 'MD5';
  if (key === 'CRC32' || key === 'CRC') return 'CRC32';
  return undefined;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and `cksum -a crc32b`), table-driven: works on every Node 20. */
export function crc32Update(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** zlib.crc32 exists from Node 20.15 / 22.2; it is much faster, so use it when present. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

interface Digester {
  update(chunk: Buffer): void;
  hex(): string;
}

function digester(algorithm: DigestAlgorithm, useNative = true): Digester {
  if (algorithm === 'CRC32') {
    let crc = 0;
    return {
      update: (chunk) => {
        crc = useNative && nativeCrc32 ? nativeCrc32(chunk, crc) : crc32Update(crc, chunk);
      },
      hex: () => crc.toString(16).padStart(8, '0'),
    };
  }
  const hash: Hash = createHash(algorithm === 'SHA-256' ? 'sha256' : algorithm === 'SHA-1' ? 'sha1' : 'md5');
  return { update: (chunk) => hash.update(chunk), hex: () => hash.digest('hex') };
}

/**
 * Hashes a stream chunk by chunk (a 10 GB file never sits in memory), optionally stopping
 * after `length` bytes. Resolves with the lowercase hex digest.
 */
export async function digestStream(source: Readable, algorithm: DigestAlgorithm, length = Infinity, options: { nativeCrc?: boolean } = {}): Promise<string> {
  const d = digester(algorithm, options.nativeCrc ?? true);
  let left = length;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (left <= 0) break;
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      d.update(part);
      left -= part.length;
    }
  } finally {
    source.destroy();
  }
  return d.hex();
}
