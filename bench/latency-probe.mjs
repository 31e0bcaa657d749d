// One-client latency probe: Wharf and peers started as the bench does, then one client
// (binary mode, passive) stores, downloads and deletes a 4 KB file over and over against
// each in turn, timing every step of the exchange. Prints the median of each step in µs and
// of a whole round, plus the server's CPU per round. A camera or scanner that uploads one
// file after another sees these waits; the small-files row (20 clients) hides them.
//   node bench/latency-probe.mjs <peer[,peer...] (a name, wharf@/path/main.js or wharf?VAR=value)> [reps (3)] [rounds (300)]
// A round is 7 commands; rounds stay under 2 000 commands a second per rep with a pause
// between reps, so no server's flood limit is what gets measured.
import * as net from 'node:net';
import * as path from 'node:path';
import { SERVERS, parseServerSpec } from './lib/servers.mjs';
import { BENCH_DIR, SYSTEM_USER } from './lib/setup.mjs';
import { treeCpuSeconds } from './lib/procs.mjs';
import { FtpClient } from './clients/ftp.mjs';

const [peers = 'pureftpd', repsText = '3', roundsText = '300'] = process.argv.slice(2);
const reps = Number(repsText);
const rounds = Number(roundsText);
const work = path.join(BENCH_DIR, '.work', 'quick');
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const micros = () => Number(process.hrtime.bigint()) / 1e3;
const PASV_RE = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/;
const payload = Buffer.alloc(4096, 0x61);

async function dataConnection(client) {
  const reply = await client.expect('PASV', 227);
  const m = PASV_RE.exec(reply.text);
  const socket = net.connect({ host: `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, port: Number(m[5]) * 256 + Number(m[6]) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** One round; `step(name, since)` records how long a step took. */
async function round(client, name, step) {
  let t = micros();
  const up = await dataConnection(client);
  t = step('PASV+connect', t);
  const upClosed = new Promise((resolve) => up.once('close', resolve));
  const stor = await client.send(`STOR ${name}`);
  if (stor.code !== 125 && stor.code !== 150) throw new Error(`STOR: ${stor.text}`);
  t = step('STOR -> 1xx', t);
  up.end(payload);
  const stored = await client.read();
  if (stored.code !== 226) throw new Error(`STOR: ${stored.text}`);
  await upClosed;
  t = step('data -> 226', t);
  const down = await dataConnection(client);
  t = step('PASV+connect', t);
  let bytes = 0;
  down.on('data', (b) => (bytes += b.length));
  const ended = new Promise((resolve) => down.once('end', resolve));
  const retr = await client.send(`RETR ${name}`);
  if (retr.code !== 125 && retr.code !== 150) throw new Error(`RETR: ${retr.text}`);
  const [done] = await Promise.all([client.read(), ended]);
  if (done.code !== 226 || bytes !== payload.length) throw new Error(`RETR: ${done.text} (${bytes} bytes)`);
  t = step('RETR -> 226', t);
  await client.expect(`DELE ${name}`, 250);
  step('DELE', t);
}

const started = [];
try {
  let i = 0;
  for (const spec of ['wharf', ...peers.split(',')]) {
    const env = { port: 21650 + i, pasv: { min: 50000 + i * 2000, max: 51999 + i * 2000 }, root: path.join(work, 'root'), user: SYSTEM_USER, pass: 'Bench-pass-1', work };
    i++;
    const { name, main, vars } = parseServerSpec(spec);
    Object.assign(env, { main, vars });
    started.push({ spec, env, handle: await SERVERS.find((s) => s.name === name).start(env), steps: new Map(), rounds: [], cpu: [] });
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const s of rep % 2 ? [...started].reverse() : started) {
      const client = await FtpClient.connect({ port: s.env.port });
      await client.login(s.env.user, s.env.pass);
      await client.expect('TYPE I', 200);
      const step = (key, since) => {
        const now = micros();
        const list = s.steps.get(key) ?? [];
        list.push(now - since);
        s.steps.set(key, list);
        return now;
      };
      const c0 = treeCpuSeconds(s.handle.pid);
      for (let k = 0; k < rounds; k++) {
        const t = micros();
        await round(client, `latency-${rep}-${k}.bin`, step);
        s.rounds.push(micros() - t);
      }
      s.cpu.push(((treeCpuSeconds(s.handle.pid) - c0) * 1e6) / rounds);
      client.destroy();
      await new Promise((r) => setTimeout(r, 1500)); // the next rep starts with a full flood-limit bucket
    }
  }
  for (const s of started) {
    const steps = [...s.steps].map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join('  ');
    console.log(`${s.spec.padEnd(10)} round ${median(s.rounds).toFixed(0)} µs (${steps})  server CPU ${median(s.cpu).toFixed(0)} µs/round`);
  }
} finally {
  await Promise.all(started.map((s) => s.handle.stop()));
}
