// Transfer probe: starts Wharf and one peer (as the bench does), then alternates curl
// RETR/STOR of bench/.work/<size>/root/big.bin between them, printing the median GB/s and
// server CPU s/GB of each. Usage:
//   node bench/xfer-probe.mjs <peer> <retr|stor> [reps] [quick|full] [--workers N] [--cpu-prof] [--tls] [--gap MS]
// --gap waits that long before each transfer: the bench's servers sit idle between their
// repetitions while the others run, and Wharf releases memory after 2 s of quiet.
// --tls runs the transfers as the bench's FTPS rows do (AUTH TLS, PROT P).
// <peer> may be a comma-separated list, and may name another Wharf build
// (wharf@/path/to/dist/src/cli/main.js) or environment for it (wharf?VAR=value&...): A/B runs.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { statSync, rmSync } from 'node:fs';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { accountCpuByCgroup, releaseCpuCgroups, treeCpuSeconds } from './lib/procs.mjs';

const [peer, op, repsText = '5', size = 'full', ...rest] = process.argv.slice(2);
const workers = rest.includes('--workers') ? Number(rest[rest.indexOf('--workers') + 1]) : 1;
const tls = rest.includes('--tls');
const gapMs = rest.includes('--gap') ? Number(rest[rest.indexOf('--gap') + 1]) : 0;
const work = path.join(BENCH_DIR, '.work', size);
const root = path.join(work, 'root');
const bytes = statSync(path.join(root, 'big.bin')).size;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const started = [];
try {
  let i = 0;
  for (const name of ['wharf', ...peer.split(',')]) {
    const env = { port: 21800 + i, pasv: { min: 42000 + i * 1000, max: 42999 + i * 1000 }, root, user: SYSTEM_USER, pass: 'Bench-pass-1', work, workers,
      ...(tls ? { tls: { cert: path.join(work, 'tls-cert.pem'), key: path.join(work, 'tls-key.pem') } } : {}),
      nodeArgs: name === 'wharf' && rest.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/wharf-prof'] : [] };
    i++;
    const { name: server, main, vars } = parseServerSpec(name);
    Object.assign(env, { main, vars });
    const handle = await SERVERS.find((s) => s.name === server).start(env);
    accountCpuByCgroup(handle.pid, `probe-${i}`); // nanosecond CPU figures, as the bench reads them
    started.push({ name, env, handle });
  }
  const results = Object.fromEntries(started.map((s) => [s.name, { gbps: [], cpu: [] }]));
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const { name, env, handle } of rep % 2 ? [...started].reverse() : started) {
      const url = `ftp://${env.user}:${env.pass}@127.0.0.1:${env.port}/`;
      const args = op === 'retr' ? ['-o', '/dev/null', url + 'big.bin'] : ['-T', path.join(root, 'big.bin'), url + 'up-probe.bin'];
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      const c0 = treeCpuSeconds(handle.pid);
      const t0 = process.hrtime.bigint();
      const r = spawnSync('curl', ['-s', '-S', ...(tls ? ['--ssl-reqd', '-k'] : []), ...args]);
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      await new Promise((r) => setTimeout(r, 300));
      const cpu = treeCpuSeconds(handle.pid) - c0;
      if (r.status !== 0) throw new Error(`${name}: curl ${r.status} ${r.stderr}`);
      results[name].gbps.push(bytes / 1e9 / sec);
      results[name].cpu.push(cpu / (bytes / 1e9));
      rmSync(path.join(root, 'up-probe.bin'), { force: true });
    }
  }
  for (const [name, r] of Object.entries(results)) {
    console.log(`${op} ${name.padEnd(10)} GB/s ${median(r.gbps).toFixed(3)} [${r.gbps.map((v) => v.toFixed(2)).join(' ')}]  CPU s/GB ${median(r.cpu).toFixed(3)} [${r.cpu.map((v) => v.toFixed(2)).join(' ')}]`);
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
  await new Promise((r) => setTimeout(r, 1000)); // a cgroup can only be removed once its last process is gone
  releaseCpuCgroups();
}
