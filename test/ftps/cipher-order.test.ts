import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { startFtpsServer, TlsRawClient } from './helpers.js';

/** Connects to the implicit FTPS port offering `ciphersuites` (client order) and returns the cipher chosen. */
async function negotiated(port: number, options: tls.ConnectionOptions): Promise<string> {
  const client = await TlsRawClient.connectImplicit(port, options);
  try {
    const greeting = await client.read();
    assert.equal(greeting.code, 220);
    return (client.socket as tls.TLSSocket).getCipher().standardName;
  } finally {
    client.socket.destroy();
  }
}

test('FTPS: the server picks AES-128-GCM over a client that lists AES-256-GCM first', async (t) => {
  const server = await startFtpsServer({ implicit: true });
  t.after(() => server.close());
  const port = server.implicitPort!;
  // curl's and OpenSSL's own order: AES-256 first.
  const tls13 = await negotiated(port, { ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256' });
  assert.equal(tls13, 'TLS_AES_128_GCM_SHA256');
  // TLS 1.2 with either kind of certificate key.
  const tls12 = await negotiated(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256' });
  assert.match(tls12, /^TLS_ECDHE_(RSA|ECDSA)_WITH_AES_128_GCM_SHA256$/);
});

test('FTPS: a client that prefers ChaCha20 (no AES hardware) still gets it; one without AES-128 gets AES-256', async (t) => {
  const server = await startFtpsServer({ implicit: true });
  t.after(() => server.close());
  const port = server.implicitPort!;
  assert.equal(await negotiated(port, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256' }), 'TLS_CHACHA20_POLY1305_SHA256');
  assert.equal(await negotiated(port, { ciphers: 'TLS_AES_256_GCM_SHA384' }), 'TLS_AES_256_GCM_SHA384');
});
