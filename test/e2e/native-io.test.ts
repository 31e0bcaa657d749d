import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { nativeIo } from '../../src/core/native.js';
import { transferEngine } from '../../src/core/storage/transfer-engine.js';
import { serve, type RunningServe } from '../operate/cli.js';
import { RawClient, closedWithin, readAll } from '../helpers/raw.js';

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
  assert.ok(transferEngine, 'the transfer engine (native/engine.c) started with the module');
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

      // Replacing it with a shorter file (O_TRUNC; closed on the thread pool above 4 MiB,
      // where ext4 flushes in close), then with a small one (closed synchronously).
      for (const replacement of [randomBytes(5 * MiB + 3), randomBytes(4096)]) {
        const data4 = await c.passive();
        opened(await c.send('STOR up.bin'));
        data4.end(replacement);
        assert.equal((await c.read(15_000)).code, 226);
        assert.equal(sha(readFileSync(join(root, 'up.bin'))), sha(replacement), `a ${replacement.length}-byte STOR replaces the file whole`);
      }
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

for (const mode of ['native', 'javascript'] as const) {
  test(`${mode} path: 12 concurrent downloads, then 12 concurrent uploads, are byte-exact`, async () => {
    const { running, root } = await start(mode);
    try {
      const body = randomBytes(3 * MiB + 5);
      writeFileSync(join(root, 'shared.bin'), body);
      const clients = await Promise.all(Array.from({ length: 12 }, () => login(running.port)));
      const downloads = await Promise.all(
        clients.map(async (c) => {
          const data = await c.passive();
          const got = readAll(data);
          opened(await c.send('RETR shared.bin'));
          const buffer = await got;
          assert.equal((await c.read(15_000)).code, 226);
          return buffer;
        }),
      );
      for (const got of downloads) assert.equal(sha(got), sha(body));
      const bodies = clients.map((_, i) => randomBytes(2 * MiB + 333 * i));
      await Promise.all(
        clients.map(async (c, i) => {
          const data = await c.passive();
          opened(await c.send(`STOR up-${i}.bin`));
          data.end(bodies[i]!);
          assert.equal((await c.read(15_000)).code, 226);
        }),
      );
      bodies.forEach((b, i) => assert.equal(sha(readFileSync(join(root, `up-${i}.bin`))), sha(b), `upload ${i}`));
      for (const c of clients) c.close();
    } finally {
      await running.stop();
    }
  });
}

test('transfer engine: an upload that trickles in below its wake-up mark (SO_RCVLOWAT) after the engine took it arrives whole, and its end is seen at once', { skip: !nativeIo }, async () => {
  const { running, root } = await start('native');
  try {
    const burst = randomBytes(1 * MiB); // enough for the engine to take the upload over
    const trickle = Array.from({ length: 12 }, (_, i) => randomBytes(1000 + i));
    const c = await login(running.port);
    const data = await c.passive();
    opened(await c.send('STOR trickle.bin'));
    if (!data.write(burst)) await new Promise((r) => data.once('drain', r));
    for (const piece of trickle) {
      data.write(piece);
      await sleep(25);
    }
    const endedAt = Date.now();
    data.end();
    const reply = await c.read(15_000);
    assert.equal(reply.code, 226, reply.text);
    assert.ok(Date.now() - endedAt < 2000, 'the end of the upload woke the engine although less than its mark was waiting');
    assert.equal(sha(readFileSync(join(root, 'trickle.bin'))), sha(Buffer.concat([burst, ...trickle])));
    c.close();
  } finally {
    await running.stop();
  }
});

test('transfer engine: a client that closes the data connection once it has every byte still gets 226', { skip: !nativeIo }, async () => {
  const { running, root } = await start('native');
  try {
    const body = randomBytes(3 * MiB);
    writeFileSync(join(root, 'exact.bin'), body);
    const c = await login(running.port);
    for (let i = 0; i < 8; i++) {
      const data = await c.passive();
      data.on('error', () => undefined);
      let got = 0;
      const all = new Promise<void>((resolve) => {
        data.on('data', (chunk: Buffer) => {
          got += chunk.length;
          if (got >= body.length) {
            data.destroy(); // like clients that stop at the size announced in 150
            resolve();
          }
        });
      });
      opened(await c.send('RETR exact.bin'));
      await all;
      const reply = await c.read(15_000);
      assert.equal(reply.code, 226, `round ${i}: ${reply.text}`);
    }
    c.close();
  } finally {
    await running.stop();
  }
});

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test('transfer engine: ABOR of an upload it is receiving is 426 + 226 and keeps a prefix; a reader reset mid-download is a 426; no descriptor is left behind', { skip: !nativeIo }, async () => {
  const { running, root } = await start('native');
  try {
    const pid = running.child.pid!;
    const c = await login(running.port);
    writeFileSync(join(root, 'big.bin'), randomBytes(32 * MiB));
    // Warm up: whatever the server opens once (a first upload and download through the engine).
    const warm = await c.passive();
    opened(await c.send('STOR warm.bin'));
    warm.end(randomBytes(MiB));
    assert.equal((await c.read(15_000)).code, 226);
    const before = openFds(pid);

    const data = await c.passive();
    data.on('error', () => undefined);
    opened(await c.send('STOR held.bin'));
    const sent = randomBytes(4 * MiB);
    await new Promise<void>((r) => data.write(sent, () => r()));
    await sleep(200); // everything sent was taken: the engine owns the socket and waits for more
    c.write('ABOR\r\n');
    const first = await c.read(5000);
    assert.equal(first.code, 426, first.text);
    assert.equal((await c.read(5000)).code, 226);
    await closedWithin(data, 5000); // the engine let go of its duplicate: the connection really closed
    const kept = readFileSync(join(root, 'held.bin'));
    assert.ok(kept.length > 0 && kept.length <= sent.length, `kept ${kept.length} bytes`);
    assert.equal(sha(kept), sha(sent.subarray(0, kept.length)), 'a prefix of what was sent');

    const data2 = await c.passive();
    data2.on('error', () => undefined);
    opened(await c.send('RETR big.bin'));
    await new Promise((r) => data2.once('data', r));
    data2.pause(); // the engine fills the socket and waits for room
    await sleep(1300); // progress is reported at most once a second, stalled or not
    const stat = await c.send('STAT');
    const progress = /Transfer in progress: download \/big\.bin: (\d+) of 33554432 bytes/.exec(stat.text);
    assert.ok(progress && Number(progress[1]) > 0, `STAT shows what the stalled download sent: ${stat.text}`);
    data2.resetAndDestroy();
    const cut = await c.read(5000);
    assert.equal(cut.code, 426, cut.text);

    const data3 = await c.passive();
    const tail = readAll(data3);
    assert.equal((await c.send('REST 1000')).code, 350);
    opened(await c.send('RETR big.bin'));
    assert.equal((await tail).length, 32 * MiB - 1000);
    assert.equal((await c.read(15_000)).code, 226, 'the session goes on with the engine');
    // The engine keeps the empty pipe of a completed upload for the next one (the warm-up left
    // one); the aborted upload's pipe was closed, so one more upload on the engine (past the
    // 256 KiB stored from the event loop) puts a pipe back.
    const again = await c.passive();
    opened(await c.send('STOR again.bin'));
    again.end(randomBytes(MiB));
    assert.equal((await c.read(15_000)).code, 226);
    await sleep(200);
    assert.equal(openFds(pid), before, 'descriptors after the aborted, reset and completed transfers');
    c.close();
  } finally {
    await running.stop();
  }
});

test('sendfileLast: a corked send, then the close, delivers every byte and the end of stream', { skip: !nativeIo?.sendfileLast }, async () => {
  const { createServer, connect } = await import('node:net');
  const { openSync, closeSync } = await import('node:fs');
  const { plainSocketFd } = await import('../../src/core/native.js');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cork-'));
  dirs.push(dir);
  const content = randomBytes(5000);
  writeFileSync(join(dir, 'small.bin'), content);
  const fileFd = openSync(join(dir, 'small.bin'), 'r');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const received = readAll(client);
    const side = await accepted;
    const fd = plainSocketFd(side);
    assert.ok(fd !== undefined);
    // From offset 100: the file position is the caller's, not the descriptor's.
    assert.equal(nativeIo!.sendfileLast!(fd, fileFd, 100, content.length - 100), content.length - 100);
    side.destroy();
    assert.equal(sha(await received), sha(content.subarray(100)));
  } finally {
    closeSync(fileFd);
    server.close();
  }
});

test('loop uploads: 0 B, 4 KB, exactly 256 KiB and 256 KiB + 1 byte are stored byte-exact, the last one finished by the engine', { skip: !nativeIo }, async () => {
  const { running, root } = await start('native');
  try {
    const c = await login(running.port);
    for (const size of [0, 4096, 256 * 1024, 256 * 1024 + 1, 3 * MiB + 7]) {
      const body = randomBytes(size);
      const data = await c.passive();
      opened(await c.send(`STOR up-${size}.bin`));
      // In two writes with a pause: the event loop sees the connection readable more than once.
      data.write(body.subarray(0, size >> 1));
      await sleep(20);
      data.end(body.subarray(size >> 1));
      const done = await c.read(15_000);
      assert.equal(done.code, 226, `${size} bytes: ${done.text}`);
      assert.match(done.text, new RegExp(`\\(${size} bytes\\)`));
      assert.equal(sha(readFileSync(join(root, `up-${size}.bin`))), sha(body), `${size} bytes stored as sent`);
    }
    c.close();
  } finally {
    await running.stop();
  }
});

test('loop uploads: ABOR while a small upload waits keeps what arrived (426 + 226); a reset is a 426; no descriptor is left behind', { skip: !nativeIo }, async () => {
  const { running, root } = await start('native');
  try {
    const pid = running.child.pid!;
    const c = await login(running.port);
    const warm = await c.passive();
    opened(await c.send('STOR warm.bin'));
    warm.end(randomBytes(4096));
    assert.equal((await c.read(15_000)).code, 226);
    const before = openFds(pid);

    const data = await c.passive();
    data.on('error', () => undefined);
    opened(await c.send('STOR held.bin'));
    const sent = randomBytes(10_000);
    await new Promise<void>((r) => data.write(sent, () => r()));
    await sleep(200); // stored from the event loop, which now waits for more
    c.write('ABOR\r\n');
    assert.equal((await c.read(5000)).code, 426);
    assert.equal((await c.read(5000)).code, 226);
    await closedWithin(data, 5000);
    assert.equal(sha(readFileSync(join(root, 'held.bin'))), sha(sent), 'what arrived before ABOR is kept');

    const cut = await c.passive();
    cut.on('error', () => undefined);
    opened(await c.send('STOR cut.bin'));
    await new Promise<void>((r) => cut.write(randomBytes(5000), () => r()));
    await sleep(100);
    cut.resetAndDestroy();
    const reply = await c.read(5000);
    assert.equal(reply.code, 426, reply.text);

    assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
    await sleep(200);
    assert.equal(openFds(pid), before, 'descriptors after the aborted and the reset upload');
    c.close();
  } finally {
    await running.stop();
  }
});
