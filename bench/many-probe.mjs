// Concurrent-transfer probe: starts Wharf (and optionally peers) as the bench does, then
// alternates the retrMany/storMany load jobs between them, printing per rep GB/s, server CPU
// (whole process tree) and, for Wharf, the main thread's CPU. Usage:
//   node bench/many-probe.mjs <retr|stor> [reps] [quick|full] [--peers a,b] [--clients N] [--threads] [--cpu-prof]
// Peer "wharf-noengine" is Wharf with WHARF_ENGINE=off (transfers on the event loop),
// "wharf-1thread" / "wharf-2threads" Wharf with a one- or two-thread transfer engine (WHARF_ENGINE_THREADS),
// "wharf@/path/to/dist/src/cli/main.js" another Wharf build, "wharf?VAR=value&..." Wharf with that environment.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { benchSizes } from './lib/sizes.mjs';
import { threadCpuSeconds, treeCpuSeconds } from './lib/procs.mjs';

const [op, repsText = '3', size = 'quick', ...rest] = process.argv.slice(2);
const opt = (name, dflt) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : dflt);
const peers = opt('--peers', '').split(',').filter(Boolean);
const sizes = benchSizes(size !== 'full');
const clients = Number(opt('--clients', String(sizes.many)));
const fileSize = sizes.medium;
const work = path.join(BENCH_DIR, '.work', size);
const root = path.join(work, 'root');

function threadSnapshot(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), cpu: threadCpuSeconds(pid, tid) });
    } catch {}
  }
  return out;
}

/** Threads whose CPU grew since `before`, by name. */
function threadTable(pid, before) {
  const byName = new Map();
  for (const [tid, t] of threadSnapshot(pid)) {
    const d = t.cpu - (before.get(tid)?.cpu ?? 0);
    const label = tid === String(pid) ? 'main' : t.name;
    if (d > 0) byName.set(label, (byName.get(label) ?? 0) + d);
  }
  return '  threads: ' + [...byName].map(([n, c]) => `${n}=${c.toFixed(2)}`).join(' ') + (rest.includes('--each') ? '  each: ' + [...threadSnapshot(pid)].map(([tid, t]) => `${t.name}:${(t.cpu - (before.get(tid)?.cpu ?? 0)).toFixed(2)}`).join(' ') : '');
}

function cleanUploads() {
  for (const name of readdirSync(root)) if (name.startsWith('up-many-')) rmSync(path.join(root, name), { force: true });
}

/** Wharf variants by name, as the environment they run with (for A/B runs). */
const NAMED_VARIANTS = {
  'wharf-noengine': { WHARF_ENGINE: 'off' }, // the event-loop native path
  'wharf-1thread': { WHARF_ENGINE_THREADS: '1' },
  'wharf-2threads': { WHARF_ENGINE_THREADS: '2' },
  // V8's default young generation (up to 16 MiB semi-spaces) instead of the 1 MiB wharf serve keeps
  'wharf-bigyoung': { NODE_OPTIONS: '--max-semi-space-size=16' },
};

const started = [];
try {
  let i = 0;
  for (const name of ['wharf', ...peers]) {
    const env = { port: 21900 + i, pasv: { min: 44000 + i * 1000, max: 44999 + i * 1000 }, root, user: SYSTEM_USER, pass: 'Bench-pass-1', work,
      nodeArgs: name.startsWith('wharf') && rest.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/wharf-many-prof'] : [] };
    i++;
    const { name: variant, main, vars } = parseServerSpec(name);
    Object.assign(env, { main, vars: { ...NAMED_VARIANTS[variant], ...vars } });
    started.push({ name, env, handle: await SERVERS.find((s) => s.name === variant.replace(/-.*/, '')).start(env) });
  }
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const { name, env, handle } of rep % 2 ? [...started].reverse() : started) {
      cleanUploads();
      const job = op === 'retr'
        ? { kind: 'retrMany', port: env.port, user: env.user, pass: env.pass, clients, path: 'medium.bin', size: fileSize, timeoutSec: 120 }
        : { kind: 'storMany', port: env.port, user: env.user, pass: env.pass, clients, prefix: 'up-many-', size: fileSize, timeoutSec: 120 };
      const c0 = treeCpuSeconds(handle.pid);
      const m0 = name.startsWith('wharf') ? threadCpuSeconds(handle.pid, handle.pid) : 0;
      const t0 = name.startsWith('wharf') ? threadSnapshot(handle.pid) : undefined;
      const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'clients/load.mjs'), JSON.stringify(job)], { encoding: 'utf8' });
      await new Promise((res) => setTimeout(res, 300));
      const cpu = treeCpuSeconds(handle.pid) - c0;
      const main = name.startsWith('wharf') ? threadCpuSeconds(handle.pid, handle.pid) - m0 : NaN;
      if (rest.includes('--threads') && name.startsWith('wharf')) console.log(threadTable(handle.pid, t0));
      if (r.status !== 0) throw new Error(`${name}: load ${r.status} ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      const gb = out.bytes / 1e9;
      console.log(`${op} ${name.padEnd(10)} GB/s ${(gb / out.seconds).toFixed(2)}  wall ${out.seconds.toFixed(2)}s  server CPU ${cpu.toFixed(2)}s (${(cpu / gb).toFixed(3)} s/GB)  client CPU ${out.clientCpuSeconds?.toFixed(2)}s` + (name.startsWith('wharf') ? `  main thread ${main.toFixed(2)}s` : ''));
    }
  }
} finally {
  cleanUploads();
  await Promise.all(started.map((s) => s.handle.stop()));
}
