import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { lftp, quote } from '../helpers/lftp.js';
import { describeRun, requireBinary } from '../helpers/run.js';

/** lftp against Wharf: every operation, mirror both ways, resumed transfers; passive and active. */
requireBinary('lftp');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-lftp-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

/** Reads a tree into { 'a/b.txt': contents } for exact comparison. */
async function snapshot(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) {
      out[rel + '/'] = '';
      Object.assign(out, await snapshot(join(dir, entry.name), rel + '/'));
    } else out[rel] = (await readFile(join(dir, entry.name))).toString('base64');
  }
  return out;
}

async function makeTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'sub', 'deeper', 'deepest'), { recursive: true });
  await mkdir(join(dir, 'empty dir'), { recursive: true });
  await writeFile(join(dir, 'top.txt'), 'top\n');
  await writeFile(join(dir, 'sub', 'mid file.bin'), randomBytes(70_000));
  await writeFile(join(dir, 'sub', 'deeper', 'ünï.txt'), 'unicode\n');
  await writeFile(join(dir, 'sub', 'deeper', 'deepest', 'leaf.bin'), randomBytes(5000));
}

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';
  const opts = () => ({ port: srv.port, user: TEST_USER, password: TEST_PASSWORD, active, cwd: local });
  const dir = `lftp-${mode}`;
  // Proves the data mode from lftp's debug dialogue.
  const assertMode = (stderr: string) =>
    assert.match(stderr, active ? /---> (PORT|EPRT) / : /---> (EPSV|PASV)/, `lftp did not use ${mode} mode:\n${stderr.slice(-3000)}`);

  test(`lftp ${mode}: login ok / bad password`, async () => {
    const ok = await lftp(['cls -1'], opts());
    assert.equal(ok.code, 0, describeRun('lftp', ok));
    const bad = await lftp(['cls -1'], { ...opts(), password: 'bad' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /530|Login failed/);
  });

  test(`lftp ${mode}: mkdir, put, ls, get, mv, rm, rmdir`, async () => {
    const data = randomBytes(200_000);
    await writeFile(join(local, `${mode}-src.bin`), data);
    const r = await lftp(
      [
        `mkdir -p ${dir}/a/b`,
        `cd ${dir}`,
        `put ${mode}-src.bin -o file.bin`,
        'ls',
        `get file.bin -o ${mode}-dst.bin`,
        'mv file.bin a/b/moved.bin',
        'cls -1 a/b',
      ],
      opts(),
    );
    assert.equal(r.code, 0, describeRun('lftp', r));
    assertMode(r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`^-.* ${data.length} .* file\\.bin$`, 'm'));
    assert.match(r.stdout.toString(), /^a\/b\/moved\.bin$/m);
    assert.deepEqual(await readFile(join(local, `${mode}-dst.bin`)), data);
    assert.deepEqual(await readFile(join(srv.root, dir, 'a', 'b', 'moved.bin')), data);
    const d = await lftp([`cd ${dir}`, 'rm a/b/moved.bin', 'rmdir a/b', 'rmdir a', 'cd /', `rmdir ${dir}`], opts());
    assert.equal(d.code, 0, describeRun('lftp', d));
    assert.equal(existsSync(join(srv.root, dir)), false);
  });

  test(`lftp ${mode}: resumed download (get -c, pget -c) and upload (put -c, reput)`, async () => {
    const data = randomBytes(400_000);
    await mkdir(join(srv.root, `${dir}-resume`), { recursive: true });
    await writeFile(join(srv.root, `${dir}-resume`, 'whole.bin'), data);
    await writeFile(join(local, `${mode}-whole.bin`), data);
    await writeFile(join(local, `${mode}-partial-get.bin`), data.subarray(0, 150_000));
    await writeFile(join(local, `${mode}-partial-pget.bin`), data.subarray(0, 90_000));
    await writeFile(join(srv.root, `${dir}-resume`, 'partial-put.bin'), data.subarray(0, 100_000));
    await writeFile(join(srv.root, `${dir}-resume`, 'partial-reput.bin'), data.subarray(0, 333_333));
    const r = await lftp(
      [
        `cd ${dir}-resume`,
        `get -c whole.bin -o ${mode}-partial-get.bin`,
        `pget -c -n 1 whole.bin -o ${mode}-partial-pget.bin`,
        `put -c ${mode}-whole.bin -o partial-put.bin`,
        `reput ${mode}-whole.bin -o partial-reput.bin`,
      ],
      opts(),
    );
    assert.equal(r.code, 0, describeRun('lftp', r));
    assert.match(r.stderr, /---> REST 150000/, 'get -c restarted at the local size');
    assert.match(r.stderr, /---> REST 100000/, 'put -c restarted at the remote size');
    assert.deepEqual(await readFile(join(local, `${mode}-partial-get.bin`)), data);
    assert.deepEqual(await readFile(join(local, `${mode}-partial-pget.bin`)), data);
    assert.deepEqual(await readFile(join(srv.root, `${dir}-resume`, 'partial-put.bin')), data);
    assert.deepEqual(await readFile(join(srv.root, `${dir}-resume`, 'partial-reput.bin')), data);
  });

  test(`lftp ${mode}: mirror -R uploads a nested tree, mirror downloads it back`, async () => {
    const tree = join(local, `${mode}-tree`);
    await makeTree(tree);
    const up = await lftp([`mirror -R ${quote(tree)} ${dir}-mirror`], opts());
    assert.equal(up.code, 0, describeRun('lftp mirror -R', up));
    assert.deepEqual(await snapshot(join(srv.root, `${dir}-mirror`)), await snapshot(tree));
    const back = join(local, `${mode}-tree-back`);
    const down = await lftp([`mirror ${dir}-mirror ${quote(back)}`], opts());
    assert.equal(down.code, 0, describeRun('lftp mirror', down));
    assertMode(down.stderr);
    assert.deepEqual(await snapshot(back), await snapshot(tree));
    // A second mirror with nothing changed transfers nothing and still succeeds.
    const again = await lftp([`mirror ${dir}-mirror ${quote(back)}`], opts());
    assert.equal(again.code, 0, describeRun('lftp mirror (no changes)', again));
    assert.doesNotMatch(again.stderr, /---> RETR/);
  });
}

test('lftp: ASCII get -a / put -a, and pget -n 4 (four segments, each closed early)', async () => {
  await writeFile(join(srv.root, 'lftp-text.txt'), 'x1\nx2\n');
  await writeFile(join(local, 'lftp-lf.txt'), 'y1\ny2\n');
  const data = randomBytes(4 * 1024 * 1024 + 123);
  await writeFile(join(srv.root, 'lftp-pget.bin'), data);
  // The binary pget first switches to TYPE I, so the ASCII transfers must send TYPE A.
  // net:limit-rate (per connection) keeps the first segment from outrunning the others, so
  // pget really runs restarted segments that stop early instead of one whole stream.
  const r = await lftp(['set net:limit-rate 2M', 'pget -n 4 lftp-pget.bin -o lftp-pget-back.bin', 'set net:limit-rate 0', 'get -a lftp-text.txt -o lftp-text-back.txt', 'put -a lftp-lf.txt -o lftp-ascii-up.txt'], {
    port: srv.port,
    user: TEST_USER,
    password: TEST_PASSWORD,
    cwd: local,
  });
  assert.equal(r.code, 0, describeRun('lftp', r));
  assert.match(r.stderr, /---> TYPE I[^]*---> TYPE A/);
  assert.equal(await readFile(join(local, 'lftp-text-back.txt'), 'utf8'), 'x1\nx2\n');
  assert.equal(await readFile(join(srv.root, 'lftp-ascii-up.txt'), 'utf8'), 'y1\ny2\n');
  assert.deepEqual(await readFile(join(local, 'lftp-pget-back.bin')), data);
  assert.ok((r.stderr.match(/---> REST [1-9]/g) ?? []).length >= 1, 'pget used restarted segments');
});
