import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { curl, ftpUrl } from '../helpers/curl.js';
import { describeRun } from '../helpers/run.js';

/**
 * Real clients that give up mid-transfer (curl killed by its own --max-time while rate
 * limited), in both directions and both modes, against a server with only three passive
 * ports. Afterwards every port and file must be free again: ten ordinary transfers in a row
 * all succeed, and a partial upload keeps the bytes that arrived (resumable).
 */
let srv: TestServer;
let local: string;
const auth = { user: TEST_USER, password: TEST_PASSWORD };
const BIG = 8 * 1024 * 1024;
/**
 * Downloads need more than the kernel's socket buffers hold (~10 MB on loopback): with
 * sendfile the server puts 8 MB into them at once, and curl reads that whole burst before its
 * rate limit engages, so an 8 MB download would complete instead of being cut off.
 */
const BIG_DOWNLOAD = 64 * 1024 * 1024;

before(async () => {
  srv = await startServer({ passivePorts: '47210-47212' });
  local = await tempDir('wharf-interop-vanish-');
  await writeFile(join(srv.root, 'big.bin'), randomBytes(BIG_DOWNLOAD));
  await writeFile(join(local, 'big-up.bin'), randomBytes(BIG));
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

test('curl giving up mid-download and mid-upload (passive and active) leaks nothing', async () => {
  // 100 KB/s for 3 s moves a few hundred KB (plus what socket buffers hold): always cut off, never empty.
  const slow = ['--limit-rate', '100K', '--max-time', '3'];
  const runs = [
    curl([...slow, '-o', join(local, 'part1.bin'), ftpUrl(srv.port, '/big.bin')], auth),
    curl([...slow, '-o', join(local, 'part2.bin'), ftpUrl(srv.port, '/big.bin')], { ...auth, active: true }),
    curl([...slow, '-T', join(local, 'big-up.bin'), ftpUrl(srv.port, '/partial-up.bin')], auth),
    curl([...slow, '-T', join(local, 'big-up.bin'), ftpUrl(srv.port, '/partial-up-active.bin')], { ...auth, active: true }),
  ];
  for (const r of await Promise.all(runs)) assert.equal(r.code, 28, describeRun('curl (expected to time out: exit 28)', r));

  // A partial upload keeps what arrived, byte-exact, so the client can resume it.
  const whole = await readFile(join(local, 'big-up.bin'));
  for (const name of ['partial-up.bin', 'partial-up-active.bin']) {
    const got = await readFile(join(srv.root, name));
    assert.ok(got.length > 0 && got.length < BIG, `${name}: ${got.length} bytes`);
    assert.deepEqual(got, whole.subarray(0, got.length));
  }

  // Three passive ports only: if any vanished transfer had kept one, these would fail with 425.
  const small = join(local, 'small.txt');
  await writeFile(small, 'still serving');
  for (let i = 0; i < 10; i++) {
    const up = await curl(['-T', small, ftpUrl(srv.port, `/after-${i}.txt`)], auth);
    assert.equal(up.code, 0, describeRun(`upload ${i}`, up));
    const down = await curl([ftpUrl(srv.port, `/after-${i}.txt`)], auth);
    assert.equal(down.stdout.toString(), 'still serving', describeRun(`download ${i}`, down));
  }
  // The resumed upload completes the partial file exactly.
  const resumed = await curl(['-C', '-', '-T', join(local, 'big-up.bin'), ftpUrl(srv.port, '/partial-up.bin')], auth);
  assert.equal(resumed.code, 0, describeRun('resume', resumed));
  assert.deepEqual(await readFile(join(srv.root, 'partial-up.bin')), whole);
});
