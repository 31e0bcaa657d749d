/**
 * The extension commands: HASH / OPTS HASH and the X-digest commands, HOST (RFC 7151),
 * MFMT, SITE CHMOD / SITE HELP, CLNT, ALLO; HELP and FEAT come from the command table.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile, stat, open } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { rawSession, passiveTransfer } from './helpers.js';
import { crc32Update } from '../../src/core/digest.js';

let srv: TestServer;
const body = randomBytes(3 * 1024 * 1024 + 17);
const hex = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
const crc = (b: Buffer) => crc32Update(0, b).toString(16).padStart(8, '0');
before(async () => {
  srv = await startServer();
  await writeFile(join(srv.root, 'data.bin'), body);
  await writeFile(join(srv.root, 'empty.bin'), '');
  await writeFile(join(srv.root, 'with space.txt'), 'spaced');
  await mkdir(join(srv.root, 'dir'));
});
after(() => srv.close());

test('HASH: 213 SHA-256 0-<size> <hex> <path> by default, without RANG', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('HASH data.bin')).text, `213 SHA-256 0-${body.length} ${hex('sha256', body)} data.bin`);
  assert.equal((await c.send('HASH with space.txt')).text, `213 SHA-256 0-6 ${hex('sha256', Buffer.from('spaced'))} with space.txt`);
  assert.equal((await c.send('HASH empty.bin')).text, `213 SHA-256 0-0 ${hex('sha256', Buffer.alloc(0))} empty.bin`);
  c.close();
});

test('OPTS HASH selects SHA-1, MD5, CRC32 (and back); FEAT marks the selected one; unknown is 504', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('OPTS HASH')).text, '200 SHA-256');
  const cases: Array<[string, string]> = [
    ['SHA-1', hex('sha1', body)],
    ['MD5', hex('md5', body)],
    ['CRC32', crc(body)],
    ['SHA-256', hex('sha256', body)],
  ];
  for (const [algo, want] of cases) {
    assert.equal((await c.send(`OPTS HASH ${algo}`)).text, `200 ${algo}`);
    assert.equal((await c.send('HASH data.bin')).text, `213 ${algo} 0-${body.length} ${want} data.bin`);
  }
  await c.send('OPTS HASH md5');
  const feat = await c.send('FEAT');
  assert.ok(feat.lines.includes(' HASH SHA-256;SHA-1;MD5*;CRC32'), feat.text);
  assert.equal((await c.send('OPTS HASH SHA-512')).code, 504);
  assert.equal((await c.send('OPTS HASH')).text, '200 MD5', 'unchanged by the refused choice');
  c.close();
});

test('HASH of a directory: 550; of a missing file: 550; without permission: 550', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('HASH dir')).code, 550);
  assert.equal((await c.send('HASH /')).code, 550);
  assert.equal((await c.send('HASH nope')).code, 550);
  assert.equal((await c.send('XMD5 dir')).code, 550);
  assert.equal((await c.send('HASH')).code, 501);
  c.close();
  const ro = await startServer({ root: srv.root, users: [{ name: 'lister', password: 'pw', permissions: 'list' }] });
  try {
    const r = await rawSession(ro, { login: false });
    await r.send('USER lister');
    await r.send('PASS pw');
    assert.equal((await r.send('HASH data.bin')).code, 550, 'needs read permission');
    r.close();
  } finally {
    await ro.close();
  }
});

test('XSHA256 / XSHA1 / XMD5 / XCRC: 250 <hex>, optional byte range', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('XSHA256 data.bin')).text, `250 ${hex('sha256', body)}`);
  assert.equal((await c.send('XSHA1 data.bin')).text, `250 ${hex('sha1', body)}`);
  assert.equal((await c.send('XMD5 data.bin')).text, `250 ${hex('md5', body)}`);
  assert.equal((await c.send('XCRC data.bin')).text, `250 ${crc(body)}`);
  assert.equal((await c.send('XMD5 with space.txt')).text, `250 ${hex('md5', Buffer.from('spaced'))}`);
  assert.equal((await c.send('XMD5 data.bin 100 5000')).text, `250 ${hex('md5', body.subarray(100, 5000))}`);
  assert.equal((await c.send('XCRC data.bin 1000')).text, `250 ${crc(body.subarray(0, 1000))}`);
  assert.equal((await c.send('XSHA1 data.bin, 0, 10')).text, `250 ${hex('sha1', body.subarray(0, 10))}`);
  assert.equal((await c.send('XMD5 data.bin 10 5')).code, 501);
  c.close();
});

test('CRC32: the table-driven implementation equals zlib’s, also across chunk boundaries', () => {
  const zcrc = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  const sample = randomBytes(100_000);
  assert.equal(crc32Update(0, Buffer.from('123456789')), 0xcbf43926, 'the standard check value');
  const split = crc32Update(crc32Update(0, sample.subarray(0, 33_333)), sample.subarray(33_333));
  assert.equal(split, crc32Update(0, sample));
  if (zcrc) assert.equal(crc32Update(0, sample), zcrc(sample));
});

test('HASH streams: a 512 MiB (sparse) file hashes without holding it in memory', async () => {
  const size = 512 * 1024 * 1024;
  const f = await open(join(srv.root, 'sparse.bin'), 'w');
  await f.truncate(size);
  await f.close();
  const c = await rawSession(srv);
  await c.send('OPTS HASH CRC32');
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const r = await c.send('HASH sparse.bin', 15_000);
  clearInterval(timer);
  assert.match(r.text, new RegExp(`^213 CRC32 0-${size} [0-9a-f]{8} sparse\\.bin$`));
  assert.ok(peak - before < 128 * 1024 * 1024, `RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
  c.close();
});

test('HOST (RFC 7151): 220 before login, 503 after USER or login, 501 without a name', async () => {
  const c = await rawSession(srv, { login: false });
  assert.equal((await c.send('HOST')).code, 501);
  assert.equal((await c.send('HOST ftp.example.com')).code, 220);
  await c.send('USER alice');
  assert.equal((await c.send('HOST ftp.example.com')).code, 503);
  assert.equal((await c.send('PASS wonderland')).code, 230);
  assert.equal((await c.send('HOST other.example')).code, 503);
  c.close();
});

test('MFMT: 213 Modify=YYYYMMDDHHMMSS; path — bad time 501, missing file 550, directories too', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('MFMT 20231224181500 with space.txt')).text, '213 Modify=20231224181500; with space.txt');
  assert.equal((await stat(join(srv.root, 'with space.txt'))).mtime.toISOString(), '2023-12-24T18:15:00.000Z');
  assert.equal((await c.send('MFMT 20231224181500 dir')).code, 213);
  assert.equal((await c.send('MDTM with space.txt')).text, '213 20231224181500');
  for (const bad of ['MFMT 2023 x', 'MFMT 20231324181500 with space.txt', 'MFMT with space.txt', 'MFMT 20231224181500']) assert.equal((await c.send(bad)).code, 501, bad);
  assert.equal((await c.send('MFMT 20231224181500 nope')).code, 550);
  c.close();
});

test('SITE CHMOD: 200 and the mode changes; bad mode 501; missing file 550; SITE HELP lists it; unknown SITE 500', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('SITE CHMOD 600 with space.txt')).code, 200);
  assert.equal((await stat(join(srv.root, 'with space.txt'))).mode & 0o777, 0o600);
  assert.equal((await c.send('site chmod 0644 with space.txt')).code, 200);
  assert.equal((await stat(join(srv.root, 'with space.txt'))).mode & 0o777, 0o644);
  assert.equal((await c.send('SITE CHMOD 999 with space.txt')).code, 501);
  assert.equal((await c.send('SITE CHMOD 644')).code, 501);
  assert.equal((await c.send('SITE CHMOD 644 nope')).code, 550);
  const help = await c.send('SITE HELP');
  assert.equal(help.code, 214);
  assert.match(help.text, /CHMOD/);
  assert.equal((await c.send('SITE FROB')).code, 500);
  c.close();
});

test('CLNT: 200 before and after login; ALLO: 202', async () => {
  const c = await rawSession(srv, { login: false });
  assert.equal((await c.send('CLNT curl 8.5')).code, 200);
  c.close();
  const d = await rawSession(srv);
  assert.equal((await d.send('CLNT lftp')).code, 200);
  assert.equal((await d.send('ALLO 5000')).code, 202);
  d.close();
});

test('HELP and FEAT come from the command table: every verb is in HELP, HELP <verb> answers for each', async () => {
  const c = await rawSession(srv, { login: false });
  const all = (await c.send('HELP')).text;
  const verbs = ['ABOR', 'ALLO', 'APPE', 'CDUP', 'CLNT', 'CWD', 'DELE', 'EPRT', 'EPSV', 'FEAT', 'HASH', 'HELP', 'HOST', 'LIST', 'MDTM', 'MFMT', 'MKD', 'MLSD', 'MLST', 'MODE', 'NLST', 'NOOP', 'OPTS', 'PASS', 'PASV', 'PORT', 'PWD', 'QUIT', 'REST', 'RETR', 'RMD', 'RNFR', 'RNTO', 'SITE', 'SIZE', 'STAT', 'STOR', 'STOU', 'STRU', 'SYST', 'TYPE', 'USER', 'XCRC', 'XCUP', 'XCWD', 'XMD5', 'XMKD', 'XPWD', 'XRMD', 'XSHA1', 'XSHA256'];
  for (const v of verbs) {
    assert.ok(new RegExp(`\\b${v}\\b`).test(all), `HELP lists ${v}`);
    assert.equal((await c.send(`HELP ${v}`)).code, 214, v);
  }
  assert.equal((await c.send('HELP FROB')).code, 502);
  c.close();
});

test('OPTS for a command without options, or an unknown one: 501', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('OPTS RETR x')).code, 501);
  assert.equal((await c.send('OPTS FROB')).code, 501);
  const t = await passiveTransfer(c, 'NLST');
  assert.equal(t.final?.code, 226);
  c.close();
});
