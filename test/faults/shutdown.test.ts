import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, readAll } from '../helpers/raw.js';
import { tempDir, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Starts the real CLI on a free loopback port; resolves once it says where it listens. */
async function startCli(root: string, extra: string[]): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'serve', root, '--host', '127.0.0.1', '--port', '0', '--user', `${TEST_USER}:${TEST_PASSWORD}`, '--write', '--log-level', 'warn', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let text = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${text}`)), 10_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      text += d;
      const m = /port (\d+)\)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => reject(new Error(`CLI exited: ${text}`)));
  });
  return { child, port, exited };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => resolve(true)); // ECONNREFUSED: the listener is closed
    s.on('close', () => resolve(!got.startsWith('220')));
  });
}

test('shutdown: SIGTERM stops accepting, lets the running download finish, then 421 to the others and exit 0', async () => {
  const root = await tempDir();
  const content = randomBytes(24 * 1024 * 1024);
  await writeFile(join(root, 'big.bin'), content);
  const { child, port, exited } = await startCli(root, ['--shutdown-grace', '10']);
  try {
    const busy = await RawClient.connect(port);
    await busy.read();
    await busy.login(TEST_USER, TEST_PASSWORD);
    await busy.send('TYPE I');
    const idle = await RawClient.connect(port);
    await idle.read();
    await idle.login(TEST_USER, TEST_PASSWORD);
    const data = await busy.passive();
    data.pause(); // the download is held in progress by a slow reader
    assert.ok([125, 150].includes((await busy.send('RETR big.bin')).code));
    child.kill('SIGTERM');
    await sleep(300);
    assert.equal(await refused(port), true, 'no new connection is accepted after SIGTERM');
    assert.equal(busy.closed, false, 'the transfer is still running');
    const got = readAll(data);
    data.resume();
    assert.equal(sha(await got), sha(content), 'the running download finished whole');
    assert.equal((await busy.read()).code, 226);
    assert.equal((await busy.read()).code, 421);
    assert.equal((await idle.read()).code, 421);
    await busy.whenClosed();
    await idle.whenClosed();
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});

test('shutdown: a transfer still running at the --shutdown-grace deadline is aborted (426, 421), exit 0', async () => {
  const root = await tempDir();
  await writeFile(join(root, 'big.bin'), randomBytes(32 * 1024 * 1024));
  const { child, port, exited } = await startCli(root, ['--shutdown-grace', '1']);
  try {
    const c = await RawClient.connect(port);
    await c.read();
    await c.login(TEST_USER, TEST_PASSWORD);
    await c.send('TYPE I');
    const data = await c.passive();
    data.pause(); // never reads: the transfer cannot finish
    data.on('error', () => undefined);
    assert.ok([125, 150].includes((await c.send('RETR big.bin')).code));
    const started = Date.now();
    child.kill('SIGTERM');
    assert.equal((await c.read(8000)).code, 426);
    assert.equal((await c.read(8000)).code, 421);
    assert.ok(Date.now() - started >= 900, 'the grace period was given');
    assert.equal(await exited, 0);
    data.destroy();
  } finally {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});

test('shutdown: SIGINT with idle sessions only: 421 to each and exit 0 at once', async () => {
  const root = await tempDir();
  const { child, port, exited } = await startCli(root, []);
  try {
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
    for (const c of clients) await c.read();
    await clients[0]!.login(TEST_USER, TEST_PASSWORD);
    child.kill('SIGINT');
    for (const c of clients) assert.equal((await c.read(5000)).code, 421);
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
