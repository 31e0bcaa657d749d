// Login probe: starts Wharf and peers as the bench does, then alternates the "logins" load
// job between them, printing wall time and server CPU per rep. Usage:
//   node bench/login-probe.mjs [reps] [--peers ftpsrv,pyftpdlib,wharf@/other/dist/src/cli/main.js] [--clients N] [--cpu-prof] [--gap MS] [--tls]
// --tls logs in as the bench's FTPS logins row does (AUTH TLS and a full handshake first).
// --gap waits that long before each rep: in the bench a server sits idle while the others run
// (Wharf releases memory after a quiet moment), and the next burst starts from there.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER, ensureTlsPair } from './lib/setup.mjs';
import { treeCpuSeconds } from './lib/procs.mjs';

const [repsText = '5', ...rest] = process.argv.slice(2);
const opt = (name, dflt) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : dflt);
const peers = opt('--peers', '').split(',').filter(Boolean);
const clients = Number(opt('--clients', '200'));
const gapMs = Number(opt('--gap', '0'));
const secure = rest.includes('--tls');
const work = path.join(BENCH_DIR, '.work', 'quick');
const tls = secure ? ensureTlsPair(work) : undefined;
const root = path.join(work, 'root');

const started = [];
try {
  let i = 0;
  for (const name of ['wharf', ...peers]) {
    const env = { port: 21950 + i, pasv: { min: 47000 + i * 500, max: 47499 + i * 500 }, root, user: SYSTEM_USER, pass: 'Bench-pass-1', work, tls,
      nodeArgs: name === 'wharf' && rest.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/wharf-login-prof'] : [] };
    i++;
    // wharf@/path/to/main.js: another Wharf build, for interleaved A/B runs
    const { name: server, main, vars } = parseServerSpec(name);
    Object.assign(env, { main, vars });
    started.push({ name, env, handle: await SERVERS.find((s) => s.name === server).start(env) });
  }
  for (let rep = 0; rep < Number(repsText); rep++) {
    for (const { name, env, handle } of rep % 2 ? [...started].reverse() : started) {
      if (gapMs) await new Promise((res) => setTimeout(res, gapMs));
      const job = { kind: 'logins', tls: secure, port: env.port, user: env.user, pass: env.pass, clients, timeoutSec: 60 };
      const c0 = treeCpuSeconds(handle.pid);
      const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'clients/load.mjs'), JSON.stringify(job)], { encoding: 'utf8' });
      const burst = treeCpuSeconds(handle.pid) - c0; // before the quiet moment's collection (Wharf)
      await new Promise((res) => setTimeout(res, 700));
      const cpu = treeCpuSeconds(handle.pid) - c0;
      if (r.status !== 0) throw new Error(`${name}: load ${r.status} ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      console.log(`logins ${name.padEnd(10)} wall ${(out.seconds * 1000).toFixed(1)} ms  server CPU ${(burst * 1000).toFixed(0)} ms by the client's exit, ${(cpu * 1000).toFixed(0)} ms 0.7 s later, client CPU ${(out.clientCpuSeconds * 1000).toFixed(0)} ms`);
    }
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
}
