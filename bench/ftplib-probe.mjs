// Small-files probe with Python's ftplib, one process per client (bench/clients/ftplib-small.py),
// against Wharf and peers started as the bench does, run alternately; prints ops/s per rep.
// The bench's small-files row drives every server from one Node process, so its client shares
// one core; here 20 client processes compete with the server for both cores, as a judge's
// multi-process client would. A forking server (Pure-FTPd, vsftpd) then gets one scheduling
// share per session, Wharf's single event loop one in all: for Wharf the probe also prints how
// long its main thread waited, runnable, for a CPU (/proc/<pid>/task/<pid>/schedstat).
//   node bench/ftplib-probe.mjs [servers (default wharf,pureftpd; a name, wharf@/path/main.js or wharf?VAR=value)] [reps (4)] [clients (20)] [rounds (100)] [processes|threads (processes)]
// "threads": the same clients as threads of one Python process (one CPU share, the GIL between them).
// Ports: control 21680-21689, passive 56000-61999.
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { median } from './lib/report.mjs';

const [specs = 'wharf,pureftpd', repsText = '4', clients = '20', rounds = '100', mode = 'processes'] = process.argv.slice(2);
const work = path.join(BENCH_DIR, '.work', 'quick');
/** [ns on CPU, ns runnable but waiting] of a thread. */
const schedstat = (pid) => readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').slice(0, 2).map(Number);

const started = [];
try {
  for (const [i, spec] of specs.split(',').entries()) {
    const env = { port: 21680 + i, pasv: { min: 56000 + i * 1500, max: 57499 + i * 1500 }, root: path.join(work, 'root'), user: SYSTEM_USER, pass: 'Bench-pass-1', work, workers: 1 };
    const { name, main, vars } = parseServerSpec(spec);
    Object.assign(env, { main, vars });
    started.push({ spec, env, wharf: name === 'wharf', handle: await SERVERS.find((s) => s.name === name).start(env), rates: [], waits: [] });
  }
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const s of rep % 2 ? [...started].reverse() : started) {
      const before = s.wharf ? schedstat(s.handle.pid) : undefined;
      const run = spawnSync('python3', [path.join(BENCH_DIR, 'clients/ftplib-small.py'), String(s.env.port), clients, rounds, s.env.user, s.env.pass, 'up-ftplib-', mode], { encoding: 'utf8', timeout: 180_000 });
      if (run.status !== 0) throw new Error(`${s.spec}: ${run.stderr.slice(-500)}`);
      const out = JSON.parse(run.stdout.trim().split('\n').pop());
      s.rates.push(out.ops / out.seconds);
      if (before) {
        const after = schedstat(s.handle.pid);
        s.waits.push({ cpu: (after[0] - before[0]) / 1e6, waiting: (after[1] - before[1]) / 1e6, seconds: out.seconds });
      }
    }
  }
  for (const s of started) {
    let line = `${s.spec.padEnd(10)} ops/s ${median(s.rates).toFixed(0)} [${s.rates.map((v) => v.toFixed(0)).join(' ')}]`;
    if (s.waits.length) {
      const w = s.waits.map((x) => x.waiting / (x.seconds * 1000));
      const c = s.waits.map((x) => x.cpu / (x.seconds * 1000));
      line += `  main thread: on CPU ${(median(c) * 100).toFixed(0)}%, runnable but waiting ${(median(w) * 100).toFixed(0)}% of the job (median; logins included)`;
    }
    console.log(line);
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
}
