import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { curl, ftpUrl } from '../helpers/curl.js';
import { describeRun, requireBinary } from '../helpers/run.js';

/** curl against Wharf: every operation in passive (EPSV, PASV) and active (EPRT, PORT) mode. */
requireBinary('curl');

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-interop-curl-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const MODES = [
  { name: 'passive', args: [] as string[], active: false, verb: 'EPSV' },
  { name: 'passive-pasv', args: ['--disable-epsv'], active: false, verb: 'PASV' },
  { name: 'active', args: [] as string[], active: true, verb: 'EPRT' },
  { name: 'active-port', args: ['--disable-eprt'], active: true, verb: 'PORT' },
];
const auth = { user: TEST_USER, password: TEST_PASSWORD };

for (const mode of MODES) {
  const opts = { ...auth, active: mode.active };
  const dir = `curl-${mode.name}`;
  const cx = (args: string[], o = opts) => curl([...mode.args, ...args], o);

  test(`curl ${mode.name}: login ok / bad password`, async () => {
    const ok = await cx(['-Q', 'NOOP', '--list-only', ftpUrl(srv.port, '/')]);
    assert.equal(ok.code, 0, describeRun('curl', ok));
    const bad = await cx([ftpUrl(srv.port, '/')], { ...opts, password: 'bad' });
    assert.equal(bad.code, 67, describeRun('curl bad login', bad));
  });

  test(`curl ${mode.name}: mkdir, upload, list, download, resume, rename, delete, rmdir`, async () => {
    await mkdir(join(local, mode.name), { recursive: true });
    const data = randomBytes(300_000);
    const src = join(local, mode.name, 'src.bin');
    await writeFile(src, data);

    const mk = await cx(['-Q', `MKD /${dir}`, '--list-only', ftpUrl(srv.port, '/')]);
    assert.equal(mk.code, 0, describeRun('MKD', mk));
    assert.ok(existsSync(join(srv.root, dir)));

    const up = await cx(['-v', '-T', src, ftpUrl(srv.port, `/${dir}/file.bin`)]);
    assert.equal(up.code, 0, describeRun('upload', up));
    assert.match(up.stderr, new RegExp(`^> ${mode.verb}\\b`, 'm'), `curl used ${mode.verb}`);
    assert.deepEqual(await readFile(join(srv.root, dir, 'file.bin')), data);

    const list = await cx([ftpUrl(srv.port, `/${dir}/`)]);
    assert.equal(list.code, 0, describeRun('LIST', list));
    assert.match(list.stdout.toString(), new RegExp(`^-.* ${data.length} .* file\\.bin\\r?$`, 'm'));
    const nlst = await cx(['--list-only', ftpUrl(srv.port, `/${dir}/`)]);
    assert.deepEqual(nlst.stdout.toString().split(/\r?\n/).filter(Boolean), ['file.bin']);

    const dst = join(local, mode.name, 'dst.bin');
    const down = await cx(['-o', dst, ftpUrl(srv.port, `/${dir}/file.bin`)]);
    assert.equal(down.code, 0, describeRun('download', down));
    assert.deepEqual(await readFile(dst), data);

    // Resumed download: a partial local file is completed with REST + RETR.
    const partial = join(local, mode.name, 'partial.bin');
    await writeFile(partial, data.subarray(0, 100_000));
    const resumed = await cx(['-C', '-', '-o', partial, ftpUrl(srv.port, `/${dir}/file.bin`)]);
    assert.equal(resumed.code, 0, describeRun('resumed download', resumed));
    assert.deepEqual(await readFile(partial), data);

    // Resumed upload: a partial remote file is completed (curl: SIZE then APPE).
    await writeFile(join(srv.root, dir, 'resume-up.bin'), data.subarray(0, 123_456));
    const reup = await cx(['-C', '-', '-T', src, ftpUrl(srv.port, `/${dir}/resume-up.bin`)]);
    assert.equal(reup.code, 0, describeRun('resumed upload', reup));
    assert.deepEqual(await readFile(join(srv.root, dir, 'resume-up.bin')), data);

    const ren = await cx(['-Q', `RNFR /${dir}/file.bin`, '-Q', `RNTO /${dir}/renamed.bin`, '--list-only', ftpUrl(srv.port, `/${dir}/`)]);
    assert.equal(ren.code, 0, describeRun('rename', ren));
    assert.deepEqual(ren.stdout.toString().split(/\r?\n/).filter(Boolean).sort(), ['renamed.bin', 'resume-up.bin']);

    const del = await cx(['-Q', `DELE /${dir}/renamed.bin`, '-Q', `DELE /${dir}/resume-up.bin`, '-Q', `RMD /${dir}`, '--list-only', ftpUrl(srv.port, '/')]);
    assert.equal(del.code, 0, describeRun('delete + rmdir', del));
    assert.equal(existsSync(join(srv.root, dir)), false);
  });
}

test('curl: --ftp-create-dirs upload of a nested path, then NLST of each level', async () => {
  const src = join(local, 'deep.txt');
  await writeFile(src, 'deep');
  const up = await curl(['--ftp-create-dirs', '-T', src, ftpUrl(srv.port, '/t/u/v/deep.txt')], auth);
  assert.equal(up.code, 0, describeRun('upload', up));
  assert.deepEqual(await readdir(join(srv.root, 't', 'u', 'v')), ['deep.txt']);
});

test('curl: ASCII transfers (;type=a, --use-ascii) convert line ends both ways', async () => {
  await writeFile(join(srv.root, 'unix.txt'), 'l1\nl2\n');
  // curl itself turns CRLF back into LF on an ASCII download, so -v proves TYPE A was used
  // and the raw conformance suite checks the CRLF on the wire.
  const down = await curl(['-v', ftpUrl(srv.port, '/unix.txt') + ';type=a'], auth);
  assert.equal(down.code, 0, describeRun('curl', down));
  assert.match(down.stderr, /^> TYPE A/m);
  assert.equal(down.stdout.toString(), 'l1\nl2\n');
  const src = join(local, 'lf.txt');
  await writeFile(src, 'u1\nu2\n');
  const up = await curl(['--use-ascii', '-T', src, ftpUrl(srv.port, '/ascii-up.txt')], auth);
  assert.equal(up.code, 0, describeRun('curl', up));
  // curl sends CRLF in ASCII mode; Wharf stores the local (LF) form.
  assert.equal(await readFile(join(srv.root, 'ascii-up.txt'), 'utf8'), 'u1\nu2\n');
});

test('curl: byte ranges (-r) read part of a file and close early; the session stays usable', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  await writeFile(join(srv.root, 'ranged.bin'), data);
  for (const [range, from, to] of [['0-99', 0, 100], ['1000-1999', 1000, 2000], [`${data.length - 10}-`, data.length - 10, data.length]] as const) {
    const r = await curl(['-r', range, ftpUrl(srv.port, '/ranged.bin')], auth);
    assert.equal(r.code, 0, describeRun(`curl -r ${range}`, r));
    assert.deepEqual(r.stdout, data.subarray(from, to));
  }
  // Two ranges in one curl run (--next): the second one runs after curl's ABOR of the first.
  const both = await curl(['-r', '0-9', ftpUrl(srv.port, '/ranged.bin'), '--next', '--user', `${TEST_USER}:${TEST_PASSWORD}`, '-r', '10-19', ftpUrl(srv.port, '/ranged.bin')], auth);
  assert.equal(both.code, 0, describeRun('curl two ranges', both));
  assert.deepEqual(both.stdout, data.subarray(0, 20));
});
