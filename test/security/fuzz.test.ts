import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';

/**
 * Property: whatever bytes a client sends on the control channel (before or after login),
 * the server neither crashes nor leaves an unhandled rejection, keeps memory bounded, and
 * goes on serving another client.
 */

const VERBS = ['PORT', 'EPRT', 'REST', 'MFMT', 'TYPE', 'OPTS', 'MODE', 'STRU', 'CWD', 'CDUP', 'SIZE', 'MDTM', 'RETR', 'STOR', 'APPE', 'STOU', 'LIST', 'NLST', 'MLSD', 'MLST', 'DELE', 'RNFR', 'RNTO', 'MKD', 'RMD', 'SITE', 'HELP', 'STAT', 'EPSV', 'PASV', 'ABOR', 'USER', 'PASS', 'FEAT', 'HOST', 'AUTH', 'PBSZ', 'PROT', 'ALLO', 'NOOP', 'HASH', 'CLNT', 'XCRC', 'SYST', 'PWD'];

const ODD_ARGS = [
  '127,0,0,1,0,21', '127,0,0,1,4,1', '127,0,0,2,200,200', '1,2,3,4,5,6', '256,0,0,1,1,1', '127,0,0,1,-1,5', '127,,0,1,4,1', ',,,,,', '127,0,0,1,99999,1',
  '|1|127.0.0.1|1025|', '|2|::1|2000|', '|1|10.0.0.1|21|', '|3|x|1|', '||||', '|1|127.0.0.1|99999|', '|1|127.0.0.1|-3|', '!1!127.0.0.1!2000!',
  '-1', '18446744073709551616', '99999999999999999999999', '0x10', '1e9', 'NaN', ' 5', '5 ',
  '20240101000000 x', '99999999999999 x', '2024-01-01 x', '20241301250000 f', '19691231235959 f', '20240101000000',
  'A', 'I', 'L 8', 'L 99', 'E', 'A T', 'X Y Z', 'UTF8 ON', 'UTF8 OFF', 'MLST type;size;bogus;', 'MLST ;;;;', 'HASH MD5', 'HASH NOPE', 'REST STREAM',
  '../../../../etc/passwd', '/../../..//etc/shadow', '~root', '*', '-la /', '-R /', '%s%s%s%n', '\u202e', 'a\u0000b', 'ALL', '2', '1',
];

const bytes = (n: number) => fc.uint8Array({ minLength: 0, maxLength: n }).map((a) => Buffer.from(a));

const piece = fc.oneof(
  { weight: 3, arbitrary: bytes(3000) },
  { weight: 1, arbitrary: fc.integer({ min: 8000, max: 60_000 }).map((n) => Buffer.alloc(n, 0x41)) }, // huge line, no newline
  { weight: 1, arbitrary: fc.integer({ min: 8000, max: 30_000 }).map((n) => Buffer.concat([Buffer.from('CWD '), Buffer.alloc(n, 0x61), Buffer.from('\r\n')])) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 2000 }).map((a) => Buffer.from(a.flatMap((b) => [0xff, b]))) }, // IAC storm
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...VERBS), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([v, raw]) => Buffer.concat([Buffer.from(v + ' '), Buffer.from(raw.map((b) => 0x80 | b)), Buffer.from('\r\n')])) }, // invalid UTF-8
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...VERBS), fc.oneof(fc.constantFrom(...ODD_ARGS), fc.string({ maxLength: 40 }), fc.integer().map(String)), fc.constantFrom('\r\n', '\n', '\r\n\r\n', '\r'))
      .map(([v, a, eol]) => Buffer.from(`${v} ${a}${eol}`, 'utf8')),
  },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from('\r\n'.repeat(500)), Buffer.from('\xff\xf4\xff\xf2ABOR\r\n', 'latin1'), Buffer.from('\xff\xfa' + 'x'.repeat(5000), 'latin1'), Buffer.from('QUIT\r\n')) },
);

const scenario = fc.record({
  loginFirst: fc.boolean(),
  pieces: fc.array(piece, { minLength: 1, maxLength: 5 }),
  split: fc.boolean(),
  endHow: fc.constantFrom('destroy', 'reset', 'end', 'linger'),
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

test('fuzz: random bytes, huge lines, IAC storms, invalid UTF-8 and odd arguments never hurt the server', async () => {
  const problems: unknown[] = [];
  const onRejection = (err: unknown) => problems.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onRejection);
  const srv = await startServer({
    timeouts: { dataConnectMs: 300, loginMs: 5000 },
    limits: { maxCommandsPerSecond: 0 }, // let the fuzz reach the handlers, not the flood limit
    defender: { maxFailures: 0, maxFailuresPerSession: 0 },
  });
  const rssBefore = process.memoryUsage().rss;
  try {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ loginFirst, pieces, split, endHow }) => {
        await withTimeout(
          (async () => {
            const c = await RawClient.connect(srv.port);
            await c.read();
            if (loginFirst) assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
            for (const p of pieces) {
              if (split && p.length > 1) {
                const cut = Math.floor(p.length / 2);
                c.write(p.subarray(0, cut));
                await sleep(1);
                c.write(p.subarray(cut));
              } else c.write(p);
            }
            await sleep(5);
            if (endHow === 'destroy') c.close();
            else if (endHow === 'reset') c.socket.resetAndDestroy();
            else if (endHow === 'end') c.socket.end();
            else {
              // stay and check the session still answers: a fresh line, then NOOP
              c.write('\r\nNOOP\r\n');
              await sleep(20);
              c.close();
            }
            // someone else is still served
            const other = await RawClient.connect(srv.port, '127.0.0.1', '127.0.0.2');
            assert.equal((await other.read(3000)).code, 220);
            assert.equal((await other.send('NOOP', 3000)).code, 200);
            other.close();
          })(),
          8000,
          'one fuzz run',
        );
      }),
      { numRuns: 200, interruptAfterTimeLimit: 60_000 },
    );
    // every fuzz session ends (nothing half-open left behind)
    const deadline = Date.now() + 5000;
    while (srv.server.sessionCount > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(srv.server.sessionCount, 0, 'sessions left open');
    assert.equal(srv.server.passiveListeners, 0, 'passive listeners left open');
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB`);
    // and the server still does real work
    const c = await RawClient.connect(srv.port);
    await c.read();
    assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230);
    const data = await c.passive();
    const listing = new Promise<void>((resolve) => data.on('close', () => resolve()).resume());
    assert.ok([125, 150].includes((await c.send('LIST')).code));
    await listing;
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onRejection);
    await srv.close();
  }
  assert.deepEqual(problems, [], 'no unhandled rejection or exception');
});

test('fuzz: a megabyte without a newline is bounded and answered 500 once the line ends', async () => {
  const srv = await startServer();
  try {
    const c = await RawClient.connect(srv.port);
    await c.read();
    for (let i = 0; i < 16; i++) c.write(Buffer.alloc(64 * 1024, 0x42));
    c.write('\r\nNOOP\r\n');
    assert.equal((await c.read()).code, 500);
    assert.equal((await c.read()).code, 200);
    c.close();
  } finally {
    await srv.close();
  }
});

test('fuzz: a half-open client (connects, sends nothing) is closed by the login timeout', async () => {
  const srv = await startServer({ timeouts: { loginMs: 300 } });
  try {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect({ port: srv.port, host: '127.0.0.1' }, () => resolve(s));
      s.on('error', () => undefined);
      s.resume();
    })));
    await sleep(100);
    assert.equal(srv.server.sessionCount, 20);
    const deadline = Date.now() + 3000;
    while (srv.server.sessionCount > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(srv.server.sessionCount, 0);
    for (const s of sockets) s.destroy();
  } finally {
    await srv.close();
  }
});
