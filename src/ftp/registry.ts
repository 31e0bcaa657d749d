import type { Session } from './session.js';

export type ArgRule = 'none' | 'required' | 'optional';

/** One FTP command: everything the dispatcher, HELP and FEAT need to know, in one place. */
export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** Syntax and purpose, shown by HELP <cmd>. */
  help: string;
  /** Needs a logged-in user (530 otherwise). */
  auth: boolean;
  arg: ArgRule;
  /** The FEAT line(s) this command contributes; a function can hide it per session. */
  feat?: string | readonly string[] | ((session: Session) => string | readonly string[] | undefined);
  /** May run while a transfer is in progress (ABOR, STAT, NOOP, QUIT). */
  duringTransfer?: boolean;
  /** Opens a data transfer: later commands wait for it unless they may run during one. */
  transfer?: boolean;
  /** Allowed before TLS when TLS is required (AUTH, FEAT, QUIT, ...). */
  beforeTls?: boolean;
  /** Known but deliberately not implemented: the dispatcher answers 502. */
  notImplemented?: boolean;
  run(session: Session, arg: string): Promise<void> | void;
  /** Handles `OPTS <name> <value>` for this command (RFC 2389); without it OPTS answers 501. */
  opts?(session: Session, value: string): Promise<void> | void;
}

/** The command table: lookup by name or alias, and the source of HELP and FEAT. */
export class CommandTable {
  private readonly byName = new Map<string, CommandSpec>();
  private readonly primary: CommandSpec[] = [];

  constructor(specs: readonly CommandSpec[] = []) {
    this.add(...specs);
  }

  add(...specs: readonly CommandSpec[]): this {
    for (const spec of specs) {
      for (const key of [spec.name, ...(spec.aliases ?? [])]) {
        if (this.byName.has(key)) throw new Error(`command ${key} registered twice`);
        this.byName.set(key, spec);
      }
      this.primary.push(spec);
    }
    return this;
  }

  get(verb: string): CommandSpec | undefined {
    return this.byName.get(verb.toUpperCase());
  }

  /** Every verb, aliases included, sorted (for HELP). */
  verbs(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** FEAT lines contributed by the table, de-duplicated, in table order. */
  featLines(session: Session): string[] {
    const lines: string[] = [];
    for (const spec of this.primary) {
      if (spec.notImplemented || spec.feat === undefined) continue;
      const feat = typeof spec.feat === 'function' ? spec.feat(session) : spec.feat;
      if (feat === undefined) continue;
      for (const line of typeof feat === 'string' ? [feat] : feat) if (!lines.includes(line)) lines.push(line);
    }
    return lines;
  }
}
