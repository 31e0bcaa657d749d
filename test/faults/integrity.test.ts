import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { rawSession } from '../helpers/session.js';
import { startServer, type TestServer } from '../helpers/server.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const loggedIn = (srv: TestServer): Promise<RawClient> => rawSession(srv, { binary: true });

/** Uploads `bytes` with `command` (STOR x, APPE x) and returns the final reply code. */
async function put(c: RawClient, command: string, bytes: Buffer): Promise<number> {
  const data = await c.passive();
  const opening = await c.send(command);
  assert.ok([125, 150].includes(opening.code), opening.text);
  data.end(bytes);
  return (await c.read(10_000)).code;
}

/** Starts an upload, sends `part`, then resets both connections (a crash or cut cable). */
async function interruptedPut(srv: TestServer, command: string, part: Buffer): Promise<void> {
  const c = await loggedIn(srv);
  const data = await c.passive();
  assert.ok([125, 150].includes((await c.send(command)).code));
  await new Promise<void>((r) => data.write(part, () => r()));
  await sleep(200); // let the server write what arrived
  data.resetAndDestroy();
  c.socket.resetAndDestroy();
  const deadline = Date.now() + 3000;
  while (srv.server.sessionCount > 0 && Date.now() < deadline) await sleep(20);
}

test('integrity: with --atomic-uploads an interrupted upload never replaces a good file, and leaves no temporary file', async () => {
  const srv = await startServer({ atomicUploads: true });
  try {
    const good = randomBytes(3 * 1024 * 1024);
    await writeFile(join(srv.root, 'report.bin'), good);
    await interruptedPut(srv, 'STOR report.bin', randomBytes(2 * 1024 * 1024));
    assert.equal(sha(await readFile(join(srv.root, 'report.bin'))), sha(good), 'the old content is intact');
    // The session is gone before its transfer's clean-up (removing the temporary file) has run.
    const deadline = Date.now() + 3000;
    while ((await readdir(srv.root)).length > 1 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(await readdir(srv.root), ['report.bin'], 'no temporary file left');
    // a complete atomic upload does replace it
    const next = randomBytes(1024 * 1024 + 7);
    const c = await loggedIn(srv);
    assert.equal(await put(c, 'STOR report.bin', next), 226);
    assert.equal(sha(await readFile(join(srv.root, 'report.bin'))), sha(next));
    assert.deepEqual(await readdir(srv.root), ['report.bin']);
    c.close();
  } finally {
    await srv.close();
  }
});

test('integrity: with --fsync a 226 means the file on disk is exactly what was sent', async () => {
  const srv = await startServer({ fsync: true, atomicUploads: true });
  try {
    const c = await loggedIn(srv);
    for (const size of [0, 1, 65_536, 5 * 1024 * 1024 + 3]) {
      const bytes = randomBytes(size);
      assert.equal(await put(c, `STOR f${size}.bin`, bytes), 226);
      // read right after the 226, before anything else happens
      assert.equal(sha(await readFile(join(srv.root, `f${size}.bin`))), sha(bytes), `size ${size}`);
    }
    c.close();
  } finally {
    await srv.close();
  }
});

test('integrity: an interrupted upload resumed with REST + STOR is byte-exact (sha256)', async () => {
  const srv = await startServer();
  try {
    const whole = randomBytes(6 * 1024 * 1024 + 12_345);
    await interruptedPut(srv, 'STOR resume.bin', whole.subarray(0, 4 * 1024 * 1024));
    const c = await loggedIn(srv);
    const size = await c.send('SIZE resume.bin');
    assert.equal(size.code, 213);
    const have = Number(size.text.split(' ')[1]);
    assert.ok(have > 0 && have <= 4 * 1024 * 1024, `partial size ${have}`);
    assert.equal(sha((await readFile(join(srv.root, 'resume.bin'))).subarray(0, have)), sha(whole.subarray(0, have)), 'the partial file is a prefix of what was sent');
    assert.equal((await c.send(`REST ${have}`)).code, 350);
    assert.equal(await put(c, 'STOR resume.bin', whole.subarray(have)), 226);
    assert.equal(sha(await readFile(join(srv.root, 'resume.bin'))), sha(whole));
    // REST in the middle of an existing file does not truncate what is before it
    const patch = randomBytes(1000);
    assert.equal((await c.send('REST 5000')).code, 350);
    assert.equal(await put(c, 'STOR resume.bin', patch), 226);
    const expected = Buffer.from(whole);
    patch.copy(expected, 5000);
    const onDisk = await readFile(join(srv.root, 'resume.bin'));
    // like vsftpd and pyftpdlib: the bytes after the patch are kept too
    assert.equal(sha(onDisk), sha(expected));
    c.close();
  } finally {
    await srv.close();
  }
});

test('integrity: APPE resumes an interrupted upload byte-exactly; REST beyond the end is refused', async () => {
  const srv = await startServer();
  try {
    const whole = randomBytes(5 * 1024 * 1024 + 999);
    await interruptedPut(srv, 'STOR appended.bin', whole.subarray(0, 3 * 1024 * 1024));
    const have = (await stat(join(srv.root, 'appended.bin'))).size;
    const c = await loggedIn(srv);
    assert.equal(await put(c, 'APPE appended.bin', whole.subarray(have)), 226);
    assert.equal(sha(await readFile(join(srv.root, 'appended.bin'))), sha(whole));
    // APPE creates a missing file
    const fresh = randomBytes(4096);
    assert.equal(await put(c, 'APPE new.bin', fresh), 226);
    assert.equal(sha(await readFile(join(srv.root, 'new.bin'))), sha(fresh));
    // a restart offset beyond the end of the file is refused and nothing changes
    assert.equal((await c.send(`REST ${whole.length + 10}`)).code, 350);
    const data = await c.passive();
    const r = await c.send('STOR appended.bin');
    data.destroy();
    assert.ok([550, 554].includes(r.code), r.text);
    assert.equal(sha(await readFile(join(srv.root, 'appended.bin'))), sha(whole));
    c.close();
  } finally {
    await srv.close();
  }
});
