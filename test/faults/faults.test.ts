import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, closedWithin, readAll } from '../helpers/raw.js';
import { rawSession } from '../helpers/session.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { nativeData } from '../../src/ftp/data/native-data.js';
import { countResources, settleTo } from './leak-check.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const loggedIn = (srv: TestServer): Promise<RawClient> => rawSession(srv, { binary: true });

/** Runs a fault, then asserts sessions, passive listeners and descriptors are back to where they were. */
async function withoutLeaks(srv: TestServer, fault: () => Promise<void>): Promise<void> {
  await sleep(50);
  const before = countResources(srv.server);
  await fault();
  const after = await settleTo(srv.server, before);
  assert.deepEqual(after, before, 'sessions / passive listeners / file descriptors leaked');
}

test('faults: client resets the data and control connections mid-upload', async () => {
  const srv = await startServer();
  try {
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      const data = await c.passive();
      assert.ok([125, 150].includes((await c.send('STOR up.bin')).code));
      data.write(randomBytes(2 * 1024 * 1024));
      await sleep(100);
      data.resetAndDestroy();
      c.socket.resetAndDestroy();
    });
    await withoutLeaks(srv, async () => {
      // only the data connection dies: 426, and the session goes on
      const c = await loggedIn(srv);
      const data = await c.passive();
      assert.ok([125, 150].includes((await c.send('STOR up2.bin')).code));
      data.write(randomBytes(1024 * 1024));
      await sleep(100);
      data.resetAndDestroy();
      assert.equal((await c.read()).code, 426);
      assert.equal((await c.send('NOOP')).code, 200);
      c.close();
    });
  } finally {
    await srv.close();
  }
});

test('faults: client resets mid-download (data only, then data and control)', async () => {
  const srv = await startServer();
  try {
    await writeFile(join(srv.root, 'big.bin'), randomBytes(32 * 1024 * 1024));
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      const data = await c.passive();
      assert.ok([125, 150].includes((await c.send('RETR big.bin')).code));
      await new Promise((r) => data.once('data', r));
      data.resetAndDestroy();
      assert.equal((await c.read()).code, 426);
      assert.equal((await c.send('NOOP')).code, 200);
      c.close();
    });
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      const data = await c.passive();
      assert.ok([125, 150].includes((await c.send('RETR big.bin')).code));
      await new Promise((r) => data.once('data', r));
      data.resetAndDestroy();
      c.socket.resetAndDestroy();
    });
  } finally {
    await srv.close();
  }
});

test('faults: client gone after PASV / EPSV (with and without a transfer command)', async () => {
  const srv = await startServer();
  try {
    await writeFile(join(srv.root, 'f.txt'), 'x');
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      assert.equal((await c.send('PASV')).code, 227);
      assert.equal(srv.server.passiveListeners, 1);
      c.socket.resetAndDestroy();
    });
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      assert.equal((await c.send('EPSV')).code, 229);
      assert.ok([125, 150].includes((await c.send('RETR f.txt')).code));
      c.close(); // gone while the server waits for the data connection
    });
    await withoutLeaks(srv, async () => {
      // repeated PASV in one session never holds more than one listener
      const c = await loggedIn(srv);
      for (let i = 0; i < 20; i++) assert.equal((await c.send('PASV')).code, 227);
      assert.equal(srv.server.passiveListeners, 1);
      c.close();
    });
  } finally {
    await srv.close();
  }
});

test('faults: 1000 sessions that connect and vanish leave nothing behind', async () => {
  const srv = await startServer({ limits: { maxConnectionsPerIp: 2000 } });
  try {
    await withoutLeaks(srv, async () => {
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) => new Promise<void>((resolve) => {
            const s = net.connect({ port: srv.port, host: '127.0.0.1' });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            const how = (batch * 100 + i) % 4;
            if (how === 0) s.once('connect', () => s.destroy()); // before the greeting
            else if (how === 1) s.once('connect', () => s.resetAndDestroy());
            else if (how === 2) s.once('data', () => s.destroy()); // after the greeting
            else s.once('data', () => { s.write('USER alice\r\nPASS wonderland\r\nEPSV\r\n'); setTimeout(() => s.resetAndDestroy(), 20); });
          })),
        );
      }
    });
    assert.equal(srv.server.sessionCount, 0);
  } finally {
    await srv.close();
  }
});

test('faults: an active-mode target that is not listening gets 425', async () => {
  const srv = await startServer({ timeouts: { dataConnectMs: 2000 } });
  try {
    await writeFile(join(srv.root, 'f.txt'), 'hello');
    // a port that was just free on 127.0.0.1
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      assert.equal((await c.send(`PORT 127,0,0,1,${deadPort >> 8},${deadPort & 255}`)).code, 200);
      assert.equal((await c.send('RETR f.txt')).code, 150);
      assert.equal((await c.read()).code, 425);
      assert.equal((await c.send(`EPRT |1|127.0.0.1|${deadPort}|`)).code, 200);
      assert.equal((await c.send('LIST')).code, 150);
      assert.equal((await c.read()).code, 425);
      assert.equal((await c.send('NOOP')).code, 200);
      c.close();
    });
  } finally {
    await srv.close();
  }
});

// A target whose accept queue is full: the kernel drops the server's SYN, so its connect
// neither succeeds nor fails, as with a client whose firewall drops it. The native data
// path's listener is the one at hand that nobody accepts from.
test('faults: ABOR and QUIT while the server is still connecting to an active-mode target are answered at once', { skip: !nativeData && 'no native data path' }, async () => {
  const srv = await startServer({ timeouts: { dataConnectMs: 10_000 } });
  const listener = nativeData!.dataListen('127.0.0.1', 0);
  const port = nativeData!.dataPort(listener);
  const fillers: net.Socket[] = [];
  try {
    await writeFile(join(srv.root, 'f.txt'), 'hello');
    for (;;) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      fillers.push(s);
      if (!(await Promise.race([once(s, 'connect').then(() => true), sleep(500).then(() => false)]))) break; // the queue is full (loopback connects take microseconds)
      assert.ok(fillers.length < 64, 'the accept queue never filled');
    }
    await withoutLeaks(srv, async () => {
      for (const verb of ['ABOR', 'QUIT']) {
        const c = await loggedIn(srv);
        assert.equal((await c.send(`PORT 127,0,0,1,${port >> 8},${port & 255}`)).code, 200);
        assert.equal((await c.send('RETR f.txt')).code, 150);
        c.write(`${verb}\r\n`);
        assert.equal((await c.read(1500)).code, 426, `${verb}: the transfer still connecting is aborted`);
        assert.equal((await c.read(1500)).code, verb === 'ABOR' ? 226 : 221);
        c.close();
      }
    });
  } finally {
    for (const s of fillers) s.destroy();
    nativeData?.dataClose(listener);
    await srv.close();
  }
});

test('faults: file deleted during a download is still sent whole (the open file lives on)', async () => {
  const srv = await startServer();
  try {
    const content = randomBytes(24 * 1024 * 1024);
    await writeFile(join(srv.root, 'vanish.bin'), content);
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      const data = await c.passive();
      data.pause();
      assert.ok([125, 150].includes((await c.send('RETR vanish.bin')).code));
      await sleep(50);
      await unlink(join(srv.root, 'vanish.bin'));
      const got = readAll(data);
      data.resume();
      assert.equal(sha(await got), sha(content));
      assert.equal((await c.read()).code, 226);
      assert.equal((await c.send('SIZE vanish.bin')).code, 550);
      c.close();
    });
  } finally {
    await srv.close();
  }
});

test('faults: the folder of an atomic upload disappears mid-transfer: an error reply, no stray file, the session lives', async () => {
  const srv = await startServer({ atomicUploads: true });
  try {
    await mkdir(join(srv.root, 'inbox'));
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      const data = await c.passive();
      assert.ok([125, 150].includes((await c.send('STOR inbox/new.bin')).code));
      data.write(randomBytes(512 * 1024));
      await sleep(100);
      await rm(join(srv.root, 'inbox'), { recursive: true, force: true });
      data.end(randomBytes(512 * 1024));
      const r = await c.read();
      assert.ok([450, 451, 550, 551, 553].includes(r.code), `reply ${r.text}`);
      assert.equal((await c.send('NOOP')).code, 200);
      c.close();
    });
  } finally {
    await srv.close();
  }
});

test('faults: the file is made unreadable before RETR (root ignores modes: removed instead) → 550, no leak', async () => {
  const srv = await startServer();
  try {
    await writeFile(join(srv.root, 'gone.txt'), 'x');
    await withoutLeaks(srv, async () => {
      const c = await loggedIn(srv);
      assert.equal((await c.send('EPSV')).code, 229);
      await unlink(join(srv.root, 'gone.txt'));
      assert.equal((await c.send('RETR gone.txt')).code, 550);
      assert.equal(srv.server.passiveListeners, 0, 'the prepared passive listener is released on the error path');
      c.close();
    });
    const left = await readFile(join(srv.root, 'gone.txt')).catch(() => null);
    assert.equal(left, null);
  } finally {
    await srv.close();
  }
});

/** A STOR whose client sends nothing: 426 once the stall timeout in force (`seconds`) has passed. */
async function silentUpload(srv: TestServer, seconds: number): Promise<void> {
  const c = await loggedIn(srv);
  const data = await c.passive();
  const t0 = Date.now();
  assert.ok([125, 150].includes((await c.send('STOR silent.bin')).code));
  const reply = await c.read(seconds * 1000 + 5000);
  assert.equal(reply.code, 426, reply.text);
  assert.match(reply.text, new RegExp(`No data moved for ${seconds} s`));
  assert.ok(Date.now() - t0 >= seconds * 1000 - 100, `aborted after ${Date.now() - t0} ms`);
  await closedWithin(data, 5000);
  c.close();
}

/** A STOR that sends a byte every 300 ms, `bytes` in all: it keeps moving, so it completes (226). */
async function tricklingUpload(srv: TestServer, bytes: number): Promise<void> {
  const c = await loggedIn(srv);
  const data = await c.passive();
  assert.ok([125, 150].includes((await c.send('STOR slow.bin')).code));
  for (let i = 0; i < bytes; i++) {
    data.write('x');
    await sleep(300);
  }
  data.end();
  const reply = await c.read(5000);
  assert.equal(reply.code, 226, reply.text);
  assert.equal(await readFile(join(srv.root, 'slow.bin'), 'utf8'), 'x'.repeat(bytes));
  c.close();
}

test('faults: a transfer that stalls (data connection open, no byte moving) gets 426 at the stall timeout; a slow one that moves does not', async () => {
  const stallMs = 3000;
  const srv = await startServer({ timeouts: { dataStallMs: stallMs } });
  try {
    await writeFile(join(srv.root, 'big.bin'), '');
    await truncate(join(srv.root, 'big.bin'), 64 * 1024 * 1024); // more than the socket buffers take
    await withoutLeaks(srv, async () => {
      // Three sessions at once: a download the client stops reading, an upload whose client
      // sends nothing, and an upload that trickles a byte every 300 ms for twice the timeout.
      const stalledDownload = async () => {
        const c = await loggedIn(srv);
        const data = await c.passive();
        data.pause();
        const t0 = Date.now();
        assert.ok([125, 150].includes((await c.send('RETR big.bin')).code));
        const reply = await c.read(stallMs + 4000);
        assert.equal(reply.code, 426, reply.text);
        assert.match(reply.text, /No data moved for 3 s/);
        assert.ok(Date.now() - t0 >= stallMs - 100, `aborted after ${Date.now() - t0} ms`);
        data.resume(); // read on, so the client sees the server's close
        await closedWithin(data, 5000);
        assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
        c.close();
      };
      await Promise.all([stalledDownload(), silentUpload(srv, 3), tricklingUpload(srv, 20)]);
    });
  } finally {
    await srv.close();
  }
});

test('faults: a stall timeout shorter than progress reporting can see is taken as 3 s, so a moving upload is never cut', async () => {
  // Uploads report progress about once a second, so a 1 s timeout would otherwise abort one
  // that never stopped moving, whenever a check fell between two reports.
  const srv = await startServer({ timeouts: { dataStallMs: 1000 } });
  try {
    await withoutLeaks(srv, async () => {
      await Promise.all([silentUpload(srv, 3), tricklingUpload(srv, 16)]);
    });
  } finally {
    await srv.close();
  }
});
