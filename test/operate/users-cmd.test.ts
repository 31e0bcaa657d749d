import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { parseUsersFile } from '../../src/core/users/file.js';
import { verifyPassword } from '../../src/core/users/password.js';
import { tempDir } from '../helpers/server.js';
import { serve, wharf } from './cli.js';

test('users: add, list, passwd, remove edit the file atomically with mode 600', async () => {
  const dir = await tempDir();
  const file = join(dir, 'users.json');
  const add = await wharf(['users', 'add', 'cam', '--file', file, '--home', 'cameras/cam1', '--permissions', 'list,write,mkdir', '--password-stdin'], { input: 'first-secret\n' });
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout, `added cam to ${file}\n`);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  let users = parseUsersFile(await readFile(file, 'utf8'));
  assert.equal(users.length, 1);
  assert.deepEqual({ ...users[0], password: undefined }, { name: 'cam', password: undefined, home: 'cameras/cam1', permissions: ['list', 'write', 'mkdir'] });
  assert.ok(await verifyPassword('first-secret', users[0]!.password));

  const add2 = await wharf(['users', 'add', 'admin', '--file', file, '--permissions', 'all', '--require-tls', '--password-stdin'], { input: 'admin-secret\n' });
  assert.equal(add2.code, 0, add2.stderr);
  const list = await wharf(['users', 'list', '--file', file]);
  assert.equal(list.code, 0);
  assert.equal(list.stdout, ['NAME   HOME          PERMISSIONS       FLAGS', 'cam    cameras/cam1  list,write,mkdir  -', 'admin  (root)        all               tls', ''].join('\n'));
  assert.doesNotMatch(list.stdout + (await wharf(['users', 'list', '--file', file, '--json'])).stdout, /scrypt/, 'hashes are never printed');

  const pw = await wharf(['users', 'passwd', 'cam', '--file', file, '--password-stdin'], { input: 'second-secret\n' });
  assert.equal(pw.code, 0, pw.stderr);
  users = parseUsersFile(await readFile(file, 'utf8'));
  assert.ok(await verifyPassword('second-secret', users.find((u) => u.name === 'cam')!.password));
  assert.equal(users.find((u) => u.name === 'cam')!.home, 'cameras/cam1', 'passwd keeps the other fields');

  const rm = await wharf(['users', 'remove', 'admin', '--file', file]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(parseUsersFile(await readFile(file, 'utf8')).map((u) => u.name), ['cam']);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual((await readdir(dir)).sort(), ['users.json'], 'no temporary files are left behind');
});

test('users: refuses passwords on argv, missing terminals, duplicates and broken files', async () => {
  const dir = await tempDir();
  const file = join(dir, 'users.json');
  const argv = await wharf(['users', 'add', 'bob', 'hunter2', '--file', file]);
  assert.equal(argv.code, 2);
  assert.match(argv.stderr, /unexpected argument "hunter2" \(passwords are never taken from the command line/);
  const noTty = await wharf(['users', 'add', 'bob', '--file', file]);
  assert.equal(noTty.code, 2);
  assert.match(noTty.stderr, /no terminal to ask for the password: pipe it in with --password-stdin/);
  await assert.rejects(stat(file), 'nothing was written');
  assert.equal((await wharf(['users', 'add', 'bob', '--file', file, '--password-stdin'], { input: 'pw\n' })).code, 0);
  const dup = await wharf(['users', 'add', 'bob', '--file', file, '--password-stdin'], { input: 'pw\n' });
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /user "bob" already exists/);
  const perm = await wharf(['users', 'add', 'eve', '--file', file, '--permissions', 'read,fly', '--password-stdin'], { input: 'pw\n' });
  assert.equal(perm.code, 1);
  assert.match(perm.stderr, /unknown permission "fly"/);
  const gone = await wharf(['users', 'remove', 'nobody', '--file', file]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /no user "nobody"/);
  await writeFile(file, '{"users": [ {"name": "x", "password": "plain"} ]}');
  const broken = await wharf(['users', 'add', 'carol', '--file', file, '--password-stdin'], { input: 'pw\n' });
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /users\[0\]\.password: expected a scrypt hash/);
  assert.equal(await readFile(file, 'utf8'), '{"users": [ {"name": "x", "password": "plain"} ]}', 'a broken file is left untouched');
});

test('users: a served users file picks up `wharf users` changes without a restart', async () => {
  const dir = await tempDir();
  const file = join(dir, 'users.json');
  await mkdir(join(dir, 'root', 'cam1'), { recursive: true });
  assert.equal((await wharf(['users', 'add', 'cam', '--file', file, '--home', 'cam1', '--permissions', 'list,write', '--password-stdin'], { input: 's1\n' })).code, 0);
  const running = await serve([join(dir, 'root'), '--host', '127.0.0.1', '--port', '0', '--users-file', file, '--log-level', 'silent']);
  try {
    const c = new Client(5000);
    await c.access({ host: '127.0.0.1', port: running.port, user: 'cam', password: 's1' });
    await c.uploadFrom(Readable.from([Buffer.from('jpeg')]), 'snap.jpg');
    c.close();
    assert.equal(await readFile(join(dir, 'root', 'cam1', 'snap.jpg'), 'utf8'), 'jpeg', 'the home from the users file is the root');
    assert.equal((await wharf(['users', 'passwd', 'cam', '--file', file, '--password-stdin'], { input: 's2\n' })).code, 0);
    await new Promise((r) => setTimeout(r, 1100)); // the server checks the file at most once a second
    const again = new Client(5000);
    await again.access({ host: '127.0.0.1', port: running.port, user: 'cam', password: 's2' });
    again.close();
  } finally {
    await running.stop();
  }
});
