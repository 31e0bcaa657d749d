/** The logging surface Wharf needs; pino (and console-like loggers) fit it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
  /**
   * Whether records at `level` are written (pino has it). Optional: a caller that would build
   * a record object per command asks first; without it, it just logs.
   */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
  isLevelEnabled() {
    return false;
  },
};

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LogLevel = keyof typeof LEVELS | 'silent';

/** One JSON object per line on stderr; good enough until a richer logger is plugged in. */
export function jsonLogger(level: LogLevel = 'info', bindings: object = {}, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  if (level === 'silent') return silentLogger;
  const min = LEVELS[level];
  const emit = (lvl: keyof typeof LEVELS) => (obj: object, msg?: string) => {
    if (LEVELS[lvl] < min) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), ...bindings, ...obj, ...(msg ? { msg } : {}) }) + '\n');
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => jsonLogger(level, { ...bindings, ...more }, write),
    isLevelEnabled: (lvl) => LEVELS[lvl] >= min,
  };
}
