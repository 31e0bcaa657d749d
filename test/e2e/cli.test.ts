import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFile, writeFile, rm, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { FLAGS } from '../../src/cli/flags.js';
import { tempDir } from '../helpers/server.js';
import { run, describeRun } from '../helpers/run.js';
import { RawClient } from '../helpers/raw.js';
import { curl, ftpUrl } from '../helpers/curl.js';

/** The built CLI, exactly what the `wharf` bin runs. */
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Running {
  port: number;
  banner: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const folders: string[] = [];
after(async () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await tempDir('wharf-cli-');
  folders.push(dir);
  return dir;
}

/**
 * Starts `wharf serve DIR --host 127.0.0.1 --port 0 ...` and reads the real port from the
 * start-up banner ("listening on 127.0.0.1 port N"). Killed when the test ends.
 */
function serve(dir: string, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let banner = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no start-up banner within 10 s:\n${banner}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      banner += d.toString('utf8');
      const m = /listening on \S+ port (\d+)/.exec(banner);
      if (m && banner.includes('Ctrl+C')) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          banner,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 5000).unref();
            }).then(() => void running.delete(child)),
        });
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wharf serve exited ${code} before listening:\n${banner}`));
    });
  });
}

async function connect(port: number, user: string, password: string): Promise<Client> {
  const c = new Client(10_000);
  await c.access({ host: '127.0.0.1', port, user, password });
  return c;
}

const upload = (c: Client, name: string, text: string) => c.uploadFrom(Readable.from([Buffer.from(text)]), name);

test('cli: without user flags, serve shares read-only to anonymous users and says so', async () => {
  const dir = await folder();
  await writeFile(join(dir, 'readme.txt'), 'hello anonymous');
  const srv = await serve(dir);
  try {
    assert.match(srv.banner, /anonymous/i);
    assert.match(srv.banner, /read-only/i);
    const c = await connect(srv.port, 'anonymous', 'guest@example.com');
    try {
      assert.deepEqual((await c.list()).map((e) => e.name), ['readme.txt']);
      const parts: Buffer[] = [];
      await c.downloadTo(new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), 'readme.txt');
      assert.equal(Buffer.concat(parts).toString(), 'hello anonymous');
      await assert.rejects(upload(c, 'new.txt', 'x'), /550/);
      await assert.rejects(c.send('MKD dir'), /550/);
      await assert.rejects(c.send('DELE readme.txt'), /550/);
    } finally {
      c.close();
    }
    assert.equal(existsSync(join(dir, 'new.txt')), false);
    assert.equal(existsSync(join(dir, 'readme.txt')), true);
  } finally {
    await srv.stop();
  }
});

test('cli: --user a:b --write allows uploads; anonymous is then off', async () => {
  const dir = await folder();
  const srv = await serve(dir, ['--user', 'cam:s3cret', '--write']);
  try {
    assert.match(srv.banner, /cam/);
    const c = await connect(srv.port, 'cam', 's3cret');
    try {
      await upload(c, 'up.txt', 'uploaded');
      await c.ensureDir('/made');
    } finally {
      c.close();
    }
    assert.equal(await readFile(join(dir, 'up.txt'), 'utf8'), 'uploaded');
    assert.ok(existsSync(join(dir, 'made')));
    await assert.rejects(connect(srv.port, 'anonymous', 'x'), /530/);
    await assert.rejects(connect(srv.port, 'cam', 'wrong'), /530/);
  } finally {
    await srv.stop();
  }
});

test('cli: without --write, named users are read-only (550 on STOR)', async () => {
  const dir = await folder();
  await writeFile(join(dir, 'keep.txt'), 'keep');
  const srv = await serve(dir, ['--user', 'ro:pw']);
  try {
    assert.match(srv.banner, /read-only/);
    const c = await connect(srv.port, 'ro', 'pw');
    try {
      assert.deepEqual((await c.list()).map((e) => e.name), ['keep.txt']);
      await assert.rejects(upload(c, 'new.txt', 'x'), /550/);
      await assert.rejects(c.send('DELE keep.txt'), /550/);
      await assert.rejects(c.send('RNFR keep.txt'), /550/);
    } finally {
      c.close();
    }
    assert.equal(existsSync(join(dir, 'new.txt')), false);
    assert.equal(await readFile(join(dir, 'keep.txt'), 'utf8'), 'keep');
  } finally {
    await srv.stop();
  }
});

test('cli: a `wharf passwd` hash works in a --users-file', async () => {
  const hashed = await run(process.execPath, [CLI, 'passwd', 'tr0ub4dor & 3'], { timeoutMs: 15_000 });
  assert.equal(hashed.code, 0, describeRun('wharf passwd', hashed));
  const hash = hashed.stdout.toString('utf8').trim();
  assert.ok(!hash.includes('tr0ub4dor'), 'the hash does not contain the password');
  const fromStdin = await run(process.execPath, [CLI, 'passwd'], { input: 'piped pw\n', timeoutMs: 15_000 });
  assert.equal(fromStdin.code, 0, describeRun('wharf passwd (stdin)', fromStdin));
  const dir = await folder();
  const usersFile = join(await folder(), 'users.json');
  await writeFile(
    usersFile,
    JSON.stringify({
      users: [
        { name: 'dora', password: hash },
        { name: 'pipe', password: fromStdin.stdout.toString('utf8').trim().split('\n').at(-1) },
      ],
    }),
  );
  const srv = await serve(dir, ['--users-file', usersFile]);
  try {
    const c = await connect(srv.port, 'dora', 'tr0ub4dor & 3');
    c.close();
    const p = await connect(srv.port, 'pipe', 'piped pw');
    p.close();
    await assert.rejects(connect(srv.port, 'dora', 'tr0ub4dor'), /530/);
  } finally {
    await srv.stop();
  }
});

test('cli: `wharf --help` and `wharf serve --help` mention every flag', async () => {
  const main = await run(process.execPath, [CLI, '--help']);
  const serveHelp = await run(process.execPath, [CLI, 'serve', '--help']);
  assert.equal(main.code, 0, describeRun('wharf --help', main));
  assert.equal(serveHelp.code, 0, describeRun('wharf serve --help', serveHelp));
  for (const spec of FLAGS) {
    assert.ok(serveHelp.stdout.toString().includes(`--${spec.flag}`), `wharf serve --help lacks --${spec.flag}`);
    assert.ok(main.stdout.toString().includes(`--${spec.flag}`), `wharf --help lacks --${spec.flag}`);
  }
  assert.match(main.stdout.toString(), /passwd/);
});

test('cli: a bad flag value exits non-zero with a message naming the flag', async () => {
  const r = await run(process.execPath, [CLI, 'serve', await folder(), '--host', '127.0.0.1', '--port', 'notaport']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--port/);
});

test('cli: --pasv-ports, --pasv-address and --no-active reach the server', async () => {
  const dir = await folder();
  await writeFile(join(dir, 'f.txt'), 'passive range');
  const srv = await serve(dir, ['--user', 'pp:pw', '--pasv-ports', '47100-47109', '--pasv-address', '127.0.0.3', '--no-active']);
  try {
    const c = await RawClient.connect(srv.port);
    try {
      await c.read();
      assert.equal((await c.login('pp', 'pw')).code, 230);
      const epsv = await c.send('EPSV');
      const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)?.[1]);
      assert.ok(port >= 47100 && port <= 47109, epsv.text);
      const pasv = await c.send('PASV');
      assert.match(pasv.text, /^227 .*\(127,0,0,3,\d+,\d+\)/);
      const p = pasv.text.match(/(\d+),(\d+)\)/)!;
      const pasvPort = Number(p[1]) * 256 + Number(p[2]);
      assert.ok(pasvPort >= 47100 && pasvPort <= 47109, pasv.text);
      const port2 = await c.send('PORT 127,0,0,1,200,10');
      assert.ok(port2.code >= 500, `PORT with --no-active: ${port2.text}`);
    } finally {
      c.close();
    }
    // curl over EPSV gets the file through the configured range.
    const r = await curl([ftpUrl(srv.port, '/f.txt')], { user: 'pp', password: 'pw' });
    assert.equal(r.stdout.toString(), 'passive range', describeRun('curl', r));
  } finally {
    await srv.stop();
  }
});

test('cli: serve of a missing folder exits non-zero and says why', async () => {
  const r = await run(process.execPath, [CLI, 'serve', join(await folder(), 'nope'), '--host', '127.0.0.1', '--port', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not a folder|does not exist|no such/i);
});

test('cli: users-file homes jail each user in their own folder; permissions apply', async () => {
  const dir = await folder();
  await mkdir(join(dir, 'homes', 'bob'), { recursive: true });
  await mkdir(join(dir, 'homes', 'carol'), { recursive: true });
  await writeFile(join(dir, 'homes', 'carol', 'carol.txt'), 'CAROL-PRIVATE');
  await writeFile(join(dir, 'top.txt'), 'TOP-LEVEL');
  const hashed = await run(process.execPath, [CLI, 'passwd', 'pw'], { timeoutMs: 15_000 });
  const hash = hashed.stdout.toString().trim();
  const usersFile = join(await folder(), 'users.json');
  await writeFile(
    usersFile,
    JSON.stringify({
      users: [
        { name: 'bob', password: hash, home: join(dir, 'homes', 'bob'), permissions: ['list', 'read', 'write'] },
        { name: 'carol', password: hash, home: join(dir, 'homes', 'carol'), permissions: ['list', 'read'] },
      ],
    }),
  );
  const srv = await serve(dir, ['--users-file', usersFile]);
  try {
    const bob = await connect(srv.port, 'bob', 'pw');
    try {
      assert.deepEqual((await bob.list()).map((e) => e.name), []);
      await bob.cd('..');
      assert.equal(await bob.pwd(), '/');
      for (const p of ['../carol/carol.txt', '../../top.txt', '/homes/carol/carol.txt', '../../homes/carol/carol.txt']) {
        const parts: Buffer[] = [];
        await assert.rejects(bob.downloadTo(new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), p), /550/, p);
        assert.equal(Buffer.concat(parts).length, 0);
      }
      await upload(bob, 'mine.txt', 'bob was here');
    } finally {
      bob.close();
    }
    assert.equal(await readFile(join(dir, 'homes', 'bob', 'mine.txt'), 'utf8'), 'bob was here');
    const carol = await connect(srv.port, 'carol', 'pw');
    try {
      assert.deepEqual((await carol.list()).map((e) => e.name), ['carol.txt']);
      await assert.rejects(upload(carol, 'nope.txt', 'x'), /550/);
      await assert.rejects(carol.send('DELE carol.txt'), /550/);
    } finally {
      carol.close();
    }
    assert.equal(existsSync(join(dir, 'homes', 'carol', 'nope.txt')), false);
  } finally {
    await srv.stop();
  }
});

test('cli: anonymous users are refused every write verb (raw replies)', async () => {
  const dir = await folder();
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'f.txt'), 'keep');
  const srv = await serve(dir);
  try {
    const c = await RawClient.connect(srv.port);
    try {
      await c.read();
      assert.equal((await c.login('anonymous', 'guest@')).code, 230);
      for (const line of ['MKD d', 'RMD sub', 'DELE f.txt', 'RNFR f.txt', 'SITE CHMOD 777 f.txt', 'MFMT 20000101000000 f.txt']) {
        assert.equal((await c.send(line)).code, 550, line);
      }
      for (const line of ['STOR n.txt', 'APPE f.txt', 'STOU']) {
        const data = await c.passive();
        data.on('error', () => undefined);
        const r = await c.send(line);
        data.destroy();
        assert.equal(r.code, 550, `${line}: ${r.text}`);
      }
    } finally {
      c.close();
    }
    assert.deepEqual((await readdir(dir)).sort(), ['f.txt', 'sub']);
    assert.equal(await readFile(join(dir, 'f.txt'), 'utf8'), 'keep');
  } finally {
    await srv.stop();
  }
});
