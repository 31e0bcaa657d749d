#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { createServer, DEFAULT_PORT, type WharfOptions } from '../server.js';
import { hashPassword } from '../core/users/password.js';
import type { LogLevel } from '../core/logger.js';
import { FLAGS, coerce, flagHelp, type FlagSpec } from './flags.js';
import { envLayer, flagValue, loadConfigFile, mergeLayers, type ConfigLayer, type FlagValue } from './config.js';
import { createLogger } from '../core/logger-pino.js';
import { startOperations } from './operate.js';
import { nativeIo } from '../core/native.js';
import { keepYoungGenerationSmall, collectGarbageWhenIdle } from './v8-memory.js';
import { isFirstProcess, shouldSupervise, superviseWorkers } from './workers.js';
import { prepareSelfSignedForWorkers, reloadTlsOnSignal, tlsBanner } from './certs.js';

const MAIN_HELP = `wharf: a complete, safe FTP server

Usage:
  wharf serve [DIR] [options]   share DIR (default: the current folder) over FTP
  wharf passwd [PASSWORD]       print a scrypt hash for the users file (asks when omitted)
  wharf users add|remove|list|passwd --file FILE ...   edit a users file (\`wharf users --help\`)
  wharf check-config FILE       validate a config file (exit 0 when valid, 1 with the reason)
  wharf --help                  this text; \`wharf serve --help\` lists every serve option
  wharf --version

Quick start:
  wharf serve ./public                      read-only anonymous FTP on port ${DEFAULT_PORT}
  wharf serve ./inbox --user cam:s3cret --write   one account that may upload
`;

function serveHelp(): string {
  return `Usage: wharf serve [DIR] [options]

Shares DIR (default: the current folder). Without --user, --users-file or --anonymous,
DIR is shared read-only to anonymous users (user "anonymous", any password).

Every option can also be set in a TOML config file (\`--config FILE\`, key: the flag with
'_' for '-') or an environment variable (WHARF_ + the key in capitals). Precedence:
config file < environment < command line. See docs/configuration.md.

${flagHelp()}

  -c, --config FILE           read settings from a TOML file (or set WHARF_CONFIG)
  -h, --help                  this text
`;
}

function fail(message: string): never {
  process.stderr.write(`wharf: ${message}\n`);
  process.exit(2);
}

/**
 * Parses `serve` arguments through the flag table and merges them over the config file and
 * WHARF_* variables (file < environment < command line); returns the options and the log level.
 */
export function parseServeArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { options: WharfOptions; level: LogLevel; help: boolean; values: Map<FlagSpec, FlagValue>; warnings: string[] } {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' }, config: { type: 'string', short: 'c' } };
  for (const spec of FLAGS) parseOptions[spec.flag] = { type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.multiple ? { multiple: true } : {}) };
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: parseOptions });
  if (positionals.length > 1) throw new Error(`serve takes one folder, got ${positionals.length}`);
  if (values.help === true) return { options: {}, level: 'info', help: true, values: new Map(), warnings: [] };
  const raw = new Map<FlagSpec, string | boolean | number | string[]>();
  for (const spec of FLAGS) {
    const value = values[spec.flag];
    if (value === undefined) continue;
    try {
      raw.set(spec, coerce(spec, value));
    } catch (err) {
      throw new Error(`--${spec.flag}: ${(err as Error).message}`);
    }
  }
  const cli: ConfigLayer = { values: raw, origin: new Map(), ...(positionals[0] !== undefined ? { root: nodePath.resolve(positionals[0]) } : {}) };
  const configPath = (values.config as string | undefined) ?? (env.WHARF_CONFIG || undefined);
  const merged = mergeLayers(configPath !== undefined ? loadConfigFile(configPath) : undefined, envLayer(env), cli);
  const options = merged.options;
  if (options.usersFile) options.usersFile = nodePath.resolve(options.usersFile);
  const level = (flagValue(merged.values, 'log-level') ?? 'info') as LogLevel;
  return { options, level, help: false, values: merged.values, warnings: merged.warnings };
}

async function serve(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseServeArgs(argv);
  } catch (err) {
    fail(`${(err as Error).message}\nRun \`wharf serve --help\` for the options.`);
  }
  if (parsed.help) {
    process.stdout.write(serveHelp());
    return;
  }
  keepYoungGenerationSmall(); // an idle server that was busy gives its young-generation pages back (see v8-memory.ts)
  collectGarbageWhenIdle();
  const { options, level } = parsed;
  const root = options.root!;
  if (!existsSync(root) || !statSync(root).isDirectory()) fail(`${root} is not a folder`);
  const workers = Number(flagValue(parsed.values, 'workers') ?? 1);
  if (shouldSupervise(workers)) {
    try {
      prepareSelfSignedForWorkers(options);
    } catch (err) {
      fail((err as Error).message);
    }
    return superviseWorkers(workers);
  }
  const format = flagValue(parsed.values, 'log-format');
  const log = createLogger({ level, ...(format === 'json' || format === 'pretty' ? { pretty: format === 'pretty' } : {}) });
  for (const warning of parsed.warnings) log.warn({}, warning);
  options.logger = log;
  const users = options.users ?? [];
  const anonymous = options.anonymous ?? (users.length === 0 && !options.usersFile);
  options.anonymous = anonymous;
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
  let operations;
  try {
    operations = await startOperations(server, parsed.values, log);
  } catch (err) {
    await server.close({ graceMs: 0 });
    fail((err as Error).message);
  }
  const shown = address.host === '::' || address.host === '0.0.0.0' ? 'localhost' : address.host.includes(':') ? `[${address.host}]` : address.host;
  const who = [anonymous ? 'anonymous (read-only)' : '', ...users.map((u) => u.name), options.usersFile ? `users from ${options.usersFile}` : ''].filter(Boolean);
  if (isFirstProcess()) process.stderr.write(
    `Wharf is serving ${root}${workers > 1 ? ` with ${workers} worker processes` : ''}\n` +
      `  ftp://${shown}:${address.port}/  (listening on ${address.host} port ${address.port})\n` +
      `  logins: ${who.join(', ')}${users.length ? (options.write ? ' (may write)' : ' (read-only; add --write to allow uploads)') : ''}\n` +
      (anonymous && users.length === 0 && !options.usersFile ? `  Sharing read-only to anonymous users: anyone who can reach this port can download these files.\n` : '') +
      operations.banner.map((line) => `  ${line}\n`).join('') +
      tlsBanner(server).map((line) => `  ${line}\n`).join('') +
      `  ${nativeIo ? 'plain transfers: zero-copy (sendfile/splice)' : 'plain transfers: JavaScript path (native fast path not built or WHARF_NATIVE=off)'}\n` +
      `  Press Ctrl+C to stop.\n`,
  );
  process.on('SIGHUP', () => operations.reopen());
  process.on('SIGHUP', () => reloadTlsOnSignal(server, log));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Grace for running transfers: --shutdown-grace (options.shutdownGraceMs), default 10 s.
    void server
      .close()
      .then(() => operations.close())
      .then(() => process.exit(0));
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
  const password = positionals[0] ?? (await (await import('./prompt.js')).readPassword('Password: '));
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
    // Loaded for their command only: a server never needs them (node:readline above all).
    case 'check-config':
      return (await import('./check-config.js')).checkConfig(rest);
    case 'users':
      return (await import('./users-cmd.js')).usersCommand(rest);
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
      // The issue asks that `wharf --help` too explains every serve flag, so append the table.
      process.stdout.write(`${MAIN_HELP}\nOptions of \`wharf serve\`:\n\n${flagHelp()}\n`);
      return;
    default:
      fail(`unknown command "${command}". Run \`wharf --help\`.`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail((err as Error).message));
