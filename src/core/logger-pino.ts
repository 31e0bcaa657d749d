import { createRequire } from 'node:module';
import type { DestinationStream, pino as PinoFactory } from 'pino';
import type { Logger, LogLevel } from './logger.js';

/**
 * Wharf's logs: pino, one JSON object per line, ISO timestamps (fail2ban and journald read
 * them without help), no pid/hostname (the service manager adds those). Sessions bind
 * `session` and `ip` on their child logger, so every line about a connection carries them.
 *
 * On a terminal the same records go through `prettyLine` instead: a dozen lines of code
 * rather than pino-pretty, which would add a dependency tree (and a worker thread) for the
 * one case where a human reads the output live.
 */
export interface LoggingOptions {
  level: LogLevel;
  /** Human-readable lines instead of JSON. Default: when stderr is a terminal. */
  pretty?: boolean;
  /** Where lines go. Default: stderr (stdout stays free for command output). */
  write?: (line: string) => void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 20: '\x1b[90m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };

/** Formats one pino JSON record as `12:00:01 INFO  [s-1a2b 127.0.0.1] login ok user=alice`. */
export function prettyLine(json: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const { level, time, msg, session, ip, ...rest } = rec;
  const lvl = typeof level === 'number' ? level : 30;
  const clock = typeof time === 'string' ? new Date(time).toTimeString().slice(0, 8) : '';
  const name = (LEVEL_NAMES[lvl] ?? String(level)).padEnd(5);
  const tag = color ? `${LEVEL_COLORS[lvl] ?? ''}${name}\x1b[0m` : name;
  const who = session !== undefined ? ` [${String(session)}${ip !== undefined ? ' ' + String(ip) : ''}]` : ip !== undefined ? ` [${String(ip)}]` : '';
  const fields = Object.entries(rest)
    // Client-sent text (user names, paths) is quoted when it holds spaces or control
    // characters, so it can neither fake fields nor send escape sequences to the terminal.
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=\x00-\x1f\x7f-\x9f]/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${clock} ${tag}${who} ${msg ?? ''}${fields ? ' ' + fields : ''}\n`;
}

/** A pino destination that hands each finished line to `write`, pretty-printed or not. */
function lineDestination(write: (line: string) => void, pretty: boolean, color: boolean): DestinationStream {
  return { write: (chunk: string) => write(pretty ? prettyLine(chunk.trimEnd(), color) : chunk) };
}

/** pino, loaded on first use: an idle server at `--log-level error` never pays for it (~8 MiB RSS, ~1 MiB heap). */
let pinoModule: typeof PinoFactory | undefined;
function loadPino(): typeof PinoFactory {
  pinoModule ??= (createRequire(import.meta.url)('pino') as { pino: typeof PinoFactory }).pino;
  return pinoModule;
}

function buildPino(options: LoggingOptions): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const color = pretty && options.write === undefined && process.stderr.isTTY === true && !process.env.NO_COLOR;
  const pino = loadPino();
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    lineDestination(write, pretty, color),
  );
}

const LEVEL_VALUES: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

/**
 * A logger that builds its pino logger (and, for a child, the pino child with its bindings)
 * only when a record at an enabled level is first written. Every session gets a child
 * logger; a pino child serializes its bindings at once (~25 us and a few hundred bytes per
 * connection), which the sessions that never log anything should not pay for. Records come
 * out exactly as from pino itself: the same child chain is built, just later.
 */
class DeferredLogger implements Logger {
  private real: Logger | undefined;

  constructor(
    private readonly min: number,
    private readonly make: () => Logger,
  ) {}

  private get target(): Logger {
    this.real ??= this.make();
    return this.real;
  }

  debug(obj: object, msg?: string): void {
    if (this.min > 20) return;
    if (msg === undefined) this.target.debug(obj);
    else this.target.debug(obj, msg);
  }

  info(obj: object, msg?: string): void {
    if (this.min > 30) return;
    if (msg === undefined) this.target.info(obj);
    else this.target.info(obj, msg);
  }

  warn(obj: object, msg?: string): void {
    if (this.min > 40) return;
    if (msg === undefined) this.target.warn(obj);
    else this.target.warn(obj, msg);
  }

  error(obj: object, msg?: string): void {
    if (this.min > 50) return;
    if (msg === undefined) this.target.error(obj);
    else this.target.error(obj, msg);
  }

  child(bindings: object): Logger {
    return new DeferredLogger(this.min, () => this.target.child(bindings));
  }

  isLevelEnabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean {
    return LEVEL_VALUES[level] >= this.min;
  }
}

export function createLogger(options: LoggingOptions): Logger {
  return new DeferredLogger(LEVEL_VALUES[options.level] ?? 30, () => buildPino(options));
}
