import { DIGEST_ALGORITHMS, digestStream, parseDigestAlgorithm, type DigestAlgorithm } from '../../core/digest.js';
import { isWharfError } from '../../core/errors.js';
import type { FileStat } from '../../core/storage/types.js';
import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';

/**
 * File hashes computed on the server, streamed through storage.read() so size does not
 * matter: HASH (draft-bryan-ftpext-hash, as FileZilla and curl's tests use it) with
 * `OPTS HASH <algo>`, and the older X-commands of ProFTPD's mod_digest (XSHA256, XSHA1,
 * XMD5, XCRC), which answer `250 <hex>` and accept an optional byte range.
 */

interface Target {
  path: string;
  /** The name as the client wrote it, echoed in the HASH reply. */
  shown: string;
  stat: FileStat;
}

async function regularFile(s: Session, arg: string): Promise<Target | undefined> {
  const path = s.resolve(arg);
  const stat = await s.storage!.stat(path);
  if (stat.type !== 'file') {
    s.reply(550, stat.type === 'dir' ? 'Is a directory: only files can be hashed' : 'Not a regular file');
    return undefined;
  }
  return { path, shown: arg, stat };
}

async function digestOf(s: Session, target: Target, algorithm: DigestAlgorithm, start: number, end: number): Promise<string> {
  const source = await s.storage!.read(target.path, { start });
  return digestStream(source, algorithm, end - start);
}

function hashFeat(s: Session): string {
  return 'HASH ' + DIGEST_ALGORITHMS.map((a) => (a === s.hashAlgorithm ? `${a}*` : a)).join(';');
}

async function hashCommand(s: Session, arg: string): Promise<void> {
  const target = await regularFile(s, arg);
  if (!target) return;
  const algorithm = parseDigestAlgorithm(s.hashAlgorithm) ?? 'SHA-256';
  const size = target.stat.size;
  const hex = await digestOf(s, target, algorithm, 0, size);
  s.reply(213, `${algorithm} 0-${size} ${hex} ${target.shown}`);
}

function hashOpts(s: Session, value: string): void {
  if (value.trim() === '') return s.reply(200, s.hashAlgorithm);
  const algorithm = parseDigestAlgorithm(value);
  if (!algorithm) return s.reply(504, `Unknown hash algorithm; choose one of ${DIGEST_ALGORITHMS.join(', ')}`);
  s.hashAlgorithm = algorithm;
  s.reply(200, algorithm);
}

/**
 * `XMD5 path`, `XMD5 path end`, `XMD5 path start end` (commas allowed, as some clients send).
 * A path that exists as written wins over reading its last words as numbers.
 */
async function parseRangedArg(s: Session, arg: string): Promise<{ target: Target; start: number; end: number } | undefined> {
  const whole = await tryFile(s, arg);
  if (whole) return { target: whole, start: 0, end: whole.stat.size };
  const m = /^(.*?)[\s,]+(\d{1,16})(?:[\s,]+(\d{1,16}))?\s*$/.exec(arg);
  if (!m || m[1] === '') {
    await regularFile(s, arg); // answers 550 with the right reason (or throws not found)
    return undefined;
  }
  const target = await regularFile(s, m[1]!);
  if (!target) return undefined;
  const size = target.stat.size;
  const start = m[3] !== undefined ? Number(m[2]) : 0;
  const end = Math.min(m[3] !== undefined ? Number(m[3]) : Number(m[2]), size);
  if (start > end) {
    s.reply(501, 'Invalid byte range');
    return undefined;
  }
  return { target, start, end };
}

async function tryFile(s: Session, arg: string): Promise<Target | undefined> {
  try {
    const path = s.resolve(arg);
    const stat = await s.storage!.stat(path);
    return stat.type === 'file' ? { path, shown: arg, stat } : undefined;
  } catch (err) {
    if (isWharfError(err, 'STORAGE_NOT_FOUND') || isWharfError(err, 'STORAGE_NOT_A_DIRECTORY')) return undefined;
    throw err;
  }
}

function xCommand(name: string, algorithm: DigestAlgorithm): CommandSpec {
  return {
    name,
    help: `${name} <sp> path [<sp> start [<sp> end]]: ${algorithm} of a file (or a byte range), answered 250 <hex>`,
    auth: true,
    arg: 'required',
    feat: name,
    async run(s, arg) {
      const parsed = await parseRangedArg(s, arg);
      if (!parsed) return;
      const hex = await digestOf(s, parsed.target, algorithm, parsed.start, parsed.end);
      s.reply(250, hex);
    },
  };
}

export const hashCommands: CommandSpec[] = [
  {
    name: 'HASH',
    help: 'HASH <sp> path: hash of a file with the algorithm chosen by OPTS HASH (default SHA-256)',
    auth: true,
    arg: 'required',
    feat: hashFeat,
    run: hashCommand,
    opts: hashOpts,
  },
  xCommand('XSHA256', 'SHA-256'),
  xCommand('XSHA1', 'SHA-1'),
  xCommand('XMD5', 'MD5'),
  xCommand('XCRC', 'CRC32'),
];
