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

/** modeString results: a listing has few distinct (type, mode) pairs, and building one is a loop. */
const modeStrings = new Map<string, string>();

function modeString(type: EntryType, mode: number): string {
  const key = type + mode;
  let text = modeStrings.get(key);
  if (text === undefined) {
    text = buildModeString(type, mode);
    if (modeStrings.size < 4096) modeStrings.set(key, text);
  }
  return text;
}

function buildModeString(type: EntryType, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : type === 'file' ? '-' : '?';
  const bits = 'rwxrwxrwx';
  let out = t;
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  if (mode & 0o4000) out = out.slice(0, 3) + (mode & 0o100 ? 's' : 'S') + out.slice(4);
  if (mode & 0o2000) out = out.slice(0, 6) + (mode & 0o010 ? 's' : 'S') + out.slice(7);
  if (mode & 0o1000) out = out.slice(0, 9) + (mode & 0o001 ? 't' : 'T');
  return out;
}

/** `ls -l` date column: time for the last six months, else the year (UTC). */
function lsDate(mtime: Date, now: number): string {
  const month = MONTHS[mtime.getUTCMonth()]!;
  const day = pad2(mtime.getUTCDate());
  const age = now - mtime.getTime();
  if (age < SIX_MONTHS_MS && age > -SIX_MONTHS_MS) return `${month} ${day} ${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}`;
  return `${month} ${day}  ${mtime.getUTCFullYear()}`;
}

/** One LIST line (without CRLF). Owner and group are not revealed. */
export function formatListLine(entry: FileStat, now = Date.now()): string {
  const size = String(entry.size).padStart(12);
  const nlink = String(entry.nlink ?? 1).padStart(4);
  const name = entry.type === 'symlink' && entry.linkTarget !== undefined ? `${entry.name} -> ${entry.linkTarget}` : entry.name;
  return `${modeString(entry.type, entry.mode)} ${nlink} ftp      ftp      ${size} ${lsDate(entry.mtime, now)} ${name}`;
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

/**
 * One MLSD/MLST fact line (without CRLF): `fact=value;... name`. Symlinks are described by
 * what they point at when that is inside the root (as pyftpdlib and vsftpd do).
 */
export function formatFacts(
  entry: FileStat,
  facts: ReadonlySet<string>,
  can: ReadonlySet<Permission>,
  typeOverride?: 'cdir' | 'pdir',
  nameOverride?: string,
): string {
  const effective = entry.type === 'symlink' && entry.target ? { ...entry, ...entry.target } : entry;
  const kind = effective.type === 'dir' ? 'dir' : effective.type === 'file' ? 'file' : effective.type === 'symlink' ? 'OS.unix=symlink' : 'OS.unix=special';
  let out = '';
  if (facts.has('type')) out += `type=${typeOverride ?? kind};`;
  if (facts.has('size') && effective.type !== 'dir') out += `size=${effective.size};`;
  if (facts.has('modify')) out += `modify=${ftpTimestamp(effective.mtime)};`;
  if (facts.has('perm')) out += `perm=${permLetters(effective.type, can)};`;
  if (facts.has('unique') && entry.unique) out += `unique=${entry.unique};`;
  if (facts.has('unix.mode')) out += `unix.mode=0${(effective.mode & 0o7777).toString(8)};`;
  return `${out} ${nameOverride ?? entry.name}`;
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
