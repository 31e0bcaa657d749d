import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSelfSignedCertificate, ipv6Bytes } from '../../src/core/tls/self-signed.js';
import { loadTlsMaterial } from '../../src/core/tls/material.js';
import { createServer } from '../../src/index.js';
import { tempDir } from '../helpers/server.js';

test('self-signed certificate: valid X.509 v3, self-verifying, SAN for names and addresses', () => {
  const { certPem } = createSelfSignedCertificate({ hosts: ['localhost', 'ftp.example.org', '127.0.0.1', '::1', '2001:db8::7'], days: 30 });
  const x = new X509Certificate(certPem);
  assert.ok(x.verify(x.publicKey), 'signed by its own key');
  assert.equal(x.ca, false);
  assert.equal(x.checkHost('ftp.example.org'), 'ftp.example.org');
  assert.equal(x.checkIP('2001:db8::7'), '2001:db8::7');
  assert.equal(x.checkHost('other.example.org'), undefined);
  const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
  assert.equal(Math.round(days), 30);
});

test('ipv6Bytes expands compressed forms and dotted tails', () => {
  assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipv6Bytes('2001:db8::7').toString('hex'), '20010db8000000000000000000000007');
  assert.equal(ipv6Bytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
  assert.equal(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
});

test('the self-signed pair is created once and reused', async () => {
  const state = await tempDir('wharf-state-');
  const first = loadTlsMaterial(true, state);
  const second = loadTlsMaterial(true, state);
  assert.equal(first.created, true);
  assert.equal(second.created, false);
  assert.equal(second.fingerprint256, first.fingerprint256);
});

test('certificate problems are reported clearly', async () => {
  const dir = await tempDir('wharf-certs-');
  const a = createSelfSignedCertificate({ hosts: ['localhost'] });
  const b = createSelfSignedCertificate({ hosts: ['localhost'] });
  await writeFile(join(dir, 'a.pem'), a.certPem);
  await writeFile(join(dir, 'b-key.pem'), b.keyPem);
  assert.throws(() => loadTlsMaterial({ certFile: join(dir, 'a.pem'), keyFile: join(dir, 'b-key.pem') }, dir), /does not belong to the certificate/);
  assert.throws(() => loadTlsMaterial({ certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'b-key.pem') }, dir), /cannot read the certificate file .*ENOENT/);
  assert.throws(() => loadTlsMaterial({ certFile: join(dir, 'a.pem') }, dir), /go together/);
});

test('the state folder may not lie inside the served folder (the key could be downloaded)', async () => {
  const root = await tempDir();
  assert.throws(() => createServer({ root, port: 0, tls: true, stateDir: join(root, '.wharf') }), /inside the served folder/);
});
