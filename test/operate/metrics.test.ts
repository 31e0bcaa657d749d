import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { parseHostPort, startAdminServer } from '../../src/index.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';
import { serve } from './cli.js';

/** Parses Prometheus text into `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+) (\S+)$/.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

test('admin: parseHostPort accepts HOST:PORT, [v6]:PORT and refuses the rest', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:9021'), { host: '127.0.0.1', port: 9021 });
  assert.deepEqual(parseHostPort('[::1]:9021'), { host: '::1', port: 9021 });
  assert.deepEqual(parseHostPort(':9021'), { host: '127.0.0.1', port: 9021 });
  assert.throws(() => parseHostPort('9021'), /expected HOST:PORT/);
  assert.throws(() => parseHostPort('localhost:99999'), /expected HOST:PORT/);
});

test('admin: /metrics counts sessions, logins, bytes, durations and passive ports; /healthz is ok', async () => {
  const srv = await startServer();
  const admin = await startAdminServer(srv.server, { host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${admin.address.port}`;
  try {
    const c = new Client(5000);
    await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
    await c.uploadFrom(Readable.from([Buffer.alloc(5000, 1)]), 'a.bin');
    await c.downloadTo(new (await import('node:stream')).Writable({ write: (_c, _e, cb) => cb() }), 'a.bin');
    const bad = new Client(5000);
    await assert.rejects(bad.access({ host: srv.host, port: srv.port, user: TEST_USER, password: 'wrong' }));
    bad.close();
    for (let i = 0; i < 100 && srv.server.sessionCount > 1; i++) await new Promise((r) => setTimeout(r, 20));
    // An open passive port shows up while a client waits in PASV.
    await c.send('PASV');
    let res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = samples(text);
    assert.equal(m.get('wharf_sessions'), 1);
    assert.equal(m.get('wharf_passive_ports_in_use'), 1);
    assert.equal(m.get('wharf_sessions_total'), 2);
    assert.equal(m.get('wharf_logins_total{result="ok",anonymous="false"}'), 1);
    assert.equal(m.get('wharf_logins_total{result="failed",reason="bad-credentials"}'), 1);
    assert.equal(m.get('wharf_bytes_received_total'), 5000);
    assert.equal(m.get('wharf_bytes_sent_total'), 5000);
    assert.equal(m.get('wharf_transfer_duration_seconds_count{direction="upload"}'), 1);
    assert.equal(m.get('wharf_transfer_duration_seconds_bucket{direction="download",le="+Inf"}'), 1);
    assert.equal(m.get('wharf_bans_total'), 0);
    assert.match(text, /# TYPE wharf_transfer_duration_seconds histogram/);
    c.close();
    res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await admin.close();
    await srv.close();
  }
});

test('serve --admin-listen: the CLI serves /metrics and /healthz on loopback', async () => {
  const running = await serve(['--host', '127.0.0.1', '--port', '0', '--admin-listen', '127.0.0.1:0', '--log-level', 'silent']);
  try {
    const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(running.stderr());
    assert.ok(m, running.stderr());
    const res = await fetch(`http://127.0.0.1:${m[1]}/healthz`);
    assert.equal(res.status, 200);
    assert.match(await (await fetch(`http://127.0.0.1:${m[1]}/metrics`)).text(), /^wharf_sessions 0$/m);
  } finally {
    assert.equal(await running.stop(), 0, 'SIGTERM stops the server cleanly');
  }
});
