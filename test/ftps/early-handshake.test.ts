import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TlsRawClient, collect, startFtpsServer } from './helpers.js';

/** Resolves true on the TLS handshake's completion, false if it has not completed in `ms`. */
function handshakeWithin(socket: tls.TLSSocket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

// curl sends the data connection's ClientHello right after connecting, before RETR/STOR,
// and stalls its control reads until the handshake moves: the server must answer it at once.
test('PROT P: a passive data connection is TLS-handshaken on arrival, before any transfer command, and then serves RETR', async () => {
  const srv = await startFtpsServer();
  const c = await TlsRawClient.connect(srv.port);
  try {
    const content = Buffer.alloc(300_000, 7);
    await writeFile(join(srv.root, 'early.bin'), content);
    await c.read();
    await c.startTls();
    await c.login();
    assert.equal((await c.send('PBSZ 0')).code, 200);
    assert.equal((await c.send('PROT P')).code, 200);
    const data = (await c.openData({ session: c.tlsSession! })) as tls.TLSSocket;
    assert.equal(await handshakeWithin(data, 3000), true, 'handshake completed before RETR was sent');
    assert.equal(data.isSessionReused(), true);
    const got = collect(data);
    const opening = await c.send('RETR early.bin');
    assert.equal(opening.code, 125, opening.text); // the connection was already there
    assert.equal((await c.read()).code, 226);
    assert.deepEqual(await got, content);
  } finally {
    c.close();
    await srv.close();
  }
});
