import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalStorage } from '../../src/core/storage/local.js';
import { isWharfError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/server.js';

test('LocalStorage.unlink (no lstat before unlink): a file goes, a directory is refused as a directory and stays, a missing name is not found, a link to a directory is removed as a link', async () => {
  const root = await tempDir();
  try {
    const storage = new LocalStorage(root);
    await writeFile(join(root, 'f.bin'), 'x');
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir', 'inner.txt'), 'y');
    await symlink('dir', join(root, 'link'));

    await storage.unlink('/f.bin');
    assert.equal(existsSync(join(root, 'f.bin')), false);

    await assert.rejects(storage.unlink('/dir'), (err: unknown) => isWharfError(err, 'STORAGE_IS_A_DIRECTORY'));
    assert.ok(existsSync(join(root, 'dir', 'inner.txt')), 'the directory and its content are untouched');

    await assert.rejects(storage.unlink('/missing.bin'), (err: unknown) => isWharfError(err, 'STORAGE_NOT_FOUND'));

    await storage.unlink('/link');
    assert.equal(existsSync(join(root, 'link')), false, 'the link is gone');
    assert.ok(existsSync(join(root, 'dir', 'inner.txt')), 'its target is not');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
