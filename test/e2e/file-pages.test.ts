import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { nativeIo } from '../../src/core/native.js';
import { REPO, serve } from '../operate/cli.js';

// An idle `wharf serve` unmaps the node executable's pages it no longer runs
// (native/file-pages.c). Those pages must come back intact: whatever runs afterwards has to
// behave exactly as before, relocated data included.

const skip = !nativeIo?.releaseFilePages ? 'the native module is not built' : false;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** KiB of the process's mappings of the node executable that are resident now. */
function executableRssKiB(pid: number | 'self'): number {
  const exe = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0];
  let total = 0;
  let inExe = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) inExe = header[1] === exe || header[1] === process.execPath;
    else if (inExe && line.startsWith('Rss:')) total += Number(/(\d+)/.exec(line)![1]);
  }
  return total;
}

test('releaseFilePages unmaps clean executable pages, and the code and data behind them come back identical', { skip }, () => {
  // In a child process of its own, so that this test runner's mappings stay as they are. The
  // child measures with this file's executableRssKiB (its source, which needs only readFileSync).
  const script = `
    const { createHash, scryptSync } = require('node:crypto');
    const zlib = require('node:zlib');
    const io = require(${JSON.stringify(join(REPO, 'dist/native/wharf.node'))});
    const { readFileSync } = require('node:fs');
    ${executableRssKiB.toString()}
    const exeRss = () => executableRssKiB('self');
    const work = () => [
      createHash('sha256').update('wharf').digest('hex'),
      scryptSync('secret', 'salt', 16, { N: 1024 }).toString('hex'),
      new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', dateStyle: 'full' }).format(new Date(0)),
      zlib.deflateSync(Buffer.from('abc'.repeat(100))).toString('base64'),
      'Größe'.normalize('NFD').length,
      (2n ** 200n).toString(36),
      JSON.stringify([1.5, 'x', { a: null }]),
      /(\\d+)-(\\w+)/u.exec('port 20-data')?.slice(1).join('|'),
      [3, 1, 2].sort().join(),
      Math.fround(0.1).toString(),
    ];
    const before = work();
    const rssBefore = exeRss();
    const released = io.releaseFilePages();
    const rssAfter = exeRss();
    const again = work();
    const secondRelease = io.releaseFilePages();
    process.stdout.write(JSON.stringify({ before, again, released, rssBefore, rssAfter, third: work(), secondRelease }));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { before: unknown[]; again: unknown[]; third: unknown[]; released: number; rssBefore: number; rssAfter: number; secondRelease: number };
  assert.ok(out.released > 4096, `released ${out.released} KiB`);
  assert.ok(out.rssAfter < out.rssBefore / 2, `executable pages resident: ${out.rssBefore} -> ${out.rssAfter} KiB`);
  assert.deepEqual(out.again, out.before);
  assert.deepEqual(out.third, out.before);
  assert.ok(out.secondRelease >= 0);
});

test('an idle wharf serve gives back the executable pages start-up ran, and serves correctly afterwards', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'wharf-pages-'));
  dirs.push(root);
  writeFileSync(join(root, 'before.txt'), 'written before the release');
  const running = await serve([root, '--host', '127.0.0.1', '--port', '0', '--user', 'alice:wonderland', '--write', '--log-level', 'silent']);
  try {
    const pid = running.child.pid!;
    const started = executableRssKiB(pid);
    // The release after start-up comes once the server has been quiet for six seconds.
    let now = started;
    for (let i = 0; i < 100 && now > started / 2; i++) {
      await new Promise((r) => setTimeout(r, 150));
      now = executableRssKiB(pid);
    }
    assert.ok(now <= started / 2, `executable pages resident: ${started} KiB at start, ${now} KiB after 15 s idle`);
    const c = new Client(10_000);
    try {
      await c.access({ host: '127.0.0.1', port: running.port, user: 'alice', password: 'wonderland' });
      const body = Buffer.from('uploaded after the release '.repeat(1000));
      await c.uploadFrom(Readable.from([body]), 'after.txt');
      assert.deepEqual((await c.list()).map((e) => e.name).sort(), ['after.txt', 'before.txt']);
      const parts: Buffer[] = [];
      await c.downloadTo(new Writable({ write(chunk: Buffer, _e, cb) { parts.push(chunk); cb(); } }), 'before.txt');
      assert.equal(Buffer.concat(parts).toString(), 'written before the release');
      assert.deepEqual(readFileSync(join(root, 'after.txt')), body);
    } finally {
      c.close();
    }
  } finally {
    await running.stop();
  }
});
