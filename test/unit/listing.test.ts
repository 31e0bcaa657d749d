import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFacts, formatListLine, ftpTimestamp, parseFtpTimestamp } from '../../src/ftp/listing.js';
import { parsePermissions } from '../../src/core/permissions.js';

const now = Date.UTC(2026, 10, 21, 12, 0, 0);

test('LIST lines: time for recent entries, year for old ones, l with target', () => {
  const recent = formatListLine({ name: 'a.txt', type: 'file', size: 12345, mtime: new Date(Date.UTC(2026, 8, 9, 14, 5)), mode: 0o644 }, now);
  assert.match(recent, /^-rw-r--r-- +1 ftp +ftp +12345 Sep 09 14:05 a\.txt$/);
  const old = formatListLine({ name: 'old', type: 'dir', size: 4096, mtime: new Date(Date.UTC(2024, 2, 9)), mode: 0o755 }, now);
  assert.match(old, /^drwxr-xr-x .* Mar 09  2024 old$/);
  const link = formatListLine({ name: 'l', type: 'symlink', size: 4, mtime: new Date(now), mode: 0o777, linkTarget: '/etc' }, now);
  assert.match(link, /^lrwxrwxrwx .* l -> \/etc$/);
});

test('MLSD facts and perm letters follow the user permissions', () => {
  const ro = parsePermissions('read-only');
  const all = parsePermissions('all');
  const file = { name: 'f', type: 'file' as const, size: 3, mtime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), mode: 0o644, unique: '1g2' };
  const facts = new Set(['type', 'size', 'modify', 'perm', 'unique', 'unix.mode']);
  assert.equal(formatFacts(file, facts, ro), 'type=file;size=3;modify=20260102030405;perm=r;unique=1g2;unix.mode=0644; f');
  assert.equal(formatFacts(file, new Set(['type']), all), 'type=file; f');
  assert.match(formatFacts({ ...file, type: 'dir' }, facts, all), /perm=cdeflmp;/);
});

test('timestamps are UTC YYYYMMDDHHMMSS and parse back', () => {
  const d = new Date(Date.UTC(2020, 1, 29, 23, 59, 58));
  assert.equal(ftpTimestamp(d), '20200229235958');
  assert.equal(parseFtpTimestamp('20200229235958')?.getTime(), d.getTime());
  assert.equal(parseFtpTimestamp('20210229000000'), undefined);
  assert.equal(parseFtpTimestamp('2021'), undefined);
});
