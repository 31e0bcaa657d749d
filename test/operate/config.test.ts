import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { FLAGS, configKey, envName } from '../../src/cli/flags.js';
import { ConfigError, envLayer, mergeLayers, parseConfigText, lineOf, type ConfigLayer } from '../../src/cli/config.js';
import { tempDir } from '../helpers/server.js';
import { REPO, serve, wharf } from './cli.js';

const empty = (): ConfigLayer => ({ values: new Map(), origin: new Map() });

function configError(text: string): ConfigError {
  try {
    parseConfigText(text, 'w.toml', '/base');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

test('config: schema errors name the file, line, key and what was expected', () => {
  const e1 = configError('# comment\nhost = "127.0.0.1"\nport = "2121"\n');
  assert.equal(e1.message, 'w.toml:3: port: expected a whole number, got "2121"');
  const e2 = configError('port = 70000\n');
  assert.match(e2.message, /^w\.toml:1: port: expected a whole number from 0 to 65535/);
  const e3 = configError('host = "::"\n\npasv_port = "1-2"\n');
  assert.equal(e3.line, 3);
  assert.match(e3.message, /pasv_port: unknown key \(did you mean "pasv_ports"\?\)/);
  const e4 = configError('pasv_ports = "50100-50000"\n');
  assert.match(e4.message, /^w\.toml:1: pasv_ports: invalid port range/);
  const e5 = configError('write = "yes"\n');
  assert.match(e5.message, /^w\.toml:1: write: expected true or false, got "yes"/);
});

test('config: TOML syntax errors carry line and column', () => {
  const e = configError('port = 21\nhost = \n');
  assert.equal(e.line, 2);
  assert.ok(e.column !== undefined);
  assert.match(e.message, /^w\.toml:2:\d+: invalid TOML/);
});

test('config: [[listener]] tables with per-listener TLS and passive settings', () => {
  const layer = parseConfigText(
    'host = "127.0.0.1"\n[[listener]]\nport = 21\n\n[[listener]]\nport = 990\ntls = "implicit"\npasv_ports = "50101-50200"\npasv_address = "203.0.113.10"\n',
    'w.toml',
    '/base',
  );
  assert.deepEqual(layer.listeners, [
    { port: 21 },
    { port: 990, tls: 'implicit', passivePorts: { min: 50101, max: 50200 }, passiveAddress: '203.0.113.10' },
  ]);
  const bad = configError('[[listener]]\nport = 21\n[[listener]]\nport = 990\ntls = "implict"\n');
  assert.equal(bad.message, 'w.toml:5: listener[2].tls: expected "none", "explicit" or "implicit", got "implict"');
  const missing = configError('[[listener]]\nhost = "::1"\n');
  assert.match(missing.message, /^w\.toml:1: listener\[1\]: expected a port/);
  const unknown = configError('[[listener]]\nport = 21\npasv_port = "1-2"\n');
  assert.match(unknown.message, /^w\.toml:3: listener\[1\]\.pasv_port: unknown key \(did you mean "pasv_ports"\?\)/);
  const both = configError('port = 2121\n[[listener]]\nport = 21\n');
  assert.match(both.message, /^w\.toml:1: port: not used when \[\[listener\]\] tables are present/);
});

test('config: every flag in the table has a config key and an environment variable', () => {
  for (const spec of FLAGS) {
    const key = configKey(spec);
    const sample = spec.type === 'boolean' ? 'true' : spec.type === 'number' ? String(spec.min ?? 1) : '"x"';
    // A flag's own validation may refuse "x", but the key itself must never be unknown.
    try {
      parseConfigText(`${key} = ${spec.multiple && spec.type === 'string' ? `[${sample}]` : sample}\n`, 'w.toml', '/base');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /unknown key/, `${key} should be a config key`);
    }
    assert.equal(envName(spec), 'WHARF_' + key.toUpperCase());
  }
});

test('config: precedence is file < WHARF_* environment < command line', () => {
  const file = parseConfigText('port = 2000\nlog_level = "debug"\nwrite = true\nuser = ["file:1"]\n', 'w.toml', '/base');
  const env = envLayer({ WHARF_PORT: '3000', WHARF_USER: 'env:2,env2:3', WHARF_LOG_LEVEL: '' });
  const cliSpec = FLAGS.find((s) => s.flag === 'port')!;
  const cli: ConfigLayer = { values: new Map([[cliSpec, 4000]]), origin: new Map() };
  assert.equal(mergeLayers(file, empty(), empty()).options.port, 2000);
  const fileEnv = mergeLayers(file, env, empty());
  assert.equal(fileEnv.options.port, 3000);
  assert.deepEqual(fileEnv.options.users?.map((u) => u.name), ['env', 'env2']);
  assert.equal(fileEnv.options.write, true, 'keys the environment does not set keep the file value');
  assert.equal(mergeLayers(file, env, cli).options.port, 4000);
  assert.throws(() => envLayer({ WHARF_MAX_CONNECTIONS: 'lots' }), /^ConfigError: environment: WHARF_MAX_CONNECTIONS: expected a whole number/);
  assert.deepEqual(envLayer({ WHARF_PROT: '1' }).unknown, ['WHARF_PROT']);
});

test('config: relative paths resolve against the config file folder', () => {
  const layer = parseConfigText('root = "pub"\nusers_file = "users.json"\n', 'w.toml', '/etc/wharf');
  const { options } = mergeLayers(layer, empty(), empty());
  assert.equal(options.root, '/etc/wharf/pub');
  assert.equal(options.usersFile, '/etc/wharf/users.json');
});

test('config: lineOf finds keys in the root table and in the n-th [[listener]]', () => {
  const text = 'a = 1\n[[listener]]\nport = 1\n[[listener]]\n  port = 2\n';
  assert.equal(lineOf(text, ['a']), 1);
  assert.equal(lineOf(text, ['listener', 1, 'port']), 5);
  assert.equal(lineOf(text, ['listener', 1]), 4);
  assert.equal(lineOf(text, ['port']), undefined);
});

test('check-config: the documented example config is valid (exit 0)', async () => {
  const r = await wharf(['check-config', 'wharf.example.toml']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wharf\.example\.toml: OK\n/);
  assert.match(r.stdout, /listener: \(all interfaces\) port 21/);
});

test('check-config: a broken file exits 1 with file, line, key and expectation', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'bad.toml'), 'root = "."\n\n[[listener]]\nport = "twenty-one"\n');
  const r = await wharf(['check-config', join(dir, 'bad.toml')]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `${join(dir, 'bad.toml')}:4: listener[1].port: expected a whole number from 0 to 65535, got "twenty-one"`);
  const missing = await wharf(['check-config', join(dir, 'nope.toml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.toml: no such file/);
});

test('serve --config: listeners from the file, env and flags override it', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'pub'));
  await writeFile(join(dir, 'pub', 'hello.txt'), 'hi');
  await writeFile(join(dir, 'wharf.toml'), 'root = "pub"\nhost = "127.0.0.1"\nuser = ["fromfile:pw1"]\n\n[[listener]]\nport = 0\n\n[[listener]]\nport = 0\n');
  const first = await serve(['--config', join(dir, 'wharf.toml'), '--log-level', 'silent']);
  try {
    assert.match(first.stderr(), /logins: fromfile/);
    const c = new Client(5000);
    await c.access({ host: '127.0.0.1', port: first.port, user: 'fromfile', password: 'pw1' });
    assert.deepEqual((await c.list()).map((e) => e.name), ['hello.txt']);
    c.close();
  } finally {
    await first.stop();
  }
  const second = await serve(['--config', join(dir, 'wharf.toml'), '--log-level', 'silent'], { env: { WHARF_USER: 'fromenv:pw2' } });
  try {
    assert.match(second.stderr(), /logins: fromenv/);
  } finally {
    await second.stop();
  }
  const third = await serve(['--config', join(dir, 'wharf.toml'), '--log-level', 'silent', '--user', 'fromcli:pw3'], { env: { WHARF_USER: 'fromenv:pw2', WHARF_CONFIG: '/nonexistent.toml' } });
  try {
    assert.match(third.stderr(), /logins: fromcli/);
  } finally {
    await third.stop();
  }
});

test('serve: a config error stops start-up with the location', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'wharf.toml'), 'port = 21\nmax_connections = 0\n');
  const r = await wharf(['serve', '--config', join(dir, 'wharf.toml')], { cwd: REPO });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wharf\.toml:2: max_connections: expected a whole number from 1 to/);
});

test('check-config: the example stays valid with its commented keys and listeners turned on', async () => {
  const dir = await tempDir();
  const text = (await import('node:fs')).readFileSync(join(REPO, 'wharf.example.toml'), 'utf8');
  const on = text.replace(/^# ((?:[a-z_]+ = |\[\[listener\]\]).*)$/gm, '$1');
  assert.ok(on.split('\n').filter((l) => /^(tls_cert|pasv_address|xferlog|log_format) = /.test(l)).length >= 4, 'commented keys were uncommented');
  await writeFile(join(dir, 'all.toml'), on);
  const r = await wharf(['check-config', join(dir, 'all.toml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /listener: \(all interfaces\) port 990 \(TLS implicit\)/);
});
