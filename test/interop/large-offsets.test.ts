import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { curl, ftpUrl } from '../helpers/curl.js';
import { ftplib, allOk } from '../helpers/pyftp.js';
import { lftp } from '../helpers/lftp.js';
import { describeRun } from '../helpers/run.js';

/**
 * Sizes and restart offsets past 4 GiB (where 32-bit arithmetic breaks), with a sparse
 * 5 GiB file so the test costs no disk and no time: SIZE, LIST, ranged and restarted
 * downloads, and a restarted upload beyond 4 GiB, through curl, ftplib and lftp.
 */
const FIVE_GIB = 5 * 1024 * 1024 * 1024;
const TAIL = Buffer.from('TAIL-OF-A-5-GIB-FILE');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-large-');
  const fh = await open(join(srv.root, 'huge.bin'), 'w');
  await fh.truncate(FIVE_GIB);
  await fh.write(TAIL, 0, TAIL.length, FIVE_GIB - TAIL.length);
  await fh.close();
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const auth = { user: TEST_USER, password: TEST_PASSWORD };

test('curl: size and a byte range at the end of a 5 GiB file', async () => {
  const head = await curl(['-I', ftpUrl(srv.port, '/huge.bin')], auth);
  assert.match(head.stdout.toString(), new RegExp(`Content-Length: ${FIVE_GIB}\\r?\\n`));
  const r = await curl(['-r', `${FIVE_GIB - TAIL.length}-`, ftpUrl(srv.port, '/huge.bin')], auth);
  assert.equal(r.code, 0, describeRun('curl -r', r));
  assert.deepEqual(r.stdout, TAIL);
});

test('ftplib: SIZE, REST beyond 4 GiB for RETR, and REST beyond 4 GiB for STOR', async () => {
  const dst = join(local, 'tail.bin');
  const extra = join(local, 'extra.bin');
  // The driver sends the local file from the restart offset on, as a resuming client does:
  // a sparse local copy whose last 8 bytes are new.
  const lfh = await open(extra, 'w');
  await lfh.truncate(FIVE_GIB);
  await lfh.write(Buffer.from('APPENDED'), 0, 8, FIVE_GIB);
  await lfh.close();
  const r = allOk(
    await ftplib({
      port: srv.port,
      ops: [['login', TEST_USER, TEST_PASSWORD], ['size', 'huge.bin'], ['sendcmd', 'TYPE I'], ['retr', 'huge.bin', dst, FIVE_GIB - 4], ['stor', 'huge.bin', extra, FIVE_GIB]],
    }),
  );
  assert.equal(r[1], FIVE_GIB);
  assert.equal(await readFile(dst, 'utf8'), 'FILE');
  const st = await stat(join(srv.root, 'huge.bin'));
  assert.equal(st.size, FIVE_GIB + 8, 'STOR at the offset extended the file without truncating it');
  const fh = await open(join(srv.root, 'huge.bin'), 'r');
  const buf = Buffer.alloc(TAIL.length + 8);
  await fh.read(buf, 0, buf.length, FIVE_GIB - TAIL.length);
  await fh.close();
  assert.equal(buf.toString(), `${TAIL.toString()}APPENDED`);
});

test('lftp: the long listing shows the full 64-bit size', async () => {
  const r = await lftp(['cls -l huge.bin'], { port: srv.port, ...auth, cwd: local });
  assert.equal(r.code, 0, describeRun('lftp', r));
  assert.match(r.stdout.toString(), /^-\S+\s+53687091(20|28) .* huge\.bin$/m);
});
