import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { run, describeRun, requireBinary, type RunResult } from '../helpers/run.js';

/**
 * tnftp, the classic BSD `ftp` command (Debian's default /usr/bin/ftp), driven through its
 * command language on stdin, passive (EPSV) and active (EPRT, `passive off`). `-v` echoes
 * every reply, which the tests read.
 */
requireBinary('tnftp');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-tnftp-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

function tnftp(commands: string[], active: boolean, password = TEST_PASSWORD): Promise<RunResult> {
  const script = [`user ${TEST_USER} ${password}`, 'binary', `passive ${active ? 'off' : 'on'}`, ...commands, 'bye', ''].join('\n');
  // -n: no auto-login (the script logs in); -v: show replies; -N /dev/null: no ~/.netrc.
  return run('tnftp', ['-n', '-v', '-N', '/dev/null', '127.0.0.1', String(srv.port)], { input: script, cwd: local, timeoutMs: 20_000, env: { HOME: local } });
}

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';
  const dir = `tn-${mode}`;

  test(`tnftp ${mode}: login ok / bad password`, async () => {
    const ok = await tnftp(['pwd'], active);
    assert.match(ok.stdout.toString(), /^230 /m, describeRun('tnftp', ok));
    const bad = await tnftp(['pwd'], active, 'bad');
    assert.match(bad.stdout.toString() + bad.stderr, /^530 /m);
  });

  test(`tnftp ${mode}: mkdir, put, ls, get, rename, delete, rmdir`, async () => {
    const data = randomBytes(200_000);
    await writeFile(join(local, `${mode}.bin`), data);
    const r = await tnftp(
      [`mkdir "${dir} x"`, `cd "${dir} x"`, `put ${mode}.bin up.bin`, 'ls', `get up.bin ${mode}-back.bin`, 'rename up.bin renamed.bin', 'ls', 'delete renamed.bin', 'cd ..', `rmdir "${dir} x"`],
      active,
    );
    const out = r.stdout.toString();
    assert.equal(r.code, 0, describeRun('tnftp', r));
    assert.match(out, active ? /^200 EPRT command successful/m : /^229 Entering Extended Passive Mode/m);
    assert.match(out, new RegExp(`^-.* ${data.length} .* up\\.bin$`, 'm'));
    assert.match(out, /^-.* renamed\.bin$/m);
    assert.match(out, /^250 Directory removed/m);
    assert.deepEqual(await readFile(join(local, `${mode}-back.bin`)), data);
    assert.equal(existsSync(join(srv.root, `${dir} x`)), false);
  });

  test(`tnftp ${mode}: reget resumes a download, restart + put resumes an upload`, async () => {
    const data = randomBytes(300_000);
    await writeFile(join(srv.root, `${dir}-r.bin`), data);
    await writeFile(join(local, `${mode}-partial.bin`), data.subarray(0, 100_000));
    await writeFile(join(local, `${mode}-whole.bin`), data);
    await writeFile(join(srv.root, `${dir}-up.bin`), data.subarray(0, 120_000));
    const r = await tnftp([`reget ${dir}-r.bin ${mode}-partial.bin`, 'restart 120000', `put ${mode}-whole.bin ${dir}-up.bin`], active);
    const out = r.stdout.toString();
    assert.equal(r.code, 0, describeRun('tnftp', r));
    assert.match(out, /^350 Restarting at 100000/m);
    assert.match(out, /^350 Restarting at 120000/m);
    assert.deepEqual(await readFile(join(local, `${mode}-partial.bin`)), data);
    assert.deepEqual(await readFile(join(srv.root, `${dir}-up.bin`)), data);
  });
}
