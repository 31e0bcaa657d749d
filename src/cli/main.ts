#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { createServer, DEFAULT_PORT, type WharfOptions } from '../server.js';
import { hashPassword } from '../core/users/password.js';
import { jsonLogger, type LogLevel } from '../core/logger.js';
import type { UserRecord } from '../core/users/static.js';
import { parsePortRange } from '../ftp/data/ports.js';
import { readPassword } from './prompt.js';

const MAIN_HELP = `wharf: a complete, safe FTP server

Usage:
  wharf serve [DIR] [options]   share DIR (default: the current folder) over FTP
  wharf passwd [PASSWORD]       print a scrypt hash for the users file (asks when omitted)
  wharf --help                  this text; \`wharf serve --help\` lists every serve option
  wharf --version

Quick start:
  wharf serve ./public                      read-only anonymous FTP on port ${DEFAULT_PORT}
  wharf serve ./inbox --user cam:s3cret --write   one account that may upload
`;

const SERVE_HELP = `Usage: wharf serve [DIR] [options]

Shares DIR (default: the current folder). Without --user, --users-file or --anonymous,
DIR is shared read-only to anonymous users (user "anonymous", any password).

Listening:
  --host H                 listen address (default: all interfaces, IPv4 and IPv6)
  --port P                 control port (default ${DEFAULT_PORT}; 21 when the process may bind it)

Users:
  --user NAME:PASSWORD     an account whose home is DIR (repeatable)
  --users-file FILE        JSON users file: scrypt hashes (see \`wharf passwd\`), homes, permissions
  --anonymous              also allow read-only anonymous logins
  --write                  named users may upload, rename, delete and make folders
                           (without it they are read-only)

Data connections:
  --pasv-ports A-B         passive port range, e.g. 50000-50100 (default: any free port)
  --pasv-address HOST      address announced in PASV replies (your public IP behind NAT)
  --active-port P          source port for active-mode connections (20 by tradition;
                           default: any port)
  --no-active              refuse PORT/EPRT (passive only)

Safety:
  --atomic-uploads         upload to a temporary name and rename on success
  --fsync                  flush uploads to disk before confirming them
  --max-connections N      total sessions (default 5000)
  --max-connections-per-ip N   sessions per client address (default 500)
  --login-timeout SECONDS  time allowed to log in (default 30)
  --idle-timeout SECONDS   idle logged-in sessions are closed (default 300)

Output:
  --log-level LEVEL        debug | info | warn | error | silent (default info)
  -h, --help               this text
`;

function fail(message: string): never {
  process.stderr.write(`wharf: ${message}\n`);
  process.exit(2);
}

function parseUserFlag(value: string): UserRecord {
  const colon = value.indexOf(':');
  if (colon <= 0) fail(`--user expects NAME:PASSWORD, got "${value.split(':')[0]}"`);
  return { name: value.slice(0, colon), password: value.slice(colon + 1) };
}

function parseNumber(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${flag} expects a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

async function serve(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string', multiple: true },
        'users-file': { type: 'string' },
        anonymous: { type: 'boolean' },
        write: { type: 'boolean' },
        'pasv-ports': { type: 'string' },
        'pasv-address': { type: 'string' },
        'active-port': { type: 'string' },
        'no-active': { type: 'boolean' },
        'atomic-uploads': { type: 'boolean' },
        fsync: { type: 'boolean' },
        'max-connections': { type: 'string' },
        'max-connections-per-ip': { type: 'string' },
        'login-timeout': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\nRun \`wharf serve --help\` for the options.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  if (positionals.length > 1) fail(`serve takes one folder, got ${positionals.length}`);
  const root = nodePath.resolve(positionals[0] ?? '.');
  if (!existsSync(root) || !statSync(root).isDirectory()) fail(`${root} is not a folder`);
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) fail(`--log-level expects debug, info, warn, error or silent`);
  const log = jsonLogger(level);

  const users = (values.user ?? []).map(parseUserFlag);
  const usersFile = values['users-file'];
  const anonymous = values.anonymous ?? (users.length === 0 && !usersFile);
  if (values['pasv-ports']) {
    try {
      parsePortRange(values['pasv-ports']);
    } catch (err) {
      fail(`--pasv-ports: ${(err as Error).message}`);
    }
  }
  const loginTimeout = parseNumber('--login-timeout', values['login-timeout'], 1, 86_400);
  const idleTimeout = parseNumber('--idle-timeout', values['idle-timeout'], 1, 86_400 * 7);
  const maxConnections = parseNumber('--max-connections', values['max-connections'], 1, 1_000_000);
  const maxPerIp = parseNumber('--max-connections-per-ip', values['max-connections-per-ip'], 1, 1_000_000);
  const options: WharfOptions = {
    root,
    ...(values.host !== undefined ? { host: values.host } : {}),
    port: parseNumber('--port', values.port, 0, 65535) ?? DEFAULT_PORT,
    users,
    ...(usersFile ? { usersFile: nodePath.resolve(usersFile) } : {}),
    anonymous,
    write: values.write ?? false,
    ...(values['pasv-ports'] ? { passivePorts: values['pasv-ports'] } : {}),
    ...(values['pasv-address'] ? { passiveAddress: values['pasv-address'] } : {}),
    ...(values['active-port'] ? { activeSourcePort: parseNumber('--active-port', values['active-port'], 1, 65535)! } : {}),
    activeMode: !values['no-active'],
    atomicUploads: values['atomic-uploads'] ?? false,
    fsync: values.fsync ?? false,
    timeouts: {
      ...(loginTimeout ? { loginMs: loginTimeout * 1000 } : {}),
      ...(idleTimeout ? { idleMs: idleTimeout * 1000 } : {}),
    },
    limits: {
      ...(maxConnections ? { maxConnections } : {}),
      ...(maxPerIp ? { maxConnectionsPerIp: maxPerIp } : {}),
    },
    logger: log,
  };
  let server;
  try {
    server = createServer(options);
  } catch (err) {
    fail((err as Error).message);
  }
  let address;
  try {
    address = await server.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') fail(`cannot bind port ${options.port}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`);
    if (code === 'EADDRINUSE') fail(`port ${options.port} is already in use; pick another with --port`);
    fail((err as Error).message);
  }
  const shown = address.host === '::' || address.host === '0.0.0.0' ? 'localhost' : address.host.includes(':') ? `[${address.host}]` : address.host;
  const who = [
    anonymous ? 'anonymous (read-only)' : '',
    ...users.map((u) => u.name),
    usersFile ? `users from ${usersFile}` : '',
  ].filter(Boolean);
  process.stderr.write(
    `Wharf is serving ${root}\n` +
      `  ftp://${shown}:${address.port}/  (listening on ${address.host} port ${address.port})\n` +
      `  logins: ${who.join(', ')}${users.length ? (values.write ? ' — may write' : ' — read-only (add --write to allow uploads)') : ''}\n` +
      (anonymous && users.length === 0 && !usersFile ? `  Sharing read-only to anonymous users: anyone who can reach this port can download these files.\n` : '') +
      `  Press Ctrl+C to stop.\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void server.close({ graceMs: 10_000 }).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function passwd(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: wharf passwd [PASSWORD]\nPrints a scrypt hash for the "password" field of a users file. Without PASSWORD it asks (input hidden) or reads one line from stdin.\n');
    return;
  }
  const password = positionals[0] ?? (await readPassword('Password: '));
  if (!password) fail('empty password');
  process.stdout.write((await hashPassword(password)) + '\n');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'passwd':
      return passwd(rest);
    case '--version':
    case '-v': {
      const { readFileSync } = await import('node:fs');
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`wharf ${pkg.version}\n`);
      return;
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(MAIN_HELP);
      return;
    default:
      fail(`unknown command "${command}". Run \`wharf --help\`.`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail((err as Error).message));
