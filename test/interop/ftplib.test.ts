import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { ftplib, allOk } from '../helpers/pyftp.js';
import { requireBinary } from '../helpers/run.js';

/** Python's standard ftplib against Wharf, passive (PASV) and active (PORT). */
requireBinary('python3');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-ftplib-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const LOGIN: [string, string, string] = ['login', TEST_USER, TEST_PASSWORD];

for (const mode of ['passive', 'active'] as const) {
  const passive = mode === 'passive';
  const dir = `py-${mode}`;

  test(`ftplib ${mode}: login ok / bad password`, async () => {
    assert.match(String(allOk(await ftplib({ port: srv.port, passive, ops: [LOGIN] }))[0]), /^230/);
    const bad = await ftplib({ port: srv.port, passive, ops: [['login', TEST_USER, 'bad']] });
    assert.match(bad[0]!.error ?? '', /^530/);
  });

  test(`ftplib ${mode}: mkdir, upload, list, download, rename, delete, rmdir`, async () => {
    const data = randomBytes(250_000);
    const src = join(local, `${mode}-src.bin`);
    const dst = join(local, `${mode}-dst.bin`);
    await writeFile(src, data);
    const r = allOk(
      await ftplib({
        port: srv.port,
        passive,
        ops: [LOGIN, ['mkd', dir], ['cwd', dir], ['stor', 'f.bin', src], ['list'], ['nlst'], ['mlsd'], ['size', 'f.bin'], ['retr', 'f.bin', dst], ['rename', 'f.bin', 'g.bin'], ['nlst']],
      }),
    ) as unknown[];
    assert.equal(r[1], `/${dir}`);
    assert.match((r[4] as string[]).join('\n'), new RegExp(`^-.* ${data.length} .* f\\.bin$`, 'm'));
    assert.deepEqual(r[5], ['f.bin']);
    assert.deepEqual(r[6], ['f.bin']);
    assert.equal(r[7], data.length);
    assert.deepEqual(await readFile(dst), data);
    assert.deepEqual(r[10], ['g.bin']);
    allOk(await ftplib({ port: srv.port, passive, ops: [LOGIN, ['delete', `${dir}/g.bin`], ['rmd', dir]] }));
    assert.equal(existsSync(join(srv.root, dir)), false);
  });

  test(`ftplib ${mode}: resume a download (REST+RETR) and an upload (REST+STOR, APPE)`, async () => {
    const data = randomBytes(300_000);
    const whole = join(local, `${mode}-whole.bin`);
    await writeFile(whole, data);
    await writeFile(join(srv.root, `${dir}-r.bin`), data);
    const partial = join(local, `${mode}-partial.bin`);
    await writeFile(partial, data.subarray(0, 111_111));
    await writeFile(join(srv.root, `${dir}-up.bin`), data.subarray(0, 200_000));
    await writeFile(join(srv.root, `${dir}-appe.bin`), data.subarray(0, 7));
    const tail = join(local, `${mode}-tail.bin`);
    await writeFile(tail, data.subarray(7));
    allOk(
      await ftplib({
        port: srv.port,
        passive,
        ops: [LOGIN, ['sendcmd', 'TYPE I'], ['retr', `${dir}-r.bin`, partial, 111_111], ['stor', `${dir}-up.bin`, whole, 200_000], ['appe', `${dir}-appe.bin`, tail]],
      }),
    );
    assert.deepEqual(await readFile(partial), data, 'resumed download');
    assert.deepEqual(await readFile(join(srv.root, `${dir}-up.bin`)), data, 'resumed upload keeps the first bytes');
    assert.deepEqual(await readFile(join(srv.root, `${dir}-appe.bin`)), data, 'APPE');
  });
}

for (const mode of ['passive', 'active'] as const) {
  const passive = mode === 'passive';

  test(`ftplib ${mode}: ASCII (storlines / retrlines) converts line ends both ways`, async () => {
    const src = join(local, `${mode}-lines.txt`);
    await writeFile(src, 'one\ntwo\r\nthree\n');
    const r = allOk(await ftplib({ port: srv.port, passive, ops: [LOGIN, ['storlines', `${mode}-lines.txt`, src], ['retrlines', `${mode}-lines.txt`]] }));
    assert.equal(await readFile(join(srv.root, `${mode}-lines.txt`), 'utf8'), 'one\ntwo\nthree\n', 'stored with local (LF) line ends');
    assert.deepEqual(r[2], ['one', 'two', 'three']);
  });

  test(`ftplib ${mode}: ABOR during a download answers 426 then 226 and the session goes on`, async () => {
    await writeFile(join(srv.root, `${mode}-abort.bin`), randomBytes(20 * 1024 * 1024));
    const r = allOk(await ftplib({ port: srv.port, passive, ops: [LOGIN, ['sendcmd', 'TYPE I'], ['abortretr', `${mode}-abort.bin`], ['size', `${mode}-abort.bin`]] }));
    const abort = r[2] as { bytes: number; abor: string; final: string; noop: string };
    assert.ok(abort.bytes > 0);
    // ftplib reads the 426 (or a 225/226 when the transfer already ended) as abort()'s reply.
    assert.match(abort.abor, /^(426|225|226)/, JSON.stringify(abort));
    if (abort.abor.startsWith('426')) assert.match(abort.final, /^226/, JSON.stringify(abort));
    assert.match(abort.noop, /^200/);
    assert.equal(r[3], 20 * 1024 * 1024);
  });
}
