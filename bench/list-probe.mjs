// Listing probe: server CPU per LIST/MLSD of the bench's `many` folder, with interleaved A/B
// runs so that machine noise hits every variant alike. Each variant is a Wharf build (a path
// to its cli/main.js, e.g. a copy of an older dist/) or a peer started as the bench does.
//   node bench/list-probe.mjs [--size quick|full] [--verb LIST|MLSD] [--reps 5] [--lists 20]
//        [--wharf path/to/main.js,...] [--peer pureftpd] [--path many] [--peer-path /abs/many] [--min-lines 1000]
// Prints, per variant: median wall ms per listing (PASV to end of data and 226, as the bench
// client measures it) and server CPU ms per listing (utime+stime from /proc).
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { SERVERS } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { treeCpuSeconds } from './lib/procs.mjs';
import { FtpClient } from './clients/ftp.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const size = opt('size', 'full');
const verb = opt('verb', 'LIST');
const reps = Number(opt('reps', '5'));
const lists = Number(opt('lists', '20'));
const mains = opt('wharf', path.join(BENCH_DIR, '../dist/src/cli/main.js')).split(',');
const peer = opt('peer', undefined);
const dirPath = opt('path', 'many');
const minLines = Number(opt('min-lines', '1000'));
// Peers that log in as the bench's system user start in its home (the quick root, whatever
// --size says): give them the absolute path of the folder to list the same entries.
const peerPath = opt('peer-path', undefined);
const work = path.join(BENCH_DIR, '.work', size);
const root = path.join(work, 'root');
const pass = 'Bench-pass-1';
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startWharf(main, port, pasvMin) {
  const usersFile = path.join(work, 'wharf-users.json');
  if (!existsSync(usersFile)) {
    const hash = execFileSync(process.execPath, [main, 'passwd', pass], { encoding: 'utf8' }).trim();
    writeFileSync(usersFile, JSON.stringify({ users: [{ name: SYSTEM_USER, password: hash }] }, null, 2));
  }
  const child = spawn(process.execPath, [main, 'serve', root, '--host', '127.0.0.1', '--port', String(port), '--users-file', usersFile, '--write',
    '--pasv-ports', `${pasvMin}-${pasvMin + 999}`, '--max-connections', '100000', '--max-connections-per-ip', '100000', '--log-level', 'error'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await FtpClient.connect({ port });
      c.destroy();
      return { pid: child.pid, stop: async () => { child.kill('SIGTERM'); await sleep(200); } };
    } catch {
      await sleep(100);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${main} did not greet`);
}

const variants = [];
try {
  let i = 0;
  for (const main of mains) {
    const port = 21700 + i;
    variants.push({ name: `wharf${mains.length > 1 ? '#' + i : ''}`, port, handle: await startWharf(main, port, 46000 + i * 1000) });
    i++;
  }
  if (peer) {
    const env = { port: 21700 + i, pasv: { min: 46000 + i * 1000, max: 46999 + i * 1000 }, root, user: SYSTEM_USER, pass, work };
    variants.push({ name: peer, port: env.port, path: peerPath, handle: await SERVERS.find((s) => s.name === peer).start(env) });
  }
  const res = Object.fromEntries(variants.map((v) => [v.name, { wall: [], cpu: [] }]));
  for (let rep = 0; rep < reps; rep++) {
    for (const v of rep % 2 ? [...variants].reverse() : variants) {
      const c = await FtpClient.connect({ port: v.port });
      await c.login(SYSTEM_USER, pass);
      await c.listing(verb, v.path ?? dirPath); // warm: page cache, JIT
      await sleep(100);
      const c0 = treeCpuSeconds(v.handle.pid);
      const walls = [];
      for (let k = 0; k < lists; k++) {
        const t0 = process.hrtime.bigint();
        const lines = await c.listing(verb, v.path ?? dirPath);
        walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (lines < minLines) throw new Error(`${v.name}: ${verb} gave ${lines} lines`);
        v.lines = lines;
      }
      await sleep(150);
      res[v.name].cpu.push(((treeCpuSeconds(v.handle.pid) - c0) * 1000) / lists);
      res[v.name].wall.push(median(walls));
      await c.quit();
    }
  }
  for (const v of variants) console.log(`${v.name}: ${v.lines} lines per listing`);
  for (const [name, r] of Object.entries(res)) {
    console.log(`${name.padEnd(10)} ${verb} ${size}: wall ms ${median(r.wall).toFixed(2)} [${r.wall.map((x) => x.toFixed(1)).join(' ')}]  server CPU ms ${median(r.cpu).toFixed(2)} [${r.cpu.map((x) => x.toFixed(1)).join(' ')}]`);
  }
} finally {
  await Promise.all(variants.map((v) => v.handle.stop()));
}
