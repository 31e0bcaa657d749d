// lstatEntry may read Node's fs binding directly: it must describe every kind of entry
// exactly as fs.lstatSync does, and skip (undefined) what lstatSync cannot stat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, utimesSync, rmSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { lstatEntry, lstatEntryIsDirect } from '../../src/core/storage/listing-lstat.js';

test('lstatEntry matches fs.lstatSync for files, dirs, links, fifos and odd names', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'wharf-lstat-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  t.diagnostic(`reads the fs binding directly: ${lstatEntryIsDirect}`);
  writeFileSync(path.join(root, 'file'), 'x'.repeat(1234));
  utimesSync(path.join(root, 'file'), 1_700_000_000.123456, 1_700_000_000.9996); // sub-ms mtime, rounds up
  mkdirSync(path.join(root, 'dir'));
  symlinkSync('file', path.join(root, 'link'));
  symlinkSync('/nowhere/at/all', path.join(root, 'dangling'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  const raw = Buffer.from(root + '/bad-\xff', 'latin1');
  writeFileSync(raw, 'raw');
  const cases: [string | Buffer, string][] = [
    [path.join(root, 'file'), 'file'],
    [path.join(root, 'dir'), 'dir'],
    [path.join(root, 'link'), 'symlink'],
    [path.join(root, 'dangling'), 'symlink'],
    [path.join(root, 'fifo'), 'other'],
    [raw, 'file'],
  ];
  for (const [p, type] of cases) {
    const st = lstatSync(p);
    const e = lstatEntry(p, 'the-name');
    assert.ok(e, `${p.toString()} is described`);
    assert.equal(e.name, 'the-name');
    assert.equal(e.type, type);
    assert.equal(e.size, st.size);
    assert.equal(e.mode, st.mode & 0o7777);
    assert.equal(e.nlink, st.nlink);
    assert.equal(e.mtime.getTime(), st.mtime.getTime(), `${p.toString()}: mtime as fs.Stats rounds it`);
    assert.equal(e.unique, `${st.dev.toString(16)}g${st.ino.toString(16)}`);
  }
});

test('lstatEntry skips what cannot be stat-ed instead of throwing', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'wharf-lstat-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(path.join(root, 'file'), 'x');
  writeFileSync(path.join(root, 'fi'), 'what a path cut at the NUL would find');
  assert.equal(lstatEntry(path.join(root, 'vanished'), 'vanished'), undefined);
  assert.equal(lstatEntry(path.join(root, 'file', 'below-a-file'), 'x'), undefined); // ENOTDIR
  assert.equal(lstatEntry(path.join(root, 'fi\0le'), 'x'), undefined); // NUL: never cut short to "fi"
  assert.equal(lstatEntry(Buffer.from(path.join(root, 'fi\0le')), 'x'), undefined);
});
