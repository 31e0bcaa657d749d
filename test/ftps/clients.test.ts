import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'basic-ftp';
import { tempDir } from '../helpers/server.js';
import { runProcess, startFtpsServer } from './helpers.js';

const FILE = randomBytes(2_000_000);

for (const maxTls of ['1.2', '1.3'] as const) {
  test(`curl --ssl-reqd (TLS ${maxTls}, certificate checked with --cacert): download, upload, list`, async () => {
    const srv = await startFtpsServer();
    try {
      await writeFile(join(srv.root, 'f.bin'), FILE);
      const work = await tempDir('wharf-curl-');
      const base = ['-sS', '--ssl-reqd', '--cacert', srv.certFile, '-u', 'alice:wonderland', ...(maxTls === '1.2' ? ['--tls-max', '1.2'] : ['--tlsv1.3'])];
      const down = await runProcess('curl', [...base, '-o', join(work, 'down.bin'), `ftp://127.0.0.1:${srv.port}/f.bin`]);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(FILE.equals(await readFile(join(work, 'down.bin'))));
      await writeFile(join(work, 'up.bin'), FILE);
      const up = await runProcess('curl', [...base, '-T', join(work, 'up.bin'), `ftp://127.0.0.1:${srv.port}/up.bin`]);
      assert.equal(up.code, 0, up.stderr);
      assert.ok(FILE.equals(await readFile(join(srv.root, 'up.bin'))));
      const list = await runProcess('curl', [...base, '-l', `ftp://127.0.0.1:${srv.port}/`]);
      assert.deepEqual(list.stdout.trim().split(/\r?\n/).sort(), ['f.bin', 'up.bin']);
      // --ftp-ssl-control: TLS for the login only, clear data (allowed without --require-tls).
      const ctl = await runProcess('curl', ['-sS', '--ftp-ssl-control', '--cacert', srv.certFile, '-u', 'alice:wonderland', `ftp://127.0.0.1:${srv.port}/f.bin`, '-o', join(work, 'ctl.bin')]);
      assert.equal(ctl.code, 0, ctl.stderr);
      assert.ok(FILE.equals(await readFile(join(work, 'ctl.bin'))));
    } finally {
      await srv.close();
    }
  });
}

test('curl with a wrong pinned certificate refuses to talk; ftps:// implicit works', async () => {
  const srv = await startFtpsServer({ implicit: true });
  const other = await startFtpsServer();
  try {
    await writeFile(join(srv.root, 'f.bin'), FILE);
    const wrong = await runProcess('curl', ['-sS', '--ssl-reqd', '--cacert', other.certFile, '-u', 'alice:wonderland', `ftp://127.0.0.1:${srv.port}/f.bin`, '-o', '/dev/null']);
    assert.notEqual(wrong.code, 0, 'a different certificate must fail verification');
    const work = await tempDir('wharf-curl-');
    const implicit = await runProcess('curl', ['-sS', '--cacert', srv.certFile, '-u', 'alice:wonderland', `ftps://127.0.0.1:${srv.implicitPort}/f.bin`, '-o', join(work, 'i.bin')]);
    assert.equal(implicit.code, 0, implicit.stderr);
    assert.ok(FILE.equals(await readFile(join(work, 'i.bin'))));
  } finally {
    await srv.close();
    await other.close();
  }
});

test('curl against --require-tls without TLS is refused at login', async () => {
  const srv = await startFtpsServer({ requireTls: true });
  try {
    const r = await runProcess('curl', ['-sS', '-u', 'alice:wonderland', `ftp://127.0.0.1:${srv.port}/`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /530|denied|Access/i);
  } finally {
    await srv.close();
  }
});

test('lftp with ftp:ssl-force and PROT P: mirror down and put', async () => {
  const srv = await startFtpsServer({ requireTls: true });
  try {
    await writeFile(join(srv.root, 'f.bin'), FILE);
    const work = await tempDir('wharf-lftp-');
    await writeFile(join(work, 'put.bin'), FILE);
    const script = [
      'set ftp:ssl-force true',
      'set ftp:ssl-protect-data true',
      'set ssl:verify-certificate no',
      'set net:max-retries 1',
      'set net:timeout 5',
      'set cmd:fail-exit true',
      `open -u alice,wonderland ftp://127.0.0.1:${srv.port}`,
      `get f.bin -o ${join(work, 'got.bin')}`,
      `put ${join(work, 'put.bin')} -o put.bin`,
      'cls -1',
      'bye',
    ].join('\n');
    await writeFile(join(work, 'script.lftp'), script);
    const r = await runProcess('lftp', ['-f', join(work, 'script.lftp')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(FILE.equals(await readFile(join(work, 'got.bin'))));
    assert.ok(FILE.equals(await readFile(join(srv.root, 'put.bin'))));
    assert.match(r.stdout, /put\.bin/);
  } finally {
    await srv.close();
  }
});

for (const mode of [true, 'implicit'] as const) {
  test(`basic-ftp secure: ${JSON.stringify(mode)}: download and upload over PROT P`, async () => {
    const srv = await startFtpsServer({ implicit: mode === 'implicit', requireTls: true });
    const client = new Client(10_000);
    try {
      await writeFile(join(srv.root, 'f.bin'), FILE);
      await client.access({
        host: '127.0.0.1',
        port: mode === 'implicit' ? srv.implicitPort! : srv.port,
        user: 'alice',
        password: 'wonderland',
        secure: mode,
        secureOptions: { ca: await readFile(srv.certFile), servername: 'localhost' },
      });
      const work = await tempDir('wharf-bftp-');
      await client.downloadTo(join(work, 'got.bin'), 'f.bin');
      assert.ok(FILE.equals(await readFile(join(work, 'got.bin'))));
      await client.uploadFrom(join(work, 'got.bin'), 'back.bin');
      assert.ok(FILE.equals(await readFile(join(srv.root, 'back.bin'))));
      const names = (await client.list()).map((e) => e.name).sort();
      assert.deepEqual(names, ['back.bin', 'f.bin']);
    } finally {
      client.close();
      await srv.close();
    }
  });
}
