import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, VerifiedCredentialsCache, verifyWithCache } from '../../src/core/users/password.js';

test('concurrent identical verifications share one scrypt, and the result is cached', async () => {
  const cache = new VerifiedCredentialsCache();
  const stored = await hashPassword('wonderland', 10);
  let runs = 0;
  const verify = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
    return true;
  };
  const results = await Promise.all(Array.from({ length: 50 }, () => cache.shareInFlight('alice', 'wonderland', stored, verify)));
  assert.equal(runs, 1);
  assert.ok(results.every((ok) => ok === true));
  // through the real path: 200 logins of one user, all accepted; afterwards served from the cache
  const oks = await Promise.all(Array.from({ length: 200 }, () => verifyWithCache(cache, 'alice', 'wonderland', stored)));
  assert.ok(oks.every((ok) => ok === true));
  assert.equal(cache.has('alice', 'wonderland', stored), true);
});

test('a wrong password is neither shared with the right one nor cached', async () => {
  const cache = new VerifiedCredentialsCache();
  const stored = await hashPassword('wonderland', 10);
  const [good, bad] = await Promise.all([verifyWithCache(cache, 'alice', 'wonderland', stored), verifyWithCache(cache, 'alice', 'looking-glass', stored)]);
  assert.equal(good, true);
  assert.equal(bad, false);
  assert.equal(cache.has('alice', 'looking-glass', stored), false);
  assert.equal(await verifyWithCache(cache, 'alice', 'looking-glass', stored), false);
});
