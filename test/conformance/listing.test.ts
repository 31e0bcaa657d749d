/**
 * PROTOCOL.md §5 "Listings": LIST, NLST, MLSD, MLST, OPTS MLST, globs, odd names.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, symlink, utimes, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startServer, type TestServer } from '../helpers/server.js';
import { passiveTransfer, rawSession } from './helpers.js';

let srv: TestServer;
/** A name that is not valid UTF-8: "caf\xe9.txt" in Latin-1. */
const LATIN1_NAME = Buffer.from('caf\xe9.txt', 'latin1');
before(async () => {
  srv = await startServer();
  await writeFile(join(srv.root, 'recent.txt'), '12345');
  await writeFile(join(srv.root, 'old.txt'), 'old');
  const old = new Date('2019-03-09T14:05:00Z');
  await utimes(join(srv.root, 'old.txt'), old, old);
  await mkdir(join(srv.root, 'dir'));
  await mkdir(join(srv.root, 'empty'));
  await writeFile(join(srv.root, 'dir', 'inner.txt'), 'in');
  await writeFile(join(srv.root, 'dir', 'other.log'), 'log');
  await writeFile(join(srv.root, 'dir', '.hidden.txt'), 'h');
  await symlink('recent.txt', join(srv.root, 'link'));
  writeFileSync(Buffer.concat([Buffer.from(srv.root + '/'), LATIN1_NAME]), 'latin1 content');
});
after(() => srv.close());

const lines = (b: Buffer) => b.toString('latin1').split('\r\n').slice(0, -1);

test('§5 LIST: ls -l lines, one per entry, CRLF, no . and ..', async () => {
  const c = await rawSession(srv);
  const t = await passiveTransfer(c, 'LIST');
  assert.equal(t.final?.code, 226);
  const text = t.data.toString('latin1');
  assert.ok(text.endsWith('\r\n'));
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /\n/, 'no bare LF');
  const ls = lines(t.data);
  assert.equal(ls.length, 6);
  for (const l of ls) assert.match(l, /^[-dl][rwxsStT-]{9} +\d+ \S+ +\S+ +\d+ [A-Z][a-z]{2} \d{2} (\d{2}:\d{2}| \d{4}) .+$/);
  assert.ok(!ls.some((l) => / \.{1,2}$/.test(l)));
  assert.ok(ls.some((l) => /^-rw.* 5 .* recent\.txt$/.test(l)));
  c.close();
});

test('§5 LIST: time for entries under six months old, else the year (Mar 09  2019)', async () => {
  const c = await rawSession(srv);
  const ls = lines((await passiveTransfer(c, 'LIST')).data);
  assert.ok(ls.some((l) => l.endsWith(' Mar 09  2019 old.txt')), ls.join('\n'));
  assert.ok(ls.some((l) => / [A-Z][a-z]{2} \d{2} \d{2}:\d{2} recent\.txt$/.test(l)));
  c.close();
});

test('§5 LIST: d for directories, l for links (with -> target)', async () => {
  const c = await rawSession(srv);
  const ls = lines((await passiveTransfer(c, 'LIST')).data);
  assert.ok(ls.some((l) => /^d.* dir$/.test(l)));
  assert.ok(ls.some((l) => /^l.* link -> recent\.txt$/.test(l)), ls.join('\n'));
  c.close();
});

test('§5 LIST of a file lists that file; NLST of a file names it', async () => {
  const c = await rawSession(srv);
  const one = lines((await passiveTransfer(c, 'LIST dir/inner.txt')).data);
  assert.equal(one.length, 1);
  assert.match(one[0]!, /^-.* 2 .* inner\.txt$/);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST dir/inner.txt')).data), ['dir/inner.txt']);
  c.close();
});

test('§5 LIST/NLST of an empty directory: 226 and no lines', async () => {
  const c = await rawSession(srv);
  for (const cmd of ['LIST empty', 'NLST empty', 'LIST -la empty']) {
    const t = await passiveTransfer(c, cmd);
    assert.equal(t.final?.code, 226, cmd);
    assert.equal(t.data.length, 0, cmd);
  }
  const m = await passiveTransfer(c, 'MLSD empty');
  assert.deepEqual(lines(m.data).map((l) => l.split(';')[0]), ['type=cdir']);
  c.close();
});

test('§5 LIST of a missing path: 550 (and the data connection is released)', async () => {
  const c = await rawSession(srv);
  assert.equal((await passiveTransfer(c, 'LIST nope')).first.code, 550);
  assert.equal((await passiveTransfer(c, 'NLST nope/x')).first.code, 550);
  c.close();
});

test('§5 NLST: bare names, one per line; NLST of a path prefixes each name with that path', async () => {
  const c = await rawSession(srv);
  const bare = lines((await passiveTransfer(c, 'NLST')).data).sort();
  assert.deepEqual(bare.filter((n) => n !== LATIN1_NAME.toString('latin1')), ['dir', 'empty', 'link', 'old.txt', 'recent.txt']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST dir')).data).sort(), ['dir/.hidden.txt', 'dir/inner.txt', 'dir/other.log']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST /dir/')).data).sort(), ['/dir/.hidden.txt', '/dir/inner.txt', '/dir/other.log']);
  c.close();
});

test('§5 globs: NLST *.txt and LIST dir/*.txt match the last segment (no dotfiles); no match is 550', async () => {
  const c = await rawSession(srv);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST *.txt')).data).sort(), [LATIN1_NAME.toString('latin1'), 'old.txt', 'recent.txt']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST r?cent.*')).data), ['recent.txt']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST dir/*.txt')).data), ['dir/inner.txt']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST dir/.*')).data), ['dir/.hidden.txt']);
  assert.deepEqual(lines((await passiveTransfer(c, 'NLST dir/[io]*.???')).data).sort(), ['dir/inner.txt', 'dir/other.log']);
  const l = lines((await passiveTransfer(c, 'LIST dir/*.log')).data);
  assert.equal(l.length, 1);
  assert.match(l[0]!, / other\.log$/);
  assert.equal((await passiveTransfer(c, 'NLST *.none')).first.code, 550);
  c.close();
});

test('§5 MLSD: facts type (cdir, file, dir), size, modify, perm, unique, unix.mode', async () => {
  const c = await rawSession(srv);
  const t = await passiveTransfer(c, 'MLSD');
  assert.equal(t.final?.code, 226);
  const ls = lines(t.data);
  const byName = new Map(ls.map((l) => [l.slice(l.indexOf(' ') + 1), l.slice(0, l.indexOf(' '))]));
  assert.match(byName.get('.')!, /^type=cdir;/);
  assert.match(byName.get('recent.txt')!, /^type=file;size=5;modify=\d{14};perm=[adfrw]+;unique=[0-9a-f]+g[0-9a-f]+;unix\.mode=0644;$/);
  assert.match(byName.get('dir')!, /^type=dir;modify=\d{14};perm=[cdeflmp]+;unique=\w+;unix\.mode=0\d+;$/);
  assert.match(byName.get('old.txt')!, /modify=20190309140500;/);
  assert.match(byName.get('link')!, /^type=file;size=5;/, 'a link inside the root is described by its target');
  c.close();
});

test('§5 MLSD on a file: 501', async () => {
  const c = await rawSession(srv);
  assert.equal((await passiveTransfer(c, 'MLSD recent.txt')).first.code, 501);
  c.close();
});

test('§5 MLST: over the control connection, 250-, one line beginning with a space, 250 End', async () => {
  const c = await rawSession(srv);
  const r = await c.send('MLST recent.txt');
  assert.equal(r.code, 250);
  assert.equal(r.lines.length, 3);
  assert.match(r.lines[0]!, /^250-/);
  assert.match(r.lines[1]!, /^ type=file;size=5;modify=\d{14};perm=\w+;unique=\w+;unix\.mode=0644; \/recent\.txt$/);
  assert.equal(r.lines[2], '250 End');
  assert.match((await c.send('MLST')).lines[1]!, /^ type=dir;.* \/$/, 'no argument: the current directory');
  assert.equal((await c.send('MLST nope')).code, 550);
  c.close();
});

test('§5 OPTS MLST fact;fact; selects the facts (MLSD, MLST and the FEAT stars follow)', async () => {
  const c = await rawSession(srv);
  const o = await c.send('OPTS MLST type;size;');
  assert.equal(o.text, '200 MLST OPTS type;size;');
  assert.equal((await c.send('MLST recent.txt')).lines[1], ' type=file;size=5; /recent.txt');
  const m = lines((await passiveTransfer(c, 'MLSD dir')).data);
  assert.ok(m.includes('type=file;size=2; inner.txt'), m.join('\n'));
  const feat = await c.send('FEAT');
  assert.ok(feat.lines.includes(' MLST type*;size*;modify;perm;unique;unix.mode;'), feat.text);
  assert.equal((await c.send('OPTS MLST Modify;bogus;')).text, '200 MLST OPTS modify;', 'unknown facts ignored, case-insensitive');
  assert.equal((await c.send('OPTS MLST')).text, '200 MLST OPTS ', 'no facts at all');
  assert.equal((await c.send('MLST recent.txt')).lines[1], '  /recent.txt');
  c.close();
});

test('§5 names that are not valid UTF-8 are listed as raw bytes and round-trip through RETR', async () => {
  const c = await rawSession(srv);
  const raw = (await passiveTransfer(c, 'NLST')).data;
  const name = raw
    .toString('latin1')
    .split('\r\n')
    .find((n) => n.startsWith('caf'));
  assert.ok(name);
  assert.ok(Buffer.from(name, 'latin1').equals(LATIN1_NAME), 'the exact bytes on disk');
  const list = (await passiveTransfer(c, 'LIST')).data;
  assert.ok(list.includes(Buffer.concat([Buffer.from(' '), LATIN1_NAME, Buffer.from('\r\n')])));
  await c.send('TYPE I');
  const got = await passiveTransfer(c, Buffer.concat([Buffer.from('RETR '), LATIN1_NAME]));
  assert.equal(got.final?.code, 226);
  assert.equal(got.data.toString(), 'latin1 content');
  const mlsd = (await passiveTransfer(c, 'MLSD')).data;
  assert.ok(mlsd.includes(Buffer.concat([Buffer.from('; '), LATIN1_NAME, Buffer.from('\r\n')])));
  c.close();
  assert.equal(await readFile(Buffer.concat([Buffer.from(srv.root + '/'), LATIN1_NAME]), 'utf8'), 'latin1 content');
});
