import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { nextSessionId } from './session-id.js';
import type { User } from '../core/users/types.js';
import { GuardedStorage } from '../core/storage/guards/permissions.js';
import { resolveVirtual } from '../core/vpath.js';
import { decodeBytes } from '../core/bytes.js';
import type { Logger } from '../core/logger.js';
import type { SessionInfo } from '../core/events.js';
import type { FtpContext } from './context.js';
import { LineFramer, parseCommand, recoverUrgentVerb } from './control/framing.js';
import { writeReply } from './control/direct-write.js';
import { replyBytes } from './control/reply-bytes.js';
import type { DataEndpoint } from './data/endpoints.js';
import { plainAddress } from './data/address.js';
import type { CommandSpec } from './registry.js';
import { replyForError } from './error-replies.js';
import { tlsPolicyRefusal } from './tls.js';
import { RateLimiter } from '../core/policy/limits.js';
import { noteControlActivity } from '../core/idle-memory.js';

export type TransferDirection = 'download' | 'upload' | 'listing';

/** What STAT reports and ABOR interrupts while a transfer runs. */
export interface TransferState {
  direction: TransferDirection;
  path: string;
  bytes: number;
  startedAt: number;
  /** Total size when known (downloads). */
  size?: number;
  /** The client's data connection is there (QUIT aborts a transfer still waiting for one). */
  connected?: boolean;
  /** Set by ABOR, QUIT, shutdown or the stall timeout: the transfer must stop and answer 426. */
  abortedBy?: 'ABOR' | 'QUIT' | 'shutdown' | 'stall';
  abort(): void;
}

/** Replies waiting for a peer that does not read, before commands stop being executed. */
const MAX_REPLY_BACKLOG = 256 * 1024;
/** How long a closing session waits for its last reply to flush. */
const LAST_REPLY_WAIT_MS = 2000;

export const DEFAULT_MLST_FACTS = ['type', 'size', 'modify', 'perm', 'unique', 'unix.mode'] as const;
/** Shared by every session until OPTS MLST replaces it (it is never changed in place). */
const DEFAULT_MLST_FACT_SET: ReadonlySet<string> = new Set<string>(DEFAULT_MLST_FACTS);

/** The session reading each control socket (for the shared socket listeners in Session). */
const sessionOfSocket = new WeakMap<object, Session>();

/**
 * One control connection: its login, working directory, transfer parameters, its single
 * data slot, and the command loop. The session owns every resource it opens (data
 * endpoint, transfer, timers) and releases them all in `destroy()`, whatever the path.
 */
export class Session {
  readonly id = nextSessionId();
  readonly remoteIp: string;
  /** Our address on the control connection, looked up on first use (see `localIp`). */
  private ownIp: string | undefined;
  readonly openedAt = Date.now();
  private logger: Logger | undefined;

  socket: net.Socket | Duplex;
  user: User | undefined;
  storage: GuardedStorage | undefined;
  pendingUser: string | undefined;
  cwd = '/';
  type: 'A' | 'I' = 'A';
  restOffset = 0;
  renameFrom: string | undefined;
  epsvAll = false;
  mlstFacts: ReadonlySet<string> = DEFAULT_MLST_FACT_SET;
  utf8 = true;
  clientName: string | undefined;
  /** HASH algorithm chosen with OPTS HASH (commands/hash.ts). */
  hashAlgorithm = 'SHA-256';
  /** HOST (RFC 7151): the virtual host named before login. */
  virtualHost: string | undefined;
  /** TLS on the control connection (AUTH TLS or implicit). */
  secure = false;
  /** PBSZ was sent after AUTH. */
  pbszSet = false;
  /** PROT P: data connections are TLS. */
  protectData = false;
  /** Turns a raw data socket into a secured one (installed by the TLS front end). */
  secureDataSocket: ((socket: net.Socket) => Promise<Duplex>) | undefined;
  transfer: TransferState | undefined;
  failedLogins = 0;

  private data: DataEndpoint | undefined;
  private framer: LineFramer;
  /** Lines waiting to run; null stands for an over-long line (answered 500 in its turn). */
  private readonly queue: Array<Buffer | null> = [];
  private running = false;
  private busy: Promise<void> | undefined;
  /**
   * The running transfer command has not replied yet (it is still opening its file): the
   * commands allowed during a transfer that are queued behind it (NOOP, STAT, ABOR) wait for
   * that first reply, so that replies keep the order of the commands. QUIT does not need to
   * (see runQueued), and an urgent ABOR jumps the queue once the transfer runs (see onBytes).
   */
  private announcing = false;
  /** Resolves the wait of a command queued behind that first reply (made only when one waits). */
  private announced: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** When the live idleTimer fires (monotonic ms). */
  private idleTimerDue = 0;
  /** A logged-in session's last command or end of transfer (monotonic ms): its idle timeout counts from here. */
  private lastActiveAt = 0;
  private closed = false;
  private ending = false;
  /** end() decided the socket may close without draining (see there). */
  private closeAtOnce = false;
  /** Meters commands against the flood limit (limits.maxCommandsPerSecond). */
  private readonly commandRate: RateLimiter;
  /** The socket whose events this session listens to (see attach). */
  private attached: net.Socket | Duplex | undefined;
  /** Called once the session is closed; made on first use (most sessions have one waiter, the listener). */
  private closeWaiters: Array<() => void> | undefined;

  constructor(
    readonly ctx: FtpContext,
    socket: net.Socket,
    readonly protocol: 'ftp' | 'ftps' = 'ftp',
  ) {
    this.socket = socket;
    this.remoteIp = plainAddress(socket.remoteAddress);
    this.framer = new LineFramer(ctx.settings.maxLineLength);
    this.commandRate = new RateLimiter(ctx.settings.limits.maxCommandsPerSecond);
    this.attach(socket);
    this.armIdleTimer();
  }

  /** This connection's logger (session id and IP bound), made on first use: most sessions never log. */
  get log(): Logger {
    this.logger ??= this.ctx.log.child({ session: this.id, ip: this.remoteIp });
    return this.logger;
  }

  /**
   * Whether records at `level` are written: asking first spares the record object and, for a
   * session that never logs, its child logger (a handful of closures per session).
   */
  logs(level: 'debug' | 'info' | 'warn' | 'error'): boolean {
    return this.ctx.log.isLevelEnabled?.(level) !== false;
  }

  /**
   * The server's address on this connection (PASV/EPSV/PORT need it), looked up when first
   * asked: a getsockname(2) per connection that most sessions (logins, quits) never use. A
   * TLS socket answers it from the TCP connection under it.
   */
  get localIp(): string {
    if (this.ownIp) return this.ownIp;
    const ip = plainAddress((this.socket as Partial<net.Socket>).localAddress);
    if (ip) this.ownIp = ip; // '' (a closed socket) is not kept
    return ip;
  }

  get info(): SessionInfo {
    return { sessionId: this.id, ip: this.remoteIp, protocol: this.secure ? 'ftps' : this.protocol };
  }

  get loggedIn(): boolean {
    return this.user !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Reads commands from `socket` (used again after AUTH TLS swaps in the TLS socket). */
  attach(socket: net.Socket | Duplex): void {
    this.release();
    this.socket = socket;
    // The listeners are the same four functions for every session (they find the session by
    // its socket): no closures per session, and their optimized code is not lost with the
    // sessions of a burst once they have all closed.
    sessionOfSocket.set(socket, this);
    socket.on('data', Session.onSocketData);
    socket.on('end', Session.onSocketEnd);
    socket.on('close', Session.onSocketEnd);
    socket.on('error', Session.onSocketError);
    this.attached = socket;
  }

  /** Stops reading commands from the current socket (before handing it to TLS). */
  release(): void {
    const socket = this.attached;
    if (!socket) return;
    this.attached = undefined;
    socket.off('data', Session.onSocketData);
    socket.off('end', Session.onSocketEnd);
    socket.off('close', Session.onSocketEnd);
    socket.off('error', Session.onSocketError);
    sessionOfSocket.delete(socket);
  }

  private static onSocketData(this: object, chunk: Buffer): void {
    sessionOfSocket.get(this)?.onBytes(chunk);
  }

  private static onSocketEnd(this: object): void {
    sessionOfSocket.get(this)?.destroy('client closed the connection');
  }

  private static onSocketError(this: object, err: Error): void {
    const session = sessionOfSocket.get(this);
    if (!session) return;
    if (session.logs('debug')) session.log.debug({ err: err.message }, 'control connection error');
    session.destroy('control connection error');
  }

  /**
   * Forgets input read but not yet run: after AUTH TLS, plaintext that arrived behind it must
   * never run as if it had come over TLS (command injection).
   */
  discardPendingInput(): void {
    this.queue.length = 0;
    this.framer = new LineFramer(this.ctx.settings.maxLineLength);
  }

  // ---- replies -------------------------------------------------------------------------

  reply(code: number, text: string | readonly string[]): void {
    this.sendReply(code, text);
  }

  /** Replies held back by holdReplies(), in order. */
  private held: Buffer[] | undefined;

  /**
   * Replies wait, in order, until releaseReplies() sends them with one write: a transfer that
   * is over before anything needed waiting for sends its 125 and 226 together (one send, one
   * wakeup of the client, instead of two).
   */
  holdReplies(): void {
    this.held ??= [];
  }

  releaseReplies(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    if (held.length === 0 || this.closed || this.socket.destroyed || !this.socket.writable) return;
    writeReply(this.socket, held.length === 1 ? held[0]! : Buffer.concat(held));
  }

  /** Writes a reply and waits until it has been handed to the kernel (before TLS or close). */
  replyAndFlush(code: number, text: string | readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      if (this.sendReply(code, text, () => resolve())) resolve();
    });
  }

  /**
   * Writes a reply (straight to the kernel when it can, see control/direct-write.ts). True
   * when there is nothing to wait for: it is in the kernel already, or the socket cannot be
   * written any more; otherwise `flushed` runs once the stream has written it.
   */
  private sendReply(code: number, text: string | readonly string[], flushed?: () => void): boolean {
    if (this.announcing) this.transferAnnounced();
    if (this.closed || this.socket.destroyed || !this.socket.writable) return true;
    if (this.held) {
      if (!flushed) {
        this.held.push(replyBytes(code, text));
        return false;
      }
      this.releaseReplies(); // a caller that waits for the flush never waits behind a hold
    }
    return writeReply(this.socket, replyBytes(code, text), flushed);
  }

  replyError(err: unknown, context: 'read' | 'create' | 'transfer' = 'read'): void {
    const { code, text } = replyForError(err, context);
    if (code === 451) this.log.warn({ err: (err as Error)?.message }, 'storage error');
    this.reply(code, text);
  }

  // ---- paths ---------------------------------------------------------------------------

  /** Resolves a client path against the working directory; throws on NUL/CR/LF. */
  resolve(arg: string): string {
    return resolveVirtual(this.cwd, arg);
  }

  // ---- login ---------------------------------------------------------------------------

  login(user: User): void {
    this.user = user;
    this.storage = new GuardedStorage(this.ctx.storageFor(user), user.permissions);
    this.cwd = '/';
    this.armIdleTimer();
  }

  // ---- data slot -----------------------------------------------------------------------

  setDataEndpoint(endpoint: DataEndpoint): void {
    this.data?.close();
    this.data = endpoint;
  }

  hasDataEndpoint(): boolean {
    return this.data !== undefined;
  }

  takeDataEndpoint(): DataEndpoint | undefined {
    const endpoint = this.data;
    this.data = undefined;
    return endpoint;
  }

  closeDataEndpoint(): void {
    this.data?.close();
    this.data = undefined;
  }

  // ---- command loop --------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.closed || this.ending) return;
    noteControlActivity(); // a burst of logins/commands is followed by a memory release once quiet
    for (const framed of this.framer.push(chunk)) {
      if (!this.commandRate.take()) return this.floodedOut();
      if (framed.kind === 'overlong') {
        this.queue.push(null);
        continue;
      }
      if (this.transfer && this.isUrgent(framed.bytes)) {
        void this.execute(framed.bytes);
        continue;
      }
      this.queue.push(framed.bytes);
    }
    if (this.queue.length >= this.ctx.settings.limits.maxQueuedCommands && 'pause' in this.socket) {
      this.socket.pause(); // backpressure: stop reading until the queue drains
    }
    this.pump();
  }

  /** Over the command rate: stop reading, drop what is queued, say 421 and close. */
  private floodedOut(): void {
    this.queue.length = 0;
    this.log.warn({ limit: this.commandRate.ratePerSecond }, 'command flood; closing');
    this.transfer?.abort();
    void this.end(421, 'Too many commands, slow down; closing control connection', 'command flood');
  }

  private replyDrain(): Promise<void> {
    return new Promise((resolve) => {
      const sock = this.socket;
      const done = () => {
        sock.off('drain', done);
        sock.off('close', done);
        clearInterval(poll);
        resolve();
      };
      // 'close' is also caught by destroy(); the poll covers a socket swapped under us (TLS).
      const poll = setInterval(() => {
        if (this.closed || this.socket !== sock || sock.writableLength < MAX_REPLY_BACKLOG) done();
      }, 1000);
      poll.unref();
      sock.once('drain', done);
      sock.once('close', done);
    });
  }

  /** ABOR during a transfer jumps the queue: it exists to interrupt what is running. */
  private isUrgent(bytes: Buffer): boolean {
    const line = decodeBytes(bytes);
    const { verb } = parseCommand(line);
    return verb === 'ABOR' || (!this.ctx.commands.get(verb) && recoverUrgentVerb(line) === 'ABOR');
  }

  /**
   * Runs the queued commands in order. While each one finishes synchronously (USER, TYPE,
   * PWD...) this is a plain loop: no promise or async frame per read, as an async function
   * would cost. Only when something must be waited for (an asynchronous handler such as PASS,
   * a running transfer, a peer that does not read its replies) does it continue later.
   */
  private pump(): void {
    if (this.running) return;
    this.running = true;
    let waiting: Promise<void> | undefined;
    try {
      waiting = this.runQueued();
    } finally {
      if (!waiting) this.pumpStopped();
    }
    // None of these promises rejects (execute, replyDrain and transfer jobs never do).
    if (waiting) void waiting.then(() => this.pumpAgain());
  }

  private transferAnnounced(): void {
    this.announcing = false;
    const resume = this.announced;
    this.announced = undefined;
    resume?.();
  }

  /** Continues the queue after a wait (see pump). */
  private pumpAgain(): void {
    this.running = false;
    this.pump();
  }

  private pumpStopped(): void {
    this.running = false;
    // shift() leaves an empty array its 17-slot store; an idle session should not keep it.
    if (this.queue.length === 0) this.queue.length = 0;
  }

  /** Runs queued commands until the queue is empty (undefined) or one must be waited for (that wait). */
  private runQueued(): Promise<void> | undefined {
    while (!this.closed && this.queue.length > 0) {
      if (this.socket.writableLength >= MAX_REPLY_BACKLOG) {
        // The peer sends commands but does not read the replies: stop executing (the queue
        // then fills and the socket is paused) until it reads, so memory stays bounded.
        return this.replyDrain();
      }
      const bytes = this.queue[0]!;
      if (bytes === null) {
        this.queue.shift();
        this.reply(500, 'Command line too long');
        continue;
      }
      const found = this.lookup(decodeBytes(bytes));
      const spec = found.spec;
      // Later commands wait for the transfer (and are looked up again then); ABOR, STAT and NOOP
      // only for its first reply. QUIT runs at once: its 221 follows the transfer's end anyway,
      // and seen before the transfer has started it lets it run (a client that connects after
      // the 150 would otherwise have the transfer aborted as one still waiting for it).
      if (this.busy && !spec?.duringTransfer) return this.busy;
      if (this.busy && this.announcing && spec?.name !== 'QUIT') return new Promise<void>((resolve) => (this.announced = resolve));
      this.queue.shift();
      if ('isPaused' in this.socket && this.socket.isPaused() && this.queue.length < this.ctx.settings.limits.maxQueuedCommands / 2) {
        this.socket.resume();
      }
      if (spec?.transfer) {
        this.announcing = true;
        const job = Promise.resolve(this.execute(bytes, found)).finally(() => {
          if (this.busy === job) this.busy = undefined;
          if (this.announcing) this.transferAnnounced(); // ended without a reply (a closed session)
          this.armIdleTimer();
        });
        this.busy = job;
        this.disarmIdleTimer();
      } else {
        // Most commands (USER, TYPE, PWD...) finish synchronously: nothing to wait for.
        const running = this.execute(bytes, found);
        if (running) return running;
      }
    }
    return undefined;
  }

  private lookup(line: string): { spec: CommandSpec | undefined; verb: string; arg: string; hasArg: boolean } {
    const parsed = parseCommand(line);
    let spec = this.ctx.commands.get(parsed.verb);
    if (!spec) {
      const urgent = recoverUrgentVerb(line);
      if (urgent) return { spec: this.ctx.commands.get(urgent), verb: urgent, arg: '', hasArg: false };
    }
    return { spec, verb: parsed.verb, arg: parsed.arg, hasArg: parsed.hasArg }; // no spread: see core/warm-shapes.ts
  }

  /**
   * The generic checks from the table, then the handler. Never throws, and the promise it
   * returns, only while an asynchronous handler still runs, never rejects.
   */
  private execute(bytes: Buffer, found = this.lookup(decodeBytes(bytes))): Promise<void> | void {
    const { spec, verb, arg, hasArg } = found;
    if (!this.busy) this.armIdleTimer();
    // Asking first spares the record object, and a session that never logs its child logger.
    if (this.ctx.log.isLevelEnabled?.('debug') !== false) this.log.debug({ cmd: verb, arg: verb === 'PASS' ? '****' : arg }, 'command');
    if (!spec) {
      if (verb === '') return; // an empty line is not worth a reply
      return this.reply(500, `Unknown command "${verb.slice(0, 32)}"`);
    }
    if (spec.notImplemented) return this.reply(502, `${spec.name} not implemented`);
    if (spec.arg === 'required' && (!hasArg || arg === '')) return this.reply(501, `Syntax error: ${spec.name} needs an argument`);
    if (spec.arg === 'none' && hasArg && arg.trim() !== '') return this.reply(501, `Syntax error: ${spec.name} takes no argument`);
    const tlsRefusal = tlsPolicyRefusal(this, spec);
    if (tlsRefusal) return this.reply(tlsRefusal.code, tlsRefusal.text);
    if (spec.auth && !this.user) return this.reply(530, 'Please log in with USER and PASS first');
    try {
      const running = spec.run(this, arg);
      if (running) return running.catch((err: unknown) => this.replyError(err));
    } catch (err) {
      this.replyError(err);
    }
  }

  // ---- timers --------------------------------------------------------------------------

  /**
   * One timer per session for both timeouts. Before login it fires at the absolute login
   * deadline. Logged in, every command moves the idle deadline, but a live timer due no later
   * than the new deadline is kept: when it fires it finds the deadline moved and waits for the
   * rest (see idleTimerFired). So a command costs a clock read instead of re-arming a timer,
   * and logging in keeps the login timer (due first whenever the login timeout is not longer
   * than the idle timeout, as by default) instead of clearing it and making another.
   */
  private armIdleTimer(): void {
    if (this.closed || this.busy) return this.disarmIdleTimer();
    const { loginMs, idleMs } = this.ctx.settings.timeouts;
    if (!this.user) {
      // USER and PASS keep the live timer: it already fires at the login deadline.
      if (this.idleTimer || loginMs <= 0) return;
      // The login timeout counts from the connection, not the last command: commands (NOOP,
      // wrong passwords) must not keep an anonymous connection open forever.
      return this.startIdleTimer(Math.max(0, this.openedAt + loginMs - Date.now()));
    }
    if (idleMs <= 0) return this.disarmIdleTimer();
    this.lastActiveAt = performance.now();
    if (this.idleTimer && this.idleTimerDue <= this.lastActiveAt + idleMs) return;
    this.disarmIdleTimer();
    this.startIdleTimer(idleMs);
  }

  private startIdleTimer(ms: number): void {
    // Whole milliseconds: Node keeps one timer list per distinct duration.
    ms = Math.ceil(ms);
    this.idleTimerDue = performance.now() + ms;
    this.idleTimer = setTimeout(Session.onIdleTimer, ms, this);
    this.idleTimer.unref();
  }

  /** The timer callback, shared by every session (no closure per timer). */
  private static onIdleTimer(session: Session): void {
    session.idleTimerFired();
  }

  private idleTimerFired(): void {
    this.idleTimer = undefined;
    if (this.closed || this.busy) return;
    if (!this.user) {
      void this.end(421, 'Login timeout, closing control connection', 'timeout');
      return;
    }
    const idleMs = this.ctx.settings.timeouts.idleMs;
    if (idleMs <= 0) return;
    // Commands since the timer was armed moved the deadline: wait for the rest.
    const left = this.lastActiveAt + idleMs - performance.now();
    if (left >= 1) return this.startIdleTimer(left);
    void this.end(421, 'Idle timeout, closing control connection', 'timeout');
  }

  private disarmIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Waits for the running transfer, if any (QUIT, shutdown). */
  async settle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /**
   * Sends a last reply, then closes (QUIT, 421). `close`: 'at-once' (QUIT) closes the socket
   * as soon as the last reply is in the kernel; 'drain' half-closes and keeps reading until the
   * peer closes (or two seconds pass).
   */
  async end(code: number, text: string, reason = 'closed by server', close: 'drain' | 'at-once' = 'drain'): Promise<void> {
    if (this.ending || this.closed) return; // one last word only (e.g. a ban and PASS both closing)
    this.ending = true;
    // The last reply usually goes straight into the kernel: close at once, no promise or timer.
    let flushed = false;
    let onFlushed: (() => void) | undefined;
    const sentNow = this.sendReply(code, text, () => {
      flushed = true;
      onFlushed?.();
    });
    if (!sentNow && !flushed) {
      // A peer that does not read never lets the reply flush: close anyway after a moment.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        onFlushed = resolve;
        timer = setTimeout(resolve, LAST_REPLY_WAIT_MS);
        timer.unref();
      });
      clearTimeout(timer);
    }
    // After QUIT the client has nothing more to say, so no input of its can be lost: with the
    // 221 in the kernel (which still delivers it, then FIN) the socket closes now, as vsftpd
    // and pyftpdlib do, instead of half-closing and waiting for the client's FIN (a shutdown,
    // an 'end', often an ECONNRESET error object, and a timer per session).
    this.closeAtOnce = close === 'at-once' && sentNow;
    this.destroy(reason);
  }

  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.disarmIdleTimer();
    this.transfer?.abort();
    this.closeDataEndpoint();
    this.release();
    const sock = this.socket;
    if (!sock.destroyed) {
      if (this.closeAtOnce && sock.writableLength === 0) sock.destroy();
      else {
        sock.end();
        setTimeout(() => sock.destroy(), 2000).unref();
      }
    }
    this.queue.length = 0;
    if (this.logs('debug')) this.log.debug({ reason }, 'session closed');
    const waiters = this.closeWaiters;
    this.closeWaiters = undefined;
    for (const w of waiters ?? []) w();
    this.ctx.sessions.delete(this);
    if (this.ctx.events.listenerCount('session:close') > 0) {
      this.ctx.events.emit('session:close', { ...this.info, ...(this.user ? { user: this.user.name } : {}), durationMs: Date.now() - this.openedAt });
    }
  }

  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.afterClose(r));
  }

  /** Runs `fn` once the session is closed (at once if it is): whenClosed without a Promise per session. */
  afterClose(fn: () => void): void {
    if (this.closed) return fn();
    if (this.closeWaiters) this.closeWaiters.push(fn);
    else this.closeWaiters = [fn];
  }
}
