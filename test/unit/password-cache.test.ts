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

test('an entry expires a TTL after its last use, each use extends it, and a changed hash never matches', async () => {
  const cache = new VerifiedCredentialsCache(150);
  const stored = await hashPassword('wonderland', 10);
  cache.add('alice', 'wonderland', stored);
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 80)); // 320 ms in all: past the TTL counted from the add
    assert.equal(cache.has('alice', 'wonderland', stored), true, `use ${i} within the TTL of the previous one`);
  }
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(cache.has('alice', 'wonderland', stored), false, 'unused for longer than the TTL');
  cache.add('alice', 'wonderland', stored);
  const rehashed = await hashPassword('wonderland', 10);
  assert.equal(cache.has('alice', 'wonderland', rehashed), false, 'a new stored hash (password changed) needs a real verification');
});

test('cache keys keep the fields apart: moving bytes between name and password is another entry', async () => {
  const cache = new VerifiedCredentialsCache();
  const stored = await hashPassword('b\0c', 10);
  cache.add('a', 'b\0c', stored);
  assert.equal(cache.has('a', 'b\0c', stored), true);
  assert.equal(cache.has('a\0b', 'c', stored), false);
  assert.equal(cache.has('a', 'b\0c' + stored.slice(0, 1), stored.slice(1)), false);
  assert.equal(cache.has('a', 'b', '\0c' + stored), false);
});
