import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, hashPassword } from '../../src/index.js';
import { tempDir } from '../helpers/server.js';
import { TlsRawClient, collect, startFtpsServer } from './helpers.js';

test('--require-tls: login before AUTH TLS is refused with 530', async () => {
  const srv = await startFtpsServer({ requireTls: true });
  try {
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    const user = await c.send('USER alice');
    assert.equal(user.code, 530);
    assert.match(user.text, /TLS required/);
    assert.equal((await c.send('PASS wonderland')).code, 530);
    assert.equal((await c.send('PWD')).code, 530);
    // What may come before TLS still works.
    assert.equal((await c.send('FEAT')).code, 211);
    assert.equal((await c.send('SYST')).code, 215);
    assert.equal((await c.send('NOOP')).code, 200);
    assert.equal((await c.startTls()).code, 234);
    assert.equal((await c.login()).code, 230);
    c.close();
  } finally {
    await srv.close();
  }
});

test('--require-tls: transfers without PROT P get 521, PROT C gets 534', async () => {
  const srv = await startFtpsServer({ requireTls: true });
  try {
    await writeFile(join(srv.root, 'a.txt'), 'hello');
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    await c.startTls();
    await c.login();
    await c.send('EPSV');
    const list = await c.send('LIST');
    assert.equal(list.code, 521);
    assert.match(list.text, /PROT P/);
    assert.equal((await c.send('RETR a.txt')).code, 521);
    assert.equal((await c.send('PBSZ 0')).code, 200);
    const protC = await c.send('PROT C');
    assert.equal(protC.code, 534);
    assert.equal((await c.send('PROT P')).code, 200);
    const data = await c.openData({ session: c.tlsSession! });
    const got = collect(data);
    const r = await c.send('RETR a.txt');
    assert.ok(r.code === 150 || r.code === 125, r.text);
    assert.equal((await got).toString(), 'hello');
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    await srv.close();
  }
});

test('implicit FTPS behaves as if AUTH TLS, PBSZ 0 and PROT P were given', async () => {
  const srv = await startFtpsServer({ implicit: true, requireTls: true });
  try {
    await writeFile(join(srv.root, 'b.txt'), 'implicit');
    const c = await TlsRawClient.connectImplicit(srv.implicitPort!);
    assert.equal((await c.read()).code, 220);
    assert.equal((await c.login()).code, 230, 'no AUTH needed: already TLS');
    assert.equal((await c.send('AUTH TLS')).code, 503);
    const data = await c.openData({ session: c.tlsSession! });
    const got = collect(data);
    const r = await c.send('RETR b.txt');
    assert.ok(r.code === 150 || r.code === 125, r.text);
    assert.equal((await got).toString(), 'implicit');
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    await srv.close();
  }
});

test('requireTls in the users file: that user must log in over TLS and use PROT P', async () => {
  const root = await tempDir();
  const stateDir = await tempDir('wharf-state-');
  const usersFile = join(await tempDir('wharf-users-'), 'users.json');
  const hash = await hashPassword('secret');
  await writeFile(usersFile, JSON.stringify({ users: [{ name: 'carol', password: hash, requireTls: true }, { name: 'dave', password: hash }] }));
  const server = createServer({ host: '127.0.0.1', port: 0, root, usersFile, tls: true, stateDir, write: true, timeouts: { failedLoginDelayMs: 10 } });
  const { port } = await server.listen();
  try {
    const plain = await TlsRawClient.connect(port);
    await plain.read();
    const refused = await plain.login('carol', 'secret');
    assert.equal(refused.code, 530);
    assert.match(refused.text, /TLS required/);
    assert.equal((await plain.login('dave', 'secret')).code, 230, 'other users are not affected');
    plain.close();

    const secure = await TlsRawClient.connect(port);
    await secure.read();
    await secure.startTls();
    assert.equal((await secure.login('carol', 'secret')).code, 230);
    await secure.send('EPSV');
    assert.equal((await secure.send('LIST')).code, 521);
    await secure.send('PBSZ 0');
    assert.equal((await secure.send('PROT C')).code, 534);
    secure.close();
  } finally {
    await server.close({ graceMs: 100 });
  }
});

test('requireTls without a certificate source is a configuration error', () => {
  assert.throws(() => createServer({ requireTls: true, port: 0 }), /requireTls needs TLS/);
});
