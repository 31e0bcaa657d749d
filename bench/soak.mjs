#!/usr/bin/env node
// Soak test (not part of `npm test`): runs many FTP sessions against the real CLI on
// loopback and reports the server's RSS and open descriptors before and after.
//
//   npm run build && node bench/soak.mjs [--sessions 20000] [--concurrency 200] [--idle 2000]
//
// The server runs as a child under `ulimit -n 65536` (or the hard limit; bash wrapper) so 2 000+ sessions fit;
// this process needs ~idle+concurrency descriptors itself (run it under `ulimit -n` too if
// your limit is low). Clients are spread over 127.0.0.1-127.0.0.50 so ephemeral ports and
// the per-address limit are not the bottleneck.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '200' },
    idle: { type: 'string', default: '2000' },
    json: { type: 'string' },
  },
});
const SESSIONS = Number(values.sessions);
const CONCURRENCY = Number(values.concurrency);
const IDLE = Number(values.idle);
const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function measure(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  return { rssMiB: Math.round((rssKb / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** A minimal control-channel client: send a line, await the next complete reply. */
class Ftp {
  constructor(socket) {
    this.socket = socket;
    this.buf = '';
    this.waiters = [];
    this.replies = [];
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        if (!/^\d{3} /.test(line)) continue;
        const w = this.waiters.shift();
        if (w) w(line);
        else this.replies.push(line);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const w of this.waiters.splice(0)) w('000 closed');
    });
  }
  static connect(port, localAddress) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new Ftp(s)));
      s.once('error', reject);
    });
  }
  read() {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.socket.destroyed) return Promise.resolve('000 closed');
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  send(line) {
    this.socket.write(line + '\r\n');
    return this.read();
  }
}

async function expect(promise, code) {
  const line = await promise;
  if (!line.startsWith(String(code))) throw new Error(`expected ${code}, got "${line}"`);
  return line;
}

async function oneSession(port, n) {
  const c = await Ftp.connect(port, `127.0.0.${1 + (n % 50)}`);
  try {
    await expect(c.read(), 220);
    await expect(c.send('USER soak'), 331);
    await expect(c.send('PASS soak'), 230);
    await expect(c.send('PWD'), 257);
    if (n % 4 === 0) {
      const epsv = await expect(c.send('EPSV'), 229);
      const port2 = Number(/\|\|\|(\d+)\|/.exec(epsv)[1]);
      const data = net.connect({ port: port2, host: '127.0.0.1', localAddress: `127.0.0.${1 + (n % 50)}` });
      data.on('error', () => undefined);
      data.resume();
      const closed = new Promise((r) => data.on('close', r));
      const opening = await c.send('NLST');
      if (!/^(125|150) /.test(opening)) throw new Error(`NLST: ${opening}`);
      await closed;
      await expect(c.read(), 226);
    }
    if (n % 5 === 0) c.socket.destroy(); // vanish without QUIT
    else if (n % 5 === 1) c.socket.resetAndDestroy();
    else await expect(c.send('QUIT'), 221);
  } finally {
    c.socket.destroy();
  }
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'wharf-soak-'));
  for (let i = 0; i < 20; i++) writeFileSync(join(root, `file${i}.txt`), 'x'.repeat(100 * i));
  const cmd = `{ ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; } && exec "${process.execPath}" "${CLI}" serve "${root}" --host 127.0.0.1 --port 0 --user soak:soak --max-connections 20000 --max-connections-per-ip 20000 --login-timeout 120 --idle-timeout 900 --log-level error`;
  const child = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      text += d;
      const m = /port (\d+)\)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(text)));
  });
  const pid = child.pid;
  const report = { node: process.version, sessions: SESSIONS, concurrency: CONCURRENCY, idle: IDLE };
  await sleep(500);
  report.start = measure(pid);

  // Phase 1: many short sessions, CONCURRENCY at a time.
  let next = 0;
  let ok = 0;
  const errors = new Map();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SESSIONS) {
        const n = next++;
        try {
          await oneSession(port, n);
          ok++;
        } catch (err) {
          const key = String(err.message).slice(0, 60);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  report.shortSessions = { ok, failed: SESSIONS - ok, errors: Object.fromEntries(errors), seconds: (Date.now() - t0) / 1000 };
  await sleep(3000);
  report.afterShortSessions = measure(pid);

  // Phase 2: IDLE concurrent logged-in sessions, held open.
  const held = [];
  const t1 = Date.now();
  let loginFailures = 0;
  for (let i = 0; i < IDLE; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, IDLE - i) }, async (_, j) => {
        try {
          const c = await Ftp.connect(port, `127.0.0.${1 + ((i + j) % 50)}`);
          held.push(c);
          await expect(c.read(), 220);
          await expect(c.send('USER soak'), 331);
          await expect(c.send('PASS soak'), 230);
        } catch {
          loginFailures++;
        }
      }),
    );
  }
  await sleep(1000);
  report.whileIdle = { ...measure(pid), held: held.length, loginFailures, secondsToOpen: (Date.now() - t1) / 1000 };
  let alive = 0;
  await Promise.all(held.map(async (c) => ((await c.send('NOOP')).startsWith('200') ? alive++ : 0)));
  report.whileIdle.answeringNoop = alive;
  for (const c of held) c.socket.destroy();
  await sleep(3000);
  report.end = measure(pid);

  child.kill('SIGTERM');
  report.exitCode = await new Promise((r) => child.once('exit', (code) => r(code)));
  rmSync(root, { recursive: true, force: true });
  console.log(JSON.stringify(report, null, 2));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
