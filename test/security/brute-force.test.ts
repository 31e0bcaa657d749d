import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';
import { warnCapturingLogger } from '../helpers/logger.js';

const ATTACKER = '127.0.0.2';

/** Connects and returns the first reply (or null when the server closed without one). */
async function firstReply(port: number, localAddress: string): Promise<{ code: number | null; closed: boolean }> {
  const c = await RawClient.connect(port, '127.0.0.1', localAddress);
  try {
    const r = await c.read(3000).catch(() => null);
    await c.whenClosed(3000).catch(() => undefined);
    return { code: r?.code ?? null, closed: c.closed };
  } finally {
    c.close();
  }
}

test('brute force: an address is banned after N failures (421 and closed), others still log in, the ban expires', async () => {
  const lines: string[] = [];
  const log = warnCapturingLogger(lines);
  const srv = await startServer({ defender: { maxFailures: 3, banMs: 1500, maxFailuresPerSession: 0 }, logger: log });
  const bans: Array<{ ip: string; failures: number }> = [];
  srv.server.on('security:ban', (b) => bans.push(b));
  const refused: string[] = [];
  srv.server.on('security:refused', (r) => refused.push(`${r.reason}:${r.ip}`));
  try {
    const guesser = await RawClient.connect(srv.port, '127.0.0.1', ATTACKER);
    assert.equal((await guesser.read()).code, 220);
    assert.equal((await guesser.login(TEST_USER, 'guess1')).code, 530);
    assert.equal((await guesser.login(TEST_USER, 'guess2')).code, 530);
    // the third failure crosses the threshold: the answer is 421 and the connection closes
    assert.equal((await guesser.login(TEST_USER, 'guess3')).code, 421);
    await guesser.whenClosed();
    assert.equal(bans.length, 1);
    assert.equal(bans[0]!.ip, ATTACKER);
    assert.equal(bans[0]!.failures, 3);
    assert.ok(lines.some((l) => l.includes('banned') && l.includes(ATTACKER)), 'a log line names the banned address');

    // a new connection from the banned address: 421 before any greeting, then closed
    const again = await firstReply(srv.port, ATTACKER);
    assert.deepEqual(again, { code: 421, closed: true });
    assert.ok(refused.includes(`banned:${ATTACKER}`));
    // even the right password from there is not accepted (no session exists to try it)
    assert.equal(srv.server.defender.isBanned(ATTACKER), true);

    // another address logs in normally meanwhile
    const alice = await RawClient.connect(srv.port);
    assert.equal((await alice.read()).code, 220);
    assert.equal((await alice.login(TEST_USER, TEST_PASSWORD)).code, 230);
    alice.close();

    // the ban expires
    await sleep(1600);
    const back = await RawClient.connect(srv.port, '127.0.0.1', ATTACKER);
    assert.equal((await back.read()).code, 220);
    assert.equal((await back.login(TEST_USER, TEST_PASSWORD)).code, 230);
    back.close();
  } finally {
    await srv.close();
  }
});

test('brute force: parallel guessers from one address are all cut off when it is banned', async () => {
  const srv = await startServer({ defender: { maxFailures: 3, banMs: 60_000, maxFailuresPerSession: 0 } });
  let badCredentials = 0;
  srv.server.on('login:failed', (e) => {
    if (e.reason === 'bad-credentials') badCredentials++;
  });
  try {
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(srv.port, '127.0.0.1', '127.0.0.3')));
    for (const c of clients) assert.equal((await c.read()).code, 220);
    for (const c of clients) assert.equal((await c.send('USER alice')).code, 331);
    // every connection guesses at once, then keeps guessing until it is closed
    const results = await Promise.all(
      clients.map(async (c, i) => {
        const codes: number[] = [];
        for (let n = 0; n < 10 && !c.closed; n++) {
          const r = await c.send(`PASS wrong-${i}-${n}`).catch(() => null);
          if (!r) break;
          codes.push(r.code);
          if (r.code === 421) break;
        }
        await c.whenClosed(5000);
        return codes;
      }),
    );
    for (const codes of results) assert.ok(!codes.includes(230));
    assert.ok(results.every((codes) => codes.at(-1) === 421 || codes.length === 0), JSON.stringify(results));
    // only the guesses already being checked when the ban fell were scored: at most one per connection beyond the threshold
    assert.ok(badCredentials <= 3 + clients.length, `bad-credentials events: ${badCredentials}`);
    assert.equal(srv.server.defender.isBanned('127.0.0.3'), true);
    await sleep(100);
    assert.equal(srv.server.sessionCount, 0);
  } finally {
    await srv.close();
  }
});

test('brute force: a session is closed with 421 after too many failures in it', async () => {
  const srv = await startServer({ defender: { maxFailures: 100, maxFailuresPerSession: 2 } });
  try {
    const c = await RawClient.connect(srv.port, '127.0.0.1', ATTACKER);
    await c.read();
    assert.equal((await c.login(TEST_USER, 'x')).code, 530);
    assert.equal((await c.login(TEST_USER, 'y')).code, 530);
    assert.equal((await c.read()).code, 421);
    await c.whenClosed();
    assert.equal(srv.server.defender.isBanned(ATTACKER), false);
  } finally {
    await srv.close();
  }
});

test('brute force: an allow-listed address is never banned (loopback is not allowed by default)', async () => {
  const srv = await startServer({ defender: { maxFailures: 2, maxFailuresPerSession: 0, allow: ['127.0.0.4/32'] } });
  try {
    const c = await RawClient.connect(srv.port, '127.0.0.1', '127.0.0.4');
    await c.read();
    for (let i = 0; i < 5; i++) assert.equal((await c.login(TEST_USER, `bad${i}`)).code, 530);
    assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
    c.close();
    assert.equal(srv.server.defender.isBanned('127.0.0.4'), false);
    // 127.0.0.5 is not on the list
    const d = await RawClient.connect(srv.port, '127.0.0.1', '127.0.0.5');
    await d.read();
    assert.equal((await d.login(TEST_USER, 'bad')).code, 530);
    assert.equal((await d.login(TEST_USER, 'bad')).code, 421);
    d.close();
  } finally {
    await srv.close();
  }
});

test('brute force: a banned address is refused at accept time even mid-handshake spam', async () => {
  const srv = await startServer({ defender: { maxFailures: 1, banMs: 60_000 } });
  try {
    const c = await RawClient.connect(srv.port, '127.0.0.1', ATTACKER);
    await c.read();
    assert.equal((await c.login(TEST_USER, 'nope')).code, 421);
    c.close();
    const before = srv.server.sessionCount;
    // a burst of connections from the banned address: none becomes a session
    const greetings = await Promise.all(
      Array.from({ length: 50 }, () => new Promise<string>((resolve) => {
        let text = '';
        const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: ATTACKER }, () => s.write('USER alice\r\nPASS wonderland\r\n'));
        s.setEncoding('latin1');
        s.on('data', (d: string) => (text += d));
        s.on('error', () => undefined);
        s.on('close', () => resolve(text));
      })),
    );
    for (const g of greetings) assert.match(g, /^421 /);
    assert.equal(srv.server.sessionCount, before);
  } finally {
    await srv.close();
  }
});
