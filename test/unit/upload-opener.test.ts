import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UploadOpener } from '../../src/core/storage/upload-opener.js';
import { tempDir } from '../helpers/server.js';

const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL;

/** Spins for `ms`: a create on a filesystem that blocks (this machine's disk never does). */
function blockFor(ms: number): void {
  const until = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < until);
}

test('upload opener: creates on the event loop; after a slow create, on the thread pool for 10 s, then on the event loop again', async () => {
  const dir = await tempDir('wharf-upload-opener-');
  try {
    let clock = 1_000_000;
    const used: string[] = [];
    let slow = false;
    const opener = new UploadOpener({
      openNow: (path, flags, mode) => {
        used.push('loop');
        if (slow) blockFor(5);
        return openSync(path, flags, mode);
      },
      openLater: async (path, flags, mode) => {
        used.push('pool');
        return openSync(path, flags, mode);
      },
      now: () => clock,
    });
    const create = async (name: string) => closeSync(await opener.open(Buffer.from(join(dir, name)), CREATE, 0o644));

    await create('a');
    await create('b');
    assert.deepEqual(used, ['loop', 'loop'], 'fast creates stay on the event loop');
    slow = true;
    await create('c'); // this one blocks 5 ms: the next ones go to the pool
    assert.equal(opener.onPool, true);
    await create('d');
    clock += 9_999;
    await create('e');
    assert.deepEqual(used.slice(2), ['loop', 'pool', 'pool']);
    slow = false;
    clock += 2;
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
    const opener = new UploadOpener();
    const path = Buffer.from(join(dir, 'taken'));
    closeSync(await opener.open(path, CREATE, 0o644));
    await assert.rejects(opener.open(path, CREATE, 0o644), { code: 'EEXIST' });
    const pooled = new UploadOpener({ openNow: () => (blockFor(5), openSync(path, CREATE, 0o644)) });
    await assert.rejects(pooled.open(path, CREATE, 0o644), { code: 'EEXIST' }); // slow, and failed: still an error
    assert.equal(pooled.onPool, true);
    await assert.rejects(pooled.open(path, CREATE, 0o644), { code: 'EEXIST' }); // the thread pool's real open
    await assert.rejects(opener.open(Buffer.from(join(dir, 'no-such-folder', 'x')), CREATE, 0o644), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
