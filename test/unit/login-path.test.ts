import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalStorageCache } from '../../src/core/storage/local-cache.js';
import { nextSessionId } from '../../src/ftp/session-id.js';
import { createLogger } from '../../src/core/logger-pino.js';
import { tempDir } from '../helpers/server.js';

test('LocalStorageCache: one storage per home within a second, a fresh one after', async () => {
  let now = 1_000_000;
  const cache = new LocalStorageCache(() => now);
  const a = await tempDir();
  const b = await tempDir();
  const first = cache.get(a);
  assert.equal(cache.get(a), first, 'reused within the second');
  assert.notEqual(cache.get(b), first, 'another home gets its own');
  assert.equal(first.root, a);
  now += 999;
  assert.equal(cache.get(a), first);
  now += 2;
  const later = cache.get(a);
  assert.notEqual(later, first, 'rebuilt after a second, so a changed home is noticed');
  assert.equal(later.root, a);
});

test('session ids: 12 hex digits, no repeats across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = nextSessionId();
    assert.match(id, /^[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});

test('deferred pino logger: levels filter, child bindings come out as with pino', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', pretty: false, write: (l) => void lines.push(l) });
  const child = log.child({ session: 's1', ip: '127.0.0.1' });
  child.info({ user: 'alice' }, 'not written');
  child.debug({}, 'not written');
  assert.equal(lines.length, 0);
  child.warn({ n: 1 }, 'written');
  log.error({ n: 2 });
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ['level', 'time', 'session', 'ip', 'n', 'msg']);
  assert.equal(first.level, 40);
  assert.equal(first.session, 's1');
  const second = JSON.parse(lines[1]!) as Record<string, unknown>;
  assert.equal(second.level, 50);
  assert.equal(second.n, 2);
  assert.equal('msg' in second, false);
});
