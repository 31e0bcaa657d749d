import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadUsersFile } from '../core/users/file.js';
import { envLayer, loadConfigFile, mergeLayers } from './config.js';

const HELP = `Usage: wharf check-config FILE

Validates a TOML config file as \`wharf serve --config FILE\` would read it, together with
any WHARF_* environment variables that are set. Prints "FILE: OK" and a summary and exits 0,
or prints the problem (file, line, key, what was expected) and exits 1.
Folders and files named in the config that do not exist on this machine are reported as
warnings, so a config can be checked before it is deployed.
`;

/** `wharf check-config FILE`: exit 0 when valid, 1 with the reason otherwise. */
export async function checkConfig(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals.length !== 1) {
    process.stderr.write('wharf check-config: expected one FILE\n' + HELP);
    process.exit(1);
  }
  const file = positionals[0]!;
  const report = checkConfigFile(file, process.env);
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  if (report.error) {
    process.stderr.write(`${report.error}\n`);
    process.exit(1);
  }
  process.stdout.write(`${file}: OK\n${report.summary.map((l) => `  ${l}\n`).join('')}`);
}

export interface CheckReport {
  error?: string;
  warnings: string[];
  summary: string[];
}

export function checkConfigFile(file: string, env: NodeJS.ProcessEnv): CheckReport {
  const warnings: string[] = [];
  try {
    const merged = mergeLayers(loadConfigFile(file), envLayer(env), { values: new Map(), origin: new Map() });
    warnings.push(...merged.warnings);
    const o = merged.options;
    const root = o.root!;
    if (!existsSync(root)) warnings.push(`root folder ${root} does not exist on this machine`);
    else if (!statSync(root).isDirectory()) return { error: `${file}: root: ${root} is not a folder`, warnings, summary: [] };
    if (o.usersFile) {
      if (!existsSync(o.usersFile)) warnings.push(`users file ${o.usersFile} does not exist on this machine (create it with \`wharf users add\`)`);
      else {
        try {
          loadUsersFile(o.usersFile);
        } catch (err) {
          return { error: `${file}: users_file: ${(err as Error).message}`, warnings, summary: [] };
        }
      }
    }
    const listeners = o.listeners?.length
      ? o.listeners.map((l) => `${l.host ?? o.host ?? '(all interfaces)'} port ${l.port}${l.tls && l.tls !== 'none' ? ` (TLS ${l.tls})` : ''}`)
      : [`${o.host ?? '(all interfaces)'} port ${o.port}`];
    const summary = [`root: ${root}`, ...listeners.map((l) => `listener: ${l}`)];
    if (o.usersFile) summary.push(`users file: ${o.usersFile}`);
    if (o.users?.length) summary.push(`inline users: ${o.users.map((u) => u.name).join(', ')}`);
    return { warnings, summary };
  } catch (err) {
    return { error: (err as Error).message, warnings, summary: [] };
  }
}
