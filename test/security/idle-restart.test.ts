import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { loggedIn, talkThenFallSilent } from './idle-helpers.js';

/**
 * The logged-in idle timeout restarts on every command (the session re-arms one timer rather
 * than allocating a new one per command): a client that keeps talking stays connected well
 * past the timeout, and one that falls silent is closed about one timeout later.
 */
test('limits: every command restarts the idle timeout; silence then closes with 421', async () => {
  const idleMs = 400;
  const srv = await startServer({ timeouts: { idleMs } });
  try {
    const client = await loggedIn(srv.port);
    // 1.5 s of commands every 150 ms: almost four timeouts long, never one timeout of silence.
    const { silentFor } = await talkThenFallSilent(client, 10, 150);
    // Counted from the last command, not from the login or the first arming.
    assert.ok(silentFor >= idleMs - 50, `closed after ${silentFor} ms of silence, before the ${idleMs} ms timeout`);
    await client.whenClosed();
  } finally {
    await srv.close();
  }
});
