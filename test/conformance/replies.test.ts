/**
 * PROTOCOL.md §3 "Replies that clients depend on": one test (at least) per row, over raw
 * sockets so the exact code and text are visible. Test names start with the row.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, stat, utimes, mkdtemp, symlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw.js';
import { activeListener, passiveTransfer, portArg, rawSession, readAll, sleep, connectData } from './helpers.js';

let srv: TestServer;
before(async () => {
  srv = await startServer({
    users: [
      { name: TEST_USER, password: TEST_PASSWORD },
      { name: 'reader', password: 'pw', permissions: 'read-only' },
    ],
    timeouts: { failedLoginDelayMs: 300 },
  });
  await mkdir(join(srv.root, 'dir'));
  await writeFile(join(srv.root, 'file.txt'), 'hello\n');
  await writeFile(join(srv.root, 'big.bin'), randomBytes(8 * 1024 * 1024));
});
after(() => srv.close());

test('§3 greeting: 220', async () => {
  const c = await RawClient.connect(srv.port);
  const r = await c.read();
  assert.equal(r.code, 220);
  c.close();
});

test('§3 USER: always 331 for any name, known or not', async () => {
  const c = await rawSession(srv, { login: false });
  assert.equal((await c.send('USER alice')).code, 331);
  const known = (await c.send('USER alice')).text.slice(4);
  const unknown = await c.send('USER nobody-here');
  assert.equal(unknown.code, 331);
  assert.equal(unknown.text.slice(4), known, 'same text for known and unknown names');
  c.close();
});

test('§3 PASS ok / bad / without USER / again after login: 230 / 530 after a delay / 503 / 503', async () => {
  const c = await rawSession(srv, { login: false });
  assert.equal((await c.send('PASS whatever')).code, 503);
  await c.send(`USER ${TEST_USER}`);
  const t0 = Date.now();
  const bad = await c.send('PASS wrong');
  assert.equal(bad.code, 530);
  assert.ok(Date.now() - t0 >= 250, 'the 530 is delayed');
  await c.send(`USER ${TEST_USER}`);
  assert.equal((await c.send(`PASS ${TEST_PASSWORD}`)).code, 230);
  assert.equal((await c.send(`PASS ${TEST_PASSWORD}`)).code, 503);
  c.close();
});

test('§3 any command needing login, before login: 530', async () => {
  const c = await rawSession(srv, { login: false });
  for (const cmd of ['PWD', 'CWD /', 'LIST', 'RETR file.txt', 'STOR x', 'PASV', 'EPSV', 'MKD d', 'DELE file.txt', 'SIZE file.txt', 'HASH file.txt', 'MFMT 20200101000000 file.txt', 'SITE CHMOD 644 file.txt']) {
    assert.equal((await c.send(cmd)).code, 530, cmd);
  }
  c.close();
});

test('§3 unknown verb / known but not implemented: 500 / 502', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('FROB x')).code, 500);
  assert.equal((await c.send('ACCT x')).code, 502);
  assert.equal((await c.send('REIN')).code, 502);
  assert.equal((await c.send('SMNT /x')).code, 502);
  c.close();
});

test('§3 missing or forbidden argument / bad sequence: 501 / 503 (RNTO without RNFR)', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('RETR')).code, 501);
  assert.equal((await c.send('MKD')).code, 501);
  assert.equal((await c.send('PWD extra')).code, 501);
  assert.equal((await c.send('RNTO x')).code, 503);
  c.close();
});

test('§3 SYST: 215 UNIX Type: L8', async () => {
  const c = await rawSession(srv, { login: false });
  assert.equal((await c.send('SYST')).text, '215 UNIX Type: L8');
  c.close();
});

test('§3 FEAT: 211- list, one extension per line starting with a space, 211 End', async () => {
  const c = await rawSession(srv, { login: false });
  const r = await c.send('FEAT');
  assert.equal(r.code, 211);
  assert.match(r.lines[0]!, /^211-/);
  assert.equal(r.lines.at(-1), '211 End');
  const inner = r.lines.slice(1, -1);
  assert.ok(inner.length > 5);
  for (const line of inner) assert.match(line, /^ \S/);
  for (const want of ['UTF8', 'EPSV', 'EPRT', 'PASV', 'SIZE', 'MDTM', 'MFMT', 'REST STREAM', 'HOST', 'TVFS', 'HASH SHA-256*;SHA-1;MD5;CRC32', 'XCRC', 'XMD5', 'XSHA1', 'XSHA256']) {
    assert.ok(inner.includes(' ' + want), `FEAT lists ${want}`);
  }
  assert.ok(inner.some((l) => l.startsWith(' MLST type*;size*;modify*;')));
  c.close();
});

test('§3 PWD: 257 "/path" is the current directory', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('PWD')).text, '257 "/" is the current directory');
  await c.send('CWD dir');
  assert.equal((await c.send('XPWD')).text, '257 "/dir" is the current directory');
  c.close();
});

test('§3 CWD/CDUP ok, MKD ok: 250, 257 "/new/dir" created (quotes doubled)', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('CWD /dir')).code, 250);
  assert.equal((await c.send('CDUP')).code, 250);
  assert.equal((await c.send('XCWD dir')).code, 250);
  assert.equal((await c.send('XCUP')).code, 250);
  const r = await c.send('MKD dir/say "hi"');
  assert.equal(r.text, '257 "/dir/say ""hi""" created');
  const pwd = await (async () => {
    await c.send('CWD dir/say "hi"');
    return c.send('PWD');
  })();
  assert.equal(pwd.text, '257 "/dir/say ""hi""" is the current directory');
  assert.equal((await c.send('MKD /dir/say "hi"')).code, 550, 'MKD of an existing directory');
  c.close();
});

test('§3 file action ok (DELE, RMD, RNTO, MFMT): 250, MFMT 213 Modify=...; name', async () => {
  await writeFile(join(srv.root, 'act.txt'), 'x');
  await mkdir(join(srv.root, 'actdir'));
  const c = await rawSession(srv);
  assert.equal((await c.send('RNFR act.txt')).code, 350);
  assert.equal((await c.send('RNTO act2.txt')).code, 250);
  const m = await c.send('MFMT 20200102030405 act2.txt');
  assert.equal(m.text, '213 Modify=20200102030405; act2.txt');
  assert.equal((await stat(join(srv.root, 'act2.txt'))).mtime.toISOString(), '2020-01-02T03:04:05.000Z');
  assert.equal((await c.send('DELE act2.txt')).code, 250);
  assert.equal((await c.send('RMD actdir')).code, 250);
  assert.equal((await c.send('XRMD actdir')).code, 550);
  c.close();
});

test('§3 RNFR ok: 350; REST ok: 350 Restarting at N', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('RNFR file.txt')).code, 350);
  assert.equal((await c.send('RNFR missing.txt')).code, 550);
  await c.send('TYPE I');
  const r = await c.send('REST 1234');
  assert.equal(r.code, 350);
  assert.match(r.text, /^350 Restarting at 1234/);
  c.close();
});

test('§3 SIZE / MDTM: 213 <bytes> / 213 YYYYMMDDHHMMSS (UTC); on a directory 550', async () => {
  const when = new Date('2021-06-07T08:09:10Z');
  await utimes(join(srv.root, 'file.txt'), when, when);
  const c = await rawSession(srv);
  await c.send('TYPE I');
  assert.equal((await c.send('SIZE file.txt')).text, '213 6');
  assert.equal((await c.send('MDTM file.txt')).text, '213 20210607080910');
  assert.equal((await c.send('SIZE dir')).code, 550);
  assert.equal((await c.send('MDTM dir')).code, 550);
  c.close();
});

test('§3 no such file, not a directory, permission denied: 550', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('SIZE nope.txt')).code, 550);
  assert.equal((await c.send('CWD file.txt')).code, 550);
  assert.equal((await c.send('CWD nope')).code, 550);
  c.close();
  const r = await rawSession(srv, { login: false });
  await r.send('USER reader');
  assert.equal((await r.send('PASS pw')).code, 230);
  assert.equal((await r.send('DELE file.txt')).code, 550);
  assert.equal((await r.send('MKD newdir')).code, 550);
  assert.equal((await r.send('MFMT 20200101000000 file.txt')).code, 550);
  assert.equal((await r.send('SITE CHMOD 600 file.txt')).code, 550);
  const up = await passiveTransfer(r, 'STOR up.txt', 'x');
  assert.equal(up.first.code, 550);
  r.close();
});

test('§3 name not allowed (bad name, outside root): 553', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'wharf-outside-'));
  await symlink(outside, join(srv.root, 'escape'));
  const c = await rawSession(srv);
  assert.equal((await c.send('MKD escape/evil')).code, 553, 'creating through a link that leaves the root');
  assert.equal((await passiveTransfer(c, 'STOR escape/evil.txt', 'x')).first.code, 553);
  assert.deepEqual(await readdir(outside), [], 'nothing was created outside');
  await rm(outside, { recursive: true });
  c.write(Buffer.from('MKD bad\0name\r\n'));
  assert.equal((await c.read()).code, 553);
  const up = await passiveTransfer(c, Buffer.from('STOR bad\0name'), 'x');
  assert.equal(up.first.code, 553);
  c.close();
});

test("§3 can't open data connection: 425; transfer aborted / connection lost: 426", async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('RETR file.txt')).code, 425, 'no PASV/PORT first');
  await c.send('TYPE I');
  const data = await c.passive();
  c.write('RETR big.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  await new Promise((r) => data.once('data', r));
  data.destroy(); // the reader vanishes mid-transfer
  assert.equal((await c.read(10_000)).code, 426);
  assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
  c.close();
});

test('§3 PASV / EPSV / EPSV ALL: 227 (h1,h2,h3,h4,p1,p2) / 229 (|||port|) / 200', async () => {
  const c = await rawSession(srv);
  assert.match((await c.send('PASV')).text, /^227 Entering Passive Mode \(127,0,0,1,\d{1,3},\d{1,3}\)$/);
  assert.match((await c.send('EPSV')).text, /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/);
  assert.equal((await c.send('EPSV 2')).code, 522, 'IPv6 on an IPv4 control connection');
  assert.equal((await c.send('EPSV 3')).code, 522, 'an unknown protocol number');
  assert.equal((await c.send('EPSV x')).code, 501);
  assert.equal((await c.send('EPSV 1')).code, 229);
  assert.equal((await c.send('EPSV ALL')).code, 200);
  c.close();
});

test('§3 PORT / EPRT ok 200; refused target 504, bad syntax 501; wrong family 522', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('PORT 127,0,0,1,200,10')).code, 200);
  assert.equal((await c.send('EPRT |1|127.0.0.1|51210|')).code, 200);
  assert.equal((await c.send('PORT 127,0,0,2,200,10')).code, 504);
  assert.equal((await c.send('PORT 1,2,3')).code, 501);
  assert.equal((await c.send('PORT 127,0,0,1,300,1')).code, 501);
  assert.equal((await c.send('EPRT garbage')).code, 501);
  assert.equal((await c.send('EPRT |2|::1|51210|')).code, 522);
  assert.equal((await c.send('EPRT |3|x|1|')).code, 522);
  assert.equal((await c.send('ABOR')).code, 225);
  c.close();
});

test('§3 transfer start / end: 150 then 226; 125 when the data connection is already open', async () => {
  const c = await rawSession(srv);
  const r = await c.send('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(r.text)![1]);
  c.write('RETR file.txt\r\n');
  assert.equal((await c.read()).code, 150, 'not connected yet: 150');
  const body = await readAll(await connectData(port));
  assert.equal(body.toString(), 'hello\r\n', 'TYPE A is the default');
  assert.equal((await c.read()).code, 226);
  const data = await c.passive();
  const got = readAll(data);
  await sleep(100);
  assert.equal((await c.send('NOOP')).code, 200);
  c.write('RETR file.txt\r\n');
  assert.equal((await c.read()).code, 125);
  await got;
  assert.equal((await c.read()).code, 226);
  c.close();
});

test('§3 ABOR with no transfer / during one: 225 / 426 for the transfer, then 226 for the ABOR', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('ABOR')).code, 225);
  await c.send('TYPE I');
  const data = await c.passive();
  data.pause(); // a slow reader: the transfer cannot finish on its own
  c.write('RETR big.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  await sleep(100);
  c.write('ABOR\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  data.destroy();
  assert.equal((await c.send('NOOP')).code, 200);
  c.close();
});

test('§3 QUIT: 221; a transfer in progress finishes first', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  const got = readAll(data);
  c.write('RETR big.bin\r\nQUIT\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  const body = await got;
  assert.equal(body.length, 8 * 1024 * 1024);
  assert.equal((await c.read(10_000)).code, 226);
  assert.equal((await c.read()).code, 221);
  await c.whenClosed();
});

test('§3 TYPE A, TYPE I, TYPE L 8 / MODE S / STRU F: 200; other modes and structures 504', async () => {
  const c = await rawSession(srv);
  for (const cmd of ['TYPE A', 'TYPE I', 'TYPE L 8', 'TYPE a', 'TYPE A N', 'MODE S', 'STRU F', 'mode s']) assert.equal((await c.send(cmd)).code, 200, cmd);
  for (const cmd of ['TYPE E', 'TYPE L 7', 'MODE B', 'MODE C', 'MODE Z', 'STRU R', 'STRU P']) assert.equal((await c.send(cmd)).code, 504, cmd);
  for (const cmd of ['TYPE X', 'MODE Q', 'STRU Q']) assert.equal((await c.send(cmd)).code, 501, cmd);
  c.close();
});

test('§3 ALLO: 202', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('ALLO 1000')).code, 202);
  assert.equal((await c.send('ALLO 1000 R 10')).code, 202);
  c.close();
});

test('§3 STAT (no arg) / STAT path: 211 status / 213 listing over the control connection', async () => {
  const c = await rawSession(srv);
  const s = await c.send('STAT');
  assert.equal(s.code, 211);
  assert.ok(s.lines.length > 2);
  const l = await c.send('STAT /');
  assert.equal(l.code, 213);
  assert.ok(l.lines.some((x) => /^ ?-rw.* file\.txt$/.test(x)), l.text);
  assert.ok(l.lines.some((x) => /^ ?d.* dir$/.test(x)), l.text);
  const f = await c.send('STAT file.txt');
  assert.equal(f.code, 213);
  assert.equal((await c.send('STAT nope')).code, 550);
  c.close();
});

test('§3 HELP / HELP cmd: 214', async () => {
  const c = await rawSession(srv, { login: false });
  const all = await c.send('HELP');
  assert.equal(all.code, 214);
  for (const verb of ['RETR', 'HASH', 'MFMT', 'HOST', 'XCRC', 'SITE']) assert.ok(all.text.includes(verb), `HELP lists ${verb}`);
  const one = await c.send('HELP mfmt');
  assert.equal(one.code, 214);
  assert.match(one.text, /MFMT/);
  c.close();
});

test('§3 too many connections (total / per IP): 421 and close', async () => {
  const limited = await startServer({ limits: { maxConnections: 2, maxConnectionsPerIp: 1 } });
  try {
    const a = await RawClient.connect(limited.port);
    assert.equal((await a.read()).code, 220);
    const b = await RawClient.connect(limited.port);
    assert.equal((await b.read()).code, 421, 'second from the same IP');
    await b.whenClosed();
    const other = await RawClient.connect(limited.port, '127.0.0.1', '127.0.0.2');
    assert.equal((await other.read()).code, 220, 'another IP still fits');
    const third = await RawClient.connect(limited.port, '127.0.0.1', '127.0.0.3');
    assert.equal((await third.read()).code, 421, 'total limit');
    await third.whenClosed();
    a.close();
    other.close();
  } finally {
    await limited.close();
  }
});

test('§3 idle timeout: 421 and close', async () => {
  const idle = await startServer({ timeouts: { idleMs: 300, loginMs: 300 } });
  try {
    const pre = await RawClient.connect(idle.port);
    assert.equal((await pre.read()).code, 220);
    assert.equal((await pre.read(3000)).code, 421, 'login timeout');
    await pre.whenClosed();
    const c = await rawSession(idle);
    assert.equal((await c.read(3000)).code, 421, 'idle timeout');
    await c.whenClosed();
  } finally {
    await idle.close();
  }
});

test('§3 PORT accepted and used: active RETR connects out when the transfer command arrives', async () => {
  const c = await rawSession(srv);
  const l = await activeListener();
  try {
    assert.equal((await c.send(`PORT ${portArg('127.0.0.1', l.port)}`)).code, 200);
    let early = false;
    l.server.once('connection', () => (early = true));
    await sleep(100);
    assert.equal(early, false, 'no connection before the transfer command');
    c.write('RETR file.txt\r\n');
    assert.equal((await c.read()).code, 150);
    const sock = await l.accepted;
    assert.equal((await readAll(sock)).toString(), 'hello\r\n');
    assert.equal((await c.read()).code, 226);
  } finally {
    l.server.close();
    c.close();
  }
});

