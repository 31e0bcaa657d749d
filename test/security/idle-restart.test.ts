import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';

/**
 * The logged-in idle timeout restarts on every command (the session re-arms one timer rather
 * than allocating a new one per command): a client that keeps talking stays connected well
 * past the timeout, and one that falls silent is closed about one timeout later.
 */
test('limits: every command restarts the idle timeout; silence then closes with 421', async () => {
  const idleMs = 400;
  const srv = await startServer({ timeouts: { idleMs } });
  try {
    const client = await RawClient.connect(srv.port);
    assert.equal((await client.read()).code, 220);
    assert.equal((await client.login(TEST_USER, TEST_PASSWORD)).code, 230);
    // 1.5 s of commands every 150 ms: almost four timeouts long, never one timeout of silence.
    for (let i = 0; i < 10; i++) {
      await sleep(150);
      assert.equal((await client.send('NOOP')).code, 200, `NOOP ${i} answered`);
    }
    assert.equal(client.closed, false);
    const silentFrom = Date.now();
    const r = await client.read(5000);
    const silentFor = Date.now() - silentFrom;
    assert.equal(r.code, 421);
    assert.match(r.text, /idle/i);
    // Counted from the last command, not from the login or the first arming.
    assert.ok(silentFor >= idleMs - 50, `closed after ${silentFor} ms of silence, before the ${idleMs} ms timeout`);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});
