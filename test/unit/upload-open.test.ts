import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { LocalStorage } from '../../src/core/storage/local.js';
import { WharfError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/server.js';

/** Uploads `text` to `vpath` the way STOR does (write, stream, commit). */
async function upload(storage: LocalStorage, vpath: string, text: string, options: { exclusive?: boolean } = {}): Promise<void> {
  const sink = await storage.write(vpath, options);
  sink.stream.end(text);
  await once(sink.stream, 'finish');
  await sink.commit();
}

async function refused(storage: LocalStorage, vpath: string, code: string, options: { exclusive?: boolean } = {}): Promise<void> {
  await assert.rejects(upload(storage, vpath, 'EVIL', options), (err: unknown) => err instanceof WharfError && err.code === code, vpath);
}

// The upload open skips the containment lstat of the last component and refuses symlinks
// with O_NOFOLLOW instead (local.ts openUploadTarget): every link case must end as the full
// check decides, at the root and one folder down.
test('storage: uploads through symlinks end as the containment check decides (outside and dangling refused, inside followed)', async () => {
  const root = await tempDir('wharf-upload-open-');
  const outside = await tempDir('wharf-upload-open-out-');
  try {
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'sub', 'inner.txt'), 'inner');
    for (const dir of ['', 'sub']) {
      await symlink(join(outside, 'secret.txt'), join(root, dir, 'out-link'));
      await symlink(join(outside, `made-by-${dir || 'root'}.txt`), join(root, dir, 'dangling'));
      await symlink(join(root, 'sub', 'inner.txt'), join(root, dir, 'in-link'));
    }
    await symlink(outside, join(root, 'outdir'));
    const storage = new LocalStorage(root);

    await upload(storage, '/plain.txt', 'plain');
    await upload(storage, '/sub/plain.txt', 'plain sub');
    assert.equal(await readFile(join(root, 'plain.txt'), 'utf8'), 'plain');
    assert.equal(await readFile(join(root, 'sub', 'plain.txt'), 'utf8'), 'plain sub');
    await upload(storage, '/plain.txt', 'again'); // replacing an existing file
    assert.equal(await readFile(join(root, 'plain.txt'), 'utf8'), 'again');

    for (const dir of ['', '/sub']) {
      await refused(storage, `${dir}/out-link`, 'PATH_OUTSIDE_ROOT');
      await refused(storage, `${dir}/dangling`, 'PATH_OUTSIDE_ROOT');
      await upload(storage, `${dir}/in-link`, `through ${dir || 'root'}`);
      assert.equal(await readFile(join(root, 'sub', 'inner.txt'), 'utf8'), `through ${dir || 'root'}`);
      assert.equal((await lstat(join(root, dir, 'in-link'))).isSymbolicLink(), true, 'the link itself stays a link');
    }
    await refused(storage, '/outdir/new.txt', 'PATH_OUTSIDE_ROOT');
    await refused(storage, '/sub', 'STORAGE_IS_A_DIRECTORY');
    // STOU's exclusive create never follows a link: an existing link is refused, not written through.
    await assert.rejects(upload(storage, '/in-link', 'x', { exclusive: true }));

    assert.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), 'secret', 'the outside file is untouched');
    assert.deepEqual((await readdir(outside)).sort(), ['secret.txt'], 'nothing was created outside the root');
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});
