/**
 * File names on disk are bytes, not always valid UTF-8. Wharf carries names as JS strings
 * using "surrogate escape" (as Python does): valid UTF-8 decodes normally and each byte of
 * an invalid sequence becomes the lone surrogate U+DC00+byte. Encoding reverses it exactly,
 * so a name a client read from a listing can be sent back and reach the same file.
 */
// ignoreBOM: a name may start with (or, escaped, contain) EF BB BF; the default decoder drops
// it, and the name then no longer reaches its file.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeBytes(buf: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1');
  try {
    return strictUtf8.decode(buf);
  } catch {
    return decodeEscaped(buf);
  }
}

function decodeEscaped(buf: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 1) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    if (len > 0 && i + len <= buf.length) {
      try {
        out += strictUtf8.decode(buf.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // fall through: escape this byte alone
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}

const SURROGATE = /[\uD800-\uDFFF]/;

export function encodeBytes(str: string): Buffer {
  if (!SURROGATE.test(str)) return Buffer.from(str, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = str.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: UTF-8 encodes it
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(str.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(str.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
