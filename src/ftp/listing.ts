import type { FileStat, EntryType } from '../core/storage/types.js';
import type { Permission } from '../core/permissions.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182.5 * 24 * 3600 * 1000;

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** YYYYMMDDHHMMSS in UTC (MDTM, MLSD modify). */
export function ftpTimestamp(date: Date): string {
  return `${date.getUTCFullYear()}${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}`;
}

/** Parses YYYYMMDDHHMMSS[.sss] (UTC); undefined when malformed or not a real date. */
export function parseFtpTimestamp(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) return undefined;
  return date;
}

/**
 * Listing lines are built for thousands of entries at a time, so the pieces that repeat
 * between entries (mode strings, dates, fact prefixes) are computed once and cached: a
 * 10 000-entry LIST spent more time formatting dates than reading the directory.
 */
const TYPE_INDEX: Record<EntryType, number> = { file: 0, dir: 1, symlink: 2, other: 3 };
const TYPE_CHAR = ['-', 'd', 'l', '?'];
/** modeString results by (type, mode): a listing has few distinct pairs, and building one is a loop. */
const modeStrings: (string | undefined)[] = [];

function modeString(type: EntryType, mode: number): string {
  const key = (TYPE_INDEX[type] ?? 3) * 0o10000 + (mode & 0o7777);
  return (modeStrings[key] ??= buildModeString(TYPE_CHAR[TYPE_INDEX[type] ?? 3]!, mode));
}

function buildModeString(t: string, mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = t;
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  if (mode & 0o4000) out = out.slice(0, 3) + (mode & 0o100 ? 's' : 'S') + out.slice(4);
  if (mode & 0o2000) out = out.slice(0, 6) + (mode & 0o010 ? 's' : 'S') + out.slice(7);
  if (mode & 0o1000) out = out.slice(0, 9) + (mode & 0o001 ? 't' : 'T');
  return out;
}

/** Memo size bound: a listing may have 100 000 distinct dates, and a Map that large is slower than recomputing. */
const MEMO_MAX = 4096;

function remember(map: Map<number, string>, key: number, value: string): string {
  if (map.size >= MEMO_MAX) map.clear();
  map.set(key, value);
  return value;
}

/** `ls -l` date column: time for the last six months, else the year (UTC). */
function lsDate(mtime: Date, now: number): string {
  const month = MONTHS[mtime.getUTCMonth()]!;
  const day = pad2(mtime.getUTCDate());
  const age = now - mtime.getTime();
  if (age < SIX_MONTHS_MS && age > -SIX_MONTHS_MS) return `${month} ${day} ${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}`;
  return `${month} ${day}  ${mtime.getUTCFullYear()}`;
}

/**
 * LIST lines for one listing, all against the same `now`. Dates are cached per minute (the
 * column shows minutes at most), keyed with whether the entry counts as recent, since that
 * is decided on the exact age and two entries of one minute may fall either side of it.
 */
export class ListLineFormatter {
  private readonly dates = new Map<number, string>();

  constructor(private readonly now = Date.now()) {}

  /** One LIST line (without CRLF). Owner and group are not revealed. */
  line(entry: FileStat): string {
    const ms = entry.mtime.getTime();
    const age = this.now - ms;
    const minute = Math.floor(ms / 60_000);
    // An invalid date gives a NaN key: Map matches NaN to NaN, and every invalid date formats alike.
    const key = age < SIX_MONTHS_MS && age > -SIX_MONTHS_MS ? minute * 2 + 1 : minute * 2;
    const date = this.dates.get(key) ?? remember(this.dates, key, lsDate(entry.mtime, this.now));
    const name = entry.type === 'symlink' && entry.linkTarget !== undefined ? `${entry.name} -> ${entry.linkTarget}` : entry.name;
    return `${modeString(entry.type, entry.mode)} ${padStart(String(entry.nlink ?? 1), 4)} ftp      ftp      ${padStart(String(entry.size), 12)} ${date} ${name}`;
  }
}

const SPACES = '            ';
/** String#padStart with spaces, without its generic fill-string path (hot: twice per line). */
function padStart(text: string, width: number): string {
  return text.length >= width ? text : SPACES.slice(0, width - text.length) + text;
}

/** One LIST line (without CRLF). Owner and group are not revealed. */
export function formatListLine(entry: FileStat, now = Date.now()): string {
  return new ListLineFormatter(now).line(entry);
}

export type MlstFact = 'type' | 'size' | 'modify' | 'perm' | 'unique' | 'unix.mode';
export const ALL_MLST_FACTS: readonly MlstFact[] = ['type', 'size', 'modify', 'perm', 'unique', 'unix.mode'];

/** RFC 3659 `perm` letters for what this user may do with the entry. */
export function permLetters(type: EntryType, can: ReadonlySet<Permission>): string {
  let p = '';
  if (type === 'dir') {
    if (can.has('write')) p += 'c';
    if (can.has('delete') || can.has('rmdir')) p += 'd';
    p += 'e';
    if (can.has('rename')) p += 'f';
    if (can.has('list')) p += 'l';
    if (can.has('mkdir')) p += 'm';
    if (can.has('delete')) p += 'p';
  } else {
    if (can.has('append') || can.has('write')) p += 'a';
    if (can.has('delete')) p += 'd';
    if (can.has('rename')) p += 'f';
    if (can.has('read')) p += 'r';
    if (can.has('write')) p += 'w';
  }
  return p;
}

const octalModes: (string | undefined)[] = [];

/**
 * MLSD/MLST fact lines for one listing: which facts are on and the `perm` letters per entry
 * type are decided once, and `modify` stamps are cached per second.
 */
export class FactsFormatter {
  private readonly type: boolean;
  private readonly size: boolean;
  private readonly modify: boolean;
  private readonly unique: boolean;
  private readonly unixMode: boolean;
  /** `perm=...;` per TYPE_INDEX, or '' when the fact is off. */
  private readonly perms: string[];
  private readonly stamps = new Map<number, string>();

  constructor(facts: ReadonlySet<string>, can: ReadonlySet<Permission>) {
    this.type = facts.has('type');
    this.size = facts.has('size');
    this.modify = facts.has('modify');
    this.unique = facts.has('unique');
    this.unixMode = facts.has('unix.mode');
    const perm = facts.has('perm');
    this.perms = (['file', 'dir', 'symlink', 'other'] as const).map((t) => (perm ? `perm=${permLetters(t, can)};` : ''));
  }

  /**
   * One fact line (without CRLF): `fact=value;... name`. Symlinks are described by what they
   * point at when that is inside the root (as pyftpdlib and vsftpd do).
   */
  line(entry: FileStat, typeOverride?: 'cdir' | 'pdir', nameOverride?: string): string {
    const effective = entry.type === 'symlink' && entry.target ? entry.target : entry;
    const type = effective.type;
    let out = '';
    if (this.type) out += `type=${typeOverride ?? (type === 'dir' ? 'dir' : type === 'file' ? 'file' : type === 'symlink' ? 'OS.unix=symlink' : 'OS.unix=special')};`;
    if (this.size && type !== 'dir') out += `size=${effective.size};`;
    if (this.modify) {
      const second = Math.floor(effective.mtime.getTime() / 1000);
      out += `modify=${this.stamps.get(second) ?? remember(this.stamps, second, ftpTimestamp(effective.mtime))};`;
    }
    out += this.perms[TYPE_INDEX[type] ?? 3]!;
    if (this.unique && entry.unique) out += `unique=${entry.unique};`;
    if (this.unixMode) out += `unix.mode=${(octalModes[effective.mode & 0o7777] ??= '0' + (effective.mode & 0o7777).toString(8))};`;
    return `${out} ${nameOverride ?? entry.name}`;
  }
}

/** One MLSD/MLST fact line (without CRLF); see FactsFormatter.line. */
export function formatFacts(
  entry: FileStat,
  facts: ReadonlySet<string>,
  can: ReadonlySet<Permission>,
  typeOverride?: 'cdir' | 'pdir',
  nameOverride?: string,
): string {
  return new FactsFormatter(facts, can).line(entry, typeOverride, nameOverride);
}

/** The FEAT line for MLST: every supported fact, starred when enabled. */
export function mlstFeatLine(enabled: ReadonlySet<string>): string {
  return 'MLST ' + ALL_MLST_FACTS.map((f) => `${f}${enabled.has(f) ? '*' : ''};`).join('');
}

/** A LIST/NLST argument whose last segment is a shell pattern (`*.txt`, `sub/file?.[ch]`). */
export interface ListGlob {
  /** The directory part as the client wrote it, with its trailing slash ('' for none). */
  dirText: string;
  matcher: RegExp;
}

/**
 * Recognizes a pattern in the last path segment (`*`, `?`, `[...]`), as vsftpd and command-line
 * clients' `mget`/`mdelete` expect; patterns in directory segments are not expanded. Like the
 * shell, a pattern only matches a leading dot when it starts with one.
 */
export function parseListGlob(arg: string): ListGlob | undefined {
  const slash = arg.lastIndexOf('/');
  const last = arg.slice(slash + 1);
  if (!/[*?[]/.test(last)) return undefined;
  let re = last.startsWith('.') ? '' : '(?!\\.)';
  for (let i = 0; i < last.length; i++) {
    const c = last[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = last.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = last.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return { dirText: arg.slice(0, slash + 1), matcher: new RegExp(`^${re}$`, 's') };
}
