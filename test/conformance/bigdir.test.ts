/**
 * PROTOCOL.md §5: listing 100 000 entries streams with bounded memory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { rawSession } from './helpers.js';

const ENTRIES = 100_000;
let srv: TestServer;
before(async () => {
  srv = await startServer();
  const dir = join(srv.root, 'many');
  await mkdir(dir);
  // create the entries fast: synchronous open/close is quicker here than many promises
  const t0 = Date.now();
  for (let i = 0; i < ENTRIES; i++) closeSync(openSync(join(dir, `entry-${String(i).padStart(6, '0')}.dat`), 'w'));
  console.log(`# created ${ENTRIES} entries in ${Date.now() - t0} ms`);
});
after(() => srv.close());

/** Runs a listing command and counts CRLF lines as they arrive (nothing is kept). */
async function countLines(command: string): Promise<{ lines: number; code: number; peakRssGrowth: number; ms: number }> {
  const c = await rawSession(srv);
  const data = await c.passive();
  let lines = 0;
  let lastWasCr = false;
  data.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : lastWasCr ? 0x0d : 0;
      if (prev === 0x0d) lines++;
    }
    lastWasCr = chunk[chunk.length - 1] === 0x0d;
  });
  const ended = new Promise((r) => data.once('end', r));
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = Date.now();
  c.write(`${command}\r\n`);
  await c.read();
  await ended;
  const final = await c.read(20_000);
  clearInterval(timer);
  c.close();
  return { lines, code: final.code, peakRssGrowth: peak - before, ms: Date.now() - t0 };
}

for (const command of ['NLST many', 'LIST many', 'MLSD many']) {
  test(`§5 ${command} of 100 000 entries streams every line with bounded memory`, async () => {
    const r = await countLines(command);
    assert.equal(r.code, 226);
    assert.equal(r.lines, command.startsWith('MLSD') ? ENTRIES + 1 : ENTRIES);
    // the whole LIST output is ~7 MB; a server that built it in memory (plus stat objects)
    // would grow far more than this bound, a streaming one stays well under it
    assert.ok(r.peakRssGrowth < 96 * 1024 * 1024, `RSS grew by ${(r.peakRssGrowth / 1048576).toFixed(1)} MiB`);
    console.log(`# ${command}: ${r.lines} lines, peak RSS growth ${(r.peakRssGrowth / 1048576).toFixed(1)} MiB, ${r.ms} ms`);
  });
}

// A client that vanishes in the middle of a listing (here: the first bytes arrive, then the
// data connection is reset) makes the server's next write fail with EPIPE/ECONNRESET. That
// must end the listing with 426 and nothing else: the server lives on, and so does the
// session when only the data connection went.
/** Starts `command`, waits for its first data, then resets the data connection. */
async function resetMidListing(c: Awaited<ReturnType<typeof rawSession>>, command: string): Promise<void> {
  const data = await c.passive();
  const first = new Promise((r) => data.once('data', r));
  c.write(`${command}\r\n`);
  assert.ok([125, 150].includes((await c.read()).code));
  await first;
  data.resetAndDestroy();
}

for (const command of ['NLST many', 'LIST many', 'MLSD many']) {
  test(`§4 ${command}: a client that resets the data connection mid-listing gets 426, and the server lives on`, async () => {
    const c = await rawSession(srv);
    await resetMidListing(c, command);
    assert.equal((await c.read(20_000)).code, 426);
    assert.equal((await c.send('NOOP')).code, 200);
    // again, with the control connection gone too
    await resetMidListing(c, command);
    c.socket.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    const other = await rawSession(srv);
    assert.equal((await other.send('NOOP')).code, 200);
    other.close();
  });
}
