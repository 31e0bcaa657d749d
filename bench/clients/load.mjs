// The load generator: one workload against one server, run in its own process so the
// harness never shares an event loop with the clients. Usage:
//   node bench/clients/load.mjs '<json job>'
// Prints one JSON line: { seconds, ops, bytes }. The "idle" job prints "READY" once every
// session is logged in, then holds them until its stdin closes. `"tls": true` in a job runs it
// over explicit FTPS: AUTH TLS before the login, and PROT P data connections.
import { FtpClient, sourceAddress } from './ftp.mjs';

const job = JSON.parse(process.argv[2]);
const { port, user, pass } = job;
const secure = job.tls === true;

async function connectAndLogin(i) {
  const client = await FtpClient.connect({ port, localAddress: sourceAddress(i), tls: secure });
  await client.login(user, pass);
  if (secure) await client.protectData();
  await client.expect('TYPE I', 200);
  return client;
}

/** Runs `fn(i)` for i in [0, n) with at most `width` running at once. */
async function pool(n, width, fn) {
  const results = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await fn(i);
      }
    }),
  );
  return results;
}

const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function logins() {
  const t0 = process.hrtime.bigint();
  const clients = await Promise.all(
    Array.from({ length: job.clients }, async (_, i) => {
      const c = await FtpClient.connect({ port, localAddress: sourceAddress(i), tls: secure });
      await c.login(user, pass);
      return c;
    }),
  );
  const seconds = since(t0);
  for (const c of clients) void c.quit();
  return { seconds, ops: clients.length, bytes: 0 };
}

async function retrMany() {
  const clients = await pool(job.clients, 50, connectAndLogin);
  const t0 = process.hrtime.bigint();
  const sizes = await Promise.all(clients.map((c) => c.retr(job.path)));
  const seconds = since(t0);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  if (sizes.some((s) => s !== job.size)) throw new Error(`short download: ${sizes.find((s) => s !== job.size)} of ${job.size}`);
  for (const c of clients) void c.quit();
  return { seconds, ops: clients.length, bytes };
}

async function storMany() {
  const clients = await pool(job.clients, 50, connectAndLogin);
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  const times = Math.ceil(job.size / chunk.length);
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c, i) => c.stor(`${job.prefix}${i}.bin`, chunk, times)));
  const seconds = since(t0);
  for (const c of clients) void c.quit();
  return { seconds, ops: clients.length, bytes: clients.length * times * chunk.length };
}

async function listing() {
  const c = await connectAndLogin(0);
  const t0 = process.hrtime.bigint();
  const lines = await c.listing(job.verb, job.path);
  const seconds = since(t0);
  void c.quit();
  if (lines < job.minLines) throw new Error(`${job.verb} returned ${lines} lines, expected at least ${job.minLines}`);
  return { seconds, ops: lines, bytes: 0 };
}

async function smallFiles() {
  const clients = await pool(job.clients, 50, connectAndLogin);
  const payload = Buffer.alloc(job.size, 0x62);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < job.rounds; k++) {
        const name = `${job.prefix}${i}-${k}.bin`;
        await c.stor(name, payload);
        const got = await c.retr(name);
        if (got !== job.size) throw new Error(`small file came back with ${got} bytes`);
        await c.expect(`DELE ${name}`, 250);
      }
    }),
  );
  const seconds = since(t0);
  for (const c of clients) void c.quit();
  const ops = job.clients * job.rounds * 3;
  return { seconds, ops, bytes: job.clients * job.rounds * job.size * 2 };
}

async function idle() {
  const t0 = process.hrtime.bigint();
  const clients = await pool(job.clients, 100, connectAndLogin);
  const seconds = since(t0);
  process.stdout.write(`READY ${JSON.stringify({ seconds, ops: clients.length, bytes: 0 })}\n`);
  await new Promise((resolve) => {
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
  for (const c of clients) c.destroy();
  return { seconds, ops: clients.length, bytes: 0 };
}

const jobs = { logins, retrMany, storMany, listing, smallFiles, idle };

const timer = setTimeout(() => {
  process.stderr.write(`load: ${job.kind} timed out after ${job.timeoutSec}s\n`);
  process.exit(3);
}, (job.timeoutSec ?? 300) * 1000);
timer.unref();

try {
  const cpu0 = process.cpuUsage();
  const result = await jobs[job.kind]();
  const cpu = process.cpuUsage(cpu0);
  // The client's own CPU (whole job, logins included): tells a client-bound row from a server-bound one.
  result.clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} catch (err) {
  process.stderr.write(`load: ${job.kind}: ${err.message}\n`);
  process.exit(1);
}
