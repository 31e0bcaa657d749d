import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PYTHON_FTPS, TlsRawClient, collect, runProcess, startFtpsServer } from './helpers.js';

async function python(port: number, reuse: boolean, maxVersion: '1.2' | '1.3'): Promise<{ version: string; names?: string[]; error?: string }> {
  const r = await runProcess('python3', ['-c', PYTHON_FTPS, String(port), reuse ? '1' : '0', maxVersion]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { version: string; names?: string[]; error?: string };
}

for (const version of ['1.2', '1.3'] as const) {
  test(`TLS ${version}: ftplib resuming the control session is served; one that does not is refused naming --no-tls-session-reuse`, async () => {
    const srv = await startFtpsServer();
    try {
      await writeFile(join(srv.root, 'one.txt'), '1');
      const ok = await python(srv.port, true, version);
      assert.equal(ok.version, `TLSv${version}`);
      assert.deepEqual(ok.names, ['one.txt']);

      const refused = await python(srv.port, false, version);
      assert.equal(refused.names, undefined);
      assert.match(refused.error!, /^425 /);
      assert.match(refused.error!, /--no-tls-session-reuse/);
    } finally {
      await srv.close();
    }
  });
}

test('with tlsSessionReuse: false (--no-tls-session-reuse) a non-resuming client is served', async () => {
  const srv = await startFtpsServer({ tlsSessionReuse: false });
  try {
    await writeFile(join(srv.root, 'two.txt'), '2');
    for (const version of ['1.2', '1.3'] as const) {
      const r = await python(srv.port, false, version);
      assert.deepEqual(r.names, ['two.txt'], `TLS ${version}`);
    }
  } finally {
    await srv.close();
  }
});

test('a data connection with a fresh TLS session gets the exact 425 reply and the session lives on', async () => {
  const srv = await startFtpsServer();
  try {
    await writeFile(join(srv.root, 'x.bin'), Buffer.alloc(1000, 1));
    const c = await TlsRawClient.protectedSession(srv.port);
    const fresh = await c.openData({}); // no session offered: a full handshake
    const got = collect(fresh);
    const opening = await c.send('RETR x.bin');
    assert.ok(opening.code === 150 || opening.code === 125, opening.text);
    const refusal = await c.read();
    assert.equal(
      refusal.text,
      "425 Can't open data connection: TLS session reuse required: the data connection did not resume the control connection's TLS session (the server can allow this with --no-tls-session-reuse)",
    );
    assert.equal((await got).length, 0, 'not a byte of the file went to the non-resuming peer');
    // Same session, now resuming: served.
    const resumed = await c.openData({ session: c.tlsSession! });
    const ok = collect(resumed);
    const r = await c.send('RETR x.bin');
    assert.ok(r.code === 150 || r.code === 125);
    assert.equal((await ok).length, 1000);
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    await srv.close();
  }
});

test('a plaintext data connection under PROT P is refused with 425', async () => {
  const srv = await startFtpsServer({ timeouts: { dataConnectMs: 1500 } });
  try {
    await writeFile(join(srv.root, 'y.bin'), 'secret');
    const c = await TlsRawClient.protectedSession(srv.port);
    const plain = await c.openData(false);
    const got = collect(plain);
    plain.write('GET / HTTP/1.0\r\n\r\n');
    const opening = await c.send('RETR y.bin');
    assert.ok(opening.code === 150 || opening.code === 125, opening.text);
    const refusal = await c.read();
    assert.equal(refusal.code, 425);
    assert.match(refusal.text, /TLS/);
    assert.doesNotMatch((await got).toString('latin1'), /secret/);
    c.close();
  } finally {
    await srv.close();
  }
});
