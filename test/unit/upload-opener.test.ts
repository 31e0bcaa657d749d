import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UploadOpener } from '../../src/core/storage/upload-opener.js';
import { tempDir } from '../helpers/server.js';

const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL;

/**
 * A clock that only moves when told: an open "takes" the time the test says, so the outcome
 * never depends on how busy the machine is (a filesystem that blocks cannot be made here).
 */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 1_000_000;
  return { now: () => ms, advance: (by) => void (ms += by) };
}

test('upload opener: creates on the event loop; after a slow create, on the thread pool for 10 s, then on the event loop again', async () => {
  const dir = await tempDir('wharf-upload-opener-');
  try {
    const clock = fakeClock();
    const used: string[] = [];
    let openTakesMs = 0;
    const opener = new UploadOpener({
      openNow: (path, flags, mode) => {
        used.push('loop');
        clock.advance(openTakesMs);
        return openSync(path, flags, mode);
      },
      openLater: async (path, flags, mode) => {
        used.push('pool');
        return openSync(path, flags, mode);
      },
      now: clock.now,
    });
    const create = async (name: string) => closeSync(await opener.open(Buffer.from(join(dir, name)), CREATE, 0o644));

    openTakesMs = 2; // not over the limit
    await create('a');
    await create('b');
    assert.deepEqual(used, ['loop', 'loop'], 'fast creates stay on the event loop');
    assert.equal(opener.onPool, false);
    openTakesMs = 5;
    await create('c'); // too slow: the next ones go to the pool
    assert.equal(opener.onPool, true);
    await create('d');
    clock.advance(9_999);
    await create('e');
    assert.deepEqual(used.slice(2), ['loop', 'pool', 'pool']);
    openTakesMs = 0;
    clock.advance(2);
    assert.equal(opener.onPool, false, 'after 10 s the event loop tries again');
    await create('f');
    assert.deepEqual(used.slice(5), ['loop']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('upload opener: an open that fails rejects with the system error, on either path', async () => {
  const dir = await tempDir('wharf-upload-opener-');
  try {
    const path = Buffer.from(join(dir, 'taken'));
    const opener = new UploadOpener();
    closeSync(await opener.open(path, CREATE, 0o644));
    await assert.rejects(opener.open(path, CREATE, 0o644), { code: 'EEXIST' });
    await assert.rejects(opener.open(Buffer.from(join(dir, 'no-such-folder', 'x')), CREATE, 0o644), { code: 'ENOENT' });
    const clock = fakeClock();
    const slow = new UploadOpener({
      openNow: (p, flags, mode) => {
        clock.advance(5);
        return openSync(p, flags, mode);
      },
      now: clock.now,
    });
    await assert.rejects(slow.open(path, CREATE, 0o644), { code: 'EEXIST' }); // slow, and failed: still an error
    assert.equal(slow.onPool, true);
    await assert.rejects(slow.open(path, CREATE, 0o644), { code: 'EEXIST' }); // the thread pool's real open
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
