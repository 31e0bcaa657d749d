/**
 * Splits the control stream into command lines. Handles split reads and pipelining, CRLF or
 * bare LF, Telnet IAC sequences (IAC IP / DM / option negotiation are dropped, IAC IAC is a
 * literal 0xFF), and an upper bound on line length: an over-long line is reported once and
 * the rest of it discarded, so memory per session stays bounded whatever the peer sends.
 */
export const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const DONT = 0xfe;

export type FramedLine = { kind: 'line'; bytes: Buffer } | { kind: 'overlong' };

/**
 * Where every framer assembles lines while `push` runs. `push` is synchronous and finishes
 * the lines it can, so one buffer serves all sessions; only a line still incomplete at the
 * end of a read is copied out into its framer (`partial`). An idle session thus holds no line
 * buffer at all (it held 512 bytes, plus a Buffer object, for each of 1 000 idle sessions).
 */
let scratch: Buffer = Buffer.allocUnsafe(512);
const NO_BUFFER: Buffer = Buffer.alloc(0);

export class LineFramer {
  /** `scratch` while `push` runs (it may be replaced by a bigger one meanwhile). */
  private buf: Buffer = NO_BUFFER;
  private len = 0;
  /** The unfinished line carried between reads (rare: commands usually arrive whole). */
  private partial: Buffer | undefined;
  private discarding = false;
  /** A line just ended at a CR (urgent ABOR): an LF right after it belongs to that line. */
  private swallowLf = false;
  /** Telnet parser state: 0 data, 1 after IAC, 2 option byte pending, 3 in subnegotiation, 4 IAC inside SB. */
  private telnet = 0;

  constructor(readonly maxLineLength = 8192) {}

  /** Feeds bytes; returns the complete lines (without line ending) in order. */
  push(chunk: Buffer): FramedLine[] {
    if (this.len === 0 && this.telnet === 0 && !this.discarding && !this.swallowLf) {
      const whole = this.wholeLines(chunk);
      if (whole) return whole;
    }
    this.buf = scratch;
    if (this.partial) {
      if (this.partial.length > this.buf.length) this.grow(this.partial.length);
      this.partial.copy(this.buf, 0);
      this.partial = undefined;
    }
    try {
      return this.frame(chunk);
    } finally {
      // Keep what is left of an unfinished line; the shared buffer goes back (grown, perhaps).
      if (this.len > 0) this.partial = Buffer.from(this.buf.subarray(0, this.len));
      scratch = this.buf;
      this.buf = NO_BUFFER;
    }
  }

  /**
   * The common read, without the byte-by-byte parser: nothing carried over from the last
   * read, and a chunk of ordinary lines each ending in CRLF or LF (USER, PASS, QUIT arrive
   * so). Lines are found with indexOf (memchr) and copied out whole. Anything else (a Telnet
   * IAC, a CR inside a line, which may be an urgent ABOR, an unfinished or over-long line)
   * returns undefined and takes the general path, which gives the same lines.
   */
  private wholeLines(chunk: Buffer): FramedLine[] | undefined {
    const n = chunk.length;
    if (n === 0 || chunk[n - 1] !== 0x0a || chunk.indexOf(IAC) !== -1) return undefined;
    const out: FramedLine[] = [];
    let start = 0;
    let cr = chunk.indexOf(0x0d); // the next CR at or after `start` (searched again only once passed: linear)
    while (start < n) {
      const lf = chunk.indexOf(0x0a, start);
      // The general path counts a CR against the limit too: over it, let that path decide.
      if (lf - start > this.maxLineLength) return undefined;
      const end = lf > start && chunk[lf - 1] === 0x0d ? lf - 1 : lf;
      if (cr !== -1 && cr < start) cr = chunk.indexOf(0x0d, start);
      if (cr !== -1 && cr < end) return undefined;
      out.push({ kind: 'line', bytes: Buffer.from(chunk.subarray(start, end)) });
      start = lf + 1;
    }
    return out;
  }

  private frame(chunk: Buffer): FramedLine[] {
    const out: FramedLine[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.telnet) {
        case 1:
          if (b === IAC) {
            this.telnet = 0;
            this.append(IAC);
          } else if (b >= WILL && b <= DONT) this.telnet = 2;
          else if (b === SB) this.telnet = 3;
          else if (b < SE) {
            // Not a Telnet command: the IAC lost its partner. lftp sends IAC IP IAC, then DM
            // as TCP urgent data, which the kernel takes out of the stream, so the IAC is
            // followed directly by "ABOR". Keep the byte.
            this.telnet = 0;
            break;
          } else this.telnet = 0; // IP, DM, AO, AYT, ...: dropped
          continue;
        case 2:
          this.telnet = 0;
          continue;
        case 3:
          if (b === IAC) this.telnet = 4;
          continue;
        case 4:
          this.telnet = b === SE ? 0 : 3;
          continue;
      }
      if (b === IAC) {
        this.telnet = 1;
        continue;
      }
      if (this.swallowLf) {
        this.swallowLf = false;
        if (b === 0x0a) continue;
      }
      if (b === 0x0d && !this.discarding && this.endsWithAbor()) {
        // Python's ftplib sends "ABOR\r\n" as urgent data: the kernel keeps the last byte
        // (the LF) out of the stream, so "ABOR\r" must be a complete line. An LF that does
        // arrive is dropped.
        out.push({ kind: 'line', bytes: Buffer.from(this.buf.subarray(0, this.len)) });
        this.len = 0;
        this.swallowLf = true;
        continue;
      }
      if (b === 0x0a) {
        if (this.discarding) {
          this.discarding = false;
          this.len = 0;
          continue;
        }
        let end = this.len;
        if (end > 0 && this.buf[end - 1] === 0x0d) end--;
        out.push({ kind: 'line', bytes: Buffer.from(this.buf.subarray(0, end)) });
        this.len = 0;
        continue;
      }
      if (this.discarding) continue;
      if (this.len >= this.maxLineLength) {
        this.discarding = true;
        this.len = 0;
        out.push({ kind: 'overlong' });
        continue;
      }
      this.append(b);
    }
    return out;
  }

  /** The pending line ends in ABOR (any case), perhaps after stray urgent-data bytes. */
  private endsWithAbor(): boolean {
    if (this.len < 4) return false;
    const tail = this.buf.toString('latin1', this.len - 4, this.len).toUpperCase();
    return tail === 'ABOR';
  }

  /** Bytes held for an unfinished line (for tests of the bound). */
  get pending(): number {
    return this.len;
  }

  private append(b: number): void {
    if (this.len >= this.maxLineLength) {
      if (!this.discarding) this.discarding = true;
      return;
    }
    if (this.len === this.buf.length) this.grow(Math.min(this.buf.length * 2, this.maxLineLength + 1));
    this.buf[this.len++] = b;
  }

  private grow(size: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(size, this.buf.length));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
}

export interface ParsedCommand {
  verb: string;
  arg: string;
  hasArg: boolean;
}

/**
 * Splits "VERB argument": the verb is case-insensitive, the argument is everything after
 * the first space, verbatim (leading spaces, quotes and dashes belong to file names).
 */
export function parseCommand(line: string): ParsedCommand {
  const space = line.indexOf(' ');
  if (space < 0) return { verb: line.toUpperCase(), arg: '', hasArg: false };
  return { verb: line.slice(0, space).toUpperCase(), arg: line.slice(space + 1), hasArg: true };
}

const URGENT_VERBS = ['ABOR', 'STAT', 'QUIT'];

/**
 * Clients send ABOR after Telnet IP/Synch; stray bytes can survive before the verb
 * (e.g. the urgent DM byte delivered inline). A line that is not a known verb but ends in
 * ABOR, STAT or QUIT is that command.
 */
export function recoverUrgentVerb(line: string): string | undefined {
  const upper = line.trim().toUpperCase();
  return URGENT_VERBS.find((v) => upper.endsWith(v) && upper.length > v.length);
}
