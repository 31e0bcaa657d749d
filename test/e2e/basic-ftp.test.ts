import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { startServer, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

async function client(): Promise<Client> {
  const c = new Client(10_000);
  await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
  return c;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('basic-ftp: 10 MB upload and download are byte-exact', async () => {
  const c = await client();
  try {
    const data = randomBytes(10 * 1024 * 1024);
    await c.uploadFrom(Readable.from([data]), 'big.bin');
    assert.equal(sha(await readFile(join(srv.root, 'big.bin'))), sha(data));
    const parts: Buffer[] = [];
    await c.downloadTo(new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), 'big.bin');
    assert.equal(sha(Buffer.concat(parts)), sha(data));
  } finally {
    c.close();
  }
});

test('basic-ftp: list, mkdir, rename, delete', async () => {
  await mkdir(join(srv.root, 'docs'), { recursive: true });
  await writeFile(join(srv.root, 'docs', 'x.txt'), 'x');
  const c = await client();
  try {
    await c.ensureDir('/docs/new dir');
    await c.cd('/docs');
    const names = (await c.list()).map((e) => e.name).sort();
    assert.deepEqual(names, ['new dir', 'x.txt']);
    await c.rename('x.txt', 'y.txt');
    assert.equal(await readFile(join(srv.root, 'docs', 'y.txt'), 'utf8'), 'x');
    await c.remove('y.txt');
    await c.removeEmptyDir('new dir');
    assert.deepEqual(await c.list(), []);
  } finally {
    c.close();
  }
});

test('basic-ftp: a wrong password is refused with 530', async () => {
  const c = new Client(10_000);
  await assert.rejects(c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: 'nope' }), /530/);
  c.close();
});
