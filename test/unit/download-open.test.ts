import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isNormalized, resolveVirtual, splitVirtual } from '../../src/core/vpath.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { tempDir } from '../helpers/server.js';

/** The general algorithm, as it was before the fast path for already-normalized paths. */
function referenceResolve(cwd: string, input: string): string {
  const base = input.startsWith('/') ? [] : cwd.split('/').filter((p) => p !== '' && p !== '.');
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') base.pop();
    else base.push(part);
  }
  return '/' + base.join('/');
}

test('paths: the normalized-path fast path gives what the general resolution gives, for every combination of odd segments', () => {
  const segments = ['', '.', '..', 'a', '.b', '..c', 'd..', '...', 'é x'];
  let checked = 0;
  let fast = 0;
  for (const a of segments) {
    for (const b of segments) {
      for (const c of segments) {
        for (const input of [`/${a}/${b}/${c}`, `${a}/${b}/${c}`, `/${a}/${b}`, `/${a}`, `${a}/${b}/${c}/`]) {
          assert.equal(resolveVirtual('/x/y', input), referenceResolve('/x/y', input), JSON.stringify(input));
          assert.deepEqual(splitVirtual(input), input.split('/').filter((p) => p !== '' && p !== '.'), JSON.stringify(input));
          if (isNormalized(input)) {
            fast++;
            assert.equal(referenceResolve('/', input), input, `${JSON.stringify(input)} is called normalized but resolves differently`);
          }
          checked++;
        }
      }
    }
  }
  assert.ok(fast > 100 && fast < checked, `fast path taken for ${fast} of ${checked}`);
  assert.equal(isNormalized('/'), true);
  for (const odd of ['', '//', '/a/', '/./a', '/a/..', 'a/b']) assert.equal(isNormalized(odd), false, odd);
});

async function readAll(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

test('storage: openDownload opens regular files only (directory, FIFO, missing, outside links) and reports the size', async () => {
  const dir = await tempDir('wharf-open-download-');
  const outside = await tempDir('wharf-open-download-out-');
  try {
    await writeFile(join(dir, 'f.txt'), '0123456789');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'g.txt'), 'abc');
    await symlink('sub/g.txt', join(dir, 'link.txt'));
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(join(outside, 'secret.txt'), join(dir, 'escape.txt'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const storage = new LocalStorage(dir);
    const fdsBefore = (await readdir('/proc/self/fd')).length;

    const file = await storage.openDownload('/f.txt', { start: 4 });
    assert.ok('stream' in file);
    assert.equal(file.size, 10);
    assert.equal(await readAll(file.stream), '456789');

    const nested = await storage.openDownload('/sub/g.txt');
    assert.ok('stream' in nested && nested.size === 3);
    assert.equal(await readAll(nested.stream), 'abc');

    const viaLink = await storage.openDownload('/link.txt'); // a link inside the root: the general path
    assert.ok('stream' in viaLink && viaLink.size === 3);
    assert.equal(await readAll(viaLink.stream), 'abc');

    assert.deepEqual(await storage.openDownload('/sub'), { notAFile: 'dir' });
    assert.deepEqual(await storage.openDownload('/'), { notAFile: 'dir' });
    // A FIFO is refused without being opened (opening it for reading would block the thread).
    assert.deepEqual(await storage.openDownload('/pipe'), { notAFile: 'other' });
    await assert.rejects(storage.openDownload('/missing.txt'), { code: 'STORAGE_NOT_FOUND' });
    await assert.rejects(storage.openDownload('/sub/missing/deeper.txt'), { code: 'STORAGE_NOT_FOUND' });
    await assert.rejects(storage.openDownload('/escape.txt'), { code: 'PATH_OUTSIDE_ROOT' });
    await assert.rejects(storage.openDownload('/f.txt', { start: 11 }), { code: 'STORAGE_INVALID_RANGE' });
    assert.equal((await readdir('/proc/self/fd')).length, fdsBefore, 'every descriptor opened here was closed');
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});
