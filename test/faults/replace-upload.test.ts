import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStorage } from '../../src/index.js';
import { rawSession } from '../helpers/session.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** A loopback port nobody listens on: an active-mode data connection to it is refused (425). */
async function deadPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** STOR whose data connection never opens (PORT to a closed port): 150, then 425. */
async function storWithoutConnection(srv: TestServer, name: string): Promise<void> {
  const c = await rawSession(srv, { binary: true });
  const port = await deadPort();
  assert.equal((await c.send(`PORT 127,0,0,1,${port >> 8},${port & 255}`)).code, 200);
  assert.equal((await c.send(`STOR ${name}`)).code, 150);
  assert.equal((await c.read()).code, 425);
  assert.equal((await c.send('NOOP')).code, 200);
  c.close();
}

/** A complete passive STOR of `payload`, sent in `pieces` writes (TYPE A when `ascii`). */
async function storAll(srv: TestServer, name: string, payload: Buffer, ascii = false): Promise<void> {
  const c = await rawSession(srv, { binary: !ascii });
  if (ascii) assert.equal((await c.send('TYPE A')).code, 200);
  const data = await c.passive();
  assert.ok([125, 150].includes((await c.send(`STOR ${name}`)).code));
  data.end(payload);
  assert.equal((await c.read()).code, 226);
  c.close();
}

test('replace upload: a STOR whose data connection never opens leaves the existing file as it was', async () => {
  const srv = await startServer();
  try {
    const before = randomBytes(100_000);
    await writeFile(join(srv.root, 'keep.bin'), before);
    await storWithoutConnection(srv, 'keep.bin');
    assert.deepEqual(await readFile(join(srv.root, 'keep.bin')), before);
  } finally {
    await srv.close();
  }
});

test('replace upload: a STOR of a new name that never opens its data connection creates nothing', async () => {
  const srv = await startServer();
  try {
    await storWithoutConnection(srv, 'never.bin');
    await assert.rejects(stat(join(srv.root, 'never.bin')), { code: 'ENOENT' });
    // the name is free for the next upload
    await storAll(srv, 'never.bin', Buffer.from('now it is here'));
    assert.equal(await readFile(join(srv.root, 'never.bin'), 'utf8'), 'now it is here');
  } finally {
    await srv.close();
  }
});

test('replace upload: ABOR before the client connects leaves the existing file as it was', async () => {
  const srv = await startServer();
  try {
    const before = randomBytes(50_000);
    await writeFile(join(srv.root, 'abor.bin'), before);
    const c = await rawSession(srv, { binary: true });
    const pasv = await c.send('PASV');
    assert.equal(pasv.code, 227);
    assert.equal((await c.send('STOR abor.bin')).code, 150);
    const abor = await c.send('ABOR');
    assert.ok([225, 226, 426].includes(abor.code), `ABOR answered ${abor.code}`);
    if (abor.code === 426) assert.equal((await c.read()).code, 226);
    c.close();
    await sleep(50);
    assert.deepEqual(await readFile(join(srv.root, 'abor.bin')), before);
  } finally {
    await srv.close();
  }
});

test('replace upload: a shorter upload leaves no trace of the longer file it replaced (binary, ASCII, empty)', async () => {
  const srv = await startServer();
  try {
    const file = join(srv.root, 'shrink.bin');
    await writeFile(file, randomBytes(3 * 1024 * 1024 + 7));
    const smaller = randomBytes(300_001); // past the first 256 KiB the event loop stores itself
    await storAll(srv, 'shrink.bin', smaller);
    assert.deepEqual(await readFile(file), smaller);

    await storAll(srv, 'shrink.bin', Buffer.from('line one\r\nline two\r\n'), true);
    assert.equal(await readFile(file, 'utf8'), 'line one\nline two\n');

    await storAll(srv, 'shrink.bin', Buffer.alloc(0));
    assert.equal((await stat(file)).size, 0);
  } finally {
    await srv.close();
  }
});

test('replace upload: a client that vanishes mid-upload leaves what arrived, not a mix with the old tail', async () => {
  const srv = await startServer();
  try {
    const file = join(srv.root, 'cut.bin');
    await writeFile(file, Buffer.alloc(8 * 1024 * 1024, 0xee));
    const sent = randomBytes(1024 * 1024);
    const c = await rawSession(srv, { binary: true });
    const data = await c.passive();
    assert.ok([125, 150].includes((await c.send('STOR cut.bin')).code));
    data.write(sent);
    await sleep(200);
    data.resetAndDestroy();
    assert.equal((await c.read()).code, 426);
    c.close();
    await sleep(50);
    const after = await readFile(file);
    assert.ok(after.length <= sent.length, `the file kept ${after.length} bytes, more than the ${sent.length} sent`);
    assert.deepEqual(after, sent.subarray(0, after.length));
  } finally {
    await srv.close();
  }
});

test('replace upload: memory storage keeps an existing file and creates nothing when the data connection never opens', async () => {
  const storage = new MemoryStorage({ '/kept.txt': 'old content' });
  const srv = await startServer({ storage: () => storage });
  try {
    await storWithoutConnection(srv, 'kept.txt');
    await storWithoutConnection(srv, 'ghost.txt');
    assert.equal((await storage.stat('/kept.txt')).size, 'old content'.length);
    await assert.rejects(storage.stat('/ghost.txt'), { code: 'STORAGE_NOT_FOUND' });
  } finally {
    await srv.close();
  }
});
