/**
 * PROTOCOL.md §2 "Control channel", and the full-duplex rules (ABOR, STAT, NOOP and QUIT
 * answered while data flows; Telnet IP/DM and urgent data before ABOR).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { RawClient, connectData } from '../helpers/raw.js';
import { passiveTransfer, rawSession, readAll, sleep } from './helpers.js';
import { formatReply } from '../../src/ftp/control/reply.js';

let srv: TestServer;
const BIG = 32 * 1024 * 1024;
before(async () => {
  srv = await startServer();
  await writeFile(join(srv.root, 'big.bin'), randomBytes(BIG));
  await mkdir(join(srv.root, 'sub'));
  await writeFile(join(srv.root, 'sub', 'a.txt'), 'a');
});
after(() => srv.close());

test('§2 lines end in CRLF; a bare LF is accepted too', async () => {
  const c = await rawSession(srv);
  c.write('NOOP\n');
  assert.equal((await c.read()).code, 200);
  c.write('NOOP\r\n');
  assert.equal((await c.read()).code, 200);
  c.close();
});

test('§2 a command split over many TCP reads is one command', async () => {
  const c = await rawSession(srv);
  for (const ch of 'PWD\r\n') {
    c.write(ch);
    await sleep(15);
  }
  assert.equal((await c.read()).code, 257);
  c.close();
});

test('§2 pipelined commands in one read are answered in order, one at a time', async () => {
  const c = await rawSession(srv);
  c.write('NOOP\r\nPWD\r\nSYST\r\nCWD sub\r\nPWD\r\nFROB\r\nTYPE I\r\nSIZE a.txt\r\n');
  const codes = [];
  for (let i = 0; i < 8; i++) codes.push((await c.read()).code);
  assert.deepEqual(codes, [200, 257, 215, 250, 257, 500, 200, 213]);
  c.close();
});

test('§2 pipelined commands behind a transfer wait for it and keep their order', async () => {
  const c = await rawSession(srv);
  const data = await c.passive();
  const got = readAll(data);
  c.write('TYPE I\r\nRETR big.bin\r\nSIZE big.bin\r\nPWD\r\n');
  assert.equal((await c.read()).code, 200);
  assert.ok([125, 150].includes((await c.read()).code));
  await got;
  assert.equal((await c.read(10_000)).code, 226);
  assert.equal((await c.read()).text, `213 ${BIG}`);
  assert.equal((await c.read()).code, 257);
  c.close();
});

test('§2 NOOP and STAT pipelined right behind a transfer command are answered after its 1xx, not before', async () => {
  // They may run while data flows, but the transfer command's first reply is still its own:
  // the file is being opened when they arrive, and their replies must not overtake the 150.
  for (const [command, first] of [
    ['RETR big.bin', [125, 150]],
    ['LIST sub', [125, 150]],
    ['RETR missing.bin', [550]],
  ] as const) {
    const c = await rawSession(srv);
    const data = await c.passive();
    const got = readAll(data).catch(() => Buffer.alloc(0));
    c.write(`TYPE I\r\n${command}\r\nNOOP\r\nSTAT\r\n`);
    assert.equal((await c.read()).code, 200);
    const reply = await c.read();
    assert.ok((first as readonly number[]).includes(reply.code), `${command}: first reply ${reply.code} ${reply.text}`);
    const rest = [(await c.read(10_000)).code, (await c.read(10_000)).code];
    if (reply.code < 200) {
      await got;
      rest.push((await c.read(10_000)).code);
      // NOOP and STAT come after the 1xx; the 226 may come before or between them
      assert.deepEqual(rest.filter((code) => code !== 226), [200, 211], `${command}: ${rest}`);
      assert.ok(rest.includes(226), `${command}: ${rest}`);
    } else {
      data.destroy();
      assert.deepEqual(rest, [200, 211], `${command}: ${rest}`);
    }
    c.close();
  }
});

test('§2 command verbs are case-insensitive', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('noop')).code, 200);
  assert.equal((await c.send('pWd')).code, 257);
  assert.equal((await c.send('cwd sub')).code, 250);
  c.close();
});

test('§2 the argument is verbatim: leading and inner spaces, quotes, dashes are part of names', async () => {
  const c = await rawSession(srv);
  for (const name of ['  two leading', 'in  ner', '"quoted"', "it's", '-rf', '-la']) {
    assert.equal((await c.send(`MKD ${name}`)).code, 257, name);
  }
  const names = await readdir(srv.root);
  for (const name of ['  two leading', 'in  ner', '"quoted"', "it's", '-rf', '-la']) assert.ok(names.includes(name), name);
  await writeFile(join(srv.root, '-la', 'inside'), '');
  const list = await passiveTransfer(c, 'NLST -la');
  assert.equal(list.data.toString(), '-la/inside\r\n', 'NLST -la lists the directory "-la" when it exists');
  assert.equal((await c.send('DELE -la/inside')).code, 250);
  for (const name of ['  two leading', 'in  ner', '"quoted"', "it's", '-rf', '-la']) assert.equal((await c.send(`RMD ${name}`)).code, 250, name);
  c.close();
});

test('§2 only LIST/NLST treat leading -flags words as options (LIST -la, LIST -a dir)', async () => {
  const c = await rawSession(srv);
  const la = await passiveTransfer(c, 'LIST -la');
  assert.equal(la.final?.code, 226);
  assert.match(la.data.toString(), / sub\r\n/);
  const a = await passiveTransfer(c, 'LIST -a sub');
  assert.match(a.data.toString(), / a\.txt\r\n/);
  const two = await passiveTransfer(c, 'NLST -a -l sub');
  assert.equal(two.data.toString(), 'sub/a.txt\r\n');
  c.close();
});

test('§2 Telnet: IAC sequences are stripped (IP, DM, option negotiation); IAC IAC is a 0xFF byte', async () => {
  const c = await rawSession(srv);
  c.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('NOOP\r\n')]));
  assert.equal((await c.read()).code, 200);
  c.write(Buffer.from([0xff, 0xfb, 0x01, ...Buffer.from('PWD\r\n')]));
  assert.equal((await c.read()).code, 257);
  c.write(Buffer.from([...Buffer.from('MKD x'), 0xff, 0xff, ...Buffer.from('y\r\n')]));
  assert.equal((await c.read()).code, 257);
  assert.ok((await readdir(srv.root, { encoding: 'buffer' })).some((n) => n.equals(Buffer.from([0x78, 0xff, 0x79]))));
  c.close();
});

test('§2 a line that ends in ABOR, STAT or QUIT after urgent-data garbage is that command', async () => {
  const c = await rawSession(srv);
  c.write(Buffer.from([0xf2, ...Buffer.from('STAT\r\n')]));
  assert.equal((await c.read()).code, 211);
  c.write(Buffer.from([0xff, 0xf4, 0xff, ...Buffer.from('ABOR\r\n')]));
  assert.equal((await c.read()).code, 225, 'IAC IP IAC then ABOR (the DM went out of band)');
  c.write('ABOR\r'); // ftplib's urgent "ABOR\r\n" loses its LF to the out-of-band byte
  assert.equal((await c.read()).code, 225);
  assert.equal((await c.send('NOOP')).code, 200);
  c.write(Buffer.from([0xf2, ...Buffer.from('QUIT\r\n')]));
  assert.equal((await c.read()).code, 221);
  await c.whenClosed();
});

test('§2 a line longer than the limit gets 500, the rest of it is discarded, the session stays usable', async () => {
  const c = await rawSession(srv);
  c.write('NOOP ' + 'x'.repeat(20_000) + '\r\nPWD\r\n');
  assert.equal((await c.read()).code, 500);
  assert.equal((await c.read()).code, 257);
  // without any newline: memory stays bounded and the session still answers afterwards
  for (let i = 0; i < 64; i++) c.write('y'.repeat(64 * 1024));
  c.write('\r\nNOOP\r\n');
  assert.equal((await c.read()).code, 500);
  assert.equal((await c.read()).code, 200);
  c.close();
});

test('§2 multi-line replies: NNN-first ... NNN last; inner lines starting with a digit are indented', async () => {
  const c = await rawSession(srv);
  const chunks: string[] = [];
  c.socket.on('data', (d: string) => chunks.push(d));
  const r = await c.send('HELP');
  assert.equal(r.code, 214);
  const raw = chunks.join('');
  const lines = raw.split('\r\n').slice(0, -1);
  assert.match(lines[0]!, /^214-/);
  assert.match(lines.at(-1)!, /^214 /);
  for (const inner of lines.slice(1, -1)) assert.doesNotMatch(inner, /^\d{3}[ -]/);
  assert.equal(formatReply(211, ['Status', '200 looks like a code', 'End']), '211-Status\r\n 200 looks like a code\r\n211 End\r\n');
  c.close();
});

test('§2 paths in replies: 257 "<path>" with every " doubled', async () => {
  const c = await rawSession(srv);
  assert.equal((await c.send('MKD a"b""c')).text, '257 "/a""b""""c" created');
  assert.equal((await c.send('CWD a"b""c')).code, 250);
  assert.equal((await c.send('PWD')).text, '257 "/a""b""""c" is the current directory');
  c.close();
});

test('§2 UTF-8: FEAT advertises UTF8, OPTS UTF8 ON is accepted, names are UTF-8', async () => {
  const c = await rawSession(srv);
  assert.ok((await c.send('FEAT')).lines.includes(' UTF8'));
  assert.equal((await c.send('OPTS UTF8 ON')).code, 200);
  const r = await c.send('MKD données-日本');
  assert.equal(Buffer.from(r.text, 'latin1').toString('utf8'), '257 "/données-日本" created');
  assert.ok((await readdir(srv.root)).includes('données-日本'));
  c.close();
});

// ---- full duplex --------------------------------------------------------------------------

/** Starts a RETR of big.bin to a reader that does not read: the transfer stays in progress. */
async function stalledDownload(c: RawClient) {
  await c.send('TYPE I');
  const data = await c.passive();
  data.pause();
  c.write('RETR big.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  await sleep(100);
  return data;
}

test('§2 during a transfer STAT is answered with progress, NOOP is answered, and the transfer goes on', async () => {
  const c = await rawSession(srv);
  const data = await c.passive();
  await c.send('TYPE I');
  c.write('RETR big.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  data.pause();
  await sleep(100);
  const stat = await c.send('STAT');
  assert.equal(stat.code, 211);
  assert.match(stat.text, /Transfer in progress: download \/big\.bin: \d+ of 33554432 bytes/);
  assert.equal((await c.send('NOOP')).code, 200);
  const parts: Buffer[] = [];
  data.on('data', (d: Buffer) => parts.push(d));
  data.resume();
  await new Promise((r) => data.once('end', r));
  assert.equal(Buffer.concat(parts).length, BIG, 'the whole file arrived');
  assert.equal((await c.read(10_000)).code, 226);
  c.close();
});

test('§2 ABOR during a transfer: 426 then 226, and the data connection is freed', async () => {
  const c = await rawSession(srv);
  const data = await stalledDownload(c);
  const closed = new Promise((r) => data.once('close', r));
  data.on('error', () => undefined);
  c.write('ABOR\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  data.resume();
  await closed;
  assert.equal((await c.send('NOOP')).code, 200);
  const again = await passiveTransfer(c, 'SIZE big.bin');
  assert.equal(again.first.code, 213);
  c.close();
});

test('§2 ABOR with Telnet IP/DM bytes (\\xff\\xf4\\xff\\xf2ABOR) while a large RETR flows to a slow reader', async () => {
  const c = await rawSession(srv);
  const data = await stalledDownload(c);
  data.on('error', () => undefined);
  c.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]));
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  data.destroy();
  assert.equal((await c.send('NOOP')).code, 200);
  c.close();
});

/** Runs a Python snippet (real MSG_OOB urgent data, which Node cannot send). */
function python(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', script], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill(), 15_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`python exited ${code}: ${err}`));
    });
  });
}

test('§2 ABOR sent as TCP urgent data, as Python ftplib and lftp send it, interrupts a running RETR', async () => {
  const out = await python(
    `
import ftplib, os, socket, time
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', int(os.environ['PORT']))
ftp.login(os.environ['USER_'], os.environ['PASS_'])
ftp.voidcmd('TYPE I')
# ftplib style: the whole "ABOR\\r\\n" as urgent data
conn = ftp.transfercmd('RETR big.bin')
conn.recv(1000)
time.sleep(0.1)
first = ftp.abort()
rest = ftp.getresp() if first.startswith('426') else ''
conn.close()
print(first[:3], rest[:3], ftp.voidcmd('NOOP')[:3])
# lftp style: IAC IP IAC normally, DM as urgent, then ABOR
conn = ftp.transfercmd('RETR big.bin')
conn.recv(1000)
time.sleep(0.1)
ftp.sock.sendall(b'\\xff\\xf4\\xff')
ftp.sock.send(b'\\xf2', socket.MSG_OOB)
ftp.sock.sendall(b'ABOR\\r\\n')
a = ftp.getmultiline()
b = ftp.getmultiline()
conn.close()
print(a[:3], b[:3], ftp.voidcmd('NOOP')[:3])
ftp.quit()
`,
    { PORT: String(srv.port), USER_: TEST_USER, PASS_: TEST_PASSWORD },
  );
  assert.deepEqual(out.trim().split('\n'), ['426 226 200', '426 226 200']);
});

test('§2 QUIT during a transfer: the transfer finishes, then 221 and close', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  const got = readAll(data);
  c.write('RETR big.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  c.write('QUIT\r\n');
  assert.equal((await got).length, BIG);
  assert.equal((await c.read(10_000)).code, 226);
  assert.equal((await c.read()).code, 221);
  await c.whenClosed();
});

test('§2 QUIT while the server waits for a passive connection that never comes: 426 for it, then 221 (no wait)', async () => {
  const c = await rawSession(srv);
  await c.send('EPSV');
  c.write('RETR big.bin\r\n');
  assert.equal((await c.read()).code, 150);
  const t0 = Date.now();
  c.write('QUIT\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 221);
  assert.ok(Date.now() - t0 < 2000);
  await c.whenClosed();
});

test('§2 pipelined QUIT after a transfer command is answered after the transfer (221 last)', async () => {
  const c = await RawClient.connect(srv.port);
  await c.read();
  const data = await (async () => {
    await c.login(TEST_USER, TEST_PASSWORD);
    return c.passive();
  })();
  const got = readAll(data);
  c.write('TYPE I\r\nRETR big.bin\r\nQUIT\r\n');
  assert.equal((await c.read()).code, 200);
  assert.ok([125, 150].includes((await c.read()).code));
  assert.equal((await got).length, BIG);
  assert.equal((await c.read(10_000)).code, 226);
  assert.equal((await c.read()).code, 221);
});

test('§2 pipelined RETR + QUIT from a client that connects its data connection only after the 150: the whole file, 226, then 221', async () => {
  const c = await RawClient.connect(srv.port);
  await c.read();
  await c.login(TEST_USER, TEST_PASSWORD);
  const epsv = await c.send('EPSV');
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)![1]);
  c.write('TYPE I\r\nRETR big.bin\r\nQUIT\r\n');
  assert.equal((await c.read()).code, 200);
  assert.equal((await c.read()).code, 150);
  const data = await connectData(port);
  assert.equal((await readAll(data)).length, BIG);
  assert.equal((await c.read(10_000)).code, 226);
  assert.equal((await c.read()).code, 221);
});

test('§2 ABOR during an upload: 426 then 226; what arrived is kept (resumable)', async () => {
  const c = await rawSession(srv);
  await c.send('TYPE I');
  const data = await c.passive();
  c.write('STOR partial.bin\r\n');
  assert.ok([125, 150].includes((await c.read()).code));
  data.write(Buffer.alloc(100_000, 1));
  await sleep(150);
  c.write('ABOR\r\n');
  assert.equal((await c.read()).code, 426);
  assert.equal((await c.read()).code, 226);
  data.destroy();
  const size = await c.send('SIZE partial.bin');
  assert.equal(size.text, '213 100000');
  c.close();
});
