import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { countResources, settleTo } from './leak-check.js';

/**
 * A real full disk: a 1 MiB tmpfs mounted for the test (needs root / CAP_SYS_ADMIN, which
 * CI has; elsewhere the test is skipped and says why). No fake storage backend.
 */
async function smallDisk(): Promise<{ dir: string; release(): Promise<void> } | string> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
  return {
    dir,
    async release() {
      for (let i = 0; i < 20; i++) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
          break;
        } catch {
          await sleep(100); // a file may still be closing
        }
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

async function upload(srv: TestServer, c: RawClient, name: string, bytes: Buffer): Promise<number> {
  const data = await c.passive();
  data.on('error', () => undefined);
  const opening = await c.send(`STOR ${name}`);
  if (![125, 150].includes(opening.code)) {
    data.destroy();
    return opening.code;
  }
  data.end(bytes);
  return (await c.read(10_000)).code;
}

for (const atomicUploads of [false, true]) {
  test(`disk full during STOR${atomicUploads ? ' (atomic uploads)' : ''}: 452/552, nothing leaks, the session lives`, async (t) => {
    const disk = await smallDisk();
    if (typeof disk === 'string') return t.skip(disk);
    const srv = await startServer({ root: disk.dir, atomicUploads });
    try {
      const c = await RawClient.connect(srv.port);
      await c.read();
      assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
      assert.equal((await c.send('TYPE I')).code, 200);
      await sleep(50);
      const before = countResources(srv.server);
      const code = await upload(srv, c, 'too-big.bin', randomBytes(3 * 1024 * 1024));
      assert.ok(code === 452 || code === 552, `STOR on a full disk answered ${code}`);
      assert.equal((await c.send('NOOP')).code, 200, 'the session lives');
      const after = await settleTo(srv.server, before);
      assert.deepEqual(after, before, 'no descriptor or passive port leaked');
      // the failure reply may overtake the clean-up by a moment: give it that moment
      const isTemp = (n: string) => n.includes('.part') || n.startsWith('.wharf-upload');
      let names = await readdir(disk.dir);
      for (let i = 0; i < 40 && names.some(isTemp); i++) {
        await sleep(50);
        names = await readdir(disk.dir);
      }
      assert.ok(!names.some((n) => n.includes('.part') || n.startsWith('.wharf-upload')), `no temporary file left: ${names}`);
      // make room (the partial file of a non-atomic upload stays, resumable) and store again
      if (names.includes('too-big.bin')) assert.equal((await c.send('DELE too-big.bin')).code, 250);
      assert.equal(await upload(srv, c, 'small.bin', randomBytes(100 * 1024)), 226);
      assert.equal((await c.send('SIZE small.bin')).text, `213 ${100 * 1024}`);
      c.close();
    } finally {
      await srv.close();
      await disk.release();
    }
  });
}
