import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';
import { loggedIn, talkThenFallSilent } from './idle-helpers.js';

/**
 * A session has one timer for both timeouts: logging in keeps the login timer when it is due
 * before the idle deadline. When it fires on a logged-in session it must not close it, but
 * wait for the rest of the idle timeout, counted from the last command.
 */
test('timeouts: the login timer kept after login does not close an active session; silence then closes it after the idle timeout', async () => {
  const loginMs = 300;
  const idleMs = 700;
  const srv = await startServer({ timeouts: { loginMs, idleMs } });
  try {
    const client = await loggedIn(srv.port);
    // Commands until well past the login deadline (where the kept timer fires).
    const { silentFor } = await talkThenFallSilent(client, 6, 150);
    assert.ok(silentFor >= idleMs - 50, `closed after ${silentFor} ms of silence, before the ${idleMs} ms idle timeout`);
    assert.ok(silentFor < idleMs + 1000, `closed only after ${silentFor} ms of silence`);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});

test('timeouts: a session that logs in and stays silent is closed after the idle timeout, not at the login deadline', async () => {
  const loginMs = 200;
  const idleMs = 600;
  const srv = await startServer({ timeouts: { loginMs, idleMs } });
  try {
    const client = await RawClient.connect(srv.port);
    const connectedAt = Date.now();
    assert.equal((await client.read()).code, 220);
    assert.equal((await client.login(TEST_USER, TEST_PASSWORD)).code, 230);
    const loggedInAt = Date.now();
    const r = await client.read(5000);
    assert.equal(r.code, 421);
    assert.match(r.text, /idle/i);
    assert.ok(Date.now() - loggedInAt >= idleMs - 50, `closed ${Date.now() - connectedAt} ms after connecting`);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});

test('timeouts: a shorter idle timeout than login timeout still applies from the login on', async () => {
  const srv = await startServer({ timeouts: { loginMs: 5000, idleMs: 300 } });
  try {
    const client = await loggedIn(srv.port);
    const loggedInAt = Date.now();
    const r = await client.read(3000);
    const after = Date.now() - loggedInAt;
    assert.equal(r.code, 421);
    assert.match(r.text, /idle/i);
    assert.ok(after >= 250 && after < 2000, `idle close ${after} ms after login`);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});

test('timeouts: without a login the session is closed at the login deadline, however many commands it sends', async () => {
  const loginMs = 400;
  const srv = await startServer({ timeouts: { loginMs, idleMs: 5000 } });
  try {
    const client = await RawClient.connect(srv.port);
    const connectedAt = Date.now();
    assert.equal((await client.read()).code, 220);
    let closing: { code: number; text: string } | undefined;
    while (!closing) {
      await sleep(100);
      const r = await client.send('NOOP', 3000);
      if (r.code !== 200 && r.code !== 530) closing = r; // NOOP may need a login: 530 is an answer too
      assert.ok(Date.now() - connectedAt < 3000, 'still open 3 s after connecting');
    }
    assert.equal(closing.code, 421);
    assert.match(closing.text, /login/i);
    assert.ok(Date.now() - connectedAt >= loginMs - 50);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});
