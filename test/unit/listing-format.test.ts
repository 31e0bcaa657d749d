// The listing formatters cache per minute / per second / per (type, mode), and LocalStorage
// reads names as latin1: these tests pin that the output is byte for byte what the plain
// implementation (kept below as the reference) produces, tricky entries included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, utimesSync, rmSync, readdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { FactsFormatter, ListLineFormatter, formatFacts, formatListLine } from '../../src/ftp/listing.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { decodeBytes, encodeBytes } from '../../src/core/bytes.js';
import { parsePermissions } from '../../src/core/permissions.js';
import type { EntryType, FileStat } from '../../src/core/storage/types.js';

const now = Date.UTC(2026, 10, 21, 12, 0, 0);
const SIX_MONTHS_MS = 182.5 * 24 * 3600 * 1000;

// ---- the reference: the straightforward formatting (no caches), as it was before ----
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));
function refMode(type: EntryType, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : type === 'file' ? '-' : '?';
  const bits = 'rwxrwxrwx';
  let out = t;
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  if (mode & 0o4000) out = out.slice(0, 3) + (mode & 0o100 ? 's' : 'S') + out.slice(4);
  if (mode & 0o2000) out = out.slice(0, 6) + (mode & 0o010 ? 's' : 'S') + out.slice(7);
  if (mode & 0o1000) out = out.slice(0, 9) + (mode & 0o001 ? 't' : 'T');
  return out;
}
function refDate(mtime: Date, at: number): string {
  const month = MONTHS[mtime.getUTCMonth()]!;
  const day = pad2(mtime.getUTCDate());
  const age = at - mtime.getTime();
  if (age < SIX_MONTHS_MS && age > -SIX_MONTHS_MS) return `${month} ${day} ${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}`;
  return `${month} ${day}  ${mtime.getUTCFullYear()}`;
}
function refListLine(e: FileStat, at: number): string {
  const name = e.type === 'symlink' && e.linkTarget !== undefined ? `${e.name} -> ${e.linkTarget}` : e.name;
  return `${refMode(e.type, e.mode)} ${String(e.nlink ?? 1).padStart(4)} ftp      ftp      ${String(e.size).padStart(12)} ${refDate(e.mtime, at)} ${name}`;
}
const stamp = (d: Date) => `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
function refFacts(entry: FileStat, facts: ReadonlySet<string>, perms: { file: string; dir: string }, typeOverride?: string, nameOverride?: string): string {
  const eff = entry.type === 'symlink' && entry.target ? { ...entry, ...entry.target } : entry;
  const kind = eff.type === 'dir' ? 'dir' : eff.type === 'file' ? 'file' : eff.type === 'symlink' ? 'OS.unix=symlink' : 'OS.unix=special';
  let out = '';
  if (facts.has('type')) out += `type=${typeOverride ?? kind};`;
  if (facts.has('size') && eff.type !== 'dir') out += `size=${eff.size};`;
  if (facts.has('modify')) out += `modify=${stamp(eff.mtime)};`;
  if (facts.has('perm')) out += `perm=${eff.type === 'dir' ? perms.dir : perms.file};`;
  if (facts.has('unique') && entry.unique) out += `unique=${entry.unique};`;
  if (facts.has('unix.mode')) out += `unix.mode=0${(eff.mode & 0o7777).toString(8)};`;
  return `${out} ${nameOverride ?? entry.name}`;
}
// -------------------------------------------------------------------------------------

const badName = decodeBytes(Buffer.from('bad-\xff\xfe.txt', 'latin1')); // not UTF-8 on disk
const tricky: FileStat[] = [
  { name: 'recent.txt', type: 'file', size: 12345, mtime: new Date(Date.UTC(2026, 8, 9, 14, 5, 59, 999)), mode: 0o644, nlink: 1, unique: 'fe00g1' },
  { name: 'old.bin', type: 'file', size: 0, mtime: new Date(Date.UTC(1999, 11, 31, 23, 59, 59)), mode: 0o600 },
  { name: 'future.bin', type: 'file', size: 1, mtime: new Date(Date.UTC(2030, 0, 1)), mode: 0o644 },
  { name: 'sub dir', type: 'dir', size: 4096, mtime: new Date(Date.UTC(2026, 10, 1, 8, 0)), mode: 0o755, nlink: 23, unique: 'fe00g2' },
  { name: 'link', type: 'symlink', size: 9, mtime: new Date(now), mode: 0o777, linkTarget: 'plain.txt', target: { type: 'file', size: 5, mtime: new Date(Date.UTC(2024, 2, 9, 14, 5, 7)), mode: 0o640 } },
  { name: 'link-dir', type: 'symlink', size: 3, mtime: new Date(now), mode: 0o777, linkTarget: 'sub', target: { type: 'dir', size: 4096, mtime: new Date(now), mode: 0o755 } },
  { name: 'dangling', type: 'symlink', size: 7, mtime: new Date(now), mode: 0o777, linkTarget: 'nowhere' },
  { name: badName, type: 'file', size: 3, mtime: new Date(Date.UTC(2021, 6, 4)), mode: 0o644 },
  { name: 'été café', type: 'file', size: 4, mtime: new Date(Date.UTC(2021, 6, 4)), mode: 0o644 },
  { name: 'setuid', type: 'file', size: 2, mtime: new Date(Date.UTC(2020, 5, 6, 7, 8, 9)), mode: 0o4755 },
  { name: 'setgid-nox', type: 'file', size: 2, mtime: new Date(Date.UTC(2020, 5, 6)), mode: 0o2640 },
  { name: 'sticky', type: 'dir', size: 0, mtime: new Date(Date.UTC(2010, 1, 2)), mode: 0o1777 },
  { name: 'fifo', type: 'other', size: 0, mtime: new Date(now - 1000), mode: 0o644 },
  { name: 'huge', type: 'file', size: 12345678901234, mtime: new Date(now), mode: 0o644 },
];

test('LIST lines for tricky entries are exactly the expected text', () => {
  const f = new ListLineFormatter(now);
  const lines = tricky.map((e) => f.line(e));
  assert.deepEqual(lines, [
    '-rw-r--r--    1 ftp      ftp             12345 Sep 09 14:05 recent.txt',
    '-rw-------    1 ftp      ftp                 0 Dec 31  1999 old.bin',
    '-rw-r--r--    1 ftp      ftp                 1 Jan 01  2030 future.bin',
    'drwxr-xr-x   23 ftp      ftp              4096 Nov 01 08:00 sub dir',
    'lrwxrwxrwx    1 ftp      ftp                 9 Nov 21 12:00 link -> plain.txt',
    'lrwxrwxrwx    1 ftp      ftp                 3 Nov 21 12:00 link-dir -> sub',
    'lrwxrwxrwx    1 ftp      ftp                 7 Nov 21 12:00 dangling -> nowhere',
    `-rw-r--r--    1 ftp      ftp                 3 Jul 04  2021 ${badName}`,
    '-rw-r--r--    1 ftp      ftp                 4 Jul 04  2021 été café',
    '-rwsr-xr-x    1 ftp      ftp                 2 Jun 06  2020 setuid',
    '-rw-r-S---    1 ftp      ftp                 2 Jun 06  2020 setgid-nox',
    'drwxrwxrwt    1 ftp      ftp                 0 Feb 02  2010 sticky',
    '?rw-r--r--    1 ftp      ftp                 0 Nov 21 11:59 fifo',
    '-rw-r--r--    1 ftp      ftp      12345678901234 Nov 21 12:00 huge', // wider than the column: one space
  ]);
  // the non-UTF-8 name goes out as its original bytes
  assert.ok(encodeBytes(lines[7]!).includes(Buffer.from('bad-\xff\xfe.txt', 'latin1')));
  assert.equal(formatListLine(tricky[0]!, now), lines[0]);
});

test('MLSD facts for tricky entries are exactly the expected text', () => {
  const facts = new Set(['type', 'size', 'modify', 'perm', 'unique', 'unix.mode']);
  const f = new FactsFormatter(facts, parsePermissions('all'));
  assert.deepEqual(
    tricky.slice(0, 8).map((e) => f.line(e)),
    [
      'type=file;size=12345;modify=20260909140559;perm=adfrw;unique=fe00g1;unix.mode=0644; recent.txt',
      'type=file;size=0;modify=19991231235959;perm=adfrw;unix.mode=0600; old.bin',
      'type=file;size=1;modify=20300101000000;perm=adfrw;unix.mode=0644; future.bin',
      'type=dir;modify=20261101080000;perm=cdeflmp;unique=fe00g2;unix.mode=0755; sub dir',
      'type=file;size=5;modify=20240309140507;perm=adfrw;unix.mode=0640; link',
      'type=dir;modify=20261121120000;perm=cdeflmp;unix.mode=0755; link-dir',
      'type=OS.unix=symlink;size=7;modify=20261121120000;perm=adfrw;unix.mode=0777; dangling',
      `type=file;size=3;modify=20210704000000;perm=adfrw;unix.mode=0644; ${badName}`,
    ],
  );
  assert.equal(f.line(tricky[3]!, 'cdir', '.'), 'type=cdir;modify=20261101080000;perm=cdeflmp;unique=fe00g2;unix.mode=0755; .');
  const some = new FactsFormatter(new Set(['unique', 'size']), parsePermissions('read-only'));
  assert.equal(some.line(tricky[0]!), 'size=12345;unique=fe00g1; recent.txt');
  assert.equal(formatFacts(tricky[12]!, new Set(['type', 'perm']), parsePermissions('read-only')), 'type=OS.unix=special;perm=r; fifo');
});

test('the caches never change a line: random entries match the reference, one formatter for all', () => {
  const types: EntryType[] = ['file', 'dir', 'symlink', 'other'];
  const entry = fc.record({
    name: fc.string({ minLength: 1, maxLength: 12 }),
    type: fc.constantFrom(...types),
    size: fc.nat(),
    // around now (both sides of the six-month edge, same minutes and seconds repeating) and far away
    ms: fc.oneof(fc.integer({ min: now - 2 * SIX_MONTHS_MS, max: now + 2 * SIX_MONTHS_MS }), fc.integer({ min: -1e13, max: 1e13 }), fc.constantFrom(now - SIX_MONTHS_MS, now - SIX_MONTHS_MS + 1, now + SIX_MONTHS_MS - 1, now - SIX_MONTHS_MS - 1)),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    nlink: fc.option(fc.nat(100000), { nil: undefined }),
    unique: fc.option(fc.stringMatching(/^[0-9a-f]{1,8}g[0-9a-f]{1,8}$/), { nil: undefined }),
  });
  const facts = new Set(['type', 'size', 'modify', 'perm', 'unique', 'unix.mode']);
  const can = parsePermissions('read-only');
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 300 }), (rows) => {
      const list = new ListLineFormatter(now);
      const mlsd = new FactsFormatter(facts, can);
      for (const r of rows) {
        const e: FileStat = { name: r.name, type: r.type, size: r.size, mtime: new Date(r.ms), mode: r.mode, ...(r.nlink !== undefined ? { nlink: r.nlink } : {}), ...(r.unique ? { unique: r.unique } : {}) };
        assert.equal(list.line(e), refListLine(e, now));
        assert.equal(mlsd.line(e), refFacts(e, facts, { file: 'r', dir: 'el' }));
      }
    }),
    { numRuns: 200 },
  );
  // more distinct minutes than the memo holds: it is cleared, never wrong
  const list = new ListLineFormatter(now);
  for (let i = 0; i < 10_000; i++) {
    const e: FileStat = { name: 'x', type: 'file', size: i, mtime: new Date(now - i * 61_000), mode: 0o644 };
    assert.equal(list.line(e), refListLine(e, now));
  }
});

test('LocalStorage lists non-UTF-8, non-ASCII and symlink entries with the names and sizes on disk', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'wharf-listfmt-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dirs = ['plain', 'été', Buffer.from('raw-\xe9', 'latin1')]; // ASCII, UTF-8 and non-UTF-8 directory names
  for (const d of dirs) {
    const dir = Buffer.concat([Buffer.from(root + '/'), Buffer.from(d as string | Buffer)]);
    mkdirSync(dir);
    const file = (name: string | Buffer, size: number) => writeFileSync(Buffer.concat([dir, Buffer.from('/'), Buffer.from(name as string | Buffer)]), 'x'.repeat(size));
    file('a.txt', 1);
    file('ü.txt', 2);
    file(Buffer.from('bad-\xff\xfe', 'latin1'), 3);
    file(' spaced ', 4);
    symlinkSync('a.txt', Buffer.concat([dir, Buffer.from('/to-a')]));
    symlinkSync('/etc/passwd', Buffer.concat([dir, Buffer.from('/to-outside')]));
    utimesSync(Buffer.concat([dir, Buffer.from('/a.txt')]), 1_000_000, 1_000_000.5); // a .5 s mtime
  }
  const storage = new LocalStorage(root);
  for (const d of dirs) {
    const vdir = '/' + decodeBytes(Buffer.from(d as string | Buffer));
    const got = new Map<string, FileStat>();
    for await (const batch of storage.listBatches(vdir)) for (const e of batch) got.set(e.name, e);
    const diskDir = Buffer.concat([Buffer.from(root + '/'), Buffer.from(d as string | Buffer)]);
    const want = readdirSync(diskDir, { encoding: 'buffer' });
    assert.equal(got.size, want.length, `${vdir}: every entry once`);
    for (const raw of want) {
      const e = got.get(decodeBytes(raw));
      assert.ok(e, `${vdir}: ${decodeBytes(raw)} listed`);
      const st = lstatSync(Buffer.concat([diskDir, Buffer.from('/'), raw]));
      assert.equal(e.size, st.size);
      assert.equal(e.mtime.getTime(), st.mtime.getTime());
      assert.equal(e.type, st.isSymbolicLink() ? 'symlink' : 'file');
    }
    assert.equal(got.get('to-a')?.linkTarget, 'a.txt');
    assert.equal(got.get('to-a')?.target?.size, 1, 'a link inside the root is described by its target');
    assert.equal(got.get('to-outside')?.target, undefined, 'nothing is revealed about a target outside the root');
    assert.equal(got.get(decodeBytes(Buffer.from('bad-\xff\xfe', 'latin1')))?.size, 3);
  }
});
