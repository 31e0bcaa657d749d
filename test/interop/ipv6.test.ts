import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { RawClient, readAll } from '../helpers/raw.js';
import { curl } from '../helpers/curl.js';
import { lftp } from '../helpers/lftp.js';
import { ftplib, allOk } from '../helpers/pyftp.js';
import { describeRun, run } from '../helpers/run.js';

/**
 * Real clients over IPv6 loopback (::1): EPSV and EPRT are the only data commands there.
 * lftp on a loopback connection announces its unbound data socket as `EPRT |2|::|port|`;
 * Wharf reads the wildcard as "the client's own address" (never as itself).
 */
let srv: TestServer;
let srv4: TestServer;
let local: string;
before(async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', () => reject(new Error('IPv6 loopback (::1) is not available on this machine: the IPv6 interop tests need it')));
    probe.listen(0, '::1', () => resolve());
  });
  probe.close();
  srv = await startServer({ host: '::1' });
  srv4 = await startServer();
  local = await tempDir('wharf-interop-v6-');
});
after(async () => {
  await srv.close();
  await srv4.close();
  await rm(local, { recursive: true, force: true });
});

const url = (path: string) => `ftp://[::1]:${srv.port}${path}`;

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';

  test(`curl ipv6 ${mode}: upload, list, download (${active ? 'EPRT' : 'EPSV'})`, async () => {
    const data = randomBytes(100_000);
    const src = join(local, `curl-${mode}.bin`);
    await writeFile(src, data);
    const args = active ? ['--ftp-port', '::1'] : [];
    const up = await curl([...args, '-v', '-T', src, url(`/curl6-${mode}.bin`)], { user: TEST_USER, password: TEST_PASSWORD });
    assert.equal(up.code, 0, describeRun('curl upload', up));
    assert.match(up.stderr, active ? /^> EPRT \|2\|::1\|/m : /^> EPSV/m);
    assert.deepEqual(await readFile(join(srv.root, `curl6-${mode}.bin`)), data);
    const ls = await curl([...args, '--list-only', url('/')], { user: TEST_USER, password: TEST_PASSWORD });
    assert.match(ls.stdout.toString(), new RegExp(`^curl6-${mode}\\.bin\\r?$`, 'm'));
    const down = await curl([...args, url(`/curl6-${mode}.bin`)], { user: TEST_USER, password: TEST_PASSWORD });
    assert.equal(down.code, 0, describeRun('curl download', down));
    assert.deepEqual(down.stdout, data);
  });

  test(`lftp ipv6 ${mode}: put, ls, get`, async () => {
    const data = randomBytes(100_000);
    await writeFile(join(local, `lftp-${mode}.bin`), data);
    const r = await lftp([`put lftp-${mode}.bin -o lftp6-${mode}.bin`, 'cls -1', `get lftp6-${mode}.bin -o lftp-${mode}-back.bin`], {
      port: srv.port,
      user: TEST_USER,
      password: TEST_PASSWORD,
      active,
      cwd: local,
      host: '[::1]',
    });
    assert.equal(r.code, 0, describeRun('lftp', r));
    assert.match(r.stderr, active ? /---> EPRT \|2\|/ : /---> EPSV/);
    assert.match(r.stdout.toString(), new RegExp(`^lftp6-${mode}\\.bin$`, 'm'));
    assert.deepEqual(await readFile(join(local, `lftp-${mode}-back.bin`)), data);
  });

  test(`ftplib ipv6 ${mode}: upload, NLST, download`, async () => {
    const data = randomBytes(100_000);
    const src = join(local, `py-${mode}.bin`);
    await writeFile(src, data);
    const dst = join(local, `py-${mode}-back.bin`);
    const r = allOk(await ftplib({ host: '::1', port: srv.port, passive: !active, ops: [['login', TEST_USER, TEST_PASSWORD], ['stor', `py6-${mode}.bin`, src], ['nlst'], ['retr', `py6-${mode}.bin`, dst]] }));
    assert.ok((r[2] as string[]).includes(`py6-${mode}.bin`));
    assert.deepEqual(await readFile(dst), data);
  });
}

/** A client-side listener; resolves with what the server sends to it. */
async function listenFor(host: string): Promise<{ port: number; received: Promise<{ data: Buffer; from: string }>; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const received = new Promise<{ data: Buffer; from: string }>((resolve) => {
    server.once('connection', (sock) => {
      const from = sock.remoteAddress ?? '';
      void readAll(sock).then((data) => resolve({ data, from }));
    });
  });
  return { port: (server.address() as net.AddressInfo).port, received, close: () => server.close() };
}

test('raw: EPRT |2|::|port| connects back to the client over IPv6', async () => {
  await writeFile(join(srv.root, 'wild6.txt'), 'wild six');
  const c = await RawClient.connect(srv.port, '::1');
  try {
    await c.read();
    assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
    const l = await listenFor('::1');
    assert.equal((await c.send(`EPRT |2|::|${l.port}|`)).code, 200);
    assert.equal((await c.send('RETR wild6.txt')).code, 150);
    assert.equal((await l.received).data.toString(), 'wild six');
    assert.equal((await c.read()).code, 226);
    l.close();
  } finally {
    c.close();
  }
});

test('raw: PORT 0,0,0,0 from "another host" (127.0.0.2) connects to that host, not the server', async () => {
  await writeFile(join(srv4.root, 'wild4.txt'), 'wild four');
  const c = await RawClient.connect(srv4.port, '127.0.0.1', '127.0.0.2');
  try {
    await c.read();
    assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
    const l = await listenFor('127.0.0.2');
    assert.equal((await c.send(`PORT 0,0,0,0,${l.port >> 8},${l.port & 255}`)).code, 200);
    assert.equal((await c.send('RETR wild4.txt')).code, 150);
    const got = await l.received;
    assert.equal(got.data.toString(), 'wild four');
    assert.equal((await c.read()).code, 226);
    l.close();
  } finally {
    c.close();
  }
});

test('rclone ipv6 passive: copy up, lsf, cat (host written as [::1])', async () => {
  const obscured = (await run('rclone', ['--config', '/dev/null', 'obscure', TEST_PASSWORD])).stdout.toString().trim();
  const remote = (path: string) => `:ftp,host='[::1]',port=${srv.port},user=${TEST_USER},pass=${obscured}:${path}`;
  const src = join(local, 'rc6.txt');
  await writeFile(src, 'rclone over six');
  const opts = { timeoutMs: 20_000, env: { HOME: local } };
  const base = ['--config', '/dev/null', '--retries', '1', '--low-level-retries', '1'];
  const up = await run('rclone', [...base, 'copy', src, remote('rc6')], opts);
  assert.equal(up.code, 0, describeRun('rclone copy', up));
  assert.equal(await readFile(join(srv.root, 'rc6', 'rc6.txt'), 'utf8'), 'rclone over six');
  const lsf = await run('rclone', [...base, 'lsf', remote('rc6')], opts);
  assert.equal(lsf.stdout.toString(), 'rc6.txt\n', describeRun('rclone lsf', lsf));
  const cat = await run('rclone', [...base, 'cat', remote('rc6/rc6.txt')], opts);
  assert.equal(cat.stdout.toString(), 'rclone over six');
});

for (const mode of ['passive', 'active'] as const) {
  const active = mode === 'active';

  test(`wget ipv6 ${mode}: download`, async () => {
    await writeFile(join(srv.root, `wget6-${mode}.txt`), `wget ${mode}`);
    const r = await run(
      'wget',
      ['--no-config', '-d', '--tries=1', '--timeout=10', `--ftp-user=${TEST_USER}`, `--ftp-password=${TEST_PASSWORD}`, ...(active ? ['--no-passive-ftp'] : []), '-O', '-', url(`/wget6-${mode}.txt`)],
      { timeoutMs: 20_000, env: { HOME: local } },
    );
    assert.equal(r.code, 0, describeRun('wget', r));
    assert.match(r.stderr, active ? /^--> EPRT /m : /^--> EPSV/m);
    assert.equal(r.stdout.toString(), `wget ${mode}`);
  });

  test(`tnftp ipv6 ${mode}: put, ls, get`, async () => {
    await writeFile(join(local, `tn6-${mode}.txt`), `tnftp ${mode}`);
    const script = [`user ${TEST_USER} ${TEST_PASSWORD}`, 'binary', `passive ${active ? 'off' : 'on'}`, `put tn6-${mode}.txt`, 'ls', `get tn6-${mode}.txt tn6-${mode}-back.txt`, 'bye', ''].join('\n');
    const r = await run('tnftp', ['-n', '-v', '-N', '/dev/null', '::1', String(srv.port)], { input: script, cwd: local, timeoutMs: 20_000, env: { HOME: local } });
    assert.equal(r.code, 0, describeRun('tnftp', r));
    assert.match(r.stdout.toString(), active ? /^200 EPRT/m : /^229 /m);
    assert.equal(await readFile(join(local, `tn6-${mode}-back.txt`), 'utf8'), `tnftp ${mode}`);
  });
}

test('dual-stack socket: IPv4 clients seen as ::ffff:127.0.0.1 get plain IPv4 in PASV and may use PORT/EPRT', async () => {
  // A listener on the IPv4-mapped loopback address accepts IPv4 clients on an IPv6 socket,
  // exactly as the default dual-stack `::` listener does, without leaving loopback.
  const mapped = await startServer({ host: '::ffff:127.0.0.1' });
  try {
    await writeFile(join(mapped.root, 'm.txt'), 'mapped');
    for (const [args, verb] of [
      [[], 'EPSV'],
      [['--disable-epsv'], 'PASV'],
      [['--ftp-port', '127.0.0.1'], 'EPRT'],
      [['--ftp-port', '127.0.0.1', '--disable-eprt'], 'PORT'],
    ] as const) {
      const r = await curl(['-v', ...args, `ftp://127.0.0.1:${mapped.port}/m.txt`], { user: TEST_USER, password: TEST_PASSWORD });
      assert.equal(r.code, 0, describeRun(`curl ${verb}`, r));
      assert.equal(r.stdout.toString(), 'mapped');
      if (verb === 'PASV') assert.match(r.stderr, /^< 227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)/m);
      if (verb === 'EPRT' || verb === 'PORT') assert.match(r.stderr, new RegExp(`^> ${verb} `, 'm'));
    }
  } finally {
    await mapped.close();
  }
});
