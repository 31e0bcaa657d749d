import type { Duplex } from 'node:stream';
import { encodeBytes } from '../../core/bytes.js';
import { WharfError, isWharfError } from '../../core/errors.js';
import type { FileStat, ListFormatSpec } from '../../core/storage/types.js';
import type { CommandSpec } from '../registry.js';
import type { Session, TransferState } from '../session.js';
import { runTransfer } from '../data/transfer.js';
import { FactsFormatter, ListLineFormatter, formatFacts, mlstFeatLine, parseListGlob, permLetters, ALL_MLST_FACTS, type ListGlob } from '../listing.js';

const BATCH_BYTES = 64 * 1024;
/** At the end of each storage batch, send what is pending once it is this big (see flushSome). */
const EARLY_BYTES = 16 * 1024;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves on 'drain', rejects on 'close'; either way both listeners are removed (a long listing waits many times). */
function drained(socket: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('data connection closed'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Writes lines in ~64 KiB batches, waiting for drain: a 100 000-entry listing stays small in memory. */
class LineBatcher {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly socket: Duplex,
    private readonly state: TransferState,
  ) {}

  /** Returns a promise only when a batch went out (no promise per line on the hot path). */
  add(line: string): Promise<void> | undefined {
    this.parts.push(line, '\r\n');
    this.size += line.length + 2;
    return this.size >= BATCH_BYTES ? this.flush() : undefined;
  }

  /**
   * Sends what is pending when there is a fair amount: called between storage batches so
   * the first lines leave within a few hundred entries and the client reads them while the
   * rest is being stat'ed (on a multi-core machine the two then work at the same time).
   */
  flushSome(): Promise<void> | undefined {
    return this.size >= EARLY_BYTES ? this.flush() : undefined;
  }

  /** Ready-made lines (a storage fast path), sent after any lines still pending. */
  addBytes(lines: Buffer): Promise<void> {
    return this.send(this.parts.length === 0 ? lines : Buffer.concat([this.takePending(), lines]));
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    await this.send(this.takePending());
  }

  private takePending(): Buffer {
    const chunk = encodeBytes(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    return chunk;
  }

  private async send(chunk: Buffer): Promise<void> {
    this.state.bytes += chunk.length;
    if (this.socket.destroyed) throw new Error('data connection closed');
    if (!this.socket.write(chunk)) await drained(this.socket);
    else await yieldToEventLoop(); // the kernel took it at once: still let other sessions run
  }
}

/** `LIST -la dir`, `LIST -a -l`: leading `-flags` words are options, unless a file of that name exists. */
async function splitListArg(s: Session, arg: string): Promise<string> {
  const m = /^(-[A-Za-z1]+(?:\s+-[A-Za-z1]+)*)(?:\s+(.*))?$/.exec(arg);
  if (!m) return arg;
  try {
    await s.storage!.stat(s.resolve(arg));
    return arg; // a real name that starts with a dash
  } catch {
    return m[2] ?? '';
  }
}

type ListKind = 'LIST' | 'NLST' | 'MLSD';

async function listing(s: Session, rawArg: string, kind: ListKind): Promise<void> {
  s.restOffset = 0;
  if (!s.hasDataEndpoint()) return s.reply(425, 'Use PORT, EPRT, PASV or EPSV first');
  const arg = kind === 'MLSD' ? rawArg : await splitListArg(s, rawArg);
  let path = s.resolve(arg);
  let target: FileStat;
  let glob: ListGlob | undefined;
  try {
    if (!s.storage!.can('list')) throw new WharfError('PERMISSION_DENIED', 'list');
    try {
      target = await s.storage!.stat(path);
    } catch (err) {
      // `NLST *.txt`: only when no entry has that literal name
      glob = kind === 'MLSD' || !isWharfError(err, 'STORAGE_NOT_FOUND') ? undefined : parseListGlob(arg);
      if (!glob) throw err;
      path = s.resolve(glob.dirText || '.');
      target = await s.storage!.stat(path);
      if (target.type !== 'dir' || !(await anyMatch(s, path, glob.matcher))) throw new WharfError('STORAGE_NOT_FOUND', 'No files found');
    }
    if (kind === 'MLSD' && target.type !== 'dir') {
      s.reply(501, 'MLSD needs a directory; use MLST for a file');
      return s.closeDataEndpoint();
    }
  } catch (err) {
    s.replyError(err); // the reply first, then the unused data connection closes
    return s.closeDataEndpoint();
  }
  const user = s.user!;
  const now = Date.now();
  // NLST of a path names entries with that path (as `ls dir` would); `NLST` and `NLST .` do not.
  const prefix = glob ? glob.dirText : kind === 'NLST' && !/^\.?\/?$/.test(arg.trim()) ? arg.replace(/\/*$/, '/') : '';
  const listLines = new ListLineFormatter(now);
  const factLines = new FactsFormatter(s.mlstFacts, user.permissions);
  const lineFor = (entry: FileStat): string => {
    if (kind === 'LIST') return listLines.line(entry);
    if (kind === 'MLSD') return factLines.line(entry);
    return prefix + entry.name;
  };
  await runTransfer(s, {
    direction: 'listing',
    path,
    opening: `Here comes the directory listing`,
    async run(socket, state) {
      const out = new LineBatcher(socket, state);
      if (target.type !== 'dir') {
        // LIST/NLST of a single file lists that file
        await out.add(kind === 'NLST' ? arg : listLines.line({ ...target, name: arg.split('/').pop() || target.name }));
      } else {
        if (kind === 'MLSD') await out.add(factLines.line(target, 'cdir', '.'));
        // Whole directories for LIST/MLSD: the backend may hand over ready-made lines (local disk, native module).
        const ready = kind !== 'NLST' && !glob ? s.storage!.listFormatted(path, formatSpec(kind, now, s, lineFor)) : undefined;
        if (ready) {
          for await (const lines of ready) {
            if (state.abortedBy) break;
            await out.addBytes(lines);
          }
        } else {
          for await (const batch of s.storage!.listBatches(path)) {
            if (state.abortedBy) break;
            for (const entry of batch) {
              if (glob && !glob.matcher.test(entry.name)) continue;
              const sent = out.add(lineFor(entry));
              if (sent) await sent;
            }
            const sent = out.flushSome();
            if (sent) await sent;
          }
        }
      }
      await out.flush();
    },
  });
}

/** What a backend needs to format this session's LIST or MLSD lines itself. */
function formatSpec(kind: 'LIST' | 'MLSD', now: number, s: Session, line: (entry: FileStat) => string): ListFormatSpec {
  const can = s.user!.permissions;
  return {
    format: kind === 'LIST' ? 'ls' : 'facts',
    now,
    facts: s.mlstFacts,
    perms: { file: permLetters('file', can), dir: permLetters('dir', can), other: permLetters('other', can) },
    line,
  };
}

async function anyMatch(s: Session, dir: string, matcher: RegExp): Promise<boolean> {
  for await (const entry of s.storage!.list(dir)) if (matcher.test(entry.name)) return true;
  return false;
}

async function mlst(s: Session, arg: string): Promise<void> {
  const path = s.resolve(arg);
  const st = await s.storage!.stat(path);
  s.reply(250, [`Listing ${path}`, ' ' + formatFacts(st, s.mlstFacts, s.user!.permissions, undefined, path), 'End']);
}

async function statCommand(s: Session, arg: string): Promise<void> {
  if (arg.trim() === '') {
    const lines = ['Wharf FTP server status:', `Connected from ${s.remoteIp}`];
    lines.push(s.user ? `Logged in as ${s.user.name}` : 'Not logged in');
    lines.push(`TYPE: ${s.type === 'A' ? 'ASCII' : 'BINARY'}, STRUcture: File, MODE: Stream`);
    if (s.secure) lines.push(`Control connection is TLS; data connections are ${s.protectData ? 'TLS' : 'clear'}`);
    const t = s.transfer;
    if (t) {
      const secs = Math.max((Date.now() - t.startedAt) / 1000, 0.001);
      lines.push(`Transfer in progress: ${t.direction} ${t.path}: ${t.bytes}${t.size !== undefined ? ` of ${t.size}` : ''} bytes, ${Math.round(t.bytes / secs)} bytes/s`);
    } else lines.push('No data transfer in progress');
    lines.push('End of status');
    return s.reply(211, lines);
  }
  if (!s.user) return s.reply(530, 'Please log in with USER and PASS first');
  if (s.transfer) return s.reply(450, 'A transfer is in progress; STAT <path> must wait');
  const listArg = await splitListArg(s, arg);
  const path = s.resolve(listArg);
  if (!s.storage!.can('list')) throw new WharfError('PERMISSION_DENIED', 'list');
  const st = await s.storage!.stat(path);
  const listLines = new ListLineFormatter();
  const lines = [`Status of ${path}:`];
  if (st.type === 'dir') {
    let count = 0;
    for await (const entry of s.storage!.list(path)) {
      lines.push(listLines.line(entry));
      if (++count >= 10_000) {
        lines.push('... listing truncated; use LIST');
        break;
      }
    }
  } else lines.push(listLines.line({ ...st, name: listArg.split('/').pop() || st.name }));
  lines.push('End of status');
  s.reply(213, lines);
}

export const listingCommands: CommandSpec[] = [
  { name: 'LIST', help: 'LIST [<sp> path]: ls -l style listing', auth: true, arg: 'optional', transfer: true, run: (s, arg) => listing(s, arg, 'LIST') },
  { name: 'NLST', help: 'NLST [<sp> path]: names only', auth: true, arg: 'optional', transfer: true, run: (s, arg) => listing(s, arg, 'NLST') },
  {
    name: 'MLSD',
    help: 'MLSD [<sp> dir]: machine-readable listing (RFC 3659)',
    auth: true,
    arg: 'optional',
    transfer: true,
    run: (s, arg) => listing(s, arg, 'MLSD'),
  },
  {
    name: 'MLST',
    help: 'MLST [<sp> path]: facts about one entry, on the control connection',
    auth: true,
    arg: 'optional',
    feat: (s) => mlstFeatLine(s.mlstFacts),
    run: mlst,
    opts(s, value) {
      s.mlstFacts = parseMlstOpts(value);
      const line = ALL_MLST_FACTS.filter((f) => s.mlstFacts.has(f))
        .map((f) => f + ';')
        .join('');
      s.reply(200, `MLST OPTS ${line}`);
    },
  },
  {
    name: 'STAT',
    help: 'STAT [<sp> path]: server status, or a listing over the control connection',
    auth: false,
    arg: 'optional',
    duringTransfer: true,
    beforeTls: true,
    run: statCommand,
  },
];

/** `OPTS MLST type;size;`: the known facts named, in any case; unknown ones are ignored. */
export function parseMlstOpts(value: string): Set<string> {
  const wanted = value
    .split(';')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
  const known = new Set<string>(ALL_MLST_FACTS);
  return new Set(wanted.filter((f) => known.has(f)));
}

