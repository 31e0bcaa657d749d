import type { WharfOptions } from '../server.js';
import type { UserRecord } from '../core/users/static.js';
import * as nodePath from 'node:path';
import { parsePortRange } from '../ftp/data/ports.js';
import { parseHostPort } from '../admin/host-port.js';
import { parseAddressEntry } from '../core/policy/cidr.js';

/**
 * Every `wharf serve` option, in one table: the flag, its config-file key (the flag with
 * '_' for '-'), its environment variable (WHARF_ + key in capitals), its help line, and how
 * it lands in WharfOptions. The CLI parser, the help text, the config file and the
 * environment all read this table, so adding an option is one entry here.
 */
export type FlagType = 'string' | 'boolean' | 'number';

export interface FlagSpec {
  flag: string;
  type: FlagType;
  /** Repeatable (`--user a:b --user c:d`); in a config file, an array. */
  multiple?: boolean;
  /** Placeholder in help, e.g. "A-B". */
  metavar?: string;
  group: 'Listening' | 'Users' | 'Data connections' | 'TLS' | 'Safety' | 'Output';
  help: string;
  /** Validate and store the value; throw an Error whose message says what was expected. */
  apply(options: WharfOptions, value: string | boolean | number | string[]): void;
  /** Numeric bounds for type 'number'. */
  min?: number;
  max?: number;
}

export function configKey(spec: FlagSpec): string {
  return spec.flag.replace(/-/g, '_');
}

export function envName(spec: FlagSpec): string {
  return 'WHARF_' + configKey(spec).toUpperCase();
}

export function parseUserSpec(value: string): UserRecord {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new Error(`expected NAME:PASSWORD, got "${value.split(':')[0]}"`);
  return { name: value.slice(0, colon), password: value.slice(colon + 1) };
}

const seconds = (value: unknown) => (value as number) * 1000;

export const FLAGS: FlagSpec[] = [
  {
    flag: 'host',
    type: 'string',
    metavar: 'H',
    group: 'Listening',
    help: 'listen address (default: all interfaces, IPv4 and IPv6)',
    apply: (o, v) => void (o.host = v as string),
  },
  {
    flag: 'port',
    type: 'number',
    metavar: 'P',
    min: 0,
    max: 65535,
    group: 'Listening',
    help: 'control port (default 2121; 21 works when the process may bind it)',
    apply: (o, v) => void (o.port = v as number),
  },
  {
    flag: 'workers',
    type: 'number',
    metavar: 'N',
    min: 1,
    max: 256,
    group: 'Listening',
    help: 'processes serving the port, e.g. the number of cores (default 1); limits then apply per process',
    apply: () => undefined, // read by the CLI, which starts the worker processes
  },
  {
    flag: 'user',
    type: 'string',
    multiple: true,
    metavar: 'NAME:PASSWORD',
    group: 'Users',
    help: 'an account whose home is DIR (repeatable)',
    apply: (o, v) => void (o.users = [...(o.users ?? []), ...(v as string[]).map(parseUserSpec)]),
  },
  {
    flag: 'users-file',
    type: 'string',
    metavar: 'FILE',
    group: 'Users',
    help: 'JSON users file: scrypt hashes (`wharf passwd`), homes, permissions',
    apply: (o, v) => void (o.usersFile = v as string),
  },
  {
    flag: 'anonymous',
    type: 'boolean',
    group: 'Users',
    help: 'allow read-only anonymous logins (the default when no user is given)',
    apply: (o, v) => void (o.anonymous = v as boolean),
  },
  {
    flag: 'write',
    type: 'boolean',
    group: 'Users',
    help: 'named users may upload, rename, delete and make folders (default: read-only)',
    apply: (o, v) => void (o.write = v as boolean),
  },
  {
    flag: 'pasv-ports',
    type: 'string',
    metavar: 'A-B',
    group: 'Data connections',
    help: 'passive port range, e.g. 50000-50100 (default: any free port)',
    apply: (o, v) => void (o.passivePorts = parsePortRange(v as string)),
  },
  {
    flag: 'pasv-address',
    type: 'string',
    metavar: 'HOST',
    group: 'Data connections',
    help: 'address announced in PASV replies (your public IPv4 behind NAT)',
    apply: (o, v) => void (o.passiveAddress = v as string),
  },
  {
    flag: 'active-port',
    type: 'number',
    metavar: 'P',
    min: 1,
    max: 65535,
    group: 'Data connections',
    help: 'source port of active-mode connections (20 by tradition; default: any)',
    apply: (o, v) => void (o.activeSourcePort = v as number),
  },
  {
    flag: 'no-active',
    type: 'boolean',
    group: 'Data connections',
    help: 'refuse PORT/EPRT: passive mode only',
    apply: (o, v) => void (o.activeMode = !(v as boolean)),
  },
  {
    flag: 'tls',
    type: 'boolean',
    group: 'TLS',
    help: 'offer FTPS (AUTH TLS); without --tls-cert a self-signed certificate is made once and its fingerprint printed',
    apply: (o, v) => {
      if (v) o.tls = o.tls ?? true;
    },
  },
  {
    flag: 'tls-cert',
    type: 'string',
    metavar: 'FILE',
    group: 'TLS',
    help: 'PEM certificate chain, leaf first (implies --tls; reloaded on SIGHUP)',
    apply: (o, v) => void (o.tls = { ...(typeof o.tls === 'object' ? o.tls : {}), certFile: nodePath.resolve(v as string) }),
  },
  {
    flag: 'tls-key',
    type: 'string',
    metavar: 'FILE',
    group: 'TLS',
    help: 'PEM private key of --tls-cert',
    apply: (o, v) => void (o.tls = { ...(typeof o.tls === 'object' ? o.tls : {}), keyFile: nodePath.resolve(v as string) }),
  },
  {
    flag: 'implicit-port',
    type: 'number',
    metavar: 'N',
    min: 0,
    max: 65535,
    group: 'TLS',
    help: 'also listen on N with implicit FTPS, TLS from the first byte (990 by tradition; implies --tls)',
    apply: (o, v) => {
      o.implicitPort = v as number;
      o.tls = o.tls ?? true;
    },
  },
  {
    flag: 'require-tls',
    type: 'boolean',
    group: 'TLS',
    help: 'refuse logins before AUTH TLS and transfers without PROT P (implies --tls)',
    apply: (o, v) => {
      o.requireTls = v as boolean;
      if (v) o.tls = o.tls ?? true;
    },
  },
  {
    flag: 'no-tls-session-reuse',
    type: 'boolean',
    group: 'TLS',
    help: 'accept TLS data connections that do not resume the control session (weaker; for clients that cannot)',
    apply: (o, v) => void (o.tlsSessionReuse = !(v as boolean)),
  },
  {
    flag: 'state-dir',
    type: 'string',
    metavar: 'DIR',
    group: 'TLS',
    help: 'where the self-signed certificate and key are kept (default $XDG_STATE_HOME/wharf or ~/.local/state/wharf)',
    apply: (o, v) => void (o.stateDir = nodePath.resolve(v as string)),
  },
  {
    flag: 'atomic-uploads',
    type: 'boolean',
    group: 'Safety',
    help: 'upload to a temporary name and rename on success',
    apply: (o, v) => void (o.atomicUploads = v as boolean),
  },
  {
    flag: 'fsync',
    type: 'boolean',
    group: 'Safety',
    help: 'flush uploads to disk before answering 226',
    apply: (o, v) => void (o.fsync = v as boolean),
  },
  {
    flag: 'max-connections',
    type: 'number',
    metavar: 'N',
    min: 1,
    max: 1_000_000,
    group: 'Safety',
    help: 'total sessions (default 5000)',
    apply: (o, v) => void (o.limits = { ...o.limits, maxConnections: v as number }),
  },
  {
    flag: 'max-connections-per-ip',
    type: 'number',
    metavar: 'N',
    min: 1,
    max: 1_000_000,
    group: 'Safety',
    help: 'sessions per client address (default 500)',
    apply: (o, v) => void (o.limits = { ...o.limits, maxConnectionsPerIp: v as number }),
  },
  {
    flag: 'login-timeout',
    type: 'number',
    metavar: 'SECONDS',
    min: 1,
    max: 86_400,
    group: 'Safety',
    help: 'time allowed to log in (default 30)',
    apply: (o, v) => void (o.timeouts = { ...o.timeouts, loginMs: seconds(v) }),
  },
  {
    flag: 'idle-timeout',
    type: 'number',
    metavar: 'SECONDS',
    min: 1,
    max: 7 * 86_400,
    group: 'Safety',
    help: 'close logged-in sessions idle this long (default 300; paused during transfers)',
    apply: (o, v) => void (o.timeouts = { ...o.timeouts, idleMs: seconds(v) }),
  },
  {
    flag: 'data-timeout',
    type: 'number',
    metavar: 'SECONDS',
    min: 1,
    max: 3600,
    group: 'Safety',
    help: 'wait this long for a data connection (passive peer, active connect) before 425 (default 30)',
    apply: (o, v) => void (o.timeouts = { ...o.timeouts, dataConnectMs: seconds(v) }),
  },
  {
    flag: 'stall-timeout',
    type: 'number',
    metavar: 'SECONDS',
    min: 0,
    max: 86_400,
    group: 'Safety',
    help: 'abort a transfer (426) that moves no byte this long (default 300; 0: never; values under 3 act as 3, as progress is seen about once a second)',
    apply: (o, v) => void (o.timeouts = { ...o.timeouts, dataStallMs: seconds(v) }),
  },
  {
    flag: 'max-command-rate',
    type: 'number',
    metavar: 'N',
    min: 0,
    max: 1_000_000,
    group: 'Safety',
    help: 'commands per second a session may send, sustained; a flood gets 421 and is closed (default 10000; 0: no limit)',
    apply: (o, v) => void (o.limits = { ...o.limits, maxCommandsPerSecond: v as number }),
  },
  {
    flag: 'max-login-failures',
    type: 'number',
    metavar: 'N',
    min: 0,
    max: 1_000_000,
    group: 'Safety',
    help: 'failed logins from one address before it is banned (default 10; 0: never ban)',
    apply: (o, v) => void (o.defender = { ...o.defender, maxFailures: v as number }),
  },
  {
    flag: 'ban-time',
    type: 'number',
    metavar: 'SECONDS',
    min: 1,
    max: 30 * 86_400,
    group: 'Safety',
    help: 'how long a banned address is refused with 421 (default 900)',
    apply: (o, v) => void (o.defender = { ...o.defender, banMs: seconds(v) }),
  },
  {
    flag: 'allow-ip',
    type: 'string',
    multiple: true,
    metavar: 'CIDR',
    group: 'Safety',
    help: 'address or CIDR block never banned, e.g. 10.0.0.0/8 (repeatable)',
    apply: (o, v) => {
      const entries = v as string[];
      for (const e of entries) parseAddressEntry(e); // fail at start-up, naming the bad entry
      o.defender = { ...o.defender, allow: [...(o.defender?.allow ?? []), ...entries] };
    },
  },
  {
    flag: 'shutdown-grace',
    type: 'number',
    metavar: 'SECONDS',
    min: 0,
    max: 86_400,
    group: 'Safety',
    help: 'on SIGTERM/SIGINT, let running transfers finish this long before closing (default 10)',
    apply: (o, v) => void (o.shutdownGraceMs = seconds(v)),
  },
  {
    flag: 'log-level',
    type: 'string',
    metavar: 'LEVEL',
    group: 'Output',
    help: 'debug | info | warn | error | silent (default info)',
    apply: (_o, v) => {
      if (!['debug', 'info', 'warn', 'error', 'silent'].includes(v as string)) throw new Error('expected debug, info, warn, error or silent');
    },
  },
  {
    flag: 'log-format',
    type: 'string',
    metavar: 'FORMAT',
    group: 'Output',
    help: 'json | pretty | auto (default auto: pretty on a terminal, JSON otherwise)',
    apply: (_o, v) => {
      if (!['json', 'pretty', 'auto'].includes(v as string)) throw new Error('expected json, pretty or auto');
    },
  },
  {
    flag: 'xferlog',
    type: 'string',
    metavar: 'FILE',
    group: 'Output',
    help: 'append a wu-ftpd xferlog line for every upload and download (reopened on SIGHUP)',
    apply: (_o, v) => {
      if (!(v as string)) throw new Error('expected a file path');
    },
  },
  {
    flag: 'admin-listen',
    type: 'string',
    metavar: 'HOST:PORT',
    group: 'Output',
    help: 'serve Prometheus /metrics and /healthz over HTTP, e.g. 127.0.0.1:9021 (default: off)',
    apply: (_o, v) => void parseHostPort(v as string),
  },
];

/** Converts a raw CLI/env/config value to the flag's type, or throws saying what was expected. */
export function coerce(spec: FlagSpec, raw: unknown): string | boolean | number | string[] {
  const one = (v: unknown): string | boolean | number => {
    if (spec.type === 'boolean') {
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === '1' || v === 'yes') return true;
      if (v === 'false' || v === '0' || v === 'no') return false;
      throw new Error('expected true or false');
    }
    if (spec.type === 'number') {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isInteger(n) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new Error(`expected a whole number${spec.min !== undefined ? ` from ${spec.min} to ${spec.max}` : ''}, got ${JSON.stringify(v)}`);
      }
      return n;
    }
    if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
    return v;
  };
  if (spec.multiple) return (Array.isArray(raw) ? raw : [raw]).map((v) => String(one(v)));
  return one(raw);
}

/** Applies flag values (already coerced) in table order; errors name the flag. */
export function applyFlags(options: WharfOptions, values: ReadonlyMap<FlagSpec, string | boolean | number | string[]>, describe: (spec: FlagSpec) => string = (s) => `--${s.flag}`): void {
  for (const spec of FLAGS) {
    if (!values.has(spec)) continue;
    try {
      spec.apply(options, values.get(spec)!);
    } catch (err) {
      throw new Error(`${describe(spec)}: ${(err as Error).message}`);
    }
  }
}

export function flagHelp(): string {
  const groups = new Map<string, string[]>();
  for (const spec of FLAGS) {
    const left = `  --${spec.flag}${spec.metavar ? ' ' + spec.metavar : ''}`;
    const line = left.length >= 30 ? `${left}\n${' '.repeat(30)}${spec.help}` : `${left.padEnd(30)}${spec.help}`;
    groups.set(spec.group, [...(groups.get(spec.group) ?? []), line]);
  }
  return [...groups].map(([g, lines]) => `${g}:\n${lines.join('\n')}`).join('\n\n');
}
