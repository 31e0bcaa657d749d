import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { nativeIo } from '../../src/core/native.js';
import { serve, type RunningServe } from '../operate/cli.js';
import { RawClient, readAll } from '../helpers/raw.js';

// The zero-copy path (sendfile/splice) and the JavaScript path must move the same bytes with
// the same replies. Each mode runs in its own `wharf serve` process, since the choice is
// made once per process (WHARF_NATIVE=off forces the JavaScript path).

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('the native fast path is built and loaded (CI installs a C compiler)', { skip: process.env.WHARF_NATIVE === 'off' }, () => {
  assert.ok(nativeIo, 'dist/native/wharf.node should have been built by `npm run build`');
  assert.equal(typeof nativeIo.sendfile, 'function');
  assert.equal(typeof nativeIo.spliceToFile, 'function');
});

async function start(mode: 'native' | 'javascript'): Promise<{ running: RunningServe; root: string }> {
  const root = mkdtempSync(join(tmpdir(), `wharf-${mode}-`));
  dirs.push(root);
  const running = await serve([root, '--host', '127.0.0.1', '--port', '0', '--user', 'alice:wonderland', '--write', '--log-level', 'silent'], {
    env: mode === 'javascript' ? { WHARF_NATIVE: 'off' } : {},
  });
  return { running, root };
}

async function login(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.login('alice', 'wonderland')).code, 230);
  assert.equal((await c.send('TYPE I')).code, 200);
  return c;
}

/** 125 (data connection already open) or 150: the transfer is starting. */
function opened(reply: { code: number; text: string }): void {
  assert.ok(reply.code === 125 || reply.code === 150, reply.text);
}

/** Reads a data socket slowly at first (so the server's socket buffer fills and it must wait for room), then at full speed. */
function readSlowly(socket: net.Socket, stallMs: number): Promise<Buffer> {
  socket.pause();
  setTimeout(() => socket.resume(), stallMs);
  return readAll(socket);
}

for (const mode of ['native', 'javascript'] as const) {
  test(`${mode} path: downloads are byte-exact through a stalled reader, with REST, and the banner says which path runs`, async () => {
    const { running, root } = await start(mode);
    try {
      assert.match(running.stderr(), mode === 'native' && nativeIo ? /zero-copy \(sendfile\/splice\)/ : /JavaScript path/);
      const body = randomBytes(24 * MiB);
      writeFileSync(join(root, 'big.bin'), body);
      const c = await login(running.port);
      const data = await c.passive();
      const received = readSlowly(data, 300); // listening before RETR: an end that comes early is not missed
      opened(await c.send('RETR big.bin'));
      const got = await received;
      assert.equal((await c.read(15_000)).code, 226);
      assert.equal(got.length, body.length);
      assert.equal(sha(got), sha(body));

      const offset = 5 * MiB + 12345;
      const data2 = await c.passive();
      assert.equal((await c.send(`REST ${offset}`)).code, 350);
      const tailReceived = readAll(data2);
      opened(await c.send('RETR big.bin'));
      const tail = await tailReceived;
      assert.equal((await c.read(15_000)).code, 226);
      assert.equal(sha(tail), sha(body.subarray(offset)));

      writeFileSync(join(root, 'empty.bin'), '');
      const data3 = await c.passive();
      const nothing = readAll(data3);
      opened(await c.send('RETR empty.bin'));
      assert.equal((await nothing).length, 0);
      assert.equal((await c.read()).code, 226);
      c.close();
    } finally {
      await running.stop();
    }
  });

  test(`${mode} path: uploads are byte-exact in bursts, and REST+STOR continues at the offset`, async () => {
    const { running, root } = await start(mode);
    try {
      const body = randomBytes(20 * MiB + 777);
      const c = await login(running.port);
      const data = await c.passive();
      opened(await c.send('STOR up.bin'));
      // Bursts with pauses: the server sees data arrive while it is idle and while it is busy.
      for (let at = 0; at < body.length; at += 3 * MiB) {
        if (!data.write(body.subarray(at, Math.min(at + 3 * MiB, body.length)))) await new Promise((r) => data.once('drain', r));
        if (at % (9 * MiB) === 0) await sleep(50);
      }
      data.end();
      assert.equal((await c.read(15_000)).code, 226);
      assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(body));

      const offset = 4 * MiB + 1;
      const data2 = await c.passive();
      assert.equal((await c.send(`REST ${offset}`)).code, 350);
      opened(await c.send('STOR up.bin'));
      data2.end(body.subarray(offset));
      assert.equal((await c.read(15_000)).code, 226);
      assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(body), 'REST+STOR rewrote the tail in place');

      const data3 = await c.passive();
      opened(await c.send('APPE up.bin'));
      data3.end(Buffer.from('tail'));
      assert.equal((await c.read(15_000)).code, 226);
      assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(Buffer.concat([body, Buffer.from('tail')])), 'APPE (no offset: the JavaScript path) appends');
      c.close();
    } finally {
      await running.stop();
    }
  });

  test(`${mode} path: a reset mid-upload is a 426 (never 226) and what arrived is kept; ABOR stops a stalled download`, async () => {
    const { running, root } = await start(mode);
    try {
      const c = await login(running.port);
      const data = await c.passive();
      opened(await c.send('STOR cut.bin'));
      const sent = randomBytes(6 * MiB);
      await new Promise<void>((r) => data.write(sent, () => r()));
      await sleep(200);
      data.resetAndDestroy();
      const reply = await c.read(15_000);
      assert.equal(reply.code, 426, reply.text);
      const kept = readFileSync(join(root, 'cut.bin'));
      assert.ok(kept.length <= sent.length);
      assert.equal(sha(kept), sha(sent.subarray(0, kept.length)), 'a prefix of what was sent, for REST to resume');

      writeFileSync(join(root, 'big.bin'), randomBytes(32 * MiB));
      const data2 = await c.passive();
      opened(await c.send('RETR big.bin'));
      data2.pause(); // never read: the server fills the socket and waits for room
      data2.on('error', () => undefined);
      await sleep(200);
      c.write('ABOR\r\n');
      const first = await c.read(5000);
      assert.equal(first.code, 426, first.text);
      assert.equal((await c.read(5000)).code, 226);
      assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
      data2.destroy();
      c.close();
      assert.ok(existsSync(join(root, 'big.bin')));
    } finally {
      await running.stop();
    }
  });
}
