// Where an idle Wharf's memory goes. Starts `wharf serve` from a dist folder (default: this
// repository's), logs N sessions in exactly like the idle_memory row (bench/clients/load.mjs
// job "idle"), waits a second, and prints PSS/RSS with a breakdown by mapping kind (from
// /proc/<pid>/smaps) and, with --heap, V8's heap statistics (a preload answers SIGUSR2).
// Runs several builds interleaved (A, B, A, B ...) so that the machine's noise hits each alike.
//
//   node bench/idle-probe.mjs --sessions 1000 --reps 3 --dist /tmp/wharf-base/dist --dist dist
//   node bench/idle-probe.mjs --sessions 200 --heap --snapshot   (writes a .heapsnapshot too)
//   node bench/idle-probe.mjs --reps 3 --pre 8000 --dist dist --dist 'dist?WHARF_NATIVE=off'
// A --dist may end in ?VAR=value (that server's environment). --pre 8000 logs in after 8 s of
// quiet, as in the full bench, where the idle row comes long after the server's last busy row.
// Besides PSS and USS it prints private dirty memory: PSS and USS move by several MiB with how
// many other node processes happen to map the node binary's pages; dirty memory does not.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForGreeting } from './lib/servers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '1' },
    dist: { type: 'string', multiple: true },
    heap: { type: 'boolean', default: false },
    snapshot: { type: 'boolean', default: false },
    wait: { type: 'string', default: '1000' },
    port: { type: 'string', default: '22100' },
    maps: { type: 'boolean', default: false },
    gc: { type: 'boolean', default: false },
    warm: { type: 'boolean', default: false },
    'warm-gap': { type: 'string', default: '500' },
    pre: { type: 'string', default: '0' },
  },
});
const sessions = Number(args.sessions);
/** Each --dist may end in `?VAR=value&...`: environment for that server's process (A/B of a switch). */
const dists = (args.dist ?? ['dist']).map((spec) => {
  const [d, query = ''] = spec.split('?');
  return { dir: path.resolve(REPO, d), vars: Object.fromEntries(new URLSearchParams(query)), label: spec };
});
const work = path.join(os.tmpdir(), `wharf-idle-probe-${process.pid}`);
mkdirSync(path.join(work, 'root', 'many'), { recursive: true });
if (args.warm) {
  // What the full bench has done to the server before its idle row: listings, many downloads, small files.
  for (let i = 0; i < 10000; i++) writeFileSync(path.join(work, 'root', 'many', `entry-${String(i).padStart(5, '0')}.txt`), '');
  writeFileSync(path.join(work, 'root', 'medium.bin'), Buffer.alloc(10 * 1024 * 1024, 0x61));
}
const PASS = 'Bench-pass-1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A preload (only with --heap): on SIGUSR2 writes V8's heap statistics next to the probe. */
const preload = path.join(work, 'heap-stats.mjs');
writeFileSync(
  preload,
  `import v8 from 'node:v8';\nimport { writeFileSync } from 'node:fs';\nconst native = process.env.WHARF_PROBE_GC ? (await import(process.env.WHARF_PROBE_GC)).nativeIo : undefined;\nprocess.on('SIGUSR2', () => {\n  if (process.env.WHARF_PROBE_GC) { globalThis.gc(); native?.trimMemory(); }\n  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, committed: s.space_size }]));\n  writeFileSync(process.env.WHARF_PROBE_STATS, JSON.stringify({ heap: v8.getHeapStatistics(), spaces, mem: process.memoryUsage() }));\n});\n`,
);

function smapsBreakdown(pid) {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const kinds = {};
  let kind = 'anon';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[2];
      if (name === '[heap]') kind = 'malloc brk [heap]';
      else if (name.startsWith('[stack')) kind = 'stack';
      else if (name.startsWith('[')) kind = name;
      else if (name.endsWith('/node') || name.includes('/bin/node')) kind = 'node binary';
      else if (name) kind = name.endsWith('.so') || /\.so[.\d]*$/.test(name) ? 'shared libs' : 'other files';
      else kind = 'anon mmap';
      continue;
    }
    const pss = /^Pss:\s+(\d+)/.exec(line);
    if (pss) kinds[kind] = (kinds[kind] ?? 0) + Number(pss[1]);
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v / 1024).toFixed(2)]));
}

const pssMiB = (pid) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;
/** Private (unshared) memory: what this process alone costs, whatever other node processes share. */
const ussMiB = (pid) => {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return (Number(/^Private_Clean:\s+(\d+)/m.exec(t)[1]) + Number(/^Private_Dirty:\s+(\d+)/m.exec(t)[1])) / 1024;
};
/**
 * Private dirty memory: the process's own heap pages (V8, malloc, stacks). Unlike PSS and USS
 * it does not move with how many other processes map the node binary at that moment (its
 * pages count in full, halves or thirds as other node processes come and go: 7-15 MiB here).
 */
const dirtyMiB = (pid) => Number(/^Private_Dirty:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;
const rssMiB = (pid) => Number(/^Rss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;

async function probe({ dir: dist, vars, label }, port) {
  const main = path.join(dist, 'src/cli/main.js');
  const usersFile = path.join(work, 'users.json');
  if (!existsSync(usersFile)) {
    const hash = execFileSync(process.execPath, [main, 'passwd', PASS], { encoding: 'utf8' }).trim();
    writeFileSync(usersFile, JSON.stringify({ users: [{ name: 'bench', password: hash }] }));
  }
  const statsFile = path.join(work, `stats-${port}.json`);
  const nodeArgs = [...(args.heap || args.gc ? ['--import', preload] : []), ...(args.gc ? ['--expose-gc'] : []), ...(args.snapshot ? ['--heapsnapshot-signal=SIGUSR1'] : [])];
  const server = spawn(
    process.execPath,
    [...nodeArgs, main, 'serve', path.join(work, 'root'), '--host', '127.0.0.1', '--port', String(port), '--users-file', usersFile, '--write', '--pasv-ports', `${port + 1}-${port + 400}`, '--max-connections', '100000', '--max-connections-per-ip', '100000', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...vars, WHARF_PROBE_STATS: statsFile, ...(args.gc ? { WHARF_PROBE_GC: path.join(dist, 'src/core/native.js') } : {}) }, cwd: work },
  );
  await waitForGreeting(port);
  await sleep(500);
  const result0 = {};
  const fresh = { pss: pssMiB(server.pid), uss: ussMiB(server.pid), rss: rssMiB(server.pid) };
  if (args.warm) {
    const job = (j) => runLoad({ port, user: 'bench', pass: PASS, timeoutSec: 120, ...j });
    await job({ kind: 'listing', verb: 'LIST', path: 'many', minLines: 10000 });
    await job({ kind: 'listing', verb: 'MLSD', path: 'many', minLines: 10000 });
    await job({ kind: 'retrMany', clients: 200, path: 'medium.bin', size: 10 * 1024 * 1024 });
    await job({ kind: 'storMany', clients: 200, size: 10 * 1024 * 1024, prefix: 'up-many-' });
    await job({ kind: 'smallFiles', clients: 20, rounds: 200, size: 4096, prefix: 'up-small-' });
    for (const f of readdirSync(path.join(work, 'root'))) if (f.startsWith('up-')) rmSync(path.join(work, 'root', f));
    await sleep(Number(args['warm-gap']));
    result0.warmPss = pssMiB(server.pid);
  }
  await sleep(Number(args.pre)); // --pre: quiet time before the logins (the full bench runs other servers in between)
  const cpu0 = cpuSeconds(server.pid);
  const load = spawn(process.execPath, [path.join(REPO, 'bench/clients/load.mjs'), JSON.stringify({ kind: 'idle', port, user: 'bench', pass: PASS, clients: sessions, timeoutSec: 120 })], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    load.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY')) resolve();
    });
    load.once('exit', (code) => reject(new Error(`load exited ${code}`)));
  });
  await sleep(Number(args.wait));
  const result = { ...result0, dist: label, fresh, pss: pssMiB(server.pid), uss: ussMiB(server.pid), dirty: dirtyMiB(server.pid), rss: rssMiB(server.pid), loginCpu: +(cpuSeconds(server.pid) - cpu0).toFixed(2) };
  if (args.maps) result.maps = smapsBreakdown(server.pid);
  if (args.heap) {
    server.kill('SIGUSR2');
    await sleep(300);
    const s = JSON.parse(readFileSync(statsFile, 'utf8'));
    const M = (b) => +(b / 1048576).toFixed(2);
    result.v8 = { used: M(s.heap.used_heap_size), committed: M(s.heap.total_heap_size), malloced: M(s.heap.malloced_memory), external: M(s.mem.external), arrayBuffers: M(s.mem.arrayBuffers) };
    result.spaces = Object.fromEntries(Object.entries(s.spaces).map(([k, v]) => [k, `${M(v.used)}/${M(v.committed)}`]));
  }
  if (args.gc) {
    // What a full collection and malloc_trim would give back right now (the preload does both).
    server.kill('SIGUSR2');
    await sleep(500);
    result.afterGc = { pss: pssMiB(server.pid), uss: ussMiB(server.pid) };
  }
  if (args.snapshot) {
    server.kill('SIGUSR1');
    await sleep(5000);
    result.snapshots = readdirSync(work).filter((f) => f.endsWith('.heapsnapshot')).map((f) => path.join(work, f));
  }
  // Later: what is left after 4 s more of quiet (does the idle release happen?).
  await sleep(4000);
  result.pssLater = pssMiB(server.pid);
  result.ussLater = ussMiB(server.pid);
  load.stdin.end();
  await new Promise((r) => load.once('exit', r));
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  return result;
}

function runLoad(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bench/clients/load.mjs'), JSON.stringify(job)], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${job.kind} exited ${code}`))));
  });
}

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const reps = Number(args.reps);
const all = new Map(dists.map((d) => [d.label, []]));
let port = Number(args.port);
for (let r = 0; r < reps; r++) {
  for (const dist of dists) {
    const res = await probe(dist, port);
    port += 500;
    all.get(dist.label).push(res);
    const fmt = (x) => x.toFixed(1);
    if (res.warmPss !== undefined) process.stdout.write(`${res.dist}: after the busy rows PSS ${res.warmPss.toFixed(1)} MiB\n`);
    process.stdout.write(`${res.dist}: fresh PSS ${fmt(res.fresh.pss)} USS ${fmt(res.fresh.uss)} MiB; ${sessions} idle: PSS ${fmt(res.pss)} USS ${fmt(res.uss)} dirty ${fmt(res.dirty)} RSS ${fmt(res.rss)}; 4 s later PSS ${fmt(res.pssLater)} USS ${fmt(res.ussLater)} MiB, login CPU ${res.loginCpu} s\n`);
    if (res.maps) process.stdout.write(`  maps ${JSON.stringify(res.maps)}\n`);
    if (res.v8) process.stdout.write(`  v8 ${JSON.stringify(res.v8)}\n  spaces ${JSON.stringify(res.spaces)}\n`);
    if (res.afterGc) process.stdout.write(`  after gc + trim: PSS ${fmt(res.afterGc.pss)} USS ${fmt(res.afterGc.uss)} MiB\n`);
    if (res.snapshots) process.stdout.write(`  snapshots ${res.snapshots.join(' ')}\n`);
  }
}
if (reps > 1) {
  for (const [dist, rs] of all) {
    const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const list = (k) => `${med(rs.map((r) => r[k])).toFixed(1)} MiB (${rs.map((r) => r[k].toFixed(1)).join(', ')})`;
    process.stdout.write(`median ${dist}: PSS ${list('pss')}, USS ${list('uss')}, dirty ${list('dirty')}\n`);
  }
}
