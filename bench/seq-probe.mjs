// Where a busy Wharf's memory stays once it is idle. Runs the bench's rows in the full bench's
// order (bench/lib/workloads.mjs, the same clients) against one `wharf serve` per dist folder,
// and after each row prints PSS with a breakdown by mapping kind (from /proc/<pid>/smaps:
// V8 heap pages, glibc arenas, the main [heap], code...) and, with --heap, V8's heap spaces
// (a preload answers SIGUSR2). Several dist folders run one after the other, interleaved per rep.
//
//   node bench/seq-probe.mjs                            full sizes, this repository's dist
//   node bench/seq-probe.mjs --quick --dist /tmp/wharf-base/dist --dist dist --reps 2
//   node bench/seq-probe.mjs --only idle_memory         a fresh server's idle row alone
// Needs the tree a full bench run leaves in bench/.work (run `npm run bench` once first).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForGreeting } from './lib/servers.mjs';
import { workloads } from './lib/workloads.mjs';
import { SYSTEM_USER } from './lib/setup.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    dist: { type: 'string', multiple: true },
    reps: { type: 'string', default: '1' },
    only: { type: 'string' },
    heap: { type: 'boolean', default: false },
    port: { type: 'string', default: '23100' },
    env: { type: 'string', multiple: true },
    maps: { type: 'boolean', default: false },
    'at-end': { type: 'string' },
    import: { type: 'string', multiple: true },
    'node-arg': { type: 'string', multiple: true },
  },
});
const MiB = 1024 * 1024;
const sizes = args.quick
  ? { big: 128 * MiB, bigLabel: '128 MiB', medium: 2 * MiB, mediumLabel: '2 MiB', many: 50, logins: 50, entries: 2000, smallClients: 10, smallRounds: 30, idle: 200 }
  : { big: 1024 * MiB, bigLabel: '1 GiB', medium: 10 * MiB, mediumLabel: '10 MiB', many: 200, logins: 200, entries: 10_000, smallClients: 20, smallRounds: 200, idle: 1000 };
const benchWork = path.join(HERE, '.work', args.quick ? 'quick' : 'full');
if (!existsSync(path.join(benchWork, 'root', 'big.bin'))) throw new Error(`no ${benchWork}/root: run the bench once first`);
const ORDER = ['retr_big', 'stor_big', 'ftps_retr_big', 'ftps_stor_big', 'list', 'mlsd', 'retr_many', 'stor_many', 'small_files', 'idle_memory'];
const only = args.only ? new Set(args.only.split(',')) : undefined;
const rows = workloads({ sizes })
  .filter((w) => ORDER.includes(w.id) && (!only || only.has(w.id)))
  .sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
const PASS = 'Bench-pass-1';
const work = path.join(os.tmpdir(), `wharf-seq-probe-${process.pid}`);
mkdirSync(work, { recursive: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const extraEnv = Object.fromEntries((args.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const preload = path.join(work, 'heap-stats.mjs');
writeFileSync(
  preload,
  `import v8 from 'node:v8';\nimport { writeFileSync } from 'node:fs';\nprocess.on('SIGUSR2', () => {\n  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, [s.space_used_size, s.space_size]]));\n  writeFileSync(process.env.WHARF_PROBE_STATS, JSON.stringify({ heap: v8.getHeapStatistics(), spaces, mem: process.memoryUsage() }));\n});\n`,
);

/** PSS (MiB) per kind of mapping. Anonymous mappings are told apart by size and shape. */
function breakdown(pid) {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const kinds = {};
  let kind = 'other';
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const size = parseInt(head[2], 16) - parseInt(head[1], 16);
      const name = head[4];
      if (name === '[heap]') kind = 'brk heap';
      else if (name.startsWith('[stack')) kind = 'stack';
      else if (name.startsWith('[anon:')) kind = name;
      else if (name.startsWith('[')) kind = 'other';
      else if (name.endsWith('/node') || name.includes('/bin/node')) kind = 'node binary';
      else if (name) kind = /\.so[.\d]*$/.test(name) || name.endsWith('.node') ? 'libs' : 'files';
      else if (head[3].startsWith('rwx') || head[3].startsWith('r-x')) kind = 'anon exec (code)';
      else kind = size % (256 * 1024) === 0 ? 'anon 256K-multiples (V8 pages)' : 'anon other (malloc arenas, mmap)';
      continue;
    }
    const pss = /^Pss:\s+(\d+)/.exec(line);
    if (pss) kinds[kind] = (kinds[kind] ?? 0) + Number(pss[1]);
  }
  return Object.fromEntries(Object.entries(kinds).filter(([, v]) => v > 100).map(([k, v]) => [k, +(v / 1024).toFixed(1)]));
}
/** The largest anonymous mappings (with --maps): address, size, perms, PSS, and what follows them. */
function topAnon(pid, n = 14) {
  const blocks = readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const maps = blocks.map((b) => {
    const h = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+ *(.*)$/m.exec(b);
    return { start: parseInt(h[1], 16), end: parseInt(h[2], 16), perms: h[3], name: h[4], pss: Number(/^Pss:\s+(\d+)/m.exec(b)?.[1] ?? 0) };
  });
  return maps
    .map((m, i) => ({ ...m, next: maps[i + 1] }))
    .filter((m) => !m.name || m.name === '[heap]')
    .sort((a, b) => b.pss - a.pss)
    .slice(0, n)
    .map((m) => `${m.start.toString(16)} ${((m.end - m.start) / 1024) | 0}K ${m.perms} ${m.name} pss ${m.pss}K${m.next && m.next.start === m.end && m.next.perms === '---p' ? ` +${((m.next.end - m.next.start) / 1024) | 0}K ---p` : ''}`);
}
/** CPU seconds and minor page faults of the server so far (page faults show memory given back and taken again). */
function cpuAndFaults(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, minflt: Number(f[7]) };
}
const pss = (pid) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;

async function heapStats(server, statsFile) {
  rmSync(statsFile, { force: true });
  server.kill('SIGUSR2');
  for (let i = 0; i < 20 && !existsSync(statsFile); i++) await sleep(50);
  const s = JSON.parse(readFileSync(statsFile, 'utf8'));
  const M = (b) => +(b / MiB).toFixed(1);
  return {
    v8: { used: M(s.heap.used_heap_size), committed: M(s.heap.total_heap_size), malloced: M(s.heap.malloced_memory), external: M(s.mem.external), arrayBuffers: M(s.mem.arrayBuffers) },
    spaces: Object.fromEntries(Object.entries(s.spaces).map(([k, [u, c]]) => [k.replace('_space', ''), `${M(u)}/${M(c)}`])),
  };
}

async function sequence(dist, port) {
  const main = path.join(dist, 'src/cli/main.js');
  const usersFile = path.join(work, 'users.json');
  if (!existsSync(usersFile)) {
    const hash = execFileSync(process.execPath, [main, 'passwd', PASS], { encoding: 'utf8' }).trim();
    writeFileSync(usersFile, JSON.stringify({ users: [{ name: SYSTEM_USER, password: hash }] }));
  }
  const statsFile = path.join(work, `stats-${port}.json`);
  const tls = { cert: path.join(benchWork, 'tls-cert.pem'), key: path.join(benchWork, 'tls-key.pem') };
  const pasv = { min: port + 1, max: port + 2400 };
  const root = path.join(benchWork, 'root');
  const server = spawn(
    process.execPath,
    [...(args['node-arg'] ?? []), ...(args.heap ? ['--import', preload] : []), ...(args.import ?? []).flatMap((f) => ['--import', f]), main, 'serve', root, '--host', '127.0.0.1', '--port', String(port), '--users-file', usersFile, '--write', '--pasv-ports', `${pasv.min}-${pasv.max}`, '--max-connections', '100000', '--max-connections-per-ip', '100000', '--log-level', 'error', '--tls-cert', tls.cert, '--tls-key', tls.key],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...extraEnv, WHARF_PROBE_STATS: statsFile }, cwd: work },
  );
  try {
    await waitForGreeting(port);
    await sleep(1000);
    let last = cpuAndFaults(server.pid);
    const report = async (label, value) => {
      const now = cpuAndFaults(server.pid);
      const line = { row: label, ...(value !== undefined ? { value: +value.toFixed(3) } : {}), cpu: +(now.cpu - last.cpu).toFixed(2), minflt: now.minflt - last.minflt, pss: +pss(server.pid).toFixed(1), maps: breakdown(server.pid) };
      last = now;
      if (args.heap) Object.assign(line, await heapStats(server, statsFile));
      if (args.maps && (label === 'fresh' || label === 'idle_memory')) line.anon = topAnon(server.pid);
      process.stdout.write(`${JSON.stringify(line)}\n`);
    };
    await report('fresh');
    const ctx = { port, pasv, root, user: SYSTEM_USER, pass: PASS, work: benchWork, tls, pid: server.pid };
    let idle;
    for (const w of rows) {
      const r = await w.run(ctx);
      if (w.id === 'idle_memory') idle = r.value;
      await report(w.id, r.value);
    }
    // --at-end CMD: runs CMD (with $WHARF_PID set) before the server stops, to look inside it (gdb...).
    if (args['at-end']) execFileSync('sh', ['-c', args['at-end']], { stdio: 'inherit', env: { ...process.env, WHARF_PID: String(server.pid) } });
    return idle;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

const dists = (args.dist ?? ['dist']).map((d) => path.resolve(REPO, d));
const results = new Map(dists.map((d) => [d, []]));
let port = Number(args.port);
for (let rep = 0; rep < Number(args.reps); rep++) {
  for (const dist of dists) {
    process.stdout.write(`== ${dist} rep ${rep + 1}\n`);
    results.get(dist).push(await sequence(dist, port));
    port = port === Number(args.port) ? port + 3000 : Number(args.port);
  }
}
for (const [dist, xs] of results) process.stdout.write(`idle_memory ${dist}: ${xs.map((x) => x?.toFixed(1)).join(', ')} MiB\n`);
rmSync(work, { recursive: true, force: true });
