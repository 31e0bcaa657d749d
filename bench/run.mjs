// `npm run bench`: installs the peers, starts Wharf and every peer on loopback with
// equivalent settings, runs each workload several times against each, and writes
// bench/results/<timestamp>.json and docs/benchmarks.md (+ docs/benchmarks.svg).
//
//   npm run bench                       full run (5 repetitions)
//   npm run bench -- --quick            small sizes, one repetition: a sanity run
//   npm run bench -- --only retr_big,logins --servers wharf,vsftpd --reps 3
//   npm run bench -- --workers 2        Wharf as a cluster of 2 processes (default: 1)
//   npm run bench -- --no-docs          keep docs/benchmarks.md as it is
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BENCH_DIR, setupPeers, ensureSystemUser, ensureTlsPair, prepareRoot, SYSTEM_USER } from './lib/setup.mjs';
import { SERVERS } from './lib/servers.mjs';
import { workloads, DERIVED } from './lib/workloads.mjs';
import { ratioText, summarize, writeReport } from './lib/report.mjs';
import { accountCpuByCgroup, releaseCpuCgroups } from './lib/procs.mjs';
import { benchSizes } from './lib/sizes.mjs';

const REPO = path.resolve(BENCH_DIR, '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    servers: { type: 'string' },
    workers: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    'no-setup': { type: 'boolean', default: false },
  },
});

const sizes = benchSizes(args.quick);
const reps = Number(args.reps ?? (args.quick ? 1 : 5));
const PASS = 'Bench-pass-1';

const log = (msg) => process.stderr.write(`${msg}\n`);

/**
 * The smallest block order a virtio-balloon guest reports to its host as free (the host then
 * reclaims it), or null where the kernel has no free page reporting. Recorded because on such
 * a VM a server that runs right after a long repetition touches reclaimed memory: see the
 * caveats in docs/benchmarks.md.
 */
function freePageReportingOrder() {
  try {
    return Number(readFileSync('/sys/module/page_reporting/parameters/page_reporting_order', 'utf8').trim());
  } catch {
    return null;
  }
}

/**
 * The kernel's dentry cache when the run starts (/proc/sys/fs/dentry-state), or null. Every
 * name lookup walks a hash chain that grows with it, and deleted files stay in it as negative
 * entries until memory runs short: after weeks of benchmark churn (1.2 million here), a
 * 10 000-entry MLSD cost every server ~2.5x the CPU of a fresh cache. See docs/benchmarks.md.
 */
function dentryState() {
  try {
    const [total, , , , negative] = readFileSync('/proc/sys/fs/dentry-state', 'utf8').trim().split(/\s+/).map(Number);
    return { total, negative };
  } catch {
    return null;
  }
}

function wharfSupportsWorkers() {
  try {
    return execFileSync(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), 'serve', '--help'], { encoding: 'utf8' }).includes('--workers');
  } catch {
    return false;
  }
}

async function main() {
  const problems = args['no-setup'] ? [] : setupPeers();
  const work = path.join(BENCH_DIR, '.work', args.quick ? 'quick' : 'full');
  const root = path.join(work, 'root');
  mkdirSync(work, { recursive: true });
  const owner = process.getuid?.() === 0 ? ensureSystemUser(root, PASS) : undefined;
  prepareRoot(root, sizes, owner);
  // Many short data connections: reuse TIME_WAIT tuples instead of running out (loopback only).
  try {
    writeFileSync('/proc/sys/net/ipv4/tcp_tw_reuse', '1');
  } catch {
    // not permitted: fine for a full-size run on most machines
  }

  const cores = os.cpus().length;
  // One process by default, as `wharf serve` runs: on a 2-core machine whose clients share the
  // CPU, a second worker bought ~10% on small files but doubled the idle-memory figure
  // (77 vs 34 MiB PSS for 200 sessions). `--workers N` measures the cluster mode.
  const workers = Number(args.workers ?? 1);
  if (workers > 1 && !wharfSupportsWorkers()) throw new Error('this Wharf build has no --workers');
  const wanted = args.servers ? new Set(args.servers.split(',')) : undefined;
  const servers = SERVERS.filter((s) => (!wanted || wanted.has(s.name)) && s.available());
  const missing = SERVERS.filter((s) => (!wanted || wanted.has(s.name)) && !s.available()).map((s) => s.name);
  if (missing.length) log(`not available, skipped: ${missing.join(', ')}`);
  const only = args.only ? new Set(args.only.split(',')) : undefined;
  // Slow-to-fail rows last, so a run cut short still covers the most.
  const ORDER = ['retr_big', 'stor_big', 'ftps_retr_big', 'ftps_stor_big', 'list', 'mlsd', 'retr_many', 'ftps_retr_many', 'stor_many', 'ftps_stor_many', 'small_files', 'ftps_small_files', 'idle_memory', 'logins', 'ftps_logins'];
  const list = workloads({ sizes })
    .filter((w) => !only || only.has(w.id))
    .sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));

  // FTPS rows: every server that can offers AUTH TLS (beside plain FTP) with one shared
  // self-signed pair; servers without FTPS in the bench show "n/a" there.
  const tlsPair = list.some((w) => w.tls) ? ensureTlsPair(work) : undefined;

  const startedAt = new Date().toISOString();
  const dentriesAtStart = dentryState();
  let finished = false;
  const persist = () => {
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    curl: execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    freePageReportingOrder: freePageReportingOrder(),
    dentries: dentriesAtStart,
  };
  const versions = Object.fromEntries(started.map(({ server }) => [server.name, server.version() ?? 'unknown']));
  const run = {
    date: startedAt,
    complete: finished,
    quick: args.quick,
    reps,
    sizes,
    wharfWorkers: workers,
    cpuAccounting,
    wharfNative: existsSync(path.join(REPO, 'dist/native/wharf.node')) && process.env.WHARF_NATIVE !== 'off',
    machine,
    versions,
    servers: started.map(({ server }) => ({ name: server.name, label: server.label })),
    workloads: list.map(({ id, title, unit, better, transfer, tls }) => ({ id, title, unit, better, transfer: !!transfer, tls: !!tls })),
    derived: DERIVED.filter((d) => list.some((w) => w.id === d.from)),
    results,
    problems,
  };
  run.summary = summarize(run);
  const resultsDir = path.join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${startedAt.replace(/[:.]/g, '-')}${args.quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(run, null, 2) + '\n');
  log(`results: ${path.relative(REPO, file)}`);
  if (!args['no-docs']) {
    writeReport(run, path.join(REPO, 'docs'), path.relative(path.join(REPO, 'docs'), file));
    log('docs/benchmarks.md, docs/benchmarks.svg and docs/benchmarks-history.svg updated');
  }
  return run;
  };
  const started = [];
  /** 'cgroup' when every server's CPU is read from its own cpuacct cgroup (see lib/procs.mjs). */
  let cpuAccounting = 'cgroup';
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.handle.stop().catch(() => undefined)));
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void stopAll().then(() => process.exit(130)));

  const results = {};
  try {
    let index = 0;
    for (const server of servers) {
      const env = {
        port: 21300 + index,
        // 2 400 ports each: Pure-FTPd admits at most half its passive range as clients (1 000 idle sessions need 2 000).
        pasv: { min: 30000 + index * 2500, max: 30000 + index * 2500 + 2399 },
        root,
        user: SYSTEM_USER,
        pass: PASS,
        work,
        workers: server.name === 'wharf' ? workers : undefined,
        tls: server.tls ? tlsPair : undefined,
      };
      index++;
      log(`starting ${server.label} on 127.0.0.1:${env.port}`);
      try {
        const handle = await server.start(env);
        if (!accountCpuByCgroup(handle.pid, server.name)) cpuAccounting = 'proc';
        started.push({ server, env, handle });
      } catch (err) {
        problems.push(`${server.name}: ${err.message}`);
        log(`${server.label} did not start: ${err.message}`);
      }
    }
    // One untimed login per server before the first row, as the page cache is warmed before
    // each transfer: a server's first login pays what later ones do not (Wharf's scrypt
    // derivation, ~0.1 s at ln=15, then cached; the C servers' first crypt(3) and PAM loads),
    // and the first repetition of the first row would otherwise carry it.
    for (const { server, env } of started) {
      try {
        execFileSync('curl', ['-s', '-S', '--max-time', '30', '--list-only', `ftp://${env.user}:${env.pass}@127.0.0.1:${env.port}/`], { stdio: 'ignore' });
      } catch (err) {
        log(`${server.label}: warm-up login failed (${err.message.split('\n')[0]})`);
      }
    }
    for (const w of list) {
      results[w.id] = {};
      for (let rep = 0; rep < reps; rep++) {
        // rotate the order each repetition so no server always runs first
        for (let k = 0; k < started.length; k++) {
          const { server, env, handle } = started[(k + rep) % started.length];
          if (w.unsupported?.includes(server.name) || (w.tls && !server.tls)) {
            results[w.id][server.name] ??= { samples: [], unsupported: true };
            continue;
          }
          const slot = (results[w.id][server.name] ??= { samples: [], extras: [], errors: [] });
          // A server that ran out of time once (vsftpd never seats 1 000 idle sessions) would
          // only burn the same minutes again: its later repetitions are skipped.
          if (slot.errors.some((e) => e.includes('timed out'))) {
            log(`${w.id.padEnd(12)} rep ${rep + 1}/${reps} ${server.label.padEnd(10)} skipped (timed out before)`);
            continue;
          }
          try {
            const r = await w.run({ ...env, pid: handle.pid });
            slot.samples.push(r.value);
            slot.extras.push(r.extra ?? {});
            log(`${w.id.padEnd(12)} rep ${rep + 1}/${reps} ${server.label.padEnd(10)} ${r.value.toFixed(3)} ${w.unit}`);
          } catch (err) {
            slot.errors.push(err.message);
            log(`${w.id.padEnd(12)} rep ${rep + 1}/${reps} ${server.label.padEnd(10)} FAILED: ${err.message}`);
          }
        }
      }
      persist(); // a run cut short still leaves its results and docs
    }
    finished = true;
  } finally {
    await stopAll();
    await new Promise((r) => setTimeout(r, 1000)); // a cgroup can only be removed once its last process is gone
    releaseCpuCgroups();
  }

  const run = persist();
  for (const row of run.summary) {
    log(`${row.title.padEnd(70)} wharf ${fmt(row.wharf)} best peer ${row.bestPeer ?? '-'} ${fmt(row.best)}  ratio ${(row.ratio === undefined ? undefined : ratioText(row.ratio)) ?? '-'}`);
  }
}

const fmt = (v) => (v === undefined || v === null ? '-' : v < 10 ? v.toFixed(3) : v.toFixed(1));

main().catch((err) => {
  log(`bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
