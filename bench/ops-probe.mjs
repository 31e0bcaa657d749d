// Small-files probe: Wharf and one peer started as the bench does, the small-files job run
// alternately against each; prints ops/s and server CPU ms per operation (medians).
//   node bench/ops-probe.mjs <peer (a name, wharf@/path/main.js or wharf?VAR=value)> [reps] [rounds] [--workers N] [--clients N (default 10; the bench runs 20)] [--cpu-prof (Wharf's profile in /tmp/wharf-ops-prof)] [--tls]
// --tls runs the job as the bench's FTPS small-files row does (AUTH TLS, PROT P data connections).
// The client's own CPU per operation is printed too: on a 2-core machine it shares the cores.
// "machine CPU" is every CPU's busy time over the job (/proc/stat, kernel threads and softirq included; the client's start-up too).
// For Wharf also its main thread's CPU per operation and how busy that event loop was.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER, ensureTlsPair } from './lib/setup.mjs';
import { cpuByThreadName, machineCpuSeconds, threadCpuSeconds, treeCpuSeconds } from './lib/procs.mjs';

const [peer, repsText = '3', rounds = '60', ...rest] = process.argv.slice(2);
const workers = rest.includes('--workers') ? Number(rest[rest.indexOf('--workers') + 1]) : 1;
const clients = rest.includes('--clients') ? Number(rest[rest.indexOf('--clients') + 1]) : 10;
const work = path.join(BENCH_DIR, '.work', 'quick');
const secure = rest.includes('--tls');
const tls = secure ? ensureTlsPair(work) : undefined;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const started = [];
try {
  let i = 0;
  for (const name of ['wharf', peer]) {
    const env = { port: 21600 + i, pasv: { min: 22000 + i * 2500, max: 24399 + i * 2500 }, root: path.join(work, 'root'), user: SYSTEM_USER, pass: 'Bench-pass-1', work, workers, tls,
      nodeArgs: name.startsWith('wharf') && rest.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/wharf-ops-prof'] : [] };
    i++;
    const { name: server, main, vars } = parseServerSpec(name); // A/B: wharf@/path/main.js, wharf?VAR=value
    Object.assign(env, { main, vars });
    started.push({ name, env, handle: await SERVERS.find((s) => s.name === server).start(env) });
  }
  const res = Object.fromEntries(started.map((s) => [s.name, { rate: [], cpu: [], client: [], machine: [], main: [], busy: [], threads: {} }]));
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const { name, env, handle } of rep % 2 ? [...started].reverse() : started) {
      const job = { kind: 'smallFiles', tls: secure, port: env.port, user: env.user, pass: env.pass, clients, rounds: Number(rounds), size: 4096, prefix: 'up-ops-', timeoutSec: 120 };
      const c0 = treeCpuSeconds(handle.pid);
      const w0 = machineCpuSeconds();
      const isWharf = name.startsWith('wharf');
      const m0 = isWharf ? threadCpuSeconds(handle.pid, handle.pid) : 0;
      const t0 = isWharf ? cpuByThreadName(handle.pid) : new Map();
      const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'clients/load.mjs'), JSON.stringify(job)], { encoding: 'utf8' });
      const machine = machineCpuSeconds() - w0;
      await new Promise((r) => setTimeout(r, 700));
      const cpu = treeCpuSeconds(handle.pid) - c0;
      const mainCpu = isWharf ? threadCpuSeconds(handle.pid, handle.pid) - m0 : NaN;
      if (isWharf) for (const [thread, sec] of cpuByThreadName(handle.pid)) (res[name].threads[thread] ??= []).push(sec - (t0.get(thread) ?? 0));
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      res[name].rate.push(out.ops / out.seconds);
      res[name].cpu.push((cpu * 1000) / out.ops);
      res[name].client.push((out.clientCpuSeconds * 1000) / out.ops);
      res[name].machine.push((machine * 1000) / out.ops);
      // Wharf's event loop: its CPU per operation, and how busy it was over the job's wall time.
      res[name].main.push((mainCpu * 1000) / out.ops);
      res[name].busy.push(mainCpu / out.seconds);
      res[name].ops = out.ops;
    }
  }
  for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(10)} ops/s ${median(r.rate).toFixed(0)} [${r.rate.map((v) => v.toFixed(0)).join(' ')}]  server CPU ms/op ${median(r.cpu).toFixed(3)}  client CPU ms/op ${median(r.client).toFixed(3)}  machine CPU ms/op ${median(r.machine).toFixed(3)}` + (name.startsWith('wharf') ? `  main thread ms/op ${median(r.main).toFixed(3)} (busy ${(median(r.busy) * 100).toFixed(0)}%)` : ''));
  // Where the rest of Wharf's CPU goes, by thread name (libuv's pool, the transfer engine, V8's helpers).
  for (const [name, r] of Object.entries(res)) {
    const parts = Object.entries(r.threads).filter(([, v]) => median(v) > 0).map(([thread, v]) => `${thread} ${((median(v) * 1000) / r.ops).toFixed(3)}`);
    if (parts.length) console.log(`${name.padEnd(10)} ms/op by thread: ${parts.join(', ')}`);
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
}
