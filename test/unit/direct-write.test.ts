import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { writeReply } from '../../src/ftp/control/direct-write.js';
import { nativeIo } from '../../src/core/native.js';

/** A connected loopback pair: `server` is the side writeReply writes on, `client` reads. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection');
  const client = net.connect(port, '127.0.0.1');
  const [server] = (await accepted) as [net.Socket];
  await once(client, 'connect').catch(() => undefined);
  listener.close();
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
    },
  };
}

function collect(socket: net.Socket): { text(): string; length(): number } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return { text: () => Buffer.concat(chunks).toString('latin1'), length: () => chunks.reduce((n, c) => n + c.length, 0) };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('direct write: a reply reaches the peer; with the native module it is in the kernel at once (nothing queued in the stream)', async () => {
  const p = await pair();
  try {
    const got = collect(p.client);
    let flushedCalls = 0;
    const now = writeReply(p.server, Buffer.from('220 ready\r\n'), () => flushedCalls++);
    assert.equal(now, nativeIo?.sendNow !== undefined);
    if (now) assert.equal(p.server.writableLength, 0, 'the stream holds nothing');
    await until(() => got.text() === '220 ready\r\n');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(flushedCalls, now ? 0 : 1, 'flushed runs only for a reply the stream took');
  } finally {
    p.close();
  }
});

test('direct write: bytes the stream still holds go first (order kept)', async () => {
  const p = await pair();
  try {
    const got = collect(p.client);
    p.server.cork();
    p.server.write('first\r\n');
    assert.equal(writeReply(p.server, Buffer.from('second\r\n')), false, 'a backlog sends the reply through the stream');
    p.server.uncork();
    await until(() => got.text() === 'first\r\nsecond\r\n');
  } finally {
    p.close();
  }
});

test('direct write: a peer that stops reading gets every byte in order once it reads again (partial sends)', async () => {
  const p = await pair();
  try {
    p.client.pause();
    // Numbered 1 KiB replies until the kernel buffers are full and the stream has to queue.
    const line = (i: number) => Buffer.from(`${String(i).padStart(8, '0')}${'x'.repeat(1014)}\r\n`);
    let sent = 0;
    let direct = 0;
    while (p.server.writableLength === 0 && sent < 100_000) {
      if (writeReply(p.server, line(sent))) direct++;
      sent++;
    }
    assert.ok(p.server.writableLength > 0, 'the socket filled up');
    for (let i = 0; i < 5; i++) writeReply(p.server, line(sent++)); // behind the backlog
    if (nativeIo?.sendNow) assert.ok(direct > 0, 'replies went straight to the kernel while there was room');
    const got = collect(p.client);
    p.client.resume();
    await until(() => got.length() === sent * 1024);
    const text = got.text();
    for (let i = 0; i < sent; i++) assert.equal(text.slice(i * 1024, i * 1024 + 8), String(i).padStart(8, '0'), `reply ${i} in its place`);
  } finally {
    p.close();
  }
});

test('direct write: a peer that is gone makes no crash and no throw (the stream reports it as before)', async () => {
  const p = await pair();
  const errors: Error[] = [];
  p.server.on('error', (e) => errors.push(e));
  p.client.resetAndDestroy();
  await once(p.server, 'end').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 3; i++) assert.doesNotThrow(() => writeReply(p.server, Buffer.from('421 bye\r\n')));
  await new Promise((r) => setTimeout(r, 50));
  p.close();
});

test('reply bytes: a repeated fixed text reuses its bytes; another text, a multi-line reply or CR/LF in the text is formatted anew', async () => {
  const { replyBytes } = await import('../../src/ftp/control/reply-bytes.js');
  const a = replyBytes(331, 'Please specify the password');
  assert.equal(a.toString(), '331 Please specify the password\r\n');
  assert.equal(replyBytes(331, 'Please specify the password'), a, 'the same Buffer again');
  assert.equal(replyBytes(331, 'Other text').toString(), '331 Other text\r\n');
  assert.equal(replyBytes(331, 'Please specify the password').toString(), '331 Please specify the password\r\n');
  assert.equal(replyBytes(500, 'bad\r\nline').toString(), '500 bad  line\r\n', 'CR/LF never pass into a reply');
  assert.equal(replyBytes(211, ['Features:', ' UTF8', 'End']).toString(), '211-Features:\r\n UTF8\r\n211 End\r\n');
  const long = 'x'.repeat(500);
  assert.equal(replyBytes(257, long).toString(), `257 ${long}\r\n`);
  assert.notEqual(replyBytes(257, long), replyBytes(257, long), 'long texts are not kept');
});
