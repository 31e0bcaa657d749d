/**
 * PROTOCOL.md §4 "Data connections": one test (at least) per rule, over raw sockets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { activeListener, connectData, passiveTransfer, portArg, rawSession, readAll, sleep } from './helpers.js';

let srv: TestServer;
const big = randomBytes(4 * 1024 * 1024);
before(async () => {
  srv = await startServer({ passivePorts: '40100-40140' });
  await writeFile(join(srv.root, 'file.txt'), 'line1\nline2\n');
  await writeFile(join(srv.root, 'big.bin'), big);
  await writeFile(join(srv.root, 'ten.bin'), '0123456789');
});
after(() => srv.close());

function epsvPort(text: string): number {
  return Number(/\(\|\|\|(\d+)\|\)/.exec(text)![1]);
}

async function until(check: () => boolean, what = 'condition', ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(20);
  }
}

test('§4 passive: port from the configured range, one connection accepted, then the listener closes', async () => {
  const c = await rawSession(srv);
  const r = await c.send('EPSV');
  const port = epsvPort(r.text);
  assert.ok(port >= 40100 && port <= 40140, `port ${port} in range`);
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec((await c.send('PASV')).text)!;
  const pasvPort = Number(m[5]) * 256 + Number(m[6]);
  assert.ok(pasvPort >= 40100 && pasvPort <= 40140);
  const data = await connectData(pasvPort);
  const got = readAll(data);
  c.write('RETR ten.bin\r\n');
  await c.read();
  assert.equal((await got).toString(), '0123456789');
  assert.equal((await c.read()).code, 226);
  await assert.rejects(connectData(pasvPort), 'the listener is closed after the transfer');
  c.close();
});

test('§4 passive: a data connection from another IP is dropped without a byte; the real client still gets its data', async () => {
  let refused = 0;
  const onRefused = () => refused++;
  srv.server.on('security:refused', onRefused);
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const port = epsvPort((await c.send('EPSV')).text);
  // The thief is reset at once (sometimes before its connect completes): it never sees a byte.
  const stolen = await new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    const thief = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    thief.on('data', (d: Buffer) => parts.push(d));
    thief.on('error', () => undefined);
    thief.on('close', () => resolve(Buffer.concat(parts)));
  });
  assert.equal(stolen.length, 0, 'the thief got nothing');
  const data = await connectData(port);
  const got = readAll(data);
  c.write('RETR ten.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  assert.equal((await got).toString(), '0123456789');
  assert.equal((await c.read()).code, 226);
  assert.ok(refused >= 1, 'a security event was emitted');
  srv.server.off('security:refused', onRefused);
  c.close();
});

test('§4 passive reply address: the configured external address, else the control connection’s local address, plain IPv4 on a dual-stack socket', async () => {
  const nat = await startServer({ passiveAddress: '203.0.113.9' });
  try {
    const c = await rawSession(nat);
    assert.match((await c.send('PASV')).text, /\(203,0,113,9,\d+,\d+\)/);
    c.close();
  } finally {
    await nat.close();
  }
  const dual = await startServer({ host: '::' });
  try {
    const c = await rawSession(dual);
    const r = await c.send('PASV');
    assert.match(r.text, /\(127,0,0,1,\d+,\d+\)/, 'no ::ffff: form');
    c.close();
  } finally {
    await dual.close();
  }
});

test('§4 EPSV ALL: afterwards PORT, EPRT and PASV are refused, EPSV still works', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('EPSV ALL')).code, 200);
  assert.equal((await c.send('PASV')).code, 503);
  assert.equal((await c.send('PORT 127,0,0,1,200,1')).code, 503);
  assert.equal((await c.send('EPRT |1|127.0.0.1|51201|')).code, 503);
  const t = await passiveTransfer(c, 'RETR ten.bin');
  assert.equal(t.final?.code, 226);
  c.close();
});

test('§4 active: PORT or EPRT to another IP is refused (bounce/FXP protection)', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('PORT 127,0,0,2,200,1')).code, 504);
  assert.equal((await c.send('EPRT |1|127.0.0.2|51201|')).code, 504);
  assert.equal((await c.send('PORT 10,0,0,1,200,1')).code, 504);
  assert.equal((await c.send('RETR ten.bin')).code, 425, 'no endpoint was set up');
  c.close();
});

test('§4 active: a port below 1024 is refused', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('PORT 127,0,0,1,0,21')).code, 504);
  assert.equal((await c.send('EPRT |1|127.0.0.1|1023|')).code, 504);
  assert.equal((await c.send('EPRT |1|127.0.0.1|1024|')).code, 200);
  c.close();
});

test('§4 active: EPRT (IPv4) download and PORT upload work, connecting when the transfer command arrives', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const l1 = await activeListener();
  assert.equal((await c.send(`EPRT |1|127.0.0.1|${l1.port}|`)).code, 200);
  c.write('RETR big.bin\r\n');
  assert.equal((await c.read()).code, 150);
  assert.ok((await readAll(await l1.accepted)).equals(big));
  assert.equal((await c.read()).code, 226);
  l1.server.close();
  const l2 = await activeListener();
  assert.equal((await c.send(`PORT ${portArg('127.0.0.1', l2.port)}`)).code, 200);
  c.write('STOR active-up.bin\r\n');
  assert.equal((await c.read()).code, 150);
  (await l2.accepted).end(big);
  assert.equal((await c.read()).code, 226);
  assert.ok((await readFile(join(srv.root, 'active-up.bin'))).equals(big));
  l2.server.close();
  c.close();
});

test('§4 active: --active-port makes the server side come from that source port (falls back to any port when it cannot bind)', async () => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const sourcePort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const act = await startServer({ activeSourcePort: sourcePort });
  try {
    const c = await rawSession(act);
    const l = await activeListener();
    await c.send(`PORT ${portArg('127.0.0.1', l.port)}`);
    c.write('LIST\r\n');
    assert.equal((await c.read()).code, 150);
    const sock = await l.accepted;
    assert.equal(sock.remotePort, sourcePort);
    await readAll(sock);
    assert.equal((await c.read()).code, 226);
    l.server.close();
    // Occupy the source port: the next active connection must still work, from another port.
    const blocker = net.createServer().listen(sourcePort, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const l2 = await activeListener();
    await c.send(`PORT ${portArg('127.0.0.1', l2.port)}`);
    c.write('LIST\r\n');
    assert.equal((await c.read()).code, 150);
    await readAll(await l2.accepted);
    assert.equal((await c.read()).code, 226);
    l2.server.close();
    blocker.close();
    c.close();
  } finally {
    await act.close();
  }
});

test('§4 either order: the client may connect before or after the transfer command', async () => {
  const c = await rawSession(srv);
  const after = await c.send('EPSV');
  c.write('RETR ten.bin\r\n');
  assert.equal((await c.read()).code, 150);
  assert.equal((await readAll(await connectData(epsvPort(after.text)))).toString(), '0123456789');
  assert.equal((await c.read()).code, 226);
  const before = await passiveTransfer(c, 'RETR ten.bin');
  assert.equal(before.data.toString(), '0123456789');
  assert.equal(before.final?.code, 226);
  c.close();
});

test('§4 226 only after every byte was sent and the data socket closed: the client gets every byte and an orderly end (FIN, never a reset)', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  const parts: Buffer[] = [];
  let failure: Error | undefined;
  data.on('data', (d: Buffer) => parts.push(d));
  data.on('error', (err) => (failure = err));
  const ended = new Promise<void>((resolve) => data.once('end', resolve));
  c.write('RETR big.bin\r\n');
  assert.equal((await c.read()).code, 125, 'connected before RETR');
  // 226 follows our own close; the client may read it before the last bytes of the data
  // connection (two TCP connections have no common order), as with vsftpd and Pure-FTPd.
  assert.equal((await c.read(10_000)).code, 226);
  await ended;
  assert.equal(failure, undefined);
  assert.ok(Buffer.concat(parts).equals(big));
  c.close();
});

test('§4 226 waits until every byte is with the kernel: a reader that pauses sees no 226 until it reads on, then gets the whole file', async () => {
  // More than loopback's socket buffers on both ends can hold, so the server cannot be done while the reader pauses.
  const huge = randomBytes(48 * 1024 * 1024);
  await writeFile(join(srv.root, 'huge.bin'), huge);
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  data.pause();
  c.write('RETR huge.bin\r\n');
  assert.equal((await c.read()).code, 125, 'connected before RETR');
  await assert.rejects(c.read(800), /no reply within/, 'no 226 while bytes are still waiting to be handed to the kernel');
  const parts: Buffer[] = [];
  data.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise<void>((resolve, reject) => {
    data.once('end', resolve);
    data.once('error', reject);
  });
  data.resume();
  assert.equal((await c.read(15_000)).code, 226);
  await ended;
  assert.ok(Buffer.concat(parts).equals(huge), 'the whole file arrived');
  c.close();
});

test('§4 a large download read slowly arrives whole, with 226 and an orderly end', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  const parts: Buffer[] = [];
  let reads = 0;
  data.on('data', (d: Buffer) => {
    parts.push(d);
    // a slow reader: a short pause every few reads, so the server's socket keeps filling up
    if (++reads % 4 === 0) {
      data.pause();
      setTimeout(() => data.resume(), 5);
    }
  });
  const ended = new Promise<void>((resolve, reject) => {
    data.once('end', resolve);
    data.once('error', reject);
  });
  c.write('RETR big.bin\r\n');
  assert.equal((await c.read()).code, 125, 'connected before RETR');
  assert.equal((await c.read(15_000)).code, 226);
  await ended;
  assert.ok(Buffer.concat(parts).equals(big));
  c.close();
});

test('§4 a client that resets its data connection as soon as it has every byte still gets 226 (every byte was with the kernel)', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  for (let i = 0; i < 20; i++) {
    const data = await c.passive();
    data.on('error', () => undefined);
    let got = 0;
    data.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 10) data.resetAndDestroy();
    });
    c.write('RETR ten.bin\r\n');
    assert.equal((await c.read()).code, 125);
    assert.equal((await c.read(5000)).code, 226, `round ${i}`);
  }
  c.close();
});

test('§4 a reader that stops early gets 426', async () => {
  // more than loopback can hold in flight (a receive buffer may grow to tcp_rmem's 32 MiB maximum), so the reader really does stop early
  await writeFile(join(srv.root, 'early.bin'), Buffer.alloc(64 * 1024 * 1024));
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  c.write('RETR early.bin\r\n');
  await c.read();
  await new Promise((r) => data.once('data', r));
  data.destroy();
  assert.equal((await c.read(10_000)).code, 426);
  c.close();
});

test('§4 every passive listener is released: after success, ABOR, a new PASV, QUIT and a vanished client', async () => {
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 1)');
  const c = await rawSession(srv);
  await c.send('PASV');
  await c.send('EPSV');
  assert.equal(srv.server.passiveListeners, 1, 'a second PASV replaces the first');
  const port = epsvPort((await c.send('EPSV')).text);
  assert.equal((await c.send('ABOR')).code, 225);
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 2)');
  await assert.rejects(connectData(port), 'ABOR closed the pending listener');
  const t = await passiveTransfer(c, 'RETR ten.bin');
  assert.equal(t.final?.code, 226);
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 3)');
  await c.send('EPSV');
  assert.equal((await c.send('QUIT')).code, 221);
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 4)');
  const gone = await rawSession(srv);
  await gone.send('EPSV');
  gone.close();
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 5)');
  const failed = await rawSession(srv);
  await failed.send('EPSV');
  assert.equal((await failed.send('RETR nope.txt')).code, 550, 'a failed transfer command');
  await until(() => srv.server.passiveListeners === 0, 'no listener (step 6)');
  failed.close();
});

test('§4 TYPE A: LF becomes CRLF on RETR; listings are CRLF in any TYPE', async () => {
  const c = await rawSession(srv);
  const a = await passiveTransfer(c, 'RETR file.txt');
  assert.equal(a.data.toString(), 'line1\r\nline2\r\n');
  await c.send('TYPE I');
  const i = await passiveTransfer(c, 'RETR file.txt');
  assert.equal(i.data.toString(), 'line1\nline2\n');
  const list = await passiveTransfer(c, 'NLST');
  assert.match(list.data.toString(), /^([^\r\n]+\r\n)+$/);
  c.close();
});

test('§4 TYPE A: CRLF becomes LF on STOR, also when CR and LF arrive in separate reads', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE A');
  const data = await c.passive();
  c.write('STOR ascii-up.txt\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  data.write('one\r');
  await sleep(50);
  data.write('\ntwo\r\nthree\r');
  await sleep(50);
  data.end('\nlone\rcr\r');
  assert.equal((await c.read()).code, 226);
  assert.equal(await readFile(join(srv.root, 'ascii-up.txt'), 'latin1'), 'one\ntwo\nthree\nlone\rcr\r');
  c.close();
});

test('§4 REST: refused in TYPE A (501), allowed in TYPE I', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE A');
  assert.equal((await c.send('REST 5')).code, 501);
  assert.equal((await c.send('REST 0')).code, 350, 'REST 0 is harmless');
  await c.send('TYPE I');
  assert.equal((await c.send('REST 5')).code, 350);
  assert.equal((await c.send('REST -1')).code, 501);
  assert.equal((await c.send('REST abc')).code, 501);
  c.close();
});

test('§4 REST n then RETR sends from byte n', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  await c.send('REST 4');
  const t = await passiveTransfer(c, 'RETR ten.bin');
  assert.equal(t.data.toString(), '456789');
  await c.send('REST 10');
  assert.equal((await passiveTransfer(c, 'RETR ten.bin')).data.length, 0, 'REST at the end sends nothing');
  c.close();
});

test('§4 REST beyond the end of the file: 554', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  await c.send('REST 11');
  const t = await passiveTransfer(c, 'RETR ten.bin');
  assert.equal(t.first.code, 554);
  await c.send('REST 1000');
  const s = await passiveTransfer(c, 'STOR ten.bin', 'x');
  assert.equal(s.first.code, 554);
  assert.equal(await readFile(join(srv.root, 'ten.bin'), 'utf8'), '0123456789', 'nothing was written');
  c.close();
});

test('§4 REST applies to the next transfer only, and is cleared by it (success or failure)', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  await c.send('REST 4');
  assert.equal((await passiveTransfer(c, 'RETR ten.bin')).data.toString(), '456789');
  assert.equal((await passiveTransfer(c, 'RETR ten.bin')).data.toString(), '0123456789', 'cleared after success');
  await c.send('REST 4');
  assert.equal((await passiveTransfer(c, 'RETR missing.bin')).first.code, 550);
  assert.equal((await passiveTransfer(c, 'RETR ten.bin')).data.toString(), '0123456789', 'cleared after failure');
  c.close();
});

test('§4 REST n then STOR writes from byte n without truncating what is before it', async () => {
  await writeFile(join(srv.root, 'resume.bin'), 'AAAAAAAAAA');
  const c = await rawSession(srv);
  await c.send('TYPE I');
  await c.send('REST 4');
  const t = await passiveTransfer(c, 'STOR resume.bin', 'bb');
  assert.equal(t.final?.code, 226);
  assert.equal(await readFile(join(srv.root, 'resume.bin'), 'utf8'), 'AAAAbbAAAA', 'earlier and later bytes kept');
  await c.send('REST 10');
  await passiveTransfer(c, 'STOR resume.bin', 'CC');
  assert.equal(await readFile(join(srv.root, 'resume.bin'), 'utf8'), 'AAAAbbAAAACC', 'resume at the end appends');
  c.close();
});

test('§4 APPE appends, and creates the file when missing', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  assert.equal((await passiveTransfer(c, 'APPE appe.txt', 'one')).final?.code, 226);
  assert.equal((await passiveTransfer(c, 'APPE appe.txt', 'two')).final?.code, 226);
  assert.equal(await readFile(join(srv.root, 'appe.txt'), 'utf8'), 'onetwo');
  c.close();
});

test('§4 STOU stores under a new unique name and says it: 150 FILE: <name>', async () => {
  await writeFile(join(srv.root, 'taken.txt'), 'old');
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const names: string[] = [];
  for (const cmd of ['STOU', 'STOU', 'STOU taken.txt']) {
    const t = await passiveTransfer(c, cmd, `data of ${cmd}`);
    assert.equal(t.final?.code, 226);
    const m = /^(?:125|150) FILE: (.+)$/.exec(t.first.text);
    assert.ok(m, t.first.text);
    names.push(m[1]!);
    assert.equal(await readFile(join(srv.root, m[1]!), 'utf8'), `data of ${cmd}`);
  }
  assert.equal(new Set(names).size, 3, 'three different names');
  assert.notEqual(names[2], 'taken.txt');
  assert.equal(await readFile(join(srv.root, 'taken.txt'), 'utf8'), 'old', 'an existing file is never overwritten');
  c.close();
});

test('§4 REST before APPE or STOU is refused', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  await c.send('REST 2');
  assert.equal((await passiveTransfer(c, 'APPE appe2.txt', 'x')).first.code, 503);
  await c.send('REST 2');
  assert.equal((await passiveTransfer(c, 'STOU', 'x')).first.code, 503);
  c.close();
});

test('§4 released on every path: a data-connection timeout answers 425 and frees the listener; aborted transfers close their files', async () => {
  const quick = await startServer({ timeouts: { dataConnectMs: 300 } });
  try {
    await writeFile(join(quick.root, 'big.bin'), big);
    const c = await rawSession(quick);
    await c.send('EPSV');
    c.write('RETR big.bin\r\n');
    assert.equal((await c.read()).code, 150);
    assert.equal((await c.read(3000)).code, 425, 'nobody connected');
    await until(() => quick.server.passiveListeners === 0, 'listener released after timeout');
    // Larger than what loopback can hold in flight (a receive buffer may grow to tcp_rmem's
    // maximum, 32 MiB on some machines): with 4 MiB the whole file could be with the client's
    // kernel before it hung up, and the transfer then rightly completed with 226.
    await writeFile(join(quick.root, 'huge.bin'), Buffer.alloc(64 * 1024 * 1024));
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    await c.send('TYPE I');
    for (let i = 0; i < 5; i++) {
      const data = await c.passive();
      data.on('error', () => undefined);
      c.write('RETR huge.bin\r\n');
      await c.read();
      await new Promise((r) => data.once('data', r));
      data.destroy();
      assert.equal((await c.read(5000)).code, 426);
    }
    await sleep(100);
    assert.ok((await fds()) <= before + 1, `file descriptors: ${before} before, ${await fds()} after five aborted downloads`);
    c.close();
  } finally {
    await quick.close();
  }
});
