// Where the time of N concurrent RETR/STOR goes, per phase, Wharf against peers: for each
// client the moment (ms after the start) its PASV reply, data connection, 150, last data
// byte and 226 arrived; prints the 10th/50th/90th/max of each. Usage:
//   node bench/many-timeline.mjs <retr|stor> [quick|full] [--peers a,b] [--clients N]
import * as path from 'node:path';
import { SERVERS } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { benchSizes } from './lib/sizes.mjs';
import { FtpClient, sourceAddress } from './clients/ftp.mjs';

const [op, size = 'full', ...rest] = process.argv.slice(2);
const opt = (name, dflt) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : dflt);
const peers = opt('--peers', '').split(',').filter(Boolean);
const sizes = benchSizes(size !== 'full');
const clients = Number(opt('--clients', String(sizes.many)));
const fileSize = sizes.medium;
const work = path.join(BENCH_DIR, '.work', size);
const root = path.join(work, 'root');
const DISCARD = Buffer.allocUnsafe(1024 * 1024);
const payload = Buffer.alloc(1024 * 1024, 0x61);

async function one(c, i, t0, marks) {
  const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const m = (marks[i] = {});
  const pasv = await c.send('PASV');
  m.pasv = now();
  const match = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(pasv.text);
  const port = Number(match[5]) * 256 + Number(match[6]);
  const data = await new Promise((resolve, reject) => {
    const s = (op === 'retr' ? (opts) => FtpClientNet.connect(opts) : (opts) => FtpClientNet.connect(opts))({ host: '127.0.0.1', port, localAddress: c.localAddress, ...(op === 'retr' ? { onread: { buffer: DISCARD, callback: () => undefined } } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  m.connect = now();
  const ended = new Promise((resolve, reject) => {
    data.once(op === 'retr' ? 'end' : 'close', () => resolve((m.data = now())));
    data.once('error', reject);
  });
  if (op === 'retr') data.resume();
  const first = await c.send(op === 'retr' ? 'RETR medium.bin' : `STOR up-many-${i}.bin`);
  m.opened = now();
  if (first.code !== 150 && first.code !== 125) throw new Error(first.text);
  if (op === 'stor') {
    for (let k = 0; k < fileSize / payload.length; k++) if (!data.write(payload)) await new Promise((r) => data.once('drain', r));
    data.end();
  }
  const [final] = await Promise.all([c.read(), ended]);
  m.done = now();
  if (final.code !== 226) throw new Error(final.text);
}

const FtpClientNet = await import('node:net');
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
const started = [];
try {
  let i = 0;
  for (const name of ['wharf', ...peers]) {
    const env = { port: 21950 + i, pasv: { min: 46000 + i * 1000, max: 46999 + i * 1000 }, root, user: SYSTEM_USER, pass: 'Bench-pass-1', work };
    i++;
    if (name === 'wharf-noengine') process.env.WHARF_ENGINE = 'off'; // the event-loop path, for A/B
    started.push({ name, env, handle: await SERVERS.find((s) => s.name === name.replace(/-.*/, '')).start(env) });
    delete process.env.WHARF_ENGINE;
  }
  for (const { name, env } of started) {
    const cs = await Promise.all(Array.from({ length: clients }, async (_, k) => {
      const c = await FtpClient.connect({ port: env.port, localAddress: sourceAddress(k) });
      await c.login(env.user, env.pass);
      await c.expect('TYPE I', 200);
      return c;
    }));
    const marks = [];
    const t0 = process.hrtime.bigint();
    await Promise.all(cs.map((c, k) => one(c, k, t0, marks)));
    const line = ['pasv', 'connect', 'opened', 'data', 'done'].map((k) => {
      const v = marks.map((m) => m[k]);
      return `${k} ${pct(v, 0.1).toFixed(0)}/${pct(v, 0.5).toFixed(0)}/${pct(v, 0.9).toFixed(0)}/${pct(v, 1).toFixed(0)}`;
    });
    console.log(`${op} ${name.padEnd(10)} ms p10/p50/p90/max: ${line.join('  ')}`);
    for (const c of cs) void c.quit();
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
}
