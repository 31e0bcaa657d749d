import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { readFile, writeFile, mkdir, stat, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { curl, ftpUrl } from '../helpers/curl.js';
import { describeRun } from '../helpers/run.js';

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-curl-local-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const auth = () => ({ user: TEST_USER, password: TEST_PASSWORD });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('curl: login with the right password lists the root', async () => {
  await writeFile(join(srv.root, 'hello.txt'), 'hi');
  const r = await curl([ftpUrl(srv.port, '/')], auth());
  assert.equal(r.code, 0, describeRun('curl', r));
  assert.match(r.stdout.toString(), /^-\S+\s+\d+ .* 2 \w{3} .* hello\.txt\r?$/m);
});

test('curl: a wrong password fails with 530 (curl exit 67)', async () => {
  const r = await curl([ftpUrl(srv.port, '/')], { user: TEST_USER, password: 'wrong' });
  assert.equal(r.code, 67, describeRun('curl', r));
  assert.match(r.stderr, /530/);
});

test('curl: 10 MB upload and download are byte-exact (sha256)', async () => {
  const data = randomBytes(10 * 1024 * 1024);
  const src = join(local, 'big-up.bin');
  await writeFile(src, data);
  const up = await curl(['-T', src, ftpUrl(srv.port, '/big.bin')], auth());
  assert.equal(up.code, 0, describeRun('curl upload', up));
  assert.equal(sha(await readFile(join(srv.root, 'big.bin'))), sha(data));
  const dst = join(local, 'big-down.bin');
  const down = await curl(['-o', dst, ftpUrl(srv.port, '/big.bin')], auth());
  assert.equal(down.code, 0, describeRun('curl download', down));
  assert.equal(sha(await readFile(dst)), sha(data));
});

test('curl: mkdir, rename and delete through quote commands', async () => {
  await writeFile(join(srv.root, 'old name.txt'), 'content');
  const r = await curl(['-Q', 'MKD made dir', '-Q', 'RNFR old name.txt', '-Q', 'RNTO made dir/new name.txt', ftpUrl(srv.port, '/')], auth());
  assert.equal(r.code, 0, describeRun('curl', r));
  assert.equal(await readFile(join(srv.root, 'made dir', 'new name.txt'), 'utf8'), 'content');
  assert.equal(existsSync(join(srv.root, 'old name.txt')), false);
  const d = await curl(['-Q', 'DELE made dir/new name.txt', '-Q', 'RMD made dir', ftpUrl(srv.port, '/')], auth());
  assert.equal(d.code, 0, describeRun('curl', d));
  assert.equal(existsSync(join(srv.root, 'made dir')), false);
});

test('curl: --ftp-create-dirs makes nested folders for an upload', async () => {
  const src = join(local, 'nested.txt');
  await writeFile(src, 'nested');
  const r = await curl(['--ftp-create-dirs', '-T', src, ftpUrl(srv.port, '/a/b/c/nested.txt')], auth());
  assert.equal(r.code, 0, describeRun('curl', r));
  assert.equal(await readFile(join(srv.root, 'a', 'b', 'c', 'nested.txt'), 'utf8'), 'nested');
  assert.ok((await stat(join(srv.root, 'a', 'b'))).isDirectory());
});

test('curl: a failed quote command reports the 550', async () => {
  await mkdir(join(srv.root, 'keep'), { recursive: true });
  const r = await curl(['-Q', 'DELE no-such-file', ftpUrl(srv.port, '/')], auth());
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /550/);
});
