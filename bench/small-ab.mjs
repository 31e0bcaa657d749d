// Small-files A/B between two Wharf builds: both run at once (as the bench runs Wharf), the
// small-files job goes to each in turn (A, B, B, A, ...), and it prints ops/s and server CPU
// per operation: the whole process and its main thread alone (the event loop, which one
// core bounds). CPU per operation is far less noisy than ops/s on this shared 2-core machine.
//
//   node bench/small-ab.mjs <distA> <distB> [reps=8] [rounds=60] [clients=10]
//
// A dist is a folder holding src/cli/main.js (copy `dist` aside to keep a baseline; give
// the copy a node_modules symlink and package.json), optionally followed by `?VAR=value&...`
// to set environment variables for that server (e.g. `dist?WHARF_WORKERS=2`). The served
// root is $SMALL_AB_ROOT (default: a fresh folder under the OS temp dir); put it on tmpfs to
// take the filesystem out of the comparison, or on the bench disk to keep it in.
import * as path from 'node:path';
import * as os from 'node:os';
import * as net from 'node:net';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { BENCH_DIR } from './lib/setup.mjs';
import { threadCpuSeconds, treeCpuSeconds } from './lib/procs.mjs';

const [distA, distB, repsText = '8', roundsText = '60', clientsText = '10'] = process.argv.slice(2);
if (!distA || !distB) {
  process.stderr.write('usage: node bench/small-ab.mjs <distA> <distB> [reps] [rounds] [clients]\n');
  process.exit(2);
}
const USER = 'ab';
const PASS = 'Small-ab-pass-1';
const LOAD = path.join(BENCH_DIR, 'clients/load.mjs');
const work = mkdtempSync(path.join(os.tmpdir(), 'wharf-small-ab-'));
const root = process.env.SMALL_AB_ROOT ?? path.join(work, 'root');
spawnSync('mkdir', ['-p', root]);
chmodSync(root, 0o777);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no server on port ${port}`);
}

const servers = [];
try {
  const hash = execFileSync(process.execPath, [path.join(distA.split('?')[0], 'src/cli/main.js'), 'passwd', PASS], { encoding: 'utf8' }).trim();
  const usersFile = path.join(work, 'users.json');
  writeFileSync(usersFile, JSON.stringify({ users: [{ name: USER, password: hash }] }));
  for (const [i, spec] of [distA, distB].entries()) {
    const [dist, query = ''] = spec.split('?');
    const env = { ...process.env, ...Object.fromEntries(new URLSearchParams(query)) };
    const port = 23750 + i;
    const pasv = 59000 + i * 500;
    const child = spawn(process.execPath, [path.join(dist, 'src/cli/main.js'), 'serve', root, '--host', '127.0.0.1', '--port', String(port), '--users-file', usersFile, '--write',
      '--pasv-ports', `${pasv}-${pasv + 499}`, '--max-connections', '100000', '--max-connections-per-ip', '100000', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'], env });
    const server = { label: i === 0 ? 'A' : 'B', spec, port, child, stderr: '', rate: [], cpu: [], main: [] };
    child.stderr.on('data', (d) => (server.stderr = (server.stderr + d).slice(-2000))); // the banner, or why it failed
    servers.push(server);
  }
  for (const s of servers) await waitForPort(s.port);
  const job = (s, rounds, prefix) => JSON.stringify({ kind: 'smallFiles', port: s.port, user: USER, pass: PASS, clients: Number(clientsText), rounds, size: 4096, prefix, timeoutSec: 120 });
  for (const s of servers) spawnSync(process.execPath, [LOAD, job(s, 10, `warm-${s.label}-`)]); // past the first JIT tier
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const s of rep % 2 ? [...servers].reverse() : servers) {
      const cpu0 = treeCpuSeconds(s.child.pid);
      const main0 = threadCpuSeconds(s.child.pid);
      const run = spawnSync(process.execPath, [LOAD, job(s, Number(roundsText), `ab-${s.label}-`)], { encoding: 'utf8' });
      await new Promise((r) => setTimeout(r, 400)); // let the last closes land in this rep's CPU
      if (run.status !== 0) throw new Error(`${s.label}: ${run.stderr}\nserver said: ${s.stderr}`);
      const out = JSON.parse(run.stdout.trim().split('\n').pop());
      s.rate.push(out.ops / out.seconds);
      s.cpu.push(((treeCpuSeconds(s.child.pid) - cpu0) * 1e6) / out.ops);
      s.main.push(((threadCpuSeconds(s.child.pid) - main0) * 1e6) / out.ops);
    }
  }
  const list = (a) => a.map((v) => v.toFixed(0)).join(' ');
  for (const s of servers) {
    console.log(`${s.label} ${s.spec}\n  ops/s ${median(s.rate).toFixed(0)} [${list(s.rate)}]\n  server CPU us/op ${median(s.cpu).toFixed(0)} [${list(s.cpu)}]\n  main thread us/op ${median(s.main).toFixed(0)} [${list(s.main)}]`);
  }
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  await Promise.all(servers.map((s) => (s.child.exitCode === null ? new Promise((r) => s.child.once('exit', r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
}
