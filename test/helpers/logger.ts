import type { Logger } from '../../src/index.js';

/** A Logger that records warn lines as "msg {json}" in `lines` and drops the rest. */
export function warnCapturingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug() {},
    info() {},
    warn: (o: object, m?: string) => void lines.push(`${m} ${JSON.stringify(o)}`),
    error() {},
    child() {
      return log;
    },
  };
  return log;
}
