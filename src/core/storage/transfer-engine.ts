import { constants } from 'node:os';
import { nativeEngine, type NativeEngine } from '../native.js';

/** How an engine job ended: `code` 0 done, CANCELLED, an errno, or FILE_ERROR_BASE + errno; `bytes` moved in all. */
export interface EngineJobEnd {
  code: number;
  bytes: number;
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
    this.loopReady = this.io.loopStart?.((id, code, bytes) => this.onLoopEnd(id, code, bytes)) === 0;
    return this.io.engineStart((id, event, bytes, code) => this.onEvent(id, event, bytes, code)) === 0;
  }

  private onLoopEnd(id: number, code: number, bytes: number): void {
    const end = this.loopJobs.get(id);
    if (!end) return;
    this.loopJobs.delete(id);
    end(code, bytes);
  }

  private onEvent(id: number, event: number, bytes: number, code: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    if (bytes > 0) {
      job.moved += bytes;
      job.onBytes(bytes);
    }
    if (event === 1) {
      this.jobs.delete(id);
      job.resolve({ code, bytes: job.moved });
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
    this.loopJobs.set(id, (code, bytes) => {
      if (bytes > 0) onBytes(bytes);
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

  private takeId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return id;
  }

  private submit(onBytes: (n: number) => void, start: (id: number) => number): EngineJob | undefined {
    const id = this.takeId();
    if (start(id) !== 0) return undefined; // out of descriptors, for instance
    let resolve!: (end: EngineJobEnd) => void;
    const ended = new Promise<EngineJobEnd>((r) => (resolve = r));
    this.jobs.set(id, { moved: 0, onBytes, resolve });
    return { ended, cancel: () => void this.io.engineCancel(id) };
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
