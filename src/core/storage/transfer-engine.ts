import { constants } from 'node:os';
import { nativeEngine, type NativeEngine, type NativeTlsContext } from '../native.js';

/**
 * How an engine job ended: `code` 0 done, CANCELLED, an errno, or FILE_ERROR_BASE + errno
 * (TLS links: CODE_TLS_FAILED, with OpenSSL's `reason`); `bytes` moved in all.
 */
export interface EngineJobEnd {
  code: number;
  bytes: number;
  reason?: string | undefined;
}

/** A transfer the engine runs. The descriptors may be closed by JavaScript once `ended` settles, not before. */
export interface EngineJob {
  readonly ended: Promise<EngineJobEnd>;
  /** Stops the job soon; `ended` then settles with CANCELLED (or the end it reached first). */
  cancel(): void;
}

export const CANCELLED = -1;
/** A loop upload (native/loop-upload.c) stored its limit: the engine takes the rest. */
const LOOP_HANDOFF = -2;
/** Not an end: a loop job still running says how many bytes it has stored (native/loop-upload.c). */
const LOOP_PROGRESS = -4;
/** An upload the engine could not take over (out of descriptors) ends as ENOMEM. */
const ENOMEM = constants.errno.ENOMEM;

/**
 * Transfers smaller than this stay on the event loop (FileSource.sendNative, FdWriter's
 * splice): for them a hop to the worker thread and back costs more than the copy.
 */
export const ENGINE_MIN_BYTES = 256 * 1024;

interface RunningJob {
  moved: number;
  onBytes: (n: number) => void;
  resolve: (end: EngineJobEnd) => void;
  /** TLS links: the handshake finished (true: the session was resumed). */
  onHandshake: ((resumed: boolean) => void) | undefined;
  /** TLS links: our close_notify and FIN are with the kernel. */
  onNotified: (() => void) | undefined;
}

/** A link ended in OpenSSL; `reason` says why. */
export const CODE_TLS_FAILED = -3;

/** The error a TLS link's failed end stands for: OpenSSL's reason, or the code. */
export function tlsLinkFailure({ code, reason }: EngineJobEnd): Error {
  return new Error(`TLS data connection failed (${code === CODE_TLS_FAILED ? (reason ?? 'unknown reason') : code})`);
}

/** A TLS link the engine runs (native/tls-link.c): its plaintext end and its course. */
export interface EngineTlsLink extends EngineJob {
  /** JavaScript's end of the plaintext socketpair; the caller owns it. */
  readonly plainFd: number;
  /** Settles when the handshake is done (true: the control session was resumed); never rejects. */
  readonly handshake: Promise<boolean>;
  /**
   * Settles once JavaScript ended its side and the link handed every record, then its
   * close_notify and FIN, to the kernel: what PROTOCOL.md §4 asks before a 226. The link
   * still waits for the client's own close_notify (so that it meets an open socket, not a
   * RST) and ends after it. Never settles for a link that ends without sending one; never rejects.
   */
  readonly closeNotified: Promise<void>;
  /**
   * Has the link store the rest of the upload into the file at `offset` itself (no hop
   * through the plaintext socket), or undefined when it cannot. JavaScript must have stopped
   * reading the plaintext socket. Ends with 0 when the client's stream ended; cancelling it
   * cancels the link.
   */
  store(fileFd: number, offset: number, onBytes: (n: number) => void): EngineJob | undefined;
  /**
   * Has the link send `count` bytes of the file from `offset` itself, read straight into its
   * record buffer (no sendfile into the plaintext socket and read back out of it), or
   * undefined when it cannot. JavaScript must not have written to the plaintext socket, and
   * ends it once this ends. Ends with 0 once every byte is with the client's socket (or the
   * file ended early), FILE_ERROR_BASE + errno when reading the file failed, or how the link
   * ended; cancelling it cancels the link.
   */
  send(fileFd: number, offset: number, count: number, onBytes: (n: number) => void): EngineJob | undefined;
}

/** The links behind the plaintext sockets handed out for them (src/ftp/engine-tls.ts). */
const tlsLinks = new WeakMap<object, EngineTlsLink>();

/** Marks `socket` as the plaintext end of `link`. */
export function attachTlsLink(socket: object, link: EngineTlsLink): void {
  tlsLinks.set(socket, link);
}

/** The engine's TLS link behind a data socket, if the engine secured it. */
export function tlsLinkOf(socket: object): EngineTlsLink | undefined {
  return tlsLinks.get(socket);
}

/**
 * The JavaScript side of native/engine.c: ids for jobs, and their progress and ends
 * delivered to the transfer that submitted them.
 */
class TransferEngine {
  private nextId = 1;
  private readonly jobs = new Map<number, RunningJob>();
  /** Uploads being stored from the event loop: their end, by id. */
  private readonly loopJobs = new Map<number, (code: number, bytes: number) => void>();
  private loopReady = false;

  constructor(private readonly io: NativeEngine) {}

  /** Starts the worker; false when it cannot run (the event-loop paths serve every transfer then). */
  start(): boolean {
    this.loopReady = this.io.loopStart?.((id, code, bytes) => this.onLoopEvent(id, code, bytes)) === 0;
    return this.io.engineStart((id, event, bytes, code, reason) => this.onEvent(id, event, bytes, code, reason)) === 0;
  }

  private onLoopEvent(id: number, code: number, bytes: number): void {
    const end = this.loopJobs.get(id);
    if (!end) return;
    if (code !== LOOP_PROGRESS) this.loopJobs.delete(id);
    end(code, bytes);
  }

  private onEvent(id: number, event: number, bytes: number, code: number, reason: string | undefined): void {
    const job = this.jobs.get(id);
    if (!job) return;
    if (event === 2) return job.onHandshake?.(code === 1);
    if (event === 3) return job.onNotified?.();
    if (bytes > 0) {
      job.moved += bytes;
      job.onBytes(bytes);
    }
    if (event === 1) {
      this.jobs.delete(id);
      job.resolve({ code, bytes: job.moved, reason });
    }
  }

  /** Receives everything the socket sends into the file at `offset`, or undefined when the engine refused the job. */
  upload(socketFd: number, fileFd: number, offset: number, onBytes: (n: number) => void): EngineJob | undefined {
    return this.submit(onBytes, (id) => this.io.engineUpload(id, socketFd, fileFd, offset));
  }

  /**
   * Like upload, but the first ENGINE_MIN_BYTES are stored from the event loop (recv + pwrite
   * when libuv sees the connection readable): a small upload, the common one, ends there
   * without the engine's thread, and a larger one continues on the engine from where the
   * loop stopped.
   */
  uploadFromLoop(socketFd: number, fileFd: number, offset: number, onBytes: (n: number) => void): EngineJob | undefined {
    const start = this.io.loopUpload;
    const cancelLoop = this.io.loopCancel;
    if (!this.loopReady || !start || !cancelLoop) return this.upload(socketFd, fileFd, offset, onBytes);
    const id = this.takeId();
    if (start.call(this.io, id, socketFd, fileFd, offset, ENGINE_MIN_BYTES) !== 0) return this.upload(socketFd, fileFd, offset, onBytes);
    let rest: EngineJob | undefined;
    let resolve!: (end: EngineJobEnd) => void;
    const ended = new Promise<EngineJobEnd>((r) => (resolve = r));
    let reported = 0;
    this.loopJobs.set(id, (code, bytes) => {
      if (bytes > reported) onBytes(bytes - reported);
      reported = bytes;
      if (code === LOOP_PROGRESS) return;
      if (code !== LOOP_HANDOFF) return resolve({ code, bytes });
      rest = this.upload(socketFd, fileFd, offset + bytes, onBytes);
      if (!rest) return resolve({ code: ENOMEM, bytes });
      void rest.ended.then((end) => resolve({ code: end.code, bytes: bytes + end.bytes }));
    });
    return {
      ended,
      cancel: () => {
        if (rest) rest.cancel();
        else void cancelLoop.call(this.io, id);
      },
    };
  }

  /** Sends `count` bytes of the file from `offset`, or undefined when the engine refused the job. */
  download(socketFd: number, fileFd: number, offset: number, count: number, onBytes: (n: number) => void): EngineJob | undefined {
    return this.submit(onBytes, (id) => this.io.engineDownload(id, socketFd, fileFd, offset, count));
  }

  /**
   * Ends (code 0) as soon as `fd` is readable, or undefined when the engine cannot wait on it:
   * a native passive listener (src/ftp/data/native-endpoint.ts) waits here for its client.
   */
  waitReadable(fd: number): EngineJob | undefined {
    const wait = this.io.engineWaitReadable;
    if (!wait) return undefined;
    return this.submit(() => undefined, (id) => wait.call(this.io, id, fd));
  }

  /**
   * Terminates TLS on `socketFd` (a duplicate is taken) in the engine's thread, or undefined
   * when this build cannot: see native/tls-link.c.
   */
  tls(context: NativeTlsContext, socketFd: number): EngineTlsLink | undefined {
    const start = this.io.engineTls;
    if (!start) return undefined;
    let plainFd = -1;
    let resumed!: (resumed: boolean) => void;
    const handshake = new Promise<boolean>((r) => (resumed = r));
    let notified!: () => void;
    const closeNotified = new Promise<void>((r) => (notified = r));
    const started = (id: number) => {
      plainFd = start.call(this.io, id, context, socketFd);
      return plainFd >= 0 ? 0 : plainFd;
    };
    const job = this.submit(() => undefined, started, (r) => resumed(r), () => notified());
    if (!job) return undefined;
    // WHARF_ENGINE_TLS=relay: transfers pass through the plaintext socket as well (A/B runs).
    const relay = process.env.WHARF_ENGINE_TLS === 'relay';
    const storeInto = relay ? undefined : this.io.engineTlsStore;
    const sendFrom = relay ? undefined : this.io.engineTlsSend;
    /** A file transfer the link runs itself, reported under its own id; cancelling it cancels the link. */
    const linked = (onBytes: (n: number) => void, begin: (id: number) => number): EngineJob | undefined => {
      const started = this.submit(onBytes, begin);
      return started && { ended: started.ended, cancel: job.cancel };
    };
    const store = (fileFd: number, offset: number, onBytes: (n: number) => void) =>
      storeInto && linked(onBytes, (id) => storeInto.call(this.io, job.id, id, fileFd, offset));
    const send = (fileFd: number, offset: number, count: number, onBytes: (n: number) => void) =>
      sendFrom && linked(onBytes, (id) => sendFrom.call(this.io, job.id, id, fileFd, offset, count));
    return { plainFd, handshake, closeNotified, ended: job.ended, cancel: job.cancel, store, send };
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return id;
  }

  private submit(
    onBytes: (n: number) => void,
    start: (id: number) => number,
    onHandshake?: (resumed: boolean) => void,
    onNotified?: () => void,
  ): (EngineJob & { id: number }) | undefined {
    const id = this.takeId();
    if (start(id) !== 0) return undefined; // out of descriptors, for instance
    let resolve!: (end: EngineJobEnd) => void;
    const ended = new Promise<EngineJobEnd>((r) => (resolve = r));
    this.jobs.set(id, { moved: 0, onBytes, resolve, onHandshake, onNotified });
    return { id, ended, cancel: () => void this.io.engineCancel(id) };
  }

  /** Jobs still running (tests: nothing may be left behind). */
  get running(): number {
    return this.jobs.size + this.loopJobs.size;
  }

  /** Descriptors held on purpose: the empty upload pipes kept for reuse (tests count leaks without them). */
  get descriptorsKept(): number {
    return 2 * (this.io.enginePipesKept?.() ?? 0);
  }
}

function create(): TransferEngine | undefined {
  if (!nativeEngine || process.env.WHARF_ENGINE === 'off') return undefined;
  const engine = new TransferEngine(nativeEngine);
  return engine.start() ? engine : undefined;
}

/**
 * The process's transfer engine, started when this module loads (so that its two
 * descriptors and its thread are there from the start, not counted as a leak of the first
 * transfer). Undefined without the native module or with WHARF_ENGINE=off.
 */
export const transferEngine: TransferEngine | undefined = create();

export type { TransferEngine };
