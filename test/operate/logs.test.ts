import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { createLogger, prettyLine, XferLog, xferlogLine } from '../../src/index.js';
import { ctime } from '../../src/core/xferlog.js';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';
import { REPO } from './cli.js';

const FILTER = join(REPO, 'docs/fail2ban/filter.d/wharf.conf');

test('logs: JSON lines from pino with the session id and ip on every session line', async () => {
  const lines: string[] = [];
  const srv = await startServer({ logger: createLogger({ level: 'debug', pretty: false, write: (l) => void lines.push(l) }) });
  try {
    const c = new Client(5000);
    await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
    await c.list();
    c.close();
    const bad = new Client(5000);
    await assert.rejects(bad.access({ host: srv.host, port: srv.port, user: 'mallory', password: 'guess' }));
    bad.close();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    await srv.close();
  }
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const session = records.filter((r) => r.msg === 'command' || r.msg === 'login ok' || r.msg === 'login failed' || r.msg === 'session closed');
  assert.ok(session.length >= 6, `expected session lines, got ${lines.join('')}`);
  for (const r of session) {
    assert.match(String(r.session), /^\S+$/, `no session id in ${JSON.stringify(r)}`);
    assert.equal(r.ip, '127.0.0.1');
    assert.match(String(r.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.equal(new Set(session.map((r) => r.session)).size, 2, 'two connections, two session ids');
  assert.ok(!lines.join('').includes(TEST_PASSWORD) && !lines.join('').includes('guess'), 'passwords are never logged');
});

test('logs: the pretty formatter prints time, level, session and fields', () => {
  const line = prettyLine('{"level":30,"time":"2026-11-21T19:48:46.000Z","session":"ab12","ip":"127.0.0.1","user":"alice","msg":"login ok"}');
  assert.match(line, /^\d\d:\d\d:\d\d INFO  \[ab12 127\.0\.0\.1\] login ok user=alice\n$/);
  assert.equal(prettyLine('not json'), 'not json\n');
  const sneaky = prettyLine('{"level":30,"time":"2026-11-21T19:48:46.000Z","msg":"login failed","user":"\\u001b[2Jx"}');
  assert.ok(!sneaky.includes('\x1b'), 'escape sequences from clients never reach the terminal');
  assert.match(sneaky, /user="\\u001b\[2Jx"/);
  const warn = prettyLine('{"level":40,"time":"2026-11-21T19:48:46.000Z","msg":"no passive port","err":"range full"}');
  assert.match(warn, / WARN  no passive port err="range full"\n$/);
});

test('fail2ban: the documented filter matches real failed-login lines, and only those', async (t) => {
  const lines: string[] = [];
  const srv = await startServer({ logger: createLogger({ level: 'info', pretty: false, write: (l) => void lines.push(l) }) });
  try {
    // A user name crafted to look like another address and message must not fool the filter.
    for (const user of ['mallory', '","ip":"9.9.9.9","msg":"login failed"}']) {
      const c = new Client(5000);
      await assert.rejects(c.access({ host: srv.host, port: srv.port, user, password: 'nope' }));
      c.close();
    }
    const ok = new Client(5000);
    await ok.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
    ok.close();
  } finally {
    await srv.close();
  }
  const dir = await tempDir();
  const log = join(dir, 'wharf.log');
  await writeFile(log, lines.join(''));
  const failed = lines.filter((l) => l.includes('"msg":"login failed"')).length;
  assert.equal(failed, 2);
  const conf = await readFile(FILTER, 'utf8');
  const failregex = /^failregex = (.*)$/m.exec(conf)![1]!;
  // The same regex, as Python evaluates it (fail2ban is Python), with <HOST> as fail2ban expands it.
  const py = spawnSync('python3', ['-c', `
import re, sys
rx = re.compile(sys.argv[1].replace('<HOST>', r'(?P<host>\\S+?)'))
for line in open(sys.argv[2]):
    m = rx.search(line.rstrip('\\n'))
    if m: print(m.group('host'))
`, failregex, log], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(py.stdout.trim().split('\n'), ['127.0.0.1', '127.0.0.1']);
  if (!existsSync('/usr/bin/fail2ban-regex')) {
    t.diagnostic('fail2ban-regex not installed; checked the regex with Python only');
    return;
  }
  const f2b = spawnSync('fail2ban-regex', [log, FILTER], { encoding: 'utf8' });
  assert.equal(f2b.status, 0, f2b.stderr);
  assert.match(f2b.stdout, /Lines: \d+ lines, 0 ignored, 2 matched/);
});

test('xferlog: ctime and line format match wu-ftpd', () => {
  const at = new Date(2026, 10, 1, 9, 8, 7);
  assert.equal(ctime(at), 'Sun Nov  1 09:08:07 2026');
  const line = xferlogLine({ sessionId: 's', ip: '10.0.0.5', protocol: 'ftp', user: 'alice', path: '/in box/a\tb.jpg', bytes: 6, durationMs: 1600, ok: true, mode: 'store' }, 'i', false, at);
  assert.equal(line, 'Sun Nov  1 09:08:07 2026 2 10.0.0.5 6 /in_box/a_b.jpg b _ i r alice ftp 0 * c');
});

test('xferlog: uploads and downloads through a real server are logged', async () => {
  const dir = await tempDir();
  const path = join(dir, 'xferlog');
  const srv = await startServer({ anonymous: true });
  const xfer = new XferLog(path, srv.server.events);
  try {
    const c = new Client(5000);
    await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
    await c.uploadFrom(Readable.from([Buffer.alloc(1234, 7)]), 'photo one.jpg');
    await c.downloadTo(new Writable({ write: (_c, _e, cb) => cb() }), 'photo one.jpg');
    c.close();
    const anon = new Client(5000);
    await anon.access({ host: srv.host, port: srv.port, user: 'anonymous', password: 'guest@' });
    await anon.downloadTo(new Writable({ write: (_c, _e, cb) => cb() }), 'photo one.jpg');
    anon.close();
  } finally {
    await srv.close();
    await xfer.close();
  }
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  const re = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4} (\d+) (\S+) (\d+) (\S+) ([ab]) _ ([io]) ([arg]) (\S+) ftp 0 \* ([ci])$/;
  assert.equal(lines.length, 3, lines.join('\n'));
  const fields = lines.map((l) => {
    const m = re.exec(l);
    assert.ok(m, `not an xferlog line: ${l}`);
    return { host: m[4], size: m[5], file: m[6], dir: m[8], mode: m[9], user: m[10], status: m[11] };
  });
  assert.deepEqual(fields, [
    { host: '127.0.0.1', size: '1234', file: '/photo_one.jpg', dir: 'i', mode: 'r', user: 'alice', status: 'c' },
    { host: '127.0.0.1', size: '1234', file: '/photo_one.jpg', dir: 'o', mode: 'r', user: 'alice', status: 'c' },
    { host: '127.0.0.1', size: '1234', file: '/photo_one.jpg', dir: 'o', mode: 'a', user: 'anonymous', status: 'c' },
  ]);
});
