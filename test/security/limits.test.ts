import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, readAll } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';
import type { Session } from '../../src/ftp/session.js';

async function greeted(port: number, localAddress?: string): Promise<{ client: RawClient; code: number }> {
  const client = await RawClient.connect(port, '127.0.0.1', localAddress);
  const r = await client.read();
  return { client, code: r.code };
}

test('limits: --max-connections answers 421 and closes the extra connection', async () => {
  const srv = await startServer({ limits: { maxConnections: 3 } });
  try {
    const open = await Promise.all([1, 2, 3].map(() => greeted(srv.port)));
    assert.deepEqual(open.map((o) => o.code), [220, 220, 220]);
    const extra = await greeted(srv.port, '127.0.0.2');
    assert.equal(extra.code, 421);
    await extra.client.whenClosed();
    open[0]!.client.close();
    await sleep(100);
    const later = await greeted(srv.port);
    assert.equal(later.code, 220, 'a slot freed by a closed session is usable again');
    for (const o of [...open, later]) o.client.close();
  } finally {
    await srv.close();
  }
});

test('limits: --max-connections-per-ip counts per address', async () => {
  const srv = await startServer({ limits: { maxConnectionsPerIp: 2 } });
  try {
    const a = await Promise.all([1, 2].map(() => greeted(srv.port, '127.0.0.2')));
    assert.deepEqual(a.map((o) => o.code), [220, 220]);
    const third = await greeted(srv.port, '127.0.0.2');
    assert.equal(third.code, 421);
    await third.client.whenClosed();
    const other = await greeted(srv.port, '127.0.0.3');
    assert.equal(other.code, 220);
    for (const o of [...a, other]) o.client.close();
  } finally {
    await srv.close();
  }
});

test('limits: the login timeout counts from the connection, commands do not extend it', async () => {
  const srv = await startServer({ timeouts: { loginMs: 400 } });
  try {
    const { client } = await greeted(srv.port);
    const replies: number[] = [];
    const started = Date.now();
    // keep talking without logging in: NOOP every 100 ms, and a wrong USER/PASS
    while (!client.closed && Date.now() - started < 3000) {
      const r = await client.send('NOOP', 1000).catch(() => null);
      if (!r) break;
      replies.push(r.code);
      if (r.code === 421) break;
      await sleep(100);
    }
    for (;;) {
      const r = await client.read(200).catch(() => null); // the 421 may have come unasked
      if (!r) break;
      replies.push(r.code);
    }
    assert.equal(replies.at(-1), 421);
    assert.ok(replies.filter((c) => c === 200).length >= 2, 'NOOPs were answered before the timeout');
    await client.whenClosed();
    assert.ok(Date.now() - started < 2500, 'closed by the login timeout, not kept alive by NOOPs');
  } finally {
    await srv.close();
  }
});

test('limits: the idle timeout closes a logged-in session with 421', async () => {
  const srv = await startServer({ timeouts: { idleMs: 300 } });
  try {
    const { client } = await greeted(srv.port);
    assert.equal((await client.login(TEST_USER, TEST_PASSWORD)).code, 230);
    const r = await client.read(3000);
    assert.equal(r.code, 421);
    assert.match(r.text, /idle/i);
    await client.whenClosed();
    await sleep(50);
    assert.equal(srv.server.sessionCount, 0);
  } finally {
    await srv.close();
  }
});

test('limits: the idle timeout is paused while a transfer runs', async () => {
  const srv = await startServer({ timeouts: { idleMs: 300 } });
  try {
    const data = randomBytes(16 * 1024 * 1024);
    await writeFile(join(srv.root, 'big.bin'), data);
    const { client } = await greeted(srv.port);
    await client.login(TEST_USER, TEST_PASSWORD);
    await client.send('TYPE I');
    const dataSock = await client.passive();
    dataSock.pause(); // a slow reader: the transfer lasts far longer than the idle timeout
    assert.ok([125, 150].includes((await client.send('RETR big.bin')).code));
    await sleep(1000);
    assert.equal(client.closed, false, 'not closed during the transfer');
    const got = readAll(dataSock);
    dataSock.resume();
    assert.equal((await got).length, data.length);
    assert.equal((await client.read()).code, 226);
    // and once it is over, the idle timeout applies again
    assert.equal((await client.read(3000)).code, 421);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});

test('limits: a passive data connection that never comes gets 425 and the port is released', async () => {
  const srv = await startServer({ timeouts: { dataConnectMs: 300 } });
  try {
    await writeFile(join(srv.root, 'f.txt'), 'hello');
    const { client } = await greeted(srv.port);
    await client.login(TEST_USER, TEST_PASSWORD);
    const r = await client.send('EPSV');
    assert.equal(r.code, 229);
    assert.equal(srv.server.passiveListeners, 1);
    assert.equal((await client.send('RETR f.txt')).code, 150);
    assert.equal((await client.read(3000)).code, 425);
    await sleep(50);
    assert.equal(srv.server.passiveListeners, 0);
    assert.equal((await client.send('NOOP')).code, 200, 'the session goes on');
    client.close();
  } finally {
    await srv.close();
  }
});

test('limits: a command flood gets 421 and is closed; other clients are served', async () => {
  const srv = await startServer({ limits: { maxCommandsPerSecond: 50 } });
  try {
    const { client } = await greeted(srv.port, '127.0.0.2');
    client.write('NOOP\r\n'.repeat(5000));
    const codes: number[] = [];
    for (;;) {
      const r = await client.read(3000).catch(() => null);
      if (!r) break;
      codes.push(r.code);
      if (r.code === 421) break;
    }
    assert.equal(codes.at(-1), 421);
    assert.ok(codes.length <= 101, `at most a burst of commands ran: ${codes.length}`);
    await client.whenClosed();
    // a well-behaved client doing a normal amount of work is not affected
    const { client: ok } = await greeted(srv.port);
    assert.equal((await ok.login(TEST_USER, TEST_PASSWORD)).code, 230);
    for (let i = 0; i < 30; i++) assert.equal((await ok.send('PWD')).code, 257);
    ok.close();
  } finally {
    await srv.close();
  }
});

test('limits: by default a fast client that waits for its replies is never cut off, and a pipelined flood still is', async () => {
  const srv = await startServer();
  try {
    const { client } = await greeted(srv.port);
    assert.equal((await client.login(TEST_USER, TEST_PASSWORD)).code, 230);
    // 4 000 commands back to back over loopback: more than the old default's 2 000-command burst, at well over 1 000/s.
    const started = Date.now();
    for (let i = 0; i < 4000; i++) {
      const r = await client.send('NOOP');
      if (r.code !== 200) assert.fail(`command ${i} got ${r.code} ${r.text}`);
    }
    assert.equal((await client.send('PWD')).code, 257, `still served after ${Date.now() - started} ms`);
    client.close();
    const { client: flooder } = await greeted(srv.port, '127.0.0.2');
    // Enough that even a server answering only ~11 000 NOOPs a second (a slow, busy machine) drains its burst before the end.
    const flood = 200_000;
    flooder.write('NOOP\r\n'.repeat(flood));
    let replies = 0;
    let last = 0;
    for (;;) {
      const r = await flooder.read(5000).catch(() => null);
      if (!r) break;
      replies++;
      last = r.code;
      if (r.code === 421) break;
    }
    assert.equal(last, 421, `the flood ended with ${last} after ${replies} replies`);
    assert.ok(replies < flood, `cut off before the end: ${replies} replies`);
    await flooder.whenClosed();
  } finally {
    await srv.close();
  }
});

test('limits: a client that sends commands but never reads replies cannot grow server memory', async () => {
  const srv = await startServer({ limits: { maxCommandsPerSecond: 0 } });
  try {
    const { client } = await greeted(srv.port);
    await client.login(TEST_USER, TEST_PASSWORD);
    client.socket.pause(); // never read again
    const line = Buffer.from('HELP\r\n'); // a long multi-line reply each time
    const payload = Buffer.concat(Array.from({ length: 20_000 }, () => line));
    for (let i = 0; i < 20; i++) client.socket.write(payload);
    await sleep(1500);
    const sessions = (srv.server as unknown as { sessions: Set<Session> }).sessions;
    const [session] = [...sessions];
    assert.ok(session);
    const backlog = session.socket.writableLength;
    assert.ok(backlog < 2 * 1024 * 1024, `replies waiting in memory: ${backlog} bytes`);
    client.close();
  } finally {
    await srv.close();
  }
});
