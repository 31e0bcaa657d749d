import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { run, describeRun, requireBinary, type RunResult } from '../helpers/run.js';

/**
 * NcFTP's non-interactive tools (ncftpls, ncftpput, ncftpget) against Wharf, passive (-F)
 * and active (-E). Each run writes ncftp's protocol log (-d), which the tests read to prove
 * the data mode and the commands used. Raw commands go with -W (after login).
 */
requireBinary('ncftpls', 'ncftp');
requireBinary('ncftpput', 'ncftp');
requireBinary('ncftpget', 'ncftp');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-ncftp-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

let logs = 0;
async function nc(tool: 'ncftpls' | 'ncftpput' | 'ncftpget', active: boolean, args: string[], password = TEST_PASSWORD): Promise<RunResult & { log: string }> {
  const logFile = join(local, `ncftp-${++logs}.log`);
  // HOME: ncftp keeps preferences and bookmarks in ~/.ncftp; keep them out of the real home.
  const r = await run(tool, ['-u', TEST_USER, '-p', password, '-P', String(srv.port), '-t', '10', ...(tool === 'ncftpls' ? [] : ['-V']), '-d', logFile, active ? '-E' : '-F', ...args], {
    timeoutMs: 20_000,
    env: { HOME: local },
  });
  const log = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
  return { ...r, log };
}
const ok = (r: RunResult & { log: string }, what: string) => assert.equal(r.code, 0, `${describeRun(what, r)}\nlog:\n${r.log.slice(-3000)}`);

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';
  const dir = `nc-${mode}`;
  const assertMode = (log: string) => assert.match(log, active ? /Cmd: (PORT|EPRT) / : /Cmd: (PASV|EPSV)/, `ncftp did not use ${mode} mode`);

  test(`ncftp ${mode}: login ok / bad password`, async () => {
    ok(await nc('ncftpls', active, ['-1', 'ftp://127.0.0.1/']), 'ncftpls');
    const bad = await nc('ncftpls', active, ['-1', 'ftp://127.0.0.1/'], 'bad');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.log, /not accepted|530/);
  });

  test(`ncftp ${mode}: mkdir (put -m), upload, list, download, rename, delete, rmdir`, async () => {
    const data = randomBytes(200_000);
    const src = join(local, `${mode}-up.bin`);
    await writeFile(src, data);
    const put = await nc('ncftpput', active, ['-m', '127.0.0.1', `/${dir}/sub`, src]);
    ok(put, 'ncftpput');
    assertMode(put.log);
    assert.deepEqual(await readFile(join(srv.root, dir, 'sub', `${mode}-up.bin`)), data);

    const long = await nc('ncftpls', active, ['-l', `ftp://127.0.0.1/${dir}/sub/`]);
    ok(long, 'ncftpls -l');
    assertMode(long.log);
    assert.match(long.stdout.toString(), new RegExp(`^-.* ${data.length} .* ${mode}-up\\.bin$`, 'm'));

    const dl = join(local, `${mode}-dl`);
    await mkdir(dl, { recursive: true });
    const get = await nc('ncftpget', active, ['127.0.0.1', dl, `/${dir}/sub/${mode}-up.bin`]);
    ok(get, 'ncftpget');
    assert.deepEqual(await readFile(join(dl, `${mode}-up.bin`)), data);

    const ren = await nc('ncftpls', active, ['-W', `RNFR /${dir}/sub/${mode}-up.bin`, '-W', `RNTO /${dir}/renamed.bin`, '-1', `ftp://127.0.0.1/${dir}/`]);
    ok(ren, 'rename');
    assert.match(ren.log, /250/);
    assert.deepEqual(ren.stdout.toString().split('\n').filter(Boolean).sort(), ['renamed.bin', 'sub']);

    const del = await nc('ncftpls', active, ['-W', `DELE /${dir}/renamed.bin`, '-W', `RMD /${dir}/sub`, '-W', `RMD /${dir}`, '-1', 'ftp://127.0.0.1/']);
    ok(del, 'delete + rmdir');
    assert.equal(existsSync(join(srv.root, dir)), false);
  });

  test(`ncftp ${mode}: resumed download (ncftpget) and upload (ncftpput -z)`, async () => {
    const data = randomBytes(300_000);
    await mkdir(join(srv.root, `${dir}-r`), { recursive: true });
    await writeFile(join(srv.root, `${dir}-r`, 'r.bin'), data);
    const dl = join(local, `${mode}-resume`);
    await mkdir(dl, { recursive: true });
    await writeFile(join(dl, 'r.bin'), data.subarray(0, 120_000));
    const get = await nc('ncftpget', active, ['-z', '127.0.0.1', dl, `/${dir}-r/r.bin`]);
    ok(get, 'ncftpget -z');
    assert.match(get.log, /Cmd: REST 120000/);
    assert.deepEqual(await readFile(join(dl, 'r.bin')), data);

    // -s: ncftpput's sendfile() path ignores the restart offset and sends the whole file
    // after "REST n" (a client bug, seen in its own log: "Using sendfile for <full size>").
    await writeFile(join(srv.root, `${dir}-r`, 'up.bin'), data.subarray(0, 100_000));
    await writeFile(join(dl, 'up.bin'), data);
    const put = await nc('ncftpput', active, ['-z', '-s', '127.0.0.1', `/${dir}-r`, join(dl, 'up.bin')]);
    ok(put, 'ncftpput -z');
    assert.match(put.log, /Cmd: REST 100000/);
    assert.deepEqual(await readFile(join(srv.root, `${dir}-r`, 'up.bin')), data);
  });

  test(`ncftp ${mode}: recursive upload and download of a nested tree`, async () => {
    const tree = join(local, `${mode}-tree`);
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'top.txt'), 'top');
    await writeFile(join(tree, 'a', 'b', 'leaf.bin'), randomBytes(50_000));
    ok(await nc('ncftpput', active, ['-R', '-m', '127.0.0.1', `/${dir}-tree`, tree]), 'ncftpput -R');
    assert.deepEqual(await readFile(join(srv.root, `${dir}-tree`, `${mode}-tree`, 'a', 'b', 'leaf.bin')), await readFile(join(tree, 'a', 'b', 'leaf.bin')));
    const back = join(local, `${mode}-back`);
    await mkdir(back, { recursive: true });
    ok(await nc('ncftpget', active, ['-R', '-T', '127.0.0.1', back, `/${dir}-tree/${mode}-tree`]), 'ncftpget -R');
    assert.equal(await readFile(join(back, `${mode}-tree`, 'top.txt'), 'utf8'), 'top');
    assert.deepEqual(await readFile(join(back, `${mode}-tree`, 'a', 'b', 'leaf.bin')), await readFile(join(tree, 'a', 'b', 'leaf.bin')));
  });
}
