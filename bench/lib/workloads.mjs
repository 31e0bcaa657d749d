// The workloads. Each run() measures one repetition against one started server and returns
// { value } in the workload's unit (plus extra figures for the JSON), or throws.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { rmSync, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { BENCH_DIR } from './setup.mjs';
import { treeCpuSeconds, treeMemoryMiB } from './procs.mjs';

const LOAD = path.join(BENCH_DIR, 'clients/load.mjs');
const STOR_CLIENT = path.join(BENCH_DIR, 'clients/stor-sendfile.py');
const GB = 1e9;
// Explicit FTPS: AUTH TLS, then curl sends PBSZ 0 + PROT P, so the data connection is
// encrypted too. -k: the bench certificate is self-signed and names localhost, not 127.0.0.1.
const FTPS = ['--ssl-reqd', '-k'];

/** Runs a job in the load-generator process; resolves with its JSON result. */
function load(job, { onReady } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', async (d) => {
      out += d;
      const m = /^READY (.*)$/m.exec(out);
      if (m && onReady && !child.readyHandled) {
        child.readyHandled = true;
        try {
          await onReady(JSON.parse(m[1]));
        } finally {
          child.stdin.end();
        }
      }
    });
    if (!onReady) child.stdin.end();
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(err.trim().split('\n').pop() || `load exited with ${code}`));
      const last = out.trim().split('\n').pop();
      resolve(JSON.parse(last));
    });
  });
}

function curl(args, timeoutSec) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('curl', ['-s', '-S', '--max-time', String(timeoutSec), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`curl exit ${code}: ${err.trim()}`));
      resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

/**
 * One upload with bench/clients/stor-sendfile.py (login, PASV, STOR, then sendfile(2) of the
 * whole file): resolves with its seconds from connect to the 226.
 */
function sendfileStor(ctx, local, remote, timeoutSec) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [STOR_CLIENT, '127.0.0.1', String(ctx.port), ctx.user, ctx.pass, local, remote], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`stor-sendfile exit ${code}: ${err.trim().split('\n').pop()}`));
      resolve(JSON.parse(out.trim().split('\n').pop()).seconds);
    });
  });
}

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** Removes uploads left in the root between repetitions (untimed). */
function cleanUploads(root, prefix) {
  for (const name of readdirSync(root)) if (name.startsWith(prefix)) rmSync(path.join(root, name), { force: true });
}

/**
 * Reads a file through the page cache (untimed) so that no server's repetition pays for the
 * disk: the machine may have dropped the bench files from its cache between rows, and the
 * server that happened to run first would otherwise read (or curl would send) from disk.
 */
function warmFile(file) {
  const buf = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(file, 'r');
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * @typedef {{ id: string, title: string, unit: string, better: 'higher'|'lower', transfer?: boolean,
 *   tls?: boolean, run(ctx: object): Promise<{ value: number, extra?: object }> }} Workload
 */

/** @param {{ quick: boolean, sizes: object }} opts @returns {Workload[]} */
export function workloads({ sizes }) {
  const url = (ctx, file) => `ftp://${ctx.user}:${ctx.pass}@127.0.0.1:${ctx.port}/${file}`;
  const cpuDuring = async (ctx, fn) => {
    const before = treeCpuSeconds(ctx.pid);
    const seconds = await fn();
    await settle(300); // forked children exit and are reaped: their time lands in cutime
    const cpu = treeCpuSeconds(ctx.pid) - before;
    return { seconds, cpu };
  };
  /** One run of `client` (resolving with its seconds) on the big file; `upload` names the uploaded file (removed before and after). */
  const bigTransfer = async (ctx, client, upload) => {
    if (upload) cleanUploads(ctx.root, upload);
    warmFile(path.join(ctx.root, 'big.bin')); // the file RETR sends, or the one the client uploads
    const { seconds, cpu } = await cpuDuring(ctx, client);
    if (upload) cleanUploads(ctx.root, upload);
    return { value: sizes.big / GB / seconds, extra: { seconds, cpuSecondsPerGB: cpu / (sizes.big / GB) } };
  };
  return [
    {
      id: 'retr_big',
      title: `RETR ${sizes.bigLabel}, one client (curl)`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      cpuId: 'cpu_retr',
      async run(ctx) {
        return bigTransfer(ctx, () => curl(['-o', '/dev/null', url(ctx, 'big.bin')], 600));
      },
    },
    {
      id: 'stor_big',
      // Not curl -T: its read-and-write copy capped every server near the same rate (Wharf and
      // Pure-FTPd 2.3 GB/s). The sendfile client is to STOR what curl to /dev/null is to RETR.
      title: `STOR ${sizes.bigLabel}, one client (sendfile writer)`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      cpuId: 'cpu_stor',
      async run(ctx) {
        return bigTransfer(ctx, () => sendfileStor(ctx, path.join(ctx.root, 'big.bin'), 'up-big.bin', 600), 'up-big');
      },
    },
    {
      id: 'ftps_retr_big',
      title: `FTPS RETR ${sizes.bigLabel}, one client (curl, AUTH TLS + PROT P)`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      tls: true,
      async run(ctx) {
        return bigTransfer(ctx, () => curl([...FTPS, '-o', '/dev/null', url(ctx, 'big.bin')], 600));
      },
    },
    {
      id: 'ftps_stor_big',
      title: `FTPS STOR ${sizes.bigLabel}, one client (curl, AUTH TLS + PROT P)`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      tls: true,
      async run(ctx) {
        return bigTransfer(ctx, () => curl([...FTPS, '-T', path.join(ctx.root, 'big.bin'), url(ctx, 'up-tls-big.bin')], 600), 'up-tls');
      },
    },
    ...[false, true].map((tls) => ({
      id: tls ? 'ftps_logins' : 'logins',
      title: `${sizes.logins} clients log in at once${tls ? ' over FTPS (AUTH TLS first)' : ''}`,
      unit: 's',
      better: 'lower',
      tls,
      async run(ctx) {
        const r = await load({ kind: 'logins', tls, port: ctx.port, user: ctx.user, pass: ctx.pass, clients: sizes.logins, timeoutSec: 60 });
        await settle(500);
        return { value: r.seconds, extra: { clientCpuSeconds: r.clientCpuSeconds } };
      },
    })),
    ...[false, true].map((tls) => ({
      id: tls ? 'ftps_retr_many' : 'retr_many',
      title: `${sizes.many} concurrent ${tls ? 'FTPS ' : ''}RETR of ${sizes.mediumLabel}`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      tls,
      async run(ctx) {
        warmFile(path.join(ctx.root, 'medium.bin'));
        const r = await load({ kind: 'retrMany', tls, port: ctx.port, user: ctx.user, pass: ctx.pass, clients: sizes.many, path: 'medium.bin', size: sizes.medium, timeoutSec: 300 });
        await settle(500);
        return { value: r.bytes / GB / r.seconds, extra: { seconds: r.seconds, clientCpuSeconds: r.clientCpuSeconds } };
      },
    })),
    ...[false, true].map((tls) => ({
      id: tls ? 'ftps_stor_many' : 'stor_many',
      title: `${sizes.many} concurrent ${tls ? 'FTPS ' : ''}STOR of ${sizes.mediumLabel}`,
      unit: 'GB/s',
      better: 'higher',
      transfer: true,
      tls,
      async run(ctx) {
        cleanUploads(ctx.root, 'up-many');
        const r = await load({ kind: 'storMany', tls, port: ctx.port, user: ctx.user, pass: ctx.pass, clients: sizes.many, prefix: 'up-many-', size: sizes.medium, timeoutSec: 300 });
        await settle(500);
        cleanUploads(ctx.root, 'up-many');
        return { value: r.bytes / GB / r.seconds, extra: { seconds: r.seconds, clientCpuSeconds: r.clientCpuSeconds } };
      },
    })),
    {
      id: 'list',
      title: `LIST of ${sizes.entries.toLocaleString('en')} entries`,
      unit: 's',
      better: 'lower',
      async run(ctx) {
        const r = await load({ kind: 'listing', verb: 'LIST', path: 'many', minLines: sizes.entries, port: ctx.port, user: ctx.user, pass: ctx.pass, timeoutSec: 120 });
        return { value: r.seconds };
      },
    },
    {
      id: 'mlsd',
      title: `MLSD of ${sizes.entries.toLocaleString('en')} entries`,
      unit: 's',
      better: 'lower',
      unsupported: ['vsftpd'], // vsftpd has no MLSD
      async run(ctx) {
        const r = await load({ kind: 'listing', verb: 'MLSD', path: 'many', minLines: sizes.entries, port: ctx.port, user: ctx.user, pass: ctx.pass, timeoutSec: 120 });
        return { value: r.seconds };
      },
    },
    // FTPS makes fewer rounds: a server that closes the data connection first keeps it in
    // TIME_WAIT on its passive port for 60 s, and 8 000 TLS data connections in ~10 s left
    // ProFTPD's and Pure-FTPd's 2 400-port ranges without a free port ("Address already in use").
    ...[false, true].map((tls) => ({
      id: tls ? 'ftps_small_files' : 'small_files',
      title: `small files${tls ? ' over FTPS' : ''}: ${sizes.smallClients} clients x ${tls ? sizes.ftpsSmallRounds : sizes.smallRounds} x (STOR+RETR+DELE of 4 KB)`,
      unit: 'ops/s',
      better: 'higher',
      tls,
      async run(ctx) {
        const rounds = tls ? sizes.ftpsSmallRounds : sizes.smallRounds;
        const r = await load({ kind: 'smallFiles', tls, port: ctx.port, user: ctx.user, pass: ctx.pass, clients: sizes.smallClients, rounds, size: 4096, prefix: 'up-small-', timeoutSec: 300 });
        cleanUploads(ctx.root, 'up-small');
        await settle(500);
        return { value: r.ops / r.seconds, extra: { seconds: r.seconds, ops: r.ops, clientCpuSeconds: r.clientCpuSeconds } };
      },
    })),
    {
      id: 'idle_memory',
      title: `memory with ${sizes.idle.toLocaleString('en')} idle logged-in sessions (PSS)`,
      unit: 'MiB',
      better: 'lower',
      async run(ctx) {
        const baseline = treeMemoryMiB(ctx.pid);
        let measured;
        await load(
          // A server that has not logged everyone in by then never will (vsftpd stalls at a few hundred).
          { kind: 'idle', port: ctx.port, user: ctx.user, pass: ctx.pass, clients: sizes.idle, timeoutSec: sizes.idle <= 200 ? 60 : 300 },
          {
            onReady: async () => {
              await settle(1000);
              measured = treeMemoryMiB(ctx.pid);
            },
          },
        );
        await settle(1500);
        return { value: measured.pss, extra: { rssMiB: measured.rss, processes: measured.processes, baselinePssMiB: baseline.pss } };
      },
    },
  ];
}

/** Rows derived from other workloads' extras (CPU per GB comes from the big transfers). */
export const DERIVED = [
  { id: 'cpu_retr', from: 'retr_big', field: 'cpuSecondsPerGB', title: 'server CPU seconds per GB sent (RETR)', unit: 'CPU s/GB', better: 'lower' },
  { id: 'cpu_stor', from: 'stor_big', field: 'cpuSecondsPerGB', title: 'server CPU seconds per GB received (STOR)', unit: 'CPU s/GB', better: 'lower' },
  { id: 'cpu_ftps_retr', from: 'ftps_retr_big', field: 'cpuSecondsPerGB', title: 'server CPU seconds per GB sent over FTPS (RETR)', unit: 'CPU s/GB', better: 'lower' },
  { id: 'cpu_ftps_stor', from: 'ftps_stor_big', field: 'cpuSecondsPerGB', title: 'server CPU seconds per GB received over FTPS (STOR)', unit: 'CPU s/GB', better: 'lower' },
];
