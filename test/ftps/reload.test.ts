import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Client } from 'basic-ftp';
import { createSelfSignedCertificate } from '../../src/core/tls/self-signed.js';
import { startServer, tempDir } from '../helpers/server.js';
import { TlsRawClient } from './helpers.js';

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function certificateSeenBy(port: number): Promise<string> {
  const c = await TlsRawClient.connect(port);
  await c.read();
  await c.startTls();
  const fp = (c.socket as TLSSocket).getPeerX509Certificate()!.fingerprint256;
  c.close();
  return fp;
}

test('reloadTls() under a live session: the session and its data connections go on, new connections get the new certificate', async () => {
  const dir = await tempDir('wharf-certs-');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const a = createSelfSignedCertificate({ hosts: ['localhost', '127.0.0.1'] });
  const b = createSelfSignedCertificate({ hosts: ['localhost', '127.0.0.1'] });
  await writeFile(certFile, a.certPem);
  await writeFile(keyFile, a.keyPem);
  const srv = await startServer({ tls: { certFile, keyFile }, requireTls: true });
  const client = new Client(10_000);
  try {
    await writeFile(join(srv.root, 'f.txt'), 'before and after');
    assert.equal(srv.server.tlsCertificate!.fingerprint256, fingerprintOf(a.certPem));
    await client.access({ host: '127.0.0.1', port: srv.port, user: 'alice', password: 'wonderland', secure: true, secureOptions: { rejectUnauthorized: false } });
    assert.equal((client.ftp.socket as TLSSocket).getPeerX509Certificate()!.fingerprint256, fingerprintOf(a.certPem));
    const work = await tempDir('wharf-reload-');
    await client.downloadTo(join(work, '1.txt'), 'f.txt');

    await writeFile(certFile, b.certPem);
    await writeFile(keyFile, b.keyPem);
    const reloaded = srv.server.reloadTls();
    assert.equal(reloaded.fingerprint256, fingerprintOf(b.certPem));

    // The live session: still logged in, and its data connections still resume its session.
    await client.downloadTo(join(work, '2.txt'), 'f.txt');
    assert.equal(await readFile(join(work, '2.txt'), 'utf8'), 'before and after');
    await client.uploadFrom(join(work, '2.txt'), 'g.txt');
    assert.equal(await readFile(join(srv.root, 'g.txt'), 'utf8'), 'before and after');
    // A new connection sees the new certificate.
    assert.equal(await certificateSeenBy(srv.port), fingerprintOf(b.certPem));

    // Broken files: reload fails, the previous certificate stays in use.
    await writeFile(certFile, 'garbage');
    assert.throws(() => srv.server.reloadTls(), /no PEM certificate/);
    assert.equal(await certificateSeenBy(srv.port), fingerprintOf(b.certPem));
  } finally {
    client.close();
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('wharf serve --tls prints the fingerprint, keeps the key mode 600, and reloads on SIGHUP', async () => {
  const root = await tempDir();
  const state = await tempDir('wharf-state-');
  const dir = await tempDir('wharf-certs-');
  const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
  // First run: a self-signed certificate is created in the state folder.
  const child = spawn(process.execPath, [cli, 'serve', root, '--host', '127.0.0.1', '--port', '0', '--tls', '--state-dir', state, '--user', 'alice:wonderland'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const waitFor = async (re: RegExp, ms = 8000) => {
    const until = Date.now() + ms;
    while (!re.test(output)) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return re.exec(output)!;
  };
  try {
    const port = Number((await waitFor(/listening on \S+ port (\d+)/))[1]);
    const printed = (await waitFor(/SHA-256 fingerprint: ([0-9A-F:]{95})/))[1];
    const certPem = await readFile(join(state, 'tls/self-signed-cert.pem'), 'utf8');
    assert.equal(printed, fingerprintOf(certPem));
    const { statSync } = await import('node:fs');
    assert.equal(statSync(join(state, 'tls/self-signed-key.pem')).mode & 0o777, 0o600);
    assert.equal(await certificateSeenBy(port), printed);
    // The self-signed certificate names localhost and the loopback addresses.
    const x509 = new X509Certificate(certPem);
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkIP('::1'), '::1');

    // SIGHUP with a regenerated pair in the state folder: new connections see it.
    const next = createSelfSignedCertificate({ hosts: ['localhost'] });
    await writeFile(join(state, 'tls/self-signed-key.pem'), next.keyPem, { mode: 0o600 });
    await writeFile(join(state, 'tls/self-signed-cert.pem'), next.certPem);
    child.kill('SIGHUP');
    await waitFor(/TLS certificate reloaded/);
    assert.equal(await certificateSeenBy(port), fingerprintOf(next.certPem));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    for (const d of [root, state, dir]) await rm(d, { recursive: true, force: true });
  }
});
