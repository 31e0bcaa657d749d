import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm, readdir } from 'node:fs/promises';
import { existsSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';

/** basic-ftp (Node) against Wharf. basic-ftp only speaks passive mode (EPSV, PASV fallback). */
let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-basic-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

async function client(): Promise<Client> {
  const c = new Client(10_000);
  await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
  return c;
}

test('basic-ftp passive: login ok / bad password', async () => {
  const c = await client();
  assert.equal((await c.pwd()), '/');
  c.close();
  const bad = new Client(10_000);
  await assert.rejects(bad.access({ host: srv.host, port: srv.port, user: TEST_USER, password: 'bad' }), /530/);
  bad.close();
});

test('basic-ftp passive: mkdir, upload, list, download, rename, delete, rmdir', async () => {
  const data = randomBytes(250_000);
  await writeFile(join(local, 'src.bin'), data);
  const c = await client();
  try {
    await c.ensureDir('/bf/a');
    await c.uploadFrom(join(local, 'src.bin'), 'f.bin');
    const list = await c.list();
    assert.deepEqual(list.map((e) => [e.name, e.size]), [['f.bin', data.length]]);
    await c.downloadTo(join(local, 'dst.bin'), 'f.bin');
    assert.deepEqual(await readFile(join(local, 'dst.bin')), data);
    await c.rename('f.bin', '../g.bin');
    assert.deepEqual(await readdir(join(srv.root, 'bf')), ['a', 'g.bin']);
    await c.remove('/bf/g.bin');
    await c.cd('/');
    await c.removeDir('/bf');
    assert.equal(existsSync(join(srv.root, 'bf')), false);
  } finally {
    c.close();
  }
});

test('basic-ftp passive: resume a download (startAt) and an upload (appendFrom)', async () => {
  const data = randomBytes(300_000);
  await writeFile(join(srv.root, 'resume.bin'), data);
  await writeFile(join(local, 'partial.bin'), data.subarray(0, 120_000));
  await writeFile(join(local, 'whole.bin'), data);
  await writeFile(join(srv.root, 'partial-up.bin'), data.subarray(0, 50_000));
  const c = await client();
  try {
    await c.downloadTo(join(local, 'partial.bin'), 'resume.bin', 120_000);
    assert.deepEqual(await readFile(join(local, 'partial.bin')), data);
    const remoteSize = await c.size('partial-up.bin');
    assert.equal(remoteSize, 50_000);
    await c.appendFrom(createReadStream(join(local, 'whole.bin'), { start: remoteSize }), 'partial-up.bin');
    assert.deepEqual(await readFile(join(srv.root, 'partial-up.bin')), data);
  } finally {
    c.close();
  }
});

test('basic-ftp passive: uploadFromDir and downloadToDir copy a nested tree', async () => {
  const tree = join(local, 'tree');
  await mkdir(join(tree, 'x', 'y'), { recursive: true });
  await writeFile(join(tree, 'root.txt'), 'r');
  await writeFile(join(tree, 'x', 'y', 'leaf name.txt'), 'leaf');
  const c = await client();
  try {
    await c.uploadFromDir(tree, '/bf-tree');
    assert.equal(await readFile(join(srv.root, 'bf-tree', 'x', 'y', 'leaf name.txt'), 'utf8'), 'leaf');
    await c.cd('/');
    await c.downloadToDir(join(local, 'tree-back'), '/bf-tree');
    assert.equal(await readFile(join(local, 'tree-back', 'x', 'y', 'leaf name.txt'), 'utf8'), 'leaf');
    assert.equal(await readFile(join(local, 'tree-back', 'root.txt'), 'utf8'), 'r');
  } finally {
    c.close();
  }
});
