import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { run, describeRun, requireBinary, type RunResult } from '../helpers/run.js';

/**
 * GNU wget against Wharf: downloads only (wget cannot upload, rename or delete over FTP):
 * login, listing, single file, resumed file (-c) and a recursive tree (-r), passive and
 * active (--no-passive-ftp). `-d` prints the FTP dialogue, read to prove the data mode.
 */
requireBinary('wget');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-wget-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

function wget(args: string[], active: boolean, cwd: string, password = TEST_PASSWORD): Promise<RunResult> {
  return run(
    'wget',
    ['--no-config', '-d', '--tries=1', '--timeout=10', `--ftp-user=${TEST_USER}`, `--ftp-password=${password}`, ...(active ? ['--no-passive-ftp'] : []), ...args],
    { cwd, timeoutMs: 20_000, env: { HOME: local } },
  );
}

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';
  const url = (path: string) => `ftp://127.0.0.1:${srv.port}${path}`;
  const assertMode = (r: RunResult) => assert.match(r.stderr, active ? /^--> (PORT|EPRT) /m : /^--> (PASV|EPSV)/m, `wget did not use ${mode} mode`);

  test(`wget ${mode}: login ok / bad password, listing`, async () => {
    const cwd = join(local, `${mode}-login`);
    await mkdir(cwd, { recursive: true });
    await writeFile(join(srv.root, `wget-${mode}-listed.txt`), 'x');
    const r = await wget(['--no-remove-listing', '-O', 'index.html', url('/')], active, cwd);
    assert.equal(r.code, 0, describeRun('wget listing', r));
    assertMode(r);
    assert.match(await readFile(join(cwd, 'index.html'), 'utf8'), new RegExp(`wget-${mode}-listed\\.txt`));
    const bad = await wget(['-O', 'bad.html', url('/')], active, cwd, 'bad');
    assert.equal(bad.code, 6, describeRun('wget bad login', bad));
    assert.match(bad.stderr, /530|Login incorrect/i);
  });

  test(`wget ${mode}: download and resumed download (-c)`, async () => {
    const cwd = join(local, `${mode}-get`);
    await mkdir(cwd, { recursive: true });
    const data = randomBytes(400_000);
    await writeFile(join(srv.root, `wget-${mode}.bin`), data);
    const r = await wget([url(`/wget-${mode}.bin`)], active, cwd);
    assert.equal(r.code, 0, describeRun('wget', r));
    assertMode(r);
    assert.deepEqual(await readFile(join(cwd, `wget-${mode}.bin`)), data);

    await writeFile(join(cwd, 'partial.bin'), data.subarray(0, 150_000));
    const c = await wget(['-c', '-O', 'partial.bin', url(`/wget-${mode}.bin`)], active, cwd);
    assert.equal(c.code, 0, describeRun('wget -c', c));
    assert.match(c.stderr, /^--> REST 150000/m);
    assert.deepEqual(await readFile(join(cwd, 'partial.bin')), data);
  });

  test(`wget ${mode}: recursive download (-r) of a nested tree`, async () => {
    const cwd = join(local, `${mode}-rec`);
    await mkdir(cwd, { recursive: true });
    const tree = join(srv.root, `wget-tree-${mode}`);
    await mkdir(join(tree, 'a', 'b b'), { recursive: true });
    const leaf = randomBytes(60_000);
    await writeFile(join(tree, 'top.txt'), 'top');
    await writeFile(join(tree, 'a', 'mid.txt'), 'mid');
    await writeFile(join(tree, 'a', 'b b', 'leaf.bin'), leaf);
    const r = await wget(['-r', '-np', '-nH', '-l', '10', url(`/wget-tree-${mode}/`)], active, cwd);
    assert.equal(r.code, 0, describeRun('wget -r', r));
    const got = join(cwd, `wget-tree-${mode}`);
    assert.equal(await readFile(join(got, 'top.txt'), 'utf8'), 'top');
    assert.equal(await readFile(join(got, 'a', 'mid.txt'), 'utf8'), 'mid');
    assert.deepEqual(await readFile(join(got, 'a', 'b b', 'leaf.bin')), leaf);
    assert.equal(existsSync(join(cwd, 'etc')), false);
  });
}
