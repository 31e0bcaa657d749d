// LocalStorage.listFormatted (lines formatted in C, native/listing.c) must produce exactly the
// bytes the JavaScript formatters produce from listBatches, for any entry: random modes,
// sizes, mtimes (to the nanosecond, so Date's rounding is exercised), facts and perm letters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { nativeListing } from '../../src/core/native.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { encodeBytes } from '../../src/core/bytes.js';
import type { FileStat, ListFormatSpec } from '../../src/core/storage/types.js';
import { FactsFormatter, ListLineFormatter, ALL_MLST_FACTS } from '../../src/ftp/listing.js';
import { parsePermissions } from '../../src/core/permissions.js';
import { permLetters } from '../../src/ftp/listing.js';
import { makeOddFolder } from '../helpers/odd-folder.js';

const skip = !nativeListing && 'the native module is not built (or WHARF_NATIVE=off)';
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'wharf-native-list-unit-'));
  roots.push(root);
  return root;
}

function specFor(format: 'ls' | 'facts', now: number, facts: ReadonlySet<string>, permissions: string): ListFormatSpec {
  const can = parsePermissions(permissions);
  const ls = new ListLineFormatter(now);
  const mlsd = new FactsFormatter(facts, can);
  return {
    format,
    now,
    facts,
    perms: { file: permLetters('file', can), dir: permLetters('dir', can), other: permLetters('other', can) },
    line: (entry: FileStat) => (format === 'ls' ? ls.line(entry) : mlsd.line(entry)),
  };
}

async function viaNative(storage: LocalStorage, vpath: string, spec: ListFormatSpec): Promise<Buffer> {
  const lines = storage.listFormatted(vpath, spec);
  assert.ok(lines, 'LocalStorage uses the native listing when the module is loaded');
  const parts: Buffer[] = [];
  for await (const chunk of lines) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function viaJavaScript(storage: LocalStorage, vpath: string, spec: ListFormatSpec): Promise<Buffer> {
  let text = '';
  for await (const batch of storage.listBatches(vpath)) for (const entry of batch) text += spec.line(entry) + '\r\n';
  return encodeBytes(text);
}

function differ(a: Buffer, b: Buffer): string {
  return `\n--- native\n${a.toString('latin1')}\n--- javascript\n${b.toString('latin1')}`;
}

test('random entries: native lines are byte-identical to the JavaScript formatters', { skip }, async () => {
  const entry = fc.record({
    dir: fc.boolean(),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })),
    seconds: fc.oneof(fc.integer({ min: 1, max: 4_000_000_000 }), fc.integer({ min: 1_700_000_000, max: 1_800_000_000 })),
    nanos: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 999_999_000, max: 999_999_999 })),
  });
  const scenario = fc.record({
    entries: fc.array(entry, { minLength: 1, maxLength: 12 }),
    now: fc.integer({ min: 1_000_000_000_000, max: 1_900_000_000_000 }),
    format: fc.constantFrom('ls' as const, 'facts' as const),
    facts: fc.subarray([...ALL_MLST_FACTS]),
    permissions: fc.constantFrom('read', 'read,write', 'all', 'list'),
  });
  const root = newRoot();
  const storage = new LocalStorage(root);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async ({ entries, now, format, facts, permissions }) => {
      const name = `case-${run++}`;
      const dir = join(root, name);
      mkdirSync(dir);
      entries.forEach((e, i) => {
        const path = join(dir, `e${i}`);
        if (e.dir) mkdirSync(path);
        else {
          writeFileSync(path, '');
          truncateSync(path, e.size);
        }
        chmodSync(path, e.mode);
        const t = e.seconds + e.nanos / 1e9;
        utimesSync(path, t, t);
      });
      const spec = specFor(format, now, new Set(facts), permissions);
      const [a, b] = [await viaNative(storage, '/' + name, spec), await viaJavaScript(storage, '/' + name, spec)];
      assert.ok(a.equals(b), differ(a, b));
    }),
    { numRuns: 80 },
  );
});

test('the odd folder, and symlinks between plain entries across chunk boundaries, list identically', { skip }, async () => {
  const root = newRoot();
  makeOddFolder(root);
  const mixed = join(root, 'mixed');
  mkdirSync(mixed);
  for (let i = 0; i < 3000; i++) {
    if (i % 97 === 0) symlinkSync(i % 2 ? `f${i - 1}` : '/etc', join(mixed, `l${i}`));
    else writeFileSync(join(mixed, `f${i}-${'n'.repeat(i % 200)}`), '');
  }
  const storage = new LocalStorage(root);
  const facts = new Set<string>(ALL_MLST_FACTS);
  for (const vpath of ['/odd', '/mixed', '/odd/sub dir'])
    for (const format of ['ls', 'facts'] as const) {
      const spec = specFor(format, Date.now(), facts, 'all');
      const [a, b] = [await viaNative(storage, vpath, spec), await viaJavaScript(storage, vpath, spec)];
      assert.ok(a.equals(b), `${vpath} ${format}` + differ(a, b));
    }
});

test('breaking out of a native listing closes its directory; a missing or escaping path is refused like listBatches', { skip }, async () => {
  const root = newRoot();
  const dir = join(root, 'big');
  mkdirSync(dir);
  for (let i = 0; i < 4000; i++) writeFileSync(join(dir, `file-${i}-${'z'.repeat(60)}`), '');
  symlinkSync('/etc', join(root, 'escape'));
  const storage = new LocalStorage(root);
  const spec = specFor('ls', Date.now(), new Set(), 'all');
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 20; i++) {
    for await (const chunk of storage.listFormatted('/big', spec)!) {
      assert.ok(chunk.length > 0);
      break;
    }
  }
  assert.equal(fds(), before);
  const codeOf = async (lines: AsyncIterable<unknown>) => {
    try {
      for await (const _ of lines) void _;
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };
  for (const vpath of ['/missing', '/escape', '/big/file-1-' + 'z'.repeat(60)])
    assert.equal(await codeOf(storage.listFormatted(vpath, spec)!), await codeOf(storage.listBatches(vpath)), vpath);
  assert.equal(await codeOf(storage.listFormatted('/escape', spec)!), 'PATH_OUTSIDE_ROOT');
});
