import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from '../helpers/server.js';
import { TlsRawClient, collect, startFtpsServer } from './helpers.js';

test('FEAT advertises AUTH TLS, PBSZ and PROT only where TLS is configured', async () => {
  const plain = await startServer();
  const secure = await startFtpsServer({ implicit: true });
  try {
    const c1 = await TlsRawClient.connect(plain.port);
    await c1.read();
    const f1 = await c1.send('FEAT');
    assert.equal(f1.code, 211);
    assert.doesNotMatch(f1.text, /AUTH TLS|PBSZ|PROT/);
    assert.equal((await c1.send('AUTH TLS')).code, 502);
    c1.close();

    const c2 = await TlsRawClient.connect(secure.port);
    await c2.read();
    const f2 = await c2.send('FEAT');
    assert.match(f2.text, /\n AUTH TLS\n/);
    assert.match(f2.text, /\n PBSZ\n/);
    assert.match(f2.text, /\n PROT\n/);
    c2.close();

    // Implicit: already TLS, so no AUTH to offer; PBSZ/PROT still answered.
    const c3 = await TlsRawClient.connectImplicit(secure.implicitPort!);
    assert.equal((await c3.read()).code, 220);
    const f3 = await c3.send('FEAT');
    assert.doesNotMatch(f3.text, /AUTH TLS/);
    assert.match(f3.text, /\n PROT\n/);
    c3.close();
  } finally {
    await plain.close();
    await secure.close();
  }
});

test('AUTH/PBSZ/PROT ordering and refusals give the RFC 4217 replies', async () => {
  const srv = await startFtpsServer();
  try {
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    assert.equal((await c.send('PBSZ 0')).code, 503, 'PBSZ before AUTH');
    assert.equal((await c.send('PROT P')).code, 503, 'PROT before AUTH');
    assert.equal((await c.send('AUTH KERBEROS_V4')).code, 504, 'unknown mechanism');
    assert.equal((await c.send('CCC')).code, 534);
    const auth = await c.startTls();
    assert.equal(auth.code, 234);
    assert.equal((c.socket as import('node:tls').TLSSocket).encrypted, true);
    assert.equal((await c.send('AUTH TLS')).code, 503, 'second AUTH');
    assert.equal((await c.send('PROT P')).code, 503, 'PROT before PBSZ');
    assert.equal((await c.send('PBSZ x')).code, 501);
    const pbsz = await c.send('PBSZ 0');
    assert.equal(pbsz.text, '200 PBSZ=0');
    assert.equal((await c.send('PROT S')).code, 536);
    assert.equal((await c.send('PROT E')).code, 536);
    assert.equal((await c.send('PROT Z')).code, 504);
    assert.equal((await c.send('PROT C')).code, 200);
    assert.equal((await c.send('PROT P')).code, 200);
    assert.equal((await c.send('CCC')).code, 534, 'CCC stays refused over TLS');
    assert.equal((await c.login()).code, 230);
    c.close();
  } finally {
    await srv.close();
  }
});

test('AUTH SSL is a synonym; AUTH after login is refused', async () => {
  const srv = await startFtpsServer();
  try {
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    assert.equal((await c.login()).code, 230);
    assert.equal((await c.send('AUTH TLS')).code, 503);
    c.close();
    const d = await TlsRawClient.connect(srv.port);
    await d.read();
    const r = await d.send('AUTH SSL');
    assert.equal(r.code, 234);
    d.close();
  } finally {
    await srv.close();
  }
});

test('plaintext pipelined behind AUTH TLS is discarded, never run as if sent over TLS', async () => {
  const srv = await startFtpsServer();
  try {
    await writeFile(join(srv.root, 'keep.txt'), 'x');
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    // An attacker in the middle appends commands (and a partial line) to the client's AUTH.
    c.write('AUTH TLS\r\nUSER alice\r\nPASS wonderland\r\nDELE keep.txt\r\nNOO');
    assert.equal((await c.read()).code, 234);
    const plain = c.socket;
    plain.removeAllListeners('data');
    const tls = await import('node:tls');
    const secured = await new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    const replies: string[] = [];
    secured.setEncoding('utf8');
    secured.on('data', (d: string) => replies.push(d));
    secured.write('PWD\r\n');
    await new Promise((r) => setTimeout(r, 300));
    // Not logged in (USER/PASS were dropped) and the partial "NOO" did not prefix PWD.
    assert.match(replies.join(''), /^530 /);
    secured.destroy();
    const { existsSync } = await import('node:fs');
    assert.ok(existsSync(join(srv.root, 'keep.txt')), 'the injected DELE must not have run');
  } finally {
    await srv.close();
  }
});

test('a failed control handshake closes only that session', async () => {
  const srv = await startFtpsServer();
  try {
    const c = await TlsRawClient.connect(srv.port);
    await c.read();
    assert.equal((await c.send('AUTH TLS')).code, 234);
    c.write('this is not a TLS ClientHello\r\n');
    await new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
    // The server is fine: a new client gets through AUTH TLS and logs in.
    const d = await TlsRawClient.connect(srv.port);
    await d.read();
    assert.equal((await d.startTls()).code, 234);
    assert.equal((await d.login()).code, 230);
    d.close();
  } finally {
    await srv.close();
  }
});

test('PROT P data connection: TLS handshake before or after the 150, close_notify before 226', async () => {
  const srv = await startFtpsServer();
  try {
    const body = Buffer.alloc(300_000, 7);
    await writeFile(join(srv.root, 'data.bin'), body);
    const c = await TlsRawClient.protectedSession(srv.port);
    await c.send('TYPE I');
    const session = c.tlsSession;

    // Order 1: connect and send the ClientHello first, then RETR.
    const early = await c.openData({ ...(session ? { session } : {}) });
    await new Promise((r) => setTimeout(r, 50));
    const got1 = collect(early);
    const r1 = await c.send('RETR data.bin');
    assert.ok(r1.code === 125 || r1.code === 150, r1.text);
    assert.deepEqual(await got1, body);
    assert.equal((await c.read()).code, 226);

    // Order 2: RETR first, the TLS handshake only after the 150 arrived.
    const r2 = await c.send('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(r2.text)![1]);
    c.write('RETR data.bin\r\n');
    const opening = await c.read();
    assert.equal(opening.code, 150);
    const tls = await import('node:tls');
    const late = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, session: c.tlsSession! });
    let sawCleanEnd = false;
    late.on('end', () => (sawCleanEnd = true));
    const got2 = collect(late);
    assert.deepEqual(await got2, body);
    assert.equal((await c.read()).code, 226);
    assert.ok(sawCleanEnd, 'the data stream ended cleanly (close_notify), not by a reset');
    c.close();
  } finally {
    await srv.close();
  }
});
