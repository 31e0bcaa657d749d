import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { main as basic } from '../../examples/embed-basic.js';
import { main as customAuth } from '../../examples/custom-auth.js';
import { main as memory } from '../../examples/memory-storage.js';
import { main as uploadHook } from '../../examples/upload-hook.js';
import { tempDir } from '../helpers/server.js';

async function connect(port: number, user: string, password: string): Promise<Client> {
  const c = new Client(5000);
  await c.access({ host: '127.0.0.1', port, user, password });
  return c;
}

async function download(c: Client, path: string): Promise<string> {
  const parts: Buffer[] = [];
  await c.downloadTo(new Writable({ write: (chunk: Buffer, _e, cb) => void (parts.push(chunk), cb()) }), path);
  return Buffer.concat(parts).toString();
}

const quiet = async <T>(fn: () => Promise<T>): Promise<T> => {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
};

test('examples/embed-basic: alice logs in, uploads and downloads; close() is graceful', async () => {
  const root = await tempDir();
  const server = await quiet(() => basic({ root, port: 0 }));
  try {
    const c = await connect(server.address()!.port, 'alice', 'wonderland');
    await c.uploadFrom(Readable.from(['hello']), 'hello.txt');
    assert.equal(await readFile(join(root, 'hello.txt'), 'utf8'), 'hello');
    assert.equal(await download(c, 'hello.txt'), 'hello');
    c.close();
  } finally {
    await server.close();
  }
  assert.equal(server.sessionCount, 0);
});

test('examples/custom-auth: each account gets its own home and permissions', async () => {
  const root = await tempDir();
  const server = await quiet(() => customAuth({ root, port: 0 }));
  const port = server.address()!.port;
  try {
    await writeFile(join(root, 'public', 'notice.txt'), 'read me');
    const reader = await connect(port, 'reader', 'read-secret');
    assert.equal(await download(reader, 'notice.txt'), 'read me');
    await assert.rejects(reader.uploadFrom(Readable.from(['x']), 'x.txt'), /550/);
    reader.close();
    const uploader = await connect(port, 'uploader', 'upload-secret');
    await uploader.uploadFrom(Readable.from(['jpeg']), 'photo.jpg');
    await assert.rejects(download(uploader, 'photo.jpg'), /550/, 'uploader may not read');
    uploader.close();
    assert.equal(await readFile(join(root, 'incoming', 'photo.jpg'), 'utf8'), 'jpeg');
    const wrong = new Client(5000);
    await assert.rejects(quiet(() => wrong.access({ host: '127.0.0.1', port, user: 'reader', password: 'upload-secret' })), /530/);
    wrong.close();
  } finally {
    await server.close();
  }
});

test('examples/memory-storage: files served from and uploaded to memory', async () => {
  const server = await quiet(() => memory({ port: 0 }));
  const port = server.address()!.port;
  try {
    const anon = await connect(port, 'anonymous', 'guest@');
    assert.equal(await download(anon, 'hello.txt'), 'Hello from memory!\n');
    assert.deepEqual((await anon.list('/docs')).map((e) => e.name), ['readme.md']);
    await assert.rejects(anon.uploadFrom(Readable.from(['x']), 'x.txt'), /550/, 'anonymous is read-only');
    anon.close();
    const writer = await connect(port, 'writer', 'in-memory');
    await writer.uploadFrom(Readable.from([Buffer.alloc(300_000, 9)]), '/docs/big.bin');
    await writer.appendFrom(Readable.from(['tail']), '/docs/big.bin');
    await writer.ensureDir('/new');
    await writer.rename('/docs/big.bin', '/new/big.bin');
    await writer.remove('/docs/readme.md');
    await writer.removeEmptyDir('/docs');
    assert.deepEqual((await writer.list('/')).map((e) => e.name).sort(), ['hello.txt', 'new']);
    writer.close();
    const stored = server.files.getFile('/new/big.bin');
    assert.equal(stored?.length, 300_004);
    assert.equal(stored?.subarray(-4).toString(), 'tail');
  } finally {
    await server.close();
  }
});

test('examples/upload-hook: finished camera uploads are archived with their checksum', async () => {
  const root = await tempDir();
  const server = await quiet(() => uploadHook({ root, port: 0 }));
  try {
    const cam = await connect(server.address()!.port, 'cam1', 'snapshot');
    await cam.uploadFrom(Readable.from([Buffer.from('JPEGDATA')]), 'snap-001.jpg');
    await assert.rejects(download(cam, 'snap-001.jpg'), /550/, 'cameras cannot read footage');
    cam.close();
    for (let i = 0; i < 100 && server.archived.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await server.idle();
  } finally {
    await server.close();
  }
  assert.equal(server.archived.length, 1);
  const [snap] = server.archived;
  assert.equal(snap!.camera, 'cam1');
  assert.equal(snap!.bytes, 8);
  assert.equal(snap!.sha256, createHash('sha256').update('JPEGDATA').digest('hex'));
  assert.match(snap!.file, /^archive\/\d{4}-\d\d-\d\d\/cam1-snap-001\.jpg$/);
  assert.equal(await readFile(join(root, snap!.file), 'utf8'), 'JPEGDATA');
  assert.deepEqual((await readdir(root)).sort(), ['archive'], 'the inbox is empty again, no temporary upload left');
});
