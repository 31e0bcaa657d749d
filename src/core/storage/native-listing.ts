import { encodeBytes } from '../bytes.js';
import { fromFsError } from '../errors.js';
import { errnoError, type NativeListing } from '../native.js';
import type { FileStat, ListFormatSpec } from './types.js';

/** The fact bits listOpen takes (native/listing.c FACT_*). */
export const LIST_FACT_BITS: Readonly<Record<string, number>> = { type: 1, size: 2, modify: 4, perm: 8, unique: 16, 'unix.mode': 32 };

/** The first chunk is small so the client has lines within a few hundred entries; then 64 KiB per write. */
const FIRST_CHUNK = 16 * 1024;
const CHUNK = 64 * 1024;
const STATUS_FULL = 0;
const STATUS_END = 1;

function factBits(facts: ReadonlySet<string>): number {
  let bits = 0;
  for (const fact of facts) bits |= LIST_FACT_BITS[fact] ?? 0;
  return bits;
}

/**
 * The lines of one directory listing, as Buffers of whole CRLF-terminated lines, formatted in
 * C (native/listing.c). `disk` must already have passed the backend's containment check.
 * Entries C hands back (symlinks, whose description needs that check) go through `describe`
 * (undefined: vanished, skipped) and `spec.line`, in directory order.
 *
 * Breaking out of the loop (ABOR, a closed connection) closes the directory at once.
 */
export async function* nativeListLines(
  io: NativeListing,
  disk: Buffer,
  spec: ListFormatSpec,
  describe: (rawName: Buffer) => Promise<FileStat | undefined>,
): AsyncGenerator<Buffer> {
  const { file, dir, other } = spec.perms;
  const handle = io.listOpen(disk, spec.format === 'ls' ? 0 : 1, spec.now, factBits(spec.facts), file, dir, other);
  if (typeof handle === 'number') throw fromFsError(errnoError(handle, 'opendir'), 'list');
  try {
    let out = Buffer.allocUnsafe(FIRST_CHUNK);
    let used = 0;
    for (;;) {
      const result = io.listFill(handle, out, used);
      if (result < 0) throw fromFsError(errnoError(result, 'readdir'), 'list');
      used = Math.floor(result / 4);
      const status = result % 4;
      if (status === STATUS_END) {
        if (used > 0) yield out.subarray(0, used);
        return;
      }
      if (status === STATUS_FULL) {
        yield out.subarray(0, used);
        out = Buffer.allocUnsafe(CHUNK);
        used = 0;
        continue;
      }
      // STATUS_JAVASCRIPT: this entry's line is written here, after the lines before it.
      const entry = await describe(io.listName(handle));
      if (!entry) continue;
      const line = encodeBytes(spec.line(entry) + '\r\n');
      if (line.length > out.length - used) {
        if (used > 0) yield out.subarray(0, used);
        out = Buffer.allocUnsafe(Math.max(CHUNK, line.length));
        used = 0;
      }
      used += line.copy(out, used);
    }
  } finally {
    io.listClose(handle);
  }
}
