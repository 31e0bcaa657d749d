import { readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { createRequire } from 'node:module';
import type * as SmolToml from 'smol-toml';
import { DEFAULT_PORT, type ListenerOptions, type WharfOptions } from '../server.js';
import { parsePortRange } from '../ftp/data/ports.js';
import { FLAGS, applyFlags, coerce, configKey, envName, type FlagSpec } from './flags.js';

/**
 * Settings for `wharf serve` come from three layers, each overriding the one before:
 *
 *   config file (TOML)  <  WHARF_* environment variables  <  command-line flags
 *
 * Every layer is keyed by the same table (src/cli/flags.ts): a flag `--pasv-ports` is the
 * key `pasv_ports` and the variable `WHARF_PASV_PORTS`, so a new flag is configurable
 * everywhere the moment it is added there. The file may also hold `root` (the shared folder)
 * and `[[listener]]` tables, which have no single-flag equivalent.
 */

export type FlagValue = string | boolean | number | string[];

/** A problem in the configuration, located as precisely as the input allows. */
export class ConfigError extends Error {
  constructor(
    /** `wharf.toml`, `environment` or `command line`. */
    readonly source: string,
    /** The key as the user wrote it (`pasv_ports`, `listener[1].port`, `WHARF_PORT`, `--port`). */
    readonly key: string | undefined,
    readonly detail: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line !== undefined ? `${source}:${line}${column !== undefined ? `:${column}` : ''}` : source;
    super(`${where}: ${key ? `${key}: ` : ''}${detail}`);
    this.name = 'ConfigError';
  }
}

/** One layer's settings, before merging. */
export interface ConfigLayer {
  values: Map<FlagSpec, FlagValue>;
  /** Where each value came from, for error messages after merging. */
  origin: Map<FlagSpec, string>;
  root?: string;
  listeners?: ListenerOptions[];
}

/** Flags whose values are file or folder paths (by their placeholder), resolved against the config file's folder. */
export function isPathFlag(spec: FlagSpec): boolean {
  return /^(FILE|DIR|PATH|FOLDER)$/.test(spec.metavar ?? '');
}

const LISTENER_KEYS: Record<string, string> = {
  host: 'listen address (default: the top-level host, else all interfaces)',
  port: 'control port (required)',
  tls: '"none", "explicit" (AUTH TLS) or "implicit" (TLS from the first byte, port 990 by tradition)',
  pasv_ports: 'passive port range for this listener, "A-B"',
  pasv_address: 'address announced in PASV replies for this listener',
};
const TLS_MODES = ['none', 'explicit', 'implicit'] as const;

/** Top-level keys besides the flags. */
const EXTRA_KEYS = ['root', 'listener'];

export function knownKeys(): string[] {
  return [...EXTRA_KEYS, ...FLAGS.map(configKey)];
}

// ---------------------------------------------------------------- locating keys in the text

/**
 * The 1-based line where `path` is written: a top-level key, or a key inside the n-th
 * `[[listener]]` table. smol-toml gives positions only for syntax errors, so schema errors
 * find their key with this small scan (good for the flat files Wharf uses).
 */
export function lineOf(text: string, path: ReadonlyArray<string | number>): number | undefined {
  const lines = text.split(/\r?\n/);
  let table: string | undefined; // undefined = root table
  let index = -1;
  const [first, second, third] = path;
  const wantTable = typeof second === 'number' ? String(first) : undefined;
  const wantKey = typeof second === 'number' ? (third as string | undefined) : String(first);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line) ?? /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      table = header[1]!.replace(/^"|"$/g, '');
      if (table === wantTable) index++;
      if (wantTable !== undefined && table === wantTable && index === second && wantKey === undefined) return i + 1;
      if (wantTable === undefined && table === first && wantKey === first) return i + 1;
      continue;
    }
    const inPlace = wantTable === undefined ? table === undefined : table === wantTable && index === second;
    if (!inPlace || wantKey === undefined) continue;
    const key = /^(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[=.]/.exec(line);
    if (key && (key[1] ?? key[2] ?? key[3]) === wantKey) return i + 1;
  }
  return undefined;
}

/** The closest known key, to turn `prot` into "did you mean port?". */
function suggest(word: string, candidates: readonly string[]): string {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length]!;
  };
  const normalized = word.toLowerCase().replace(/-/g, '_');
  const best = candidates.map((c) => ({ c, d: distance(normalized, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best.c}"?)` : '';
}

const describe = (v: unknown) => (Array.isArray(v) ? 'a list' : v instanceof Date ? 'a date' : typeof v === 'object' && v !== null ? 'a table' : JSON.stringify(v));

/** Checks a TOML value has the flag's type (TOML is typed: "2121" is not a port) and converts it. */
function fromToml(spec: FlagSpec, raw: unknown): FlagValue {
  const typeName = spec.type === 'boolean' ? 'true or false' : spec.type === 'number' ? 'a whole number' : 'a string';
  const check = (v: unknown) => {
    const ok = spec.type === 'boolean' ? typeof v === 'boolean' : spec.type === 'number' ? typeof v === 'number' || typeof v === 'bigint' : typeof v === 'string';
    if (!ok) throw new Error(`expected ${typeName}${spec.type === 'string' ? ' in quotes' : ''}, got ${describe(v)}`);
  };
  if (spec.multiple) {
    const list = Array.isArray(raw) ? raw : [raw];
    list.forEach(check);
  } else check(raw);
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  return coerce(spec, value);
}

/** Runs the flag's own validation (port ranges, levels, ...) without keeping the result. */
function validateApply(spec: FlagSpec, value: FlagValue): void {
  spec.apply({}, value);
}

// ---------------------------------------------------------------- the file layer

/** smol-toml, loaded the first time a config file is read (most servers run from flags alone). */
let toml: typeof SmolToml | undefined;
function loadToml(): typeof SmolToml {
  toml ??= createRequire(import.meta.url)('smol-toml') as typeof SmolToml;
  return toml;
}

/** Parses and validates a config file's text. `baseDir` anchors relative paths. */
export function parseConfigText(text: string, source: string, baseDir: string): ConfigLayer {
  let doc: Record<string, unknown>;
  try {
    doc = loadToml().parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof loadToml().TomlError) {
      const message = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError(source, undefined, `invalid TOML: ${message}`, err.line, err.column);
    }
    throw new ConfigError(source, undefined, `invalid TOML: ${(err as Error).message}`);
  }
  const fail = (path: Array<string | number>, key: string, detail: string): never => {
    throw new ConfigError(source, key, detail, lineOf(text, path));
  };
  const bySpecKey = new Map(FLAGS.map((s) => [configKey(s), s]));
  const layer: ConfigLayer = { values: new Map(), origin: new Map() };
  for (const [key, raw] of Object.entries(doc)) {
    if (key === 'root') {
      if (typeof raw !== 'string' || raw === '') fail([key], key, `expected the shared folder as a string path, got ${describe(raw)}`);
      layer.root = nodePath.resolve(baseDir, raw as string);
      continue;
    }
    if (key === 'listener') {
      layer.listeners = parseListeners(raw, text, source);
      continue;
    }
    const spec = bySpecKey.get(key);
    if (!spec) fail([key], key, `unknown key${suggest(key, knownKeys())}; run \`wharf serve --help\` or see docs/configuration.md for every key`);
    let value: FlagValue;
    try {
      value = fromToml(spec!, raw);
      if (isPathFlag(spec!) && typeof value === 'string') value = nodePath.resolve(baseDir, value);
      validateApply(spec!, value);
    } catch (err) {
      return fail([key], key, (err as Error).message);
    }
    layer.values.set(spec!, value);
    layer.origin.set(spec!, `${source}: ${key}`);
  }
  if (layer.listeners && [...layer.values.keys()].some((s) => s.flag === 'port')) {
    fail(['port'], 'port', 'not used when [[listener]] tables are present: give each listener its own port');
  }
  return layer;
}

function parseListeners(raw: unknown, text: string, source: string): ListenerOptions[] {
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'object' || t === null || Array.isArray(t) || t instanceof Date)) {
    throw new ConfigError(source, 'listener', 'expected [[listener]] tables (see wharf.example.toml)', lineOf(text, ['listener']));
  }
  if (raw.length === 0) throw new ConfigError(source, 'listener', 'expected at least one [[listener]] table', lineOf(text, ['listener']));
  return (raw as Array<Record<string, unknown>>).map((table, i) => {
    const fail = (key: string | undefined, detail: string): never => {
      throw new ConfigError(source, `listener[${i + 1}]${key ? '.' + key : ''}`, detail, lineOf(text, key ? ['listener', i, key] : ['listener', i]) ?? lineOf(text, ['listener', i]));
    };
    for (const key of Object.keys(table)) {
      if (!(key in LISTENER_KEYS)) fail(key, `unknown key${suggest(key, Object.keys(LISTENER_KEYS))}; a listener takes ${Object.keys(LISTENER_KEYS).join(', ')}`);
    }
    const { host, port, tls, pasv_ports: pasvPorts, pasv_address: pasvAddress } = table;
    if (port === undefined) fail(undefined, 'expected a port (e.g. port = 21)');
    const portNumber = typeof port === 'bigint' ? Number(port) : port;
    if (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) fail('port', `expected a whole number from 0 to 65535, got ${describe(port)}`);
    const listener: ListenerOptions = { port: portNumber as number };
    if (host !== undefined) {
      if (typeof host !== 'string' || host === '') fail('host', `expected an address in quotes, got ${describe(host)}`);
      listener.host = host as string;
    }
    if (tls !== undefined) {
      if (!TLS_MODES.includes(tls as (typeof TLS_MODES)[number])) fail('tls', `expected "none", "explicit" or "implicit", got ${describe(tls)}`);
      listener.tls = tls as (typeof TLS_MODES)[number];
    }
    if (pasvPorts !== undefined) {
      if (typeof pasvPorts !== 'string') fail('pasv_ports', `expected a range in quotes like "50000-50100", got ${describe(pasvPorts)}`);
      try {
        listener.passivePorts = parsePortRange(pasvPorts as string);
      } catch (err) {
        fail('pasv_ports', (err as Error).message);
      }
    }
    if (pasvAddress !== undefined) {
      if (typeof pasvAddress !== 'string' || pasvAddress === '') fail('pasv_address', `expected an address in quotes, got ${describe(pasvAddress)}`);
      listener.passiveAddress = pasvAddress as string;
    }
    return listener;
  });
}

export function loadConfigFile(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(path, undefined, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err as Error).message})`);
  }
  return parseConfigText(text, path, nodePath.dirname(nodePath.resolve(path)));
}

// ---------------------------------------------------------------- the environment layer

/** Variables that are not flags but are understood. */
export const EXTRA_ENV = {
  WHARF_CONFIG: 'config file to read (like --config)',
  WHARF_ROOT: 'the shared folder (like DIR)',
  WHARF_NATIVE: '`off` turns the zero-copy (sendfile/splice) path off',
  WHARF_ENGINE: '`off` keeps large plain transfers on the event loop instead of the native transfer thread',
  WHARF_ENGINE_THREADS: 'native transfer threads, 1 or 2 (default 2 with two or more CPUs)',
  WHARF_NATIVE_DATA: '`off` keeps net.Server/net.Socket for plain passive data connections',
} as const;

/**
 * Reads WHARF_* variables. Empty values count as unset. Repeatable flags take a
 * comma-separated list (so a password containing a comma belongs in a users file).
 * Returns unknown WHARF_* names separately: a typo should be visible, not silently ignored.
 */
export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer & { unknown: string[] } {
  const layer: ConfigLayer & { unknown: string[] } = { values: new Map(), origin: new Map(), unknown: [] };
  const known = new Set<string>(Object.keys(EXTRA_ENV));
  for (const spec of FLAGS) {
    const name = envName(spec);
    known.add(name);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    try {
      const value = coerce(spec, spec.multiple ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw);
      validateApply(spec, value);
      layer.values.set(spec, value);
      layer.origin.set(spec, name);
    } catch (err) {
      throw new ConfigError('environment', name, (err as Error).message);
    }
  }
  if (env.WHARF_ROOT) layer.root = nodePath.resolve(env.WHARF_ROOT);
  layer.unknown = Object.keys(env).filter((k) => k.startsWith('WHARF_') && !known.has(k));
  return layer;
}

// ---------------------------------------------------------------- merging

export interface ServeSettings {
  options: WharfOptions;
  /** Every flag's final value (for CLI-only settings such as log level and admin address). */
  values: Map<FlagSpec, FlagValue>;
  /** Things worth saying that do not stop the server. */
  warnings: string[];
}

/** The final value of a flag, by name. */
export function flagValue(values: ReadonlyMap<FlagSpec, FlagValue>, flag: string): FlagValue | undefined {
  for (const [spec, value] of values) if (spec.flag === flag) return value;
  return undefined;
}

/**
 * Merges file < environment < command line into WharfOptions. `cli.root` is the DIR
 * positional. Setting the port from the environment or the command line replaces the
 * file's [[listener]] tables with a single listener on that port.
 */
export function mergeLayers(file: ConfigLayer | undefined, env: ConfigLayer & { unknown?: string[] }, cli: ConfigLayer): ServeSettings {
  const warnings: string[] = (env.unknown ?? []).map((name) => `ignoring unknown environment variable ${name}${suggest(name.slice(6).toLowerCase(), FLAGS.map(configKey)).replace(/"([a-z_]+)"/, (_m, k: string) => `WHARF_${k.toUpperCase()}`)}`);
  const values = new Map<FlagSpec, FlagValue>();
  const origin = new Map<FlagSpec, string>();
  for (const layer of [file, env, cli]) {
    if (!layer) continue;
    for (const [spec, value] of layer.values) {
      values.set(spec, value);
      origin.set(spec, layer.origin.get(spec) ?? `--${spec.flag}`);
    }
  }
  const root = cli.root ?? env.root ?? file?.root ?? nodePath.resolve('.');
  const options: WharfOptions = { root, port: DEFAULT_PORT };
  // Values are ordered like the table (flags that build on others, e.g. limits, stay ordered).
  const ordered = new Map(FLAGS.filter((s) => values.has(s)).map((s) => [s, values.get(s)!]));
  applyFlags(options, ordered, (spec) => origin.get(spec) ?? `--${spec.flag}`);
  const portOverridden = [env, cli].some((l) => [...l.values.keys()].some((s) => s.flag === 'port'));
  if (file?.listeners) {
    if (portOverridden) warnings.push('the port from the environment or command line replaces the [[listener]] tables of the config file');
    else options.listeners = file.listeners;
  }
  return { options, values: ordered, warnings };
}
