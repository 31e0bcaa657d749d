/**
 * The native passive data path (native/datapath.c, src/ftp/data/native-endpoint.ts): plain
 * PASV/EPSV connections on bare descriptors, binary RETR/STOR without a net.Socket. Each rule
 * of PROTOCOL.md §4 that the old net.Server/net.Socket path kept must hold here too. The
 * same tests pass with WHARF_NATIVE_DATA=off (the old path), which is the point: the two
 * paths are interchangeable.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFile, writeFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { nativeIo } from '../../src/core/native.js';
import { nativeData } from '../../src/ftp/data/native-data.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { rawSession } from '../helpers/session.js';
import { connectData, readAll, type RawClient } from '../helpers/raw.js';

let srv: TestServer;
const big = randomBytes(3 * 1024 * 1024);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

before(async () => {
  srv = await startServer({ passivePorts: '40300-40340' });
  await writeFile(join(srv.root, 'big.bin'), big);
  await writeFile(join(srv.root, 'ten.bin'), '0123456789');
  // Larger than loopback's socket buffers can hold (sparse: costs no disk), so a reader that
  // takes nothing really stops the transfer.
  await writeFile(join(srv.root, 'huge.bin'), '');
  await truncate(join(srv.root, 'huge.bin'), 256 * 1024 * 1024);
});
after(() => srv.close());

function epsvPort(text: string): number {
  return Number(/\(\|\|\|(\d+)\|\)/.exec(text)![1]);
}

function pasvPort(text: string): number {
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(text)!;
  return Number(m[5]) * 256 + Number(m[6]);
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(10);
  }
}

/** Resolves with how a connection attempt ended: 'refused', 'reset' (accepted then RST), or 'open'. */
function tryConnect(port: number, localAddress?: string): Promise<'refused' | 'reset' | 'open'> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let connected = false;
    s.on('connect', () => {
      connected = true;
      setTimeout(() => {
        s.destroy();
        resolve('open');
      }, 300);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' && !connected ? 'refused' : 'reset'));
    s.on('close', () => resolve(connected ? 'reset' : 'refused'));
  });
}

async function store(c: RawClient, name: string, payload: Buffer): Promise<number> {
  const data = await c.passive();
  c.write(`STOR ${name}\r\n`);
  assert.equal((await c.read()).code, 125, 'connected before STOR');
  const closed = new Promise<void>((resolve) => data.once('close', () => resolve()));
  data.end(payload);
  const final = await c.read(15_000);
  await closed;
  return final.code;
}

test('the native data path is on when the module is built and WHARF_NATIVE_DATA is not off', { skip: !nativeIo || process.env.WHARF_NATIVE_DATA === 'off' || process.env.WHARF_ENGINE === 'off' }, () => {
  assert.ok(nativeData, 'native/datapath.c should be in dist/native/wharf.node');
});

test('native data: a foreign peer is reset without a byte and reported at once; the listener is gone after the right peer arrives', async () => {
  const refused: string[] = [];
  const onRefused = (e: { ip: string; reason: string }) => refused.push(`${e.reason} ${e.ip}`);
  srv.server.on('security:refused', onRefused);
  try {
    const c = await rawSession(srv, { binary: true });
    const port = pasvPort((await c.send('PASV')).text);
    const thief = await tryConnect(port, '127.0.0.2');
    assert.notEqual(thief, 'open', 'the foreign peer was cut off');
    await until(() => refused.length > 0, 'the refusal was reported before any transfer command');
    assert.deepEqual(refused, ['foreign-data-peer 127.0.0.2']);
    const data = await connectData(port);
    const got = readAll(data);
    c.write('RETR ten.bin\r\n');
    assert.equal((await c.read()).code, 125);
    assert.equal(await tryConnect(port), 'refused', 'the listener closed once the right peer was in');
    assert.equal((await got).toString(), '0123456789');
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    srv.server.off('security:refused', onRefused);
  }
});

test('native data: STOR of 0 bytes, 4 KB and 3 MB arrives byte-exact, and RETR sends it back whole', async () => {
  const c = await rawSession(srv, { binary: true });
  for (const [name, payload] of [
    ['empty.bin', Buffer.alloc(0)],
    ['small.bin', randomBytes(4096)],
    ['large.bin', big],
  ] as const) {
    assert.equal(await store(c, name, payload), 226, `${name}: 226`);
    assert.ok((await readFile(join(srv.root, name))).equals(payload), `${name} stored byte-exact`);
    const data = await c.passive();
    const got = readAll(data);
    c.write(`RETR ${name}\r\n`);
    assert.equal((await c.read()).code, 125);
    assert.ok((await got).equals(payload), `${name} sent back byte-exact`);
    const final = await c.read(15_000);
    assert.equal(final.code, 226);
    assert.match(final.text, new RegExp(`\\(${payload.length} bytes\\)`));
  }
  c.close();
});

test('native data: REST then STOR writes from that byte, keeping what is before it', async () => {
  const c = await rawSession(srv, { binary: true });
  await writeFile(join(srv.root, 'rest.bin'), 'AAAAAAAAAA');
  assert.equal((await c.send('REST 4')).code, 350);
  assert.equal(await store(c, 'rest.bin', Buffer.from('bbb')), 226);
  assert.equal((await readFile(join(srv.root, 'rest.bin'))).toString(), 'AAAAbbbAAA');
  c.close();
});

test('native data: a large RETR read slowly arrives whole', async () => {
  const c = await rawSession(srv, { binary: true });
  const data = await c.passive();
  data.pause();
  const parts: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    data.once('end', resolve);
    data.once('error', reject);
  });
  c.write('RETR big.bin\r\n');
  assert.equal((await c.read()).code, 125);
  await sleep(300); // the server's socket fills up and stays full for a while
  data.on('data', (d: Buffer) => {
    parts.push(d);
    data.pause();
    setTimeout(() => data.resume(), 1);
  });
  data.resume();
  assert.equal((await c.read(15_000)).code, 226);
  await ended;
  assert.ok(Buffer.concat(parts).equals(big));
  c.close();
});

test('native data: ABOR during a STOR (426 then 226, what arrived is kept) and during a RETR', async () => {
  const c = await rawSession(srv, { binary: true });
  const up = await c.passive();
  up.on('error', () => undefined);
  c.write('STOR aborted.bin\r\n');
  assert.equal((await c.read()).code, 125);
  up.write(Buffer.alloc(300_000, 7));
  await sleep(200);
  c.write('ABOR\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  up.destroy();
  assert.equal((await stat(join(srv.root, 'aborted.bin'))).size, 300_000);

  const down = await c.passive();
  down.on('error', () => undefined);
  down.pause(); // a reader that takes nothing: the transfer is still running when ABOR comes
  c.write('RETR huge.bin\r\n');
  assert.equal((await c.read()).code, 125);
  await sleep(100);
  c.write('ABOR\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  down.destroy();
  const after = await passiveRetr(c, 'ten.bin');
  assert.equal(after, '0123456789', 'the session goes on');
  c.close();
});

async function passiveRetr(c: RawClient, name: string): Promise<string> {
  const data = await c.passive();
  const got = readAll(data);
  c.write(`RETR ${name}\r\n`);
  assert.equal((await c.read()).code, 125);
  const text = (await got).toString();
  assert.equal((await c.read()).code, 226);
  return text;
}

test('native data: a client that connects only after sending RETR or STOR gets 150, then its transfer', async () => {
  const c = await rawSession(srv, { binary: true });
  let port = epsvPort((await c.send('EPSV')).text);
  c.write('RETR ten.bin\r\n');
  assert.equal((await c.read()).code, 150, 'not connected yet: 150');
  await sleep(50);
  const got = readAll(await connectData(port));
  assert.equal((await got).toString(), '0123456789');
  assert.equal((await c.read()).code, 226);

  port = epsvPort((await c.send('EPSV')).text);
  c.write('STOR late.bin\r\n');
  assert.equal((await c.read()).code, 150);
  const data = await connectData(port);
  data.end(Buffer.from('late upload'));
  assert.equal((await c.read()).code, 226);
  assert.equal((await readFile(join(srv.root, 'late.bin'))).toString(), 'late upload');
  c.close();
});

test('native data: PASV twice without using the first: the first port is closed, the second serves', async () => {
  const c = await rawSession(srv, { binary: true });
  const first = pasvPort((await c.send('PASV')).text);
  const second = pasvPort((await c.send('PASV')).text);
  assert.equal(srv.server.passiveListeners, 1);
  // (the first port is free again, so the second PASV may draw it: then there is nothing to check)
  if (first !== second) assert.equal(await tryConnect(first), 'refused');
  const got = readAll(await connectData(second));
  c.write('RETR ten.bin\r\n');
  assert.equal((await c.read()).code, 125);
  assert.equal((await got).toString(), '0123456789');
  assert.equal((await c.read()).code, 226);
  // A connection made to a PASV that a new PASV replaced is closed gently (FIN, not RST).
  const stale = await connectData(pasvPort((await c.send('PASV')).text));
  const staleEnd = readAll(stale);
  await c.send('PASV');
  assert.equal((await staleEnd).length, 0);
  c.close();
});

test('native data: LIST, NLST and TYPE A go over a natively accepted connection', async () => {
  const c = await rawSession(srv, { binary: true });
  const list = await c.passive();
  const listed = readAll(list);
  c.write('LIST\r\n');
  assert.equal((await c.read()).code, 125);
  assert.match((await listed).toString(), /ten\.bin\r\n/);
  assert.equal((await c.read()).code, 226);

  const nlst = await c.passive();
  const names = readAll(nlst);
  c.write('NLST\r\n');
  assert.equal((await c.read()).code, 125);
  assert.ok((await names).toString().split('\r\n').includes('ten.bin'));
  assert.equal((await c.read()).code, 226);

  await writeFile(join(srv.root, 'lines.txt'), 'a\nb\n');
  assert.equal((await c.send('TYPE A')).code, 200);
  assert.equal(await passiveRetr(c, 'lines.txt'), 'a\r\nb\r\n');
  c.close();
});

test('native data: every listener and connection is released after many transfers', async () => {
  const c = await rawSession(srv, { binary: true });
  for (let i = 0; i < 30; i++) {
    assert.equal(await store(c, `many-${i % 3}.bin`, Buffer.alloc(4096, i)), 226);
    assert.equal((await passiveRetr(c, `many-${i % 3}.bin`)).length, 4096);
    assert.equal((await c.send(`DELE many-${i % 3}.bin`)).code, 250);
  }
  await until(() => srv.server.passiveListeners === 0, 'no listener left');
  c.close();
});

test('native data: while a transfer waits for its connection, a foreign peer is reset and the wait goes on', async () => {
  const refused: string[] = [];
  const onRefused = (e: { ip: string }) => refused.push(e.ip);
  srv.server.on('security:refused', onRefused);
  try {
    const c = await rawSession(srv, { binary: true });
    const port = epsvPort((await c.send('EPSV')).text);
    c.write('RETR ten.bin\r\n');
    assert.equal((await c.read()).code, 150);
    assert.notEqual(await tryConnect(port, '127.0.0.2'), 'open');
    await until(() => refused.length > 0, 'the foreign peer was reported');
    const got = readAll(await connectData(port));
    assert.equal((await got).toString(), '0123456789');
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    srv.server.off('security:refused', onRefused);
  }
});

test('native data: APPE and STOU (no fast path for appends) run on the adopted connection', async () => {
  const c = await rawSession(srv, { binary: true });
  await writeFile(join(srv.root, 'log.txt'), 'one\n');
  let data = await c.passive();
  c.write('APPE log.txt\r\n');
  assert.equal((await c.read()).code, 125);
  data.end('two\n');
  assert.equal((await c.read()).code, 226);
  assert.equal((await readFile(join(srv.root, 'log.txt'))).toString(), 'one\ntwo\n');
  data = await c.passive();
  c.write('STOU\r\n');
  const opening = await c.read();
  assert.equal(opening.code, 125);
  const name = /FILE: (\S+)/.exec(opening.text)![1]!;
  data.end('unique');
  assert.equal((await c.read()).code, 226);
  assert.equal((await readFile(join(srv.root, name))).toString(), 'unique');
  c.close();
});
