import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, symlink, readdir, rm, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Writable, Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { rawSession } from '../helpers/session.js';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw.js';
import { ftplib } from '../helpers/pyftp.js';
import { curl, ftpUrl } from '../helpers/curl.js';

/**
 * Jail escapes. The root holds planted symlinks (to /etc, to a file outside, to a folder
 * outside, a dangling one pointing outside) and one legitimate inside link. Every escape must
 * be refused with 550 (553 where a name is refused for creation), and no byte of outside
 * content may ever come back, on the control or the data connection.
 */
const SECRET = `OUTSIDE-SECRET-${randomBytes(8).toString('hex')}`;
// A line that exists in /etc/passwd on every Linux: its text must never be served.
const PASSWD_MARK = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;

let srv: TestServer;
let outside: string;
let local: string;

before(async () => {
  outside = await tempDir('wharf-outside-');
  local = await tempDir('wharf-trav-local-');
  await writeFile(join(outside, 'secret.txt'), SECRET);
  srv = await startServer();
  const r = srv.root;
  await writeFile(join(r, 'public.txt'), 'public');
  await mkdir(join(r, 'inside', 'real'), { recursive: true });
  await writeFile(join(r, 'inside', 'real', 'file.txt'), 'inside content');
  await symlink('/etc', join(r, 'etc'));
  await symlink(join(outside, 'secret.txt'), join(r, 'secretlink'));
  await symlink(outside, join(r, 'outdir'));
  await symlink(join(outside, 'not-yet.txt'), join(r, 'dangling'));
  await symlink('inside/real', join(r, 'alias'));
});

after(async () => {
  await srv.close();
  await rm(outside, { recursive: true, force: true });
  await rm(local, { recursive: true, force: true });
});

function assertNoLeak(text: string, where: string): void {
  assert.ok(!text.includes(SECRET), `${where} leaked the outside file: ${text.slice(0, 300)}`);
  assert.ok(!text.includes(PASSWD_MARK), `${where} leaked /etc/passwd: ${text.slice(0, 300)}`);
  assert.ok(!/root:x?:0:0:/.test(text), `${where} leaked /etc/passwd: ${text.slice(0, 300)}`);
}

const login = (): Promise<RawClient> => rawSession(srv);

/** Everything a data socket received until it closed, however it closed (end, reset, destroy). */
function collect(sock: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  sock.on('data', (d: Buffer) => parts.push(d));
  sock.on('error', () => undefined);
  return new Promise((resolve) => sock.once('close', () => resolve(Buffer.concat(parts))));
}

/** Runs a data command on a fresh EPSV connection; returns the replies and the data bytes. */
async function dataCommand(c: RawClient, line: string): Promise<{ first: number; final?: number; data: string; text: string }> {
  const sock: Socket = await c.passive();
  const bytes = collect(sock);
  const first = await c.send(line);
  let final;
  if (first.code === 150 || first.code === 125) {
    // An upload that was (wrongly) accepted gets no bytes, so the reply comes and the test fails on the code.
    if (/^(STOR|APPE|STOU)/i.test(line)) sock.end();
    final = await c.read(10_000);
  }
  else sock.destroy();
  const data = (await bytes).toString('latin1');
  return { first: first.code, ...(final ? { final: final.code } : {}), data, text: first.text + '\n' + (final?.text ?? '') };
}

const escapes = () => [
  '../../etc/passwd',
  '/../../etc/passwd',
  '../../../../../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '..%2f..',
  '/etc/passwd',
  'etc/passwd',
  '//etc/passwd',
  './../etc/passwd',
  'inside/../../etc/passwd',
  '..\\..\\etc\\passwd',
  'secretlink',
  '/secretlink',
  'outdir/secret.txt',
  'alias/../../outdir/secret.txt',
  'dangling',
  `${outside}/secret.txt`,
  `../../../..${outside}/secret.txt`,
];

test('raw: RETR, SIZE, MDTM of escape paths answer 550 and send nothing from outside', async () => {
  const c = await login();
  try {
    for (const p of escapes()) {
      const retr = await dataCommand(c, `RETR ${p}`);
      assert.equal(retr.first, 550, `RETR ${p}: ${retr.text}`);
      assert.equal(retr.data, '', `RETR ${p} sent data`);
      assertNoLeak(retr.text, `RETR ${p}`);
      for (const verb of ['SIZE', 'MDTM']) {
        const r = await c.send(`${verb} ${p}`);
        assert.equal(r.code, 550, `${verb} ${p}: ${r.text}`);
      }
    }
  } finally {
    c.close();
  }
});

test('raw: LIST, NLST, MLSD, MLST, STAT and CWD of escape folders answer 550', async () => {
  const c = await login();
  try {
    for (const p of ['etc', '/etc', '../../etc', '../..', 'outdir', 'outdir/', '/outdir/.', 'etc/ssh', `${outside}`, '..%2f..%2fetc']) {
      const cwd = await c.send(`CWD ${p}`);
      if (p === '../..') {
        // `..` stops at the root: CWD succeeds but stays at "/".
        assert.equal(cwd.code, 250, `CWD ${p}`);
        assert.match((await c.send('PWD')).text, /^257 "\/"/);
        continue;
      }
      assert.equal(cwd.code, 550, `CWD ${p}: ${cwd.text}`);
      for (const verb of ['LIST', 'LIST -la', 'NLST', 'MLSD']) {
        const r = await dataCommand(c, `${verb} ${p}`);
        assert.equal(r.first, 550, `${verb} ${p}: ${r.text}`);
        assertNoLeak(r.data, `${verb} ${p}`);
        assert.ok(!/passwd|shadow|hostname/.test(r.data), `${verb} ${p} listed /etc: ${r.data}`);
      }
      for (const verb of ['MLST', 'STAT']) {
        const r = await c.send(`${verb} ${p}`);
        assert.equal(r.code, 550, `${verb} ${p}: ${r.text}`);
        assert.ok(!/passwd|shadow/.test(r.text), `${verb} ${p}: ${r.text}`);
      }
    }
    assert.match((await c.send('PWD')).text, /^257 "\/"/);
  } finally {
    c.close();
  }
});

test('raw: CWD .. chains never leave the root', async () => {
  const c = await login();
  try {
    assert.equal((await c.send('CWD inside/real')).code, 250);
    for (let i = 0; i < 6; i++) assert.equal((await c.send('CDUP')).code, 250);
    for (let i = 0; i < 6; i++) assert.equal((await c.send('CWD ..')).code, 250);
    assert.equal((await c.send('CWD ../../../..')).code, 250);
    assert.match((await c.send('PWD')).text, /^257 "\/" /);
    const list = await dataCommand(c, 'NLST');
    assert.equal(list.final, 226);
    assert.deepEqual(list.data.split('\r\n').filter(Boolean).sort(), (await readdir(srv.root)).sort(), 'the listing is the root, not the real parent');
    const r = await dataCommand(c, 'RETR etc/passwd');
    assert.equal(r.first, 550);
    assertNoLeak(r.data, 'RETR after CWD chain');
  } finally {
    c.close();
  }
});

test('raw: writes through escapes are refused and nothing outside changes', async () => {
  const c = await login();
  try {
    // `..` is clamped at the root: this lands in the root, not in the root's parent.
    const clamped = await dataCommand(c, 'STOR ../../clamped.txt');
    assert.equal(clamped.final, 226, clamped.text);
    assert.ok(existsSync(join(srv.root, 'clamped.txt')));
    assert.equal(existsSync(join(srv.root, '..', 'clamped.txt')), false);
    for (const p of ['outdir/new.txt', 'secretlink', 'dangling', `${outside}/new.txt`, 'etc/wharf-test']) {
      for (const verb of ['STOR', 'APPE']) {
        const r = await dataCommand(c, `${verb} ${p}`);
        assert.ok(r.first === 550 || r.first === 553, `${verb} ${p}: ${r.text}`);
      }
    }
    for (const [line, codes] of [
      ['MKD outdir/newdir', [550, 553]],
      ['MKD etc/wharf-dir', [550, 553]],
      ['DELE outdir/secret.txt', [550]],
      ['RMD outdir', [550]],
      ['RNFR outdir/secret.txt', [550]],
      ['RNFR secretlink', [550]],
      ['DELE /etc/passwd', [550]],
      ['DELE ../../etc/passwd', [550]],
    ] as const) {
      const r = await c.send(line);
      assert.ok((codes as readonly number[]).includes(r.code), `${line}: ${r.text}`);
    }
    assert.equal((await c.send('RNFR public.txt')).code, 350);
    const rnto = await c.send('RNTO outdir/stolen.txt');
    assert.ok(rnto.code === 550 || rnto.code === 553, `RNTO outdir/stolen.txt: ${rnto.text}`);
    assert.equal(await readFile(join(srv.root, 'public.txt'), 'utf8'), 'public', 'the source stayed');
  } finally {
    c.close();
  }
  assert.deepEqual(await readdir(outside), ['secret.txt'], 'nothing was created outside');
  assert.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), SECRET, 'the outside file is unchanged');
});

test('raw: NUL, CR and LF tricks in names are refused', async () => {
  const c = await login();
  try {
    for (const line of ['RETR secret\0link', 'RETR secretlink\0.txt', 'RETR public.txt\0../../etc/passwd']) {
      const r = await dataCommand(c, line);
      assert.ok(r.first === 550 || r.first === 553 || r.first === 501, `${JSON.stringify(line)}: ${r.text}`);
      assertNoLeak(r.text + r.data, 'NUL name');
    }
    assert.equal((await c.send('NOOP')).code, 200, 'the session survives');
  } finally {
    c.close();
  }
});

test('raw: a symlinked folder that stays inside the root works', async () => {
  const c = await login();
  try {
    assert.equal((await c.send('CWD alias')).code, 250);
    const list = await dataCommand(c, 'NLST');
    assert.deepEqual(list.data.split('\r\n').filter(Boolean), ['file.txt']);
    const r = await dataCommand(c, 'RETR file.txt');
    assert.equal(r.final, 226);
    assert.equal(r.data, 'inside content');
    assert.equal((await c.send('SIZE /alias/file.txt')).text, '213 14');
  } finally {
    c.close();
  }
});

test('ftplib: traversal paths are refused with 550, the inside link works', async () => {
  const ops: Array<[string, ...string[]]> = [['login', TEST_USER, TEST_PASSWORD]];
  const paths = ['../../etc/passwd', '/etc/passwd', 'etc/passwd', 'secretlink', 'outdir/secret.txt', '..%2f..%2fetc%2fpasswd'];
  for (const p of paths) ops.push(['retrtext', p]);
  ops.push(['cwd', 'etc'], ['cwd', 'outdir'], ['nlst', 'etc'], ['retrtext', 'alias/file.txt']);
  const steps = await ftplib({ port: srv.port, ops });
  assert.equal(steps[0]!.ok, true);
  for (const step of steps.slice(1, -1)) {
    assert.equal(step.ok, false, `${step.op} should fail: ${JSON.stringify(step)}`);
    assert.match(step.error!, /^550/);
  }
  assert.equal(steps.at(-1)!.result, 'inside content');
  assertNoLeak(JSON.stringify(steps), 'ftplib');
});

test('basic-ftp: traversal paths are refused with 550, uploads through links too', async () => {
  const c = new Client(10_000);
  await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
  try {
    for (const p of ['../../etc/passwd', '/etc/passwd', 'etc/passwd', 'secretlink', 'outdir/secret.txt']) {
      const parts: Buffer[] = [];
      await assert.rejects(c.downloadTo(new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), p), /550/, p);
      assertNoLeak(Buffer.concat(parts).toString('latin1'), `basic-ftp ${p}`);
    }
    await assert.rejects(c.uploadFrom(Readable.from([Buffer.from('x')]), 'outdir/planted.txt'), /55[03]/);
    await assert.rejects(c.cd('etc'), /550/);
    assert.equal(existsSync(join(outside, 'planted.txt')), false);
  } finally {
    c.close();
  }
});

test('curl: URL traversal (--path-as-is, encoded slashes) is refused and leaks nothing', async () => {
  for (const url of [
    `ftp://127.0.0.1:${srv.port}/../../etc/passwd`,
    `ftp://127.0.0.1:${srv.port}/..%2f..%2fetc%2fpasswd`,
    `ftp://127.0.0.1:${srv.port}/%2fetc%2fpasswd`,
    `ftp://127.0.0.1:${srv.port}/etc/passwd`,
    `ftp://127.0.0.1:${srv.port}/secretlink`,
    `ftp://127.0.0.1:${srv.port}/outdir/secret.txt`,
    `ftp://127.0.0.1:${srv.port}/etc/`,
  ]) {
    for (const method of ['multicwd', 'nocwd', 'singlecwd']) {
      const r = await curl(['--path-as-is', '--ftp-method', method, url], { user: TEST_USER, password: TEST_PASSWORD });
      assert.notEqual(r.code, 0, `${url} (${method}) succeeded: ${r.stdout.toString().slice(0, 200)}`);
      assert.match(r.stderr, /550|\(9\)|\(78\)|\(19\)/, `${url} (${method}): ${r.stderr}`);
      assertNoLeak(r.stdout.toString('latin1'), `curl ${url}`);
    }
  }
  const ok = await curl([ftpUrl(srv.port, '/alias/file.txt')], { user: TEST_USER, password: TEST_PASSWORD });
  assert.equal(ok.stdout.toString(), 'inside content');
});

test('raw: hashes, SITE CHMOD, MFMT, STAT/MLST of files and globs never reach outside', async () => {
  const before = await stat(join(outside, 'secret.txt'));
  const c = await login();
  try {
    for (const line of [
      'XSHA256 secretlink',
      'XSHA256 etc/passwd',
      'XSHA1 ../../etc/passwd',
      'XMD5 outdir/secret.txt',
      'XCRC etc/passwd',
      'HASH secretlink',
      'HASH /etc/passwd',
      'SITE CHMOD 777 secretlink',
      'SITE CHMOD 777 outdir/secret.txt',
      'MFMT 20000101000000 secretlink',
      'MFMT 20000101000000 outdir/secret.txt',
      'STAT etc/passwd',
      'STAT secretlink',
      'STAT etc/*',
      'MLST secretlink',
      'MLST etc/passwd',
    ]) {
      const r = await c.send(line);
      assert.equal(r.code, 550, `${line}: ${r.text}`);
      assertNoLeak(r.text, line);
    }
    for (const line of ['NLST etc/*', 'NLST */*', 'NLST */secret.txt', 'LIST o*/*', 'LIST -la */*', 'LIST e*/pass*', 'NLST /*/*', 'NLST ../*/*', 'MLSD outdir']) {
      const r = await dataCommand(c, line);
      assert.ok(r.first === 550 || r.final === 226, `${line}: ${r.text}`);
      assertNoLeak(r.data, line);
      assert.ok(!/passwd|secret\.txt|hostname/.test(r.data), `${line} listed outside names: ${r.data}`);
    }
  } finally {
    c.close();
  }
  const afterStat = await stat(join(outside, 'secret.txt'));
  assert.equal(afterStat.mode, before.mode, 'mode unchanged');
  assert.equal(afterStat.mtimeMs, before.mtimeMs, 'mtime unchanged');
});

test('raw: a link to a sibling folder whose name starts with the root name is still outside', async () => {
  // "/tmp/wharf-test-x" is a string prefix of "/tmp/wharf-test-x-sibling": containment must
  // compare whole path components, not string prefixes.
  const sibling = `${srv.root}-sibling`;
  await mkdir(sibling, { recursive: true });
  try {
    await writeFile(join(sibling, 'secret.txt'), SECRET);
    await symlink(sibling, join(srv.root, 'sib'));
    await symlink(join(sibling, 'secret.txt'), join(srv.root, 'sibfile'));
    const c = await login();
    try {
      for (const p of ['sib/secret.txt', 'sibfile', `../${srv.root.split('/').pop()}-sibling/secret.txt`]) {
        const r = await dataCommand(c, `RETR ${p}`);
        assert.equal(r.first, 550, `RETR ${p}: ${r.text}`);
        assertNoLeak(r.data + r.text, `RETR ${p}`);
      }
      assert.equal((await c.send('CWD sib')).code, 550);
      const stor = await dataCommand(c, 'STOR sib/planted.txt');
      assert.ok(stor.first === 550 || stor.first === 553, stor.text);
    } finally {
      c.close();
    }
    assert.deepEqual(await readdir(sibling), ['secret.txt']);
  } finally {
    await rm(sibling, { recursive: true, force: true });
  }
});
