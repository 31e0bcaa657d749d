// FTPS data connections have two paths (src/ftp/tls.ts secureData): the transfer engine's
// TLS link (src/ftp/engine-tls.ts, native/tls-link.c), which hands JavaScript a plain
// socketpair end, and Node's own TLS, forced with WHARF_ENGINE_TLS=off (read when a server
// with TLS is created). Both must move the same bytes with the same replies: byte-exact
// transfers in TLS 1.2 and 1.3, ABOR, a handshake that is not TLS, a reset, an upload
// that ends with FIN but without close_notify, REST, and a file that shrinks mid-download.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transferEngine } from '../../src/core/storage/transfer-engine.js';
import { tempDir } from '../helpers/server.js';
import { closedWithin, connectData } from '../helpers/raw.js';
import { TlsRawClient, collect, runProcess, sha256File, startFtpsServer, type FtpsTestServer, type Reply } from './helpers.js';

const MiB = 1024 * 1024;
type TlsPath = 'engine' | 'node';
/** Without the native engine only Node's TLS exists: the engine's half is skipped. */
const PATHS: readonly TlsPath[] = transferEngine ? ['engine', 'node'] : ['node'];
const noEngine = transferEngine ? false : 'the native transfer engine is not built';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const engineJobs = () => transferEngine?.running ?? 0;

/** A server whose FTPS data connections take `path` (the variable is read as its FtpTls is made). */
async function startOn(path: TlsPath, options: Parameters<typeof startFtpsServer>[0] = {}): Promise<FtpsTestServer> {
  const saved = process.env.WHARF_ENGINE_TLS;
  if (path === 'node') process.env.WHARF_ENGINE_TLS = 'off';
  else delete process.env.WHARF_ENGINE_TLS;
  try {
    return await startFtpsServer(options);
  } finally {
    if (saved === undefined) delete process.env.WHARF_ENGINE_TLS;
    else process.env.WHARF_ENGINE_TLS = saved;
  }
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(20);
  }
}

function opened(reply: Reply): void {
  assert.ok(reply.code === 125 || reply.code === 150, reply.text);
}

async function epsvPort(c: TlsRawClient): Promise<number> {
  const r = await c.send('EPSV');
  const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
  if (r.code !== 229 || !m) throw new Error(`EPSV answered ${r.text}`);
  return Number(m[1]);
}

interface SecureData {
  /** The TLS data connection, resuming the control connection's session. */
  tls: tls.TLSSocket;
  /** The TCP socket under it: resetAndDestroy() cuts it, end() sends a FIN without close_notify. */
  tcp: net.Socket;
  secured: Promise<unknown>;
}

/** EPSV, then a TLS data connection resuming the control session; the handshake runs in the background. */
async function secureData(c: TlsRawClient): Promise<SecureData> {
  const tcp = await connectData(await epsvPort(c));
  tcp.on('error', () => undefined);
  const socket = tls.connect({ socket: tcp, session: c.tlsSession!, rejectUnauthorized: false });
  socket.on('error', () => undefined);
  return { tls: socket, tcp, secured: once(socket, 'secureConnect') };
}

/** A logged-in PROT P session in TYPE I. */
async function protectedSession(port: number): Promise<TlsRawClient> {
  const c = await TlsRawClient.protectedSession(port);
  assert.equal((await c.send('TYPE I')).code, 200);
  return c;
}

/** A complete PROT P download of `name`: its bytes, with 226 checked. */
async function retr(c: TlsRawClient, name: string): Promise<Buffer> {
  const d = await secureData(c);
  const got = collect(d.tls);
  opened(await c.send(`RETR ${name}`));
  const body = await got;
  const done = await c.read(15_000);
  assert.equal(done.code, 226, done.text);
  return body;
}

/** Descriptors this process holds, less the empty upload pipes the engine keeps on purpose. */
function openFds(): number {
  return readdirSync('/proc/self/fd').length - (transferEngine?.descriptorsKept ?? 0);
}

// 1. Byte-exact transfers with real curl, TLS 1.2 and TLS 1.3, on each path.
for (const path of PATHS) {
  test(`${path} TLS: curl over PROT P, TLS 1.2 and 1.3: 3 MiB and 3 MiB + 7 up then down byte-exact (sha256); LIST names them`, async () => {
    const srv = await startOn(path, { requireTls: true });
    const work = await tempDir('wharf-etls-');
    try {
      const sources = [
        { name: 'even.bin', size: 3 * MiB },
        { name: 'odd.bin', size: 3 * MiB + 7 },
      ];
      for (const s of sources) await writeFile(join(work, s.name), randomBytes(s.size));
      const expected = await Promise.all(sources.map((s) => sha256File(join(work, s.name))));
      for (const version of ['1.2', '1.3'] as const) {
        const base = ['-sS', '-v', '--ssl-reqd', '--cacert', srv.certFile, '-u', 'alice:wonderland', ...(version === '1.2' ? ['--tls-max', '1.2'] : ['--tlsv1.3'])];
        const url = (name: string) => `ftp://127.0.0.1:${srv.port}/${name}`;
        const remote = sources.map((s) => `tls${version}-${s.name}`);

        /** Both the control and the data connection ran this TLS version (curl -v says so per connection). */
        const usedVersion = (stderr: string) => {
          const used = [...stderr.matchAll(/SSL connection using (TLSv1\.\d)/g)].map((m) => m[1]);
          assert.deepEqual(used, [`TLSv${version}`, `TLSv${version}`], stderr);
        };
        // One curl per transfer. With TLS 1.3, a second data connection in the same curl run
        // (curl -T a URL1 -T b URL2) offers no session: curl keeps the first data connection's
        // session, which carries no ticket (neither path issues tickets on data connections), so
        // session reuse refuses it (curl exit 55), on both paths alike.
        for (let i = 0; i < sources.length; i++) {
          const up = await runProcess('curl', [...base, '-T', join(work, sources[i]!.name), url(remote[i]!)]);
          assert.equal(up.code, 0, up.stderr);
          usedVersion(up.stderr);
          assert.equal(await sha256File(join(srv.root, remote[i]!)), expected[i], `stored ${remote[i]} over TLS ${version}`);
        }
        for (let i = 0; i < sources.length; i++) {
          const out = join(work, `down-${remote[i]}`);
          const down = await runProcess('curl', [...base, '-o', out, url(remote[i]!)]);
          assert.equal(down.code, 0, down.stderr);
          usedVersion(down.stderr);
          assert.equal(await sha256File(out), expected[i], `downloaded ${remote[i]} over TLS ${version}`);
        }

        const list = await runProcess('curl', [...base, url('')]); // a URL ending in / is a LIST
        assert.equal(list.code, 0, list.stderr);
        usedVersion(list.stderr);
        for (const name of remote) assert.match(list.stdout, new RegExp(` ${name.replace(/\./g, '\\.')}\\r?\\n`), `LIST over TLS ${version}:\n${list.stdout}`);
      }
    } finally {
      await srv.close();
      await rm(work, { recursive: true, force: true });
    }
  });
}

// 2. The engine really terminates the data connection's TLS when enabled, and does not with WHARF_ENGINE_TLS=off.
test('the engine runs the PROT P link when enabled (one engine job from the handshake on, more during a stalled RETR), none with WHARF_ENGINE_TLS=off', { skip: noEngine }, async (t) => {
  const body = randomBytes(8 * MiB);
  const seen: Record<string, { handshake: number; stalled: number }> = {};
  for (const path of ['engine', 'node'] as const) {
    const srv = await startOn(path);
    try {
      await writeFile(join(srv.root, 'big.bin'), body);
      const c = await protectedSession(srv.port);
      await until(() => engineJobs() === 0, `${path}: idle engine before the transfer`);
      const d = await secureData(c);
      await d.secured;
      const handshake = engineJobs(); // the data connection is secured, no transfer command yet
      d.tls.pause(); // a reader that takes nothing for a while: the transfer stays in progress
      const parts: Buffer[] = [];
      d.tls.on('data', (chunk: Buffer) => parts.push(chunk));
      const ended = once(d.tls, 'end');
      opened(await c.send('RETR big.bin'));
      await sleep(300);
      const stalled = engineJobs();
      d.tls.resume();
      await ended;
      const done = await c.read(15_000);
      assert.equal(done.code, 226, done.text);
      assert.equal(sha(Buffer.concat(parts)), sha(body), `${path}: byte-exact after the stall`);
      await until(() => engineJobs() === 0, `${path}: no engine job after the transfer`);
      seen[path] = { handshake, stalled };
      c.close();
    } finally {
      await srv.close();
    }
  }
  t.diagnostic(`engine jobs (handshake done, stalled RETR): engine path ${seen.engine!.handshake}, ${seen.engine!.stalled}; WHARF_ENGINE_TLS=off ${seen.node!.handshake}, ${seen.node!.stalled}`);
  assert.equal(seen.engine!.handshake, 1, 'the engine holds the secured data connection (its TLS link)');
  assert.ok(seen.engine!.stalled >= 1, `engine jobs during the stalled download: ${seen.engine!.stalled}`);
  assert.equal(seen.node!.handshake, 0, 'WHARF_ENGINE_TLS=off: no engine job for the handshake');
  assert.equal(seen.node!.stalled, 0, "WHARF_ENGINE_TLS=off: Node's TLSSocket sends from JavaScript, no engine job");
});

// 3. ABOR in the middle of a large PROT P download.
for (const path of PATHS) {
  test(`${path} TLS: ABOR during a 64 MiB PROT P download: 426 then 226, the data connection closes, the next RETR is byte-exact, no engine job or descriptor left`, async () => {
    const srv = await startOn(path);
    try {
      await writeFile(join(srv.root, 'huge.bin'), '');
      await truncate(join(srv.root, 'huge.bin'), 64 * MiB); // sparse: nothing to write, 64 MiB to send
      const small = randomBytes(200_003);
      await writeFile(join(srv.root, 'small.bin'), small);
      const c = await protectedSession(srv.port);
      assert.ok(small.equals(await retr(c, 'small.bin')), 'warm-up RETR');
      await until(() => engineJobs() === 0, 'idle engine after the warm-up');
      const fdsBefore = openFds();

      const d = await secureData(c);
      opened(await c.send('RETR huge.bin'));
      await d.secured;
      await once(d.tls, 'data'); // the download is flowing
      d.tls.pause(); // then takes nothing: the server is still sending when ABOR comes
      await sleep(100);
      c.write('ABOR\r\n');
      const first = await c.read(5000);
      assert.equal(first.code, 426, first.text);
      const second = await c.read(5000);
      assert.equal(second.code, 226, second.text);
      d.tls.resume(); // read on, so the client sees the server's close
      await closedWithin(d.tls, 5000);
      d.tcp.destroy();

      assert.ok(small.equals(await retr(c, 'small.bin')), 'the session goes on: the next RETR over PROT P is byte-exact');
      assert.equal((await c.send('NOOP')).code, 200);
      await until(() => engineJobs() === 0, 'no engine job left after ABOR');
      await until(() => openFds() <= fdsBefore, `descriptors back to ${fdsBefore} (now ${openFds()})`);
      c.close();
    } finally {
      await srv.close();
    }
  });
}

// 3b. ABOR, or the end of the session, while the data connection's handshake has not happened
// yet. The engine's link outlived the raw socket that endpoint.close() destroyed: ABOR waited
// for the handshake, and a client that shook hands afterwards got the whole aborted file.
for (const path of PATHS) {
  test(`${path} TLS: ABOR or a closed session before the data connection's handshake: 426 at once, a late handshake gets no byte, nothing left`, async () => {
    const srv = await startOn(path);
    try {
      await writeFile(join(srv.root, 'huge.bin'), '');
      await truncate(join(srv.root, 'huge.bin'), 64 * MiB);
      const fdsBefore = openFds();
      for (const ending of ['ABOR', 'session closed'] as const) {
        const c = await protectedSession(srv.port);
        const session = c.tlsSession!;
        const tcp = await connectData(await epsvPort(c));
        tcp.on('error', () => undefined);
        opened(await c.send('RETR huge.bin'));
        if (ending === 'ABOR') {
          c.write('ABOR\r\n');
          const first = await c.read(2000);
          assert.equal(first.code, 426, first.text);
          const second = await c.read(2000);
          assert.equal(second.code, 226, second.text);
        } else {
          c.close();
          await until(() => srv.server.sessionCount === 0, 'the session closed');
        }
        const late = tls.connect({ socket: tcp, session, rejectUnauthorized: false });
        late.on('error', () => undefined);
        let got = 0;
        late.on('data', (chunk: Buffer) => (got += chunk.length));
        await closedWithin(tcp, 2000); // (a TLSSocket whose TCP closes before its handshake never says 'close')
        late.destroy();
        assert.equal(got, 0, `${ending}: no byte of the aborted download`);
        if (ending === 'ABOR') {
          assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
          c.close();
        }
      }
      await until(() => engineJobs() === 0, 'no engine job left');
      await until(() => openFds() <= fdsBefore, `descriptors back to ${fdsBefore} (now ${openFds()})`);
    } finally {
      await srv.close();
    }
  });
}

// 3c. A PROT P data connection is secured as soon as it arrives, before any transfer command:
// one that no transfer then takes (the command is refused, a new EPSV replaces it, the client
// quits) must still be closed by the server. The engine's socket for it was held by nobody.
for (const path of PATHS) {
  test(`${path} TLS: a secured data connection no transfer took (550, a new EPSV, QUIT) is closed by the server`, async () => {
    const srv = await startOn(path);
    try {
      const fdsBefore = openFds();
      for (const next of ['RETR missing.bin', 'EPSV', 'QUIT']) {
        const c = await protectedSession(srv.port);
        const d = await secureData(c);
        await d.secured;
        await sleep(300); // the server has the handshake's end too
        const reply = await c.send(next);
        assert.equal(reply.code, { 'RETR missing.bin': 550, EPSV: 229, QUIT: 221 }[next], reply.text);
        await closedWithin(d.tcp, 2000);
        c.close();
      }
      await until(() => srv.server.sessionCount === 0, 'the sessions closed');
      await until(() => engineJobs() === 0, 'no engine job left');
      await until(() => openFds() <= fdsBefore, `descriptors back to ${fdsBefore} (now ${openFds()})`);
    } finally {
      await srv.close();
    }
  });
}

// 4. Something other than a ClientHello on a PROT P data connection.
/** Connects to a PROT P passive port, sends HTTP instead of a ClientHello, and returns the RETR's refusal. */
async function garbageHandshake(c: TlsRawClient, name: string, content: Buffer): Promise<Reply> {
  const raw = await connectData(await epsvPort(c));
  const got = collect(raw);
  raw.write('GET / HTTP/1.0\r\n\r\n');
  opened(await c.send(`RETR ${name}`));
  const refusal = await c.read(10_000);
  await closedWithin(raw, 5000); // the server dropped the connection
  assert.equal((await got).indexOf(content.subarray(0, 64)), -1, 'no plaintext of the file on the connection');
  return refusal;
}

test('a data connection that sends HTTP instead of a ClientHello gets 425 "TLS handshake failed" on both paths, and the session goes on', async () => {
  for (const path of PATHS) {
    const srv = await startOn(path);
    try {
      const secret = randomBytes(5000);
      await writeFile(join(srv.root, 'x.bin'), secret);
      const c = await protectedSession(srv.port);
      const refusal = await garbageHandshake(c, 'x.bin', secret);
      assert.equal(refusal.code, 425, refusal.text);
      assert.ok(refusal.text.startsWith("425 Can't open data connection: TLS handshake failed"), `${path}: ${refusal.text}`);
      if (path === 'engine') assert.equal(refusal.text, "425 Can't open data connection: TLS handshake failed: http request", "OpenSSL's reason");
      assert.ok(secret.equals(await retr(c, 'x.bin')), `${path}: the session goes on: a PROT P RETR is byte-exact`);
      await until(() => engineJobs() === 0, `${path}: no engine job left after the failed handshake`);
      c.close();
    } finally {
      await srv.close();
    }
  }
});

// Node's path loses OpenSSL's reason: describeTlsError (src/ftp/tls.ts) expects
// "error:0A00009C:SSL routines::http request", but Node 20's message is
// "…:SSL routines:ssl3_get_record:http request:../deps/openssl/…/ssl3_record.c:341:\n", whose
// last ':'-separated part is "\n", trimmed to "". The engine's path names the reason.
test("Node's TLS path names OpenSSL's reason in the 425 as the engine's path does", async () => {
  const srv = await startOn('node');
  try {
    const secret = randomBytes(5000);
    await writeFile(join(srv.root, 'x.bin'), secret);
    const c = await protectedSession(srv.port);
    const refusal = await garbageHandshake(c, 'x.bin', secret);
    c.close();
    assert.equal(refusal.text, "425 Can't open data connection: TLS handshake failed: http request");
  } finally {
    await srv.close();
  }
});

// 5. The client resets the data connection in the middle of a large download.
for (const path of PATHS) {
  test(`${path} TLS: a TCP reset in the middle of a 64 MiB PROT P download is a 426, and the server keeps serving`, async () => {
    const srv = await startOn(path);
    try {
      await writeFile(join(srv.root, 'huge.bin'), '');
      await truncate(join(srv.root, 'huge.bin'), 64 * MiB);
      const small = randomBytes(300_001); // past the engine's 256 KiB threshold
      await writeFile(join(srv.root, 'small.bin'), small);
      const c = await protectedSession(srv.port);

      const d = await secureData(c);
      opened(await c.send('RETR huge.bin'));
      await d.secured;
      let received = 0;
      d.tls.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 2 * MiB) d.tls.pause();
      });
      await until(() => received >= 2 * MiB, 'the first 2 MiB arrived', 10_000);
      await sleep(100);
      d.tcp.resetAndDestroy(); // RST: no close_notify, no FIN
      const reply = await c.read(10_000);
      assert.equal(reply.code, 426, reply.text);
      assert.ok(received < 64 * MiB, 'the reset came before the end of the file');

      assert.ok(small.equals(await retr(c, 'small.bin')), 'the session goes on: the next RETR over PROT P is byte-exact');
      await until(() => engineJobs() === 0, 'no engine job left after the reset');
      c.close();
      // ...and so does the server: a new session is served.
      const other = await protectedSession(srv.port);
      assert.ok(small.equals(await retr(other, 'small.bin')), 'a new session is served');
      other.close();
    } finally {
      await srv.close();
    }
  });
}

// 5b. The same in the middle of a big listing: the listing's next write meets the reset.
for (const path of PATHS) {
  test(`${path} TLS: a TCP reset in the middle of a big PROT P listing is a 426, and the server keeps serving`, async () => {
    const srv = await startOn(path);
    try {
      const dir = join(srv.root, 'many');
      await mkdir(dir);
      // ~7 MiB of LIST lines: more than loopback's socket buffers take, so the server is still writing at the reset
      for (let i = 0; i < 30_000; i++) closeSync(openSync(join(dir, `${String(i).padStart(6, '0')}${'n'.repeat(200)}`), 'w'));
      const c = await protectedSession(srv.port);
      for (const command of ['LIST many', 'MLSD many']) {
        const d = await secureData(c);
        opened(await c.send(command));
        await d.secured;
        await once(d.tls, 'data');
        d.tcp.resetAndDestroy(); // RST: no close_notify, no FIN
        const reply = await c.read(10_000);
        assert.equal(reply.code, 426, `${command}: ${reply.text}`);
        assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
      }
      c.socket.destroy();
      await until(() => engineJobs() === 0, 'no engine job left after the resets');
      const other = await protectedSession(srv.port);
      assert.equal((await other.send('NOOP')).code, 200, 'a new session is served');
      other.close();
    } finally {
      await srv.close();
    }
  });
}

// 6. An upload that ends with a TCP FIN and no close_notify. native/tls-link.c sets
// SSL_OP_IGNORE_UNEXPECTED_EOF, so the engine takes the FIN as the end of the stream, as
// Node's TLSSocket does: a complete upload (226) with every byte that was sent.
test('a PROT P upload ended by a TCP FIN without close_notify is treated alike on both paths: 226, every byte stored', async () => {
  const body = randomBytes(3 * MiB + 123);
  const results: Partial<Record<TlsPath, { code: number; size: number }>> = {};
  for (const path of PATHS) {
    const srv = await startOn(path);
    try {
      const c = await protectedSession(srv.port);
      const d = await secureData(c);
      opened(await c.send('STOR nofin.bin'));
      await d.secured;
      const piece = 64 * 1024;
      for (let at = 0; at < body.length - piece; at += piece) {
        if (!d.tls.write(body.subarray(at, at + piece))) await once(d.tls, 'drain');
      }
      const tail = body.subarray(Math.floor((body.length - 1) / piece) * piece);
      await new Promise<void>((r) => d.tls.write(tail, () => r())); // writes complete in order: every record is with the kernel
      d.tcp.end(); // FIN under the TLS socket: the TLS stream was never closed
      const reply = await c.read(15_000);
      const stored = await readFile(join(srv.root, 'nofin.bin'));
      results[path] = { code: reply.code, size: stored.length };
      assert.equal(reply.code, 226, `${path}: ${reply.text}`);
      assert.equal(stored.length, body.length, `${path}: stored size`);
      assert.ok(stored.equals(body), `${path}: stored bytes`);
      await closedWithin(d.tls, 5000);
      assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
      await until(() => engineJobs() === 0, `${path}: no engine job left`);
      c.close();
    } finally {
      await srv.close();
    }
  }
  if (results.engine) assert.deepEqual(results.engine, results.node, 'both paths end such an upload the same way');
});

// 7. Downloads the engine's link sends from the file itself (tls_link_send): from a REST
// offset, and from a file that gets shorter while the reader stalls. Both paths must agree.
for (const path of PATHS) {
  test(`${path} TLS: REST at an odd offset then RETR over PROT P sends the exact tail; a file truncated during a stalled download ends with 226 and a prefix of it`, async () => {
    const srv = await startOn(path);
    try {
      const body = randomBytes(5 * MiB + 3);
      await writeFile(join(srv.root, 'tail.bin'), body);
      const c = await protectedSession(srv.port);
      for (const offset of [1_234_567, body.length - 300_001, body.length]) {
        assert.equal((await c.send(`REST ${offset}`)).code, 350);
        const got = await retr(c, 'tail.bin');
        assert.equal(got.length, body.length - offset, `REST ${offset}: length`);
        assert.ok(got.equals(body.subarray(offset)), `REST ${offset}: the bytes from the offset on`);
      }

      const shrinking = randomBytes(32 * MiB);
      await writeFile(join(srv.root, 'shrink.bin'), shrinking);
      const d = await secureData(c);
      d.tls.pause(); // nothing is read: the download stalls with at most a few MiB in flight
      const parts: Buffer[] = [];
      d.tls.on('data', (chunk: Buffer) => parts.push(chunk));
      const ended = once(d.tls, 'end');
      opened(await c.send('RETR shrink.bin'));
      await d.secured;
      await sleep(300);
      await truncate(join(srv.root, 'shrink.bin'), 1 * MiB);
      d.tls.resume();
      await ended;
      const done = await c.read(15_000);
      assert.equal(done.code, 226, done.text);
      const got = Buffer.concat(parts);
      assert.ok(got.length >= 1 * MiB && got.length < shrinking.length, `received ${got.length} bytes of a file cut to 1 MiB from 32 MiB`);
      assert.ok(got.equals(shrinking.subarray(0, got.length)), 'what arrived is the start of the file');
      await until(() => engineJobs() === 0, `${path}: no engine job left`);
      assert.equal((await c.send('NOOP')).code, 200, 'the session goes on');
      c.close();
    } finally {
      await srv.close();
    }
  });
}

// 8. A download is answered once our close_notify and FIN are out, without waiting for the
// client's close_notify: a client that closes its data connection only after the 226
// would otherwise wait out the 10 s grace and get a 426 for a download it had whole.
for (const path of PATHS) {
  test(`${path} TLS: a PROT P download gets its 226 while the client still holds the data connection open; the connection ends when the client closes`, async () => {
    const srv = await startOn(path);
    try {
      const body = randomBytes(200_000);
      await writeFile(join(srv.root, 'held.bin'), body);
      const c = await protectedSession(srv.port);
      // allowHalfOpen: after the server's close_notify and FIN, this client sends nothing back.
      const tcp = net.connect({ port: await epsvPort(c), host: '127.0.0.1', allowHalfOpen: true });
      tcp.on('error', () => undefined);
      const data = tls.connect({ socket: tcp, session: c.tlsSession!, rejectUnauthorized: false });
      data.on('error', () => undefined);
      const got = collect(data);
      opened(await c.send('RETR held.bin'));
      assert.deepEqual(await got, body);
      const before = Date.now();
      const done = await c.read(5000);
      assert.equal(done.code, 226, done.text);
      assert.ok(Date.now() - before < 2000, `226 came ${Date.now() - before} ms after the data`);
      assert.ok(!data.destroyed && !data.writableEnded, 'the client had not closed its side yet');
      if (path === 'engine') assert.equal(engineJobs(), 1, 'the link still waits for the client');
      const serverClosed = once(data, 'close');
      data.end();
      await serverClosed;
      await until(() => engineJobs() === 0, 'the link ends once the client closed');
      assert.equal((await c.send('NOOP')).code, 200);
      c.close();
    } finally {
      await srv.close();
    }
  });
}
