import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, type Reply } from '../helpers/raw.js';
import { TEST_PASSWORD, TEST_USER } from '../helpers/server.js';

/** A raw client past the greeting and logged in as the test user. */
export async function loggedIn(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  assert.equal((await client.read()).code, 220);
  assert.equal((await client.login(TEST_USER, TEST_PASSWORD)).code, 230);
  return client;
}

/**
 * Sends `commands` NOOPs `gapMs` apart (each must be answered), then stays silent until the
 * server closes the session: returns that last reply, which must be the idle 421, and how
 * long the silence lasted.
 */
export async function talkThenFallSilent(client: RawClient, commands: number, gapMs: number): Promise<{ reply: Reply; silentFor: number }> {
  for (let i = 0; i < commands; i++) {
    await sleep(gapMs);
    assert.equal((await client.send('NOOP')).code, 200, `NOOP ${i} answered`);
  }
  assert.equal(client.closed, false);
  const silentFrom = Date.now();
  const reply = await client.read(5000);
  const silentFor = Date.now() - silentFrom;
  assert.equal(reply.code, 421);
  assert.match(reply.text, /idle/i);
  return { reply, silentFor };
}
