import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { ftplib, allOk } from '../helpers/pyftp.js';

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-ftplib-local-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('ftplib: login ok answers 230; a wrong password answers 530', async () => {
  const ok = allOk(await ftplib({ port: srv.port, ops: [['login', TEST_USER, TEST_PASSWORD]] }));
  assert.match(String(ok[0]), /^230/);
  const bad = await ftplib({ port: srv.port, ops: [['login', TEST_USER, 'not-the-password']] });
  assert.equal(bad[0]!.ok, false);
  assert.match(bad[0]!.error!, /^530/);
});

test('ftplib: LIST, NLST and MLSD show the files', async () => {
  await writeFile(join(srv.root, 'one.txt'), '1');
  await writeFile(join(srv.root, 'two.txt'), '22');
  const [, list, nlst, mlsd] = allOk(await ftplib({ port: srv.port, ops: [['login', TEST_USER, TEST_PASSWORD], ['list'], ['nlst'], ['mlsd']] })) as [unknown, string[], string[], string[]];
  assert.ok(list.some((l) => /^-.* 1 \w{3} .* one\.txt$/.test(l)), list.join('\n'));
  assert.ok(list.some((l) => /^-.* 2 \w{3} .* two\.txt$/.test(l)), list.join('\n'));
  assert.ok(nlst.includes('one.txt') && nlst.includes('two.txt'), nlst.join(','));
  assert.ok(mlsd.includes('one.txt') && mlsd.includes('two.txt'), mlsd.join(','));
});

test('ftplib: 10 MB upload and download are byte-exact (sha256), passive and active', async () => {
  const data = randomBytes(10 * 1024 * 1024);
  const src = join(local, 'up.bin');
  await writeFile(src, data);
  for (const passive of [true, false]) {
    const dst = join(local, `down-${passive}.bin`);
    allOk(await ftplib({ port: srv.port, passive, ops: [['login', TEST_USER, TEST_PASSWORD], ['stor', `big-${passive}.bin`, src], ['retr', `big-${passive}.bin`, dst]] }));
    assert.equal(sha(await readFile(join(srv.root, `big-${passive}.bin`))), sha(data), `upload, passive=${passive}`);
    assert.equal(sha(await readFile(dst)), sha(data), `download, passive=${passive}`);
  }
});

test('ftplib: mkdir, rename, delete, rmdir', async () => {
  await writeFile(join(srv.root, 'r.txt'), 'rename me');
  const res = allOk(
    await ftplib({
      port: srv.port,
      ops: [['login', TEST_USER, TEST_PASSWORD], ['mkd', 'sub dir'], ['rename', 'r.txt', 'sub dir/renamed.txt'], ['cwd', 'sub dir'], ['pwd'], ['nlst']],
    }),
  );
  assert.equal(res[1], '/sub dir');
  assert.equal(res[4], '/sub dir');
  assert.deepEqual(res[5], ['renamed.txt']);
  assert.equal(await readFile(join(srv.root, 'sub dir', 'renamed.txt'), 'utf8'), 'rename me');
  allOk(await ftplib({ port: srv.port, ops: [['login', TEST_USER, TEST_PASSWORD], ['delete', 'sub dir/renamed.txt'], ['rmd', 'sub dir']] }));
  assert.equal(existsSync(join(srv.root, 'sub dir')), false);
});
