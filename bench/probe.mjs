// Latency probe: starts one server (as the bench does) and times single operations on one
// session with timestamps per reply, to find fixed delays. Usage:
//   node bench/probe.mjs <server> [iterations] [--workers N] [--cpu-prof]
import * as path from 'node:path';
import * as net from 'node:net';
import { SERVERS } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { FtpClient } from './clients/ftp.mjs';
import { treeCpuSeconds } from './lib/procs.mjs';

const [name, itersText = '20', ...rest] = process.argv.slice(2);
const iters = Number(itersText);
const workers = rest.includes('--workers') ? Number(rest[rest.indexOf('--workers') + 1]) : 1;
const server = SERVERS.find((s) => s.name === name);
const work = path.join(BENCH_DIR, '.work', 'quick');
const env = { port: 21900, pasv: { min: 40000, max: 41399 }, root: path.join(work, 'root'), user: SYSTEM_USER, pass: 'Bench-pass-1', work, workers,
  nodeArgs: rest.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/wharf-prof'] : [] };
const handle = await server.start(env);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  const c = await FtpClient.connect({ port: env.port });
  await c.login(env.user, env.pass);
  await c.expect('TYPE I', 200);
  const times = {};
  const rec = (k, v) => (times[k] ??= []).push(v);
  const payload = Buffer.alloc(4096, 0x62);
  const cpu0 = treeCpuSeconds(handle.pid);
  const ops = new Set((process.env.PROBE_OPS ?? 'list,mlsd,small').split(','));
  for (let i = 0; i < iters; i++) {
    let t = now();
    if (ops.has('list')) {
      await c.listing('LIST', 'many');
      rec('LIST', now() - t);
    }
    t = now();
    if (ops.has('mlsd') && name !== 'vsftpd') {
      await c.listing('MLSD', 'many');
      rec('MLSD', now() - t);
    }
    if (!ops.has('small')) continue;
    t = now();
    await c.stor('probe.bin', payload);
    rec('STOR4k', now() - t);
    t = now();
    await c.retr('probe.bin');
    rec('RETR4k', now() - t);
    t = now();
    await c.expect('DELE probe.bin', 250);
    rec('DELE', now() - t);
    t = now();
    await c.expect('NOOP', 200);
    rec('NOOP', now() - t);
    t = now();
    await c.expect('PASV', 227);
    rec('PASV', now() - t);
  }
  const cpu = treeCpuSeconds(handle.pid) - cpu0;
  c.destroy();
  // login latency: sequential, then 50 at once
  const lt = [];
  for (let i = 0; i < 5; i++) {
    const t = now();
    const d = await FtpClient.connect({ port: env.port });
    await d.login(env.user, env.pass);
    lt.push(now() - t);
    d.destroy();
  }
  rec('login', median(lt));
  console.log(name, Object.entries(times).map(([k, v]) => `${k}=${median(v).toFixed(2)}ms`).join(' '), `cpu=${cpu.toFixed(2)}s`);
} finally {
  await handle.stop();
}
