import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { run, describeRun, requireBinary, type RunResult } from '../helpers/run.js';

/**
 * rclone's FTP backend against Wharf, with an on-the-fly remote (no config file). rclone only
 * speaks passive mode; it is run with EPSV and with PASV (disable_epsv), and with MLSD and
 * with plain LIST parsing (disable_mlsd).
 */
requireBinary('rclone');

let srv: TestServer;
let local: string;
let obscured: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-rclone-');
  const r = await run('rclone', ['--config', '/dev/null', 'obscure', TEST_PASSWORD]);
  assert.equal(r.code, 0, describeRun('rclone obscure', r));
  obscured = r.stdout.toString().trim();
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const VARIANTS = [
  { name: 'passive', extra: '', verb: 'EPSV' },
  { name: 'passive-pasv', extra: ',disable_epsv=true', verb: 'PASV' },
  { name: 'passive-list', extra: ',disable_mlsd=true', verb: 'EPSV' },
];

for (const v of VARIANTS) {
  const remote = (path: string, pass = obscured) => `:ftp,host=127.0.0.1,port=${srv.port},user=${TEST_USER},pass=${pass}${v.extra}:${path}`;
  const rclone = (args: string[]): Promise<RunResult> =>
    run('rclone', ['--config', '/dev/null', '--retries', '1', '--low-level-retries', '1', '--contimeout', '5s', '--timeout', '10s', '-vv', '--dump', 'headers', ...args], {
      timeoutMs: 20_000,
      env: { HOME: local },
    });
  const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, describeRun(`rclone ${what}`, r));
  const dir = `rc-${v.name}`;

  test(`rclone ${v.name}: login ok / bad password`, async () => {
    const good = await rclone(['lsf', remote('')]);
    ok(good, 'lsf');
    assert.match(good.stderr, new RegExp(`FTP Tx: "${v.verb}`));
    const badPass = (await run('rclone', ['--config', '/dev/null', 'obscure', 'wrong'])).stdout.toString().trim();
    const bad = await rclone(['lsf', remote('', badPass)]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /530/);
  });

  test(`rclone ${v.name}: mkdir, copy a tree, ls/lsf, copy back, moveto, delete, rmdir`, async () => {
    const tree = join(local, `${v.name}-tree`);
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    const big = randomBytes(300_000);
    await writeFile(join(tree, 'a.txt'), 'alpha');
    await writeFile(join(tree, 'sub', 'big file.bin'), big);
    await writeFile(join(tree, 'sub', 'deeper', 'ünï.txt'), 'unicode');

    ok(await rclone(['mkdir', remote(`${dir}/made`)]), 'mkdir');
    assert.ok(existsSync(join(srv.root, dir, 'made')));
    ok(await rclone(['copy', tree, remote(`${dir}/tree`)]), 'copy up');
    assert.deepEqual(await readFile(join(srv.root, dir, 'tree', 'sub', 'big file.bin')), big);
    assert.equal(await readFile(join(srv.root, dir, 'tree', 'sub', 'deeper', 'ünï.txt'), 'utf8'), 'unicode');

    const lsf = await rclone(['lsf', '-R', remote(`${dir}/tree`)]);
    ok(lsf, 'lsf -R');
    assert.deepEqual(lsf.stdout.toString().split('\n').filter(Boolean).sort(), ['a.txt', 'sub/', 'sub/big file.bin', 'sub/deeper/', 'sub/deeper/ünï.txt']);
    const ls = await rclone(['ls', remote(`${dir}/tree`)]);
    ok(ls, 'ls');
    assert.match(ls.stdout.toString(), /^\s*300000 sub\/big file\.bin$/m);

    const check = await rclone(['check', tree, remote(`${dir}/tree`)]);
    ok(check, 'check');

    const back = join(local, `${v.name}-back`);
    ok(await rclone(['copy', remote(`${dir}/tree`), back]), 'copy down');
    assert.deepEqual(await readFile(join(back, 'sub', 'big file.bin')), big);
    assert.equal(await readFile(join(back, 'sub', 'deeper', 'ünï.txt'), 'utf8'), 'unicode');

    ok(await rclone(['moveto', remote(`${dir}/tree/a.txt`), remote(`${dir}/made/renamed.txt`)]), 'moveto');
    assert.equal(await readFile(join(srv.root, dir, 'made', 'renamed.txt'), 'utf8'), 'alpha');
    assert.equal(existsSync(join(srv.root, dir, 'tree', 'a.txt')), false);

    ok(await rclone(['deletefile', remote(`${dir}/made/renamed.txt`)]), 'deletefile');
    ok(await rclone(['rmdir', remote(`${dir}/made`)]), 'rmdir');
    assert.equal(existsSync(join(srv.root, dir, 'made')), false);
    ok(await rclone(['delete', remote(`${dir}/tree`)]), 'delete');
    ok(await rclone(['rmdirs', remote(`${dir}`)]), 'rmdirs');
    assert.deepEqual(existsSync(join(srv.root, dir)) ? await readdir(join(srv.root, dir)) : [], []);
  });

  test(`rclone ${v.name}: cat, copyto and an overwrite of a changed file`, async () => {
    await writeFile(join(srv.root, `${dir}-cat.txt`), 'cat me');
    const cat = await rclone(['cat', remote(`${dir}-cat.txt`)]);
    ok(cat, 'cat');
    assert.equal(cat.stdout.toString(), 'cat me');
    const src = join(local, `${v.name}-one.bin`);
    await writeFile(src, randomBytes(1000));
    ok(await rclone(['copyto', src, remote(`${dir}-one.bin`)]), 'copyto');
    const changed = randomBytes(2000);
    await writeFile(src, changed);
    ok(await rclone(['copyto', src, remote(`${dir}-one.bin`)]), 'copyto (overwrite)');
    assert.deepEqual(await readFile(join(srv.root, `${dir}-one.bin`)), changed);
  });
}
