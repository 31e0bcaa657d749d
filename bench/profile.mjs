// `npm run profile`: CPU flame graphs of Wharf under the bench's workloads.
//
//   npm run profile -- [--workload small-files|list|mlsd|logins|retr-many|stor-many|all (or a,b)] [--out docs/profiles]
//                      [--interval µs (V8's sampling interval, default 100)] [--runs N (measured runs, default 1)] [--keep]
//
// For each workload: starts Wharf as the bench does (bench/lib/servers.mjs, --users-file, --write,
// one process) under `node --cpu-prof`, runs the workload's load job once to warm up and once
// measured (the bench's --quick sizes, in bench/.work/quick), stops Wharf with SIGTERM so that
// node writes the profile, and draws the measured run's samples as <out>/<workload>.svg. The
// short workloads (a listing, 50 logins) give only tens of samples: --runs N measures N runs
// back to back and draws them together, for a steadier picture. The
// top-15 functions by self time go to stdout. The .cpuprofile files stay in a temporary folder
// (printed; removed unless --keep) for Chrome DevTools.
// Ports: control 25600-25699, passive 26000-26999 (clear of the bench and the probes).
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVERS } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER, ensureSystemUser, prepareRoot } from './lib/setup.mjs';
import { benchSizes } from './lib/sizes.mjs';
import { threadCpuSeconds } from './lib/procs.mjs';
import { flameSvg, sliceProfile, topSelf } from './lib/flame.mjs';

const REPO = path.resolve(BENCH_DIR, '..');
const PASS = 'Bench-pass-1';
const { values: args } = parseArgs({
  options: {
    workload: { type: 'string', default: 'all' },
    out: { type: 'string', default: path.join(REPO, 'docs/profiles') },
    interval: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});

const sizes = benchSizes(true);
const work = path.join(BENCH_DIR, '.work', 'quick');
const root = path.join(work, 'root');
const log = (msg) => process.stderr.write(`${msg}\n`);
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** The bench's load jobs (bench/lib/workloads.mjs) at its quick sizes; uploads under their own prefix. */
const WORKLOADS = {
  'small-files': {
    title: `small files: ${sizes.smallClients} clients x ${sizes.smallRounds} x (STOR+RETR+DELE of 4 KB)`,
    job: { kind: 'smallFiles', clients: sizes.smallClients, rounds: sizes.smallRounds, size: 4096, prefix: 'up-prof-small-' },
    uploads: 'up-prof-small-',
  },
  list: {
    title: `LIST of ${sizes.entries.toLocaleString('en')} entries`,
    job: { kind: 'listing', verb: 'LIST', path: 'many', minLines: sizes.entries },
  },
  mlsd: {
    title: `MLSD of ${sizes.entries.toLocaleString('en')} entries`,
    job: { kind: 'listing', verb: 'MLSD', path: 'many', minLines: sizes.entries },
  },
  logins: {
    title: `${sizes.logins} clients log in at once`,
    job: { kind: 'logins', clients: sizes.logins },
  },
  'retr-many': {
    title: `${sizes.many} concurrent RETR of ${sizes.mediumLabel}`,
    job: { kind: 'retrMany', clients: sizes.many, path: 'medium.bin', size: sizes.medium },
  },
  'stor-many': {
    title: `${sizes.many} concurrent STOR of ${sizes.mediumLabel}`,
    job: { kind: 'storMany', clients: sizes.many, prefix: 'up-prof-many-', size: sizes.medium },
    uploads: 'up-prof-many-',
  },
};

const names = args.workload === 'all' ? Object.keys(WORKLOADS) : args.workload.split(',');
for (const n of names) if (!WORKLOADS[n]) throw new Error(`unknown workload ${n} (one of ${Object.keys(WORKLOADS).join(', ')}, all)`);
const interval = Number(args.interval);
if (!(interval >= 10)) throw new Error('--interval: microseconds, at least 10');
const runs = Number(args.runs);
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs: a whole number, at least 1');

function cleanUploads(prefix) {
  if (!prefix) return;
  for (const name of readdirSync(root)) if (name.startsWith(prefix)) rmSync(path.join(root, name), { force: true });
}

/** One run of a load job (bench/clients/load.mjs) with its start and end on the monotonic clock, in µs. */
function load(job) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [path.join(BENCH_DIR, 'clients/load.mjs'), JSON.stringify({ timeoutSec: 50, ...job })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const t1 = process.hrtime.bigint();
      if (code !== 0) return reject(new Error(err.trim().split('\n').pop() || `load exited with ${code}`));
      resolve({ result: JSON.parse(out.trim().split('\n').pop()), fromUs: Number(t0 / 1000n), toUs: Number(t1 / 1000n) });
    });
  });
}

function table(rows) {
  const lines = ['  self ms   self %  function (file:line)'];
  for (const r of rows) lines.push(`${r.ms.toFixed(1).padStart(9)}  ${r.percent.toFixed(1).padStart(6)}%  ${r.name} (${r.where})`);
  return lines.join('\n');
}

async function profileOne(name, index, profDir) {
  const w = WORKLOADS[name];
  const dir = path.join(profDir, name);
  mkdirSync(dir, { recursive: true });
  const env = {
    port: 25600 + index,
    pasv: { min: 26000, max: 26999 }, // one server at a time
    root,
    user: SYSTEM_USER,
    pass: PASS,
    work,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(interval)],
  };
  const wharf = SERVERS.find((s) => s.name === 'wharf');
  log(`${name}: starting Wharf on 127.0.0.1:${env.port} under --cpu-prof (every ${interval} µs)`);
  const handle = await wharf.start(env);
  const measured = [];
  let mainCpuMs = NaN;
  try {
    const job = { ...w.job, port: env.port, user: env.user, pass: env.pass };
    cleanUploads(w.uploads);
    await load(job); // warm-up: the first login's scrypt, JIT, page cache
    cleanUploads(w.uploads);
    await settle(300);
    const cpu0 = threadCpuSeconds(handle.pid);
    for (let k = 0; k < runs; k++) {
      measured.push(await load(job));
      cleanUploads(w.uploads);
    }
    mainCpuMs = (threadCpuSeconds(handle.pid) - cpu0) * 1000; // the event loop's thread, from /proc (10 ms ticks)
    await settle(300);
  } finally {
    const t = Date.now();
    await handle.stop(); // SIGTERM; SIGKILL after 3 s (then there is no profile)
    log(`${name}: Wharf stopped ${Date.now() - t} ms after SIGTERM`);
  }
  // SIGTERM: Wharf closes, then exits with process.exit(0), and node writes the profile on the way out.
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread (the event loop)
  const main = files.find((f) => f.split('.')[4] === '0') ?? files[0];
  if (!main) throw new Error(`${name}: Wharf wrote no profile into ${dir} (did it exit cleanly on SIGTERM?)`);
  const file = path.join(dir, main);
  const whole = JSON.parse(readFileSync(file, 'utf8'));
  // The measured runs' window (each load client's whole life, its logins included). Node's
  // process.hrtime and V8's profile clock are both CLOCK_MONOTONIC on Linux; if they did not
  // meet, the whole profile is drawn and the subtitle says so.
  const timed = measured.reduce((a, m) => a + m.result.seconds * 1000, 0);
  let profile = sliceProfile(whole, measured[0].fromUs, measured[measured.length - 1].toUs);
  let note = `${runs === 1 ? 'measured run only' : `${runs} measured runs`} (${timed.toFixed(0)} ms timed by the client); main thread (its CPU time by /proc: ${mainCpuMs.toFixed(0)} ms); sampled every ${interval} µs`;
  if (profile.samples.length === 0) {
    profile = whole;
    note = `whole server life (start-up and warm-up included: the run's window matched no sample); main thread; sampled every ${interval} µs`;
  }
  const svg = flameSvg(profile, { title: `Wharf CPU flame graph: ${w.title}`, note });
  const out = path.join(args.out, `${name}.svg`);
  writeFileSync(out, svg);
  const top = topSelf(profile, 15);
  console.log(`\n## ${name}: ${w.title}\n${path.relative(process.cwd(), out)} (${(Buffer.byteLength(svg) / 1024).toFixed(0)} KB); profile ${args.keep ? file : "(deleted; --keep keeps it)"}`);
  console.log(table(top));
  return top;
}

async function main() {
  if (!existsSync(path.join(REPO, 'dist/src/cli/main.js'))) throw new Error('dist/src/cli/main.js missing: run npm run build first');
  if (!existsSync(path.join(root, 'many')) || !existsSync(path.join(root, 'medium.bin'))) {
    // the bench's own setup of the served tree (bench/run.mjs --quick --no-setup does the same)
    mkdirSync(work, { recursive: true });
    const owner = process.getuid?.() === 0 ? ensureSystemUser(root, PASS) : undefined;
    prepareRoot(root, sizes, owner);
  }
  mkdirSync(args.out, { recursive: true });
  const profDir = mkdtempSync(path.join(os.tmpdir(), 'wharf-profile-'));
  try {
    for (const [i, name] of names.entries()) await profileOne(name, i, profDir);
  } finally {
    if (args.keep) log(`\nprofiles kept in ${profDir} (open them in Chrome DevTools: Performance, Load profile)`);
    else rmSync(profDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  log(`profile failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
