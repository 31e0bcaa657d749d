import { encodeBytes } from '../../core/bytes.js';
import { formatReply } from './reply.js';

/** Longest single-line text whose bytes are kept (fixed texts are short; paths and listings are not kept). */
const MAX_KEPT_TEXT = 120;

/** The last short single-line reply made for each code, with its bytes. */
const lastByCode = new Map<number, { text: string; bytes: Buffer }>();

/**
 * The bytes of a reply. Most replies are fixed texts (the 220 greeting, 331, 230, 221, 200
 * Type set...), so the bytes made last for a code are reused when the same text comes again:
 * formatting, sanitizing and encoding run once instead of once per reply. Bounded: one short
 * entry per reply code. The bytes are never modified after they are made (send(2) and the
 * socket stream only read them).
 */
export function replyBytes(code: number, text: string | readonly string[]): Buffer {
  if (typeof text !== 'string' || text.length > MAX_KEPT_TEXT) return encodeBytes(formatReply(code, text));
  const last = lastByCode.get(code);
  if (last !== undefined && last.text === text) return last.bytes;
  const bytes = encodeBytes(formatReply(code, text));
  lastByCode.set(code, { text, bytes });
  return bytes;
}
