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

  constructor(private readonly io: NativeEngine) {}

  /** Starts the worker; false when it cannot run (the event-loop paths serve every transfer then). */
  start(): boolean {
    return this.io.engineStart((id, event, bytes, code) => this.onEvent(id, event, bytes, code)) === 0;
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

  private submit(onBytes: (n: number) => void, start: (id: number) => number): EngineJob | undefined {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    if (start(id) !== 0) return undefined; // out of descriptors, for instance
    let resolve!: (end: EngineJobEnd) => void;
    const ended = new Promise<EngineJobEnd>((r) => (resolve = r));
    this.jobs.set(id, { moved: 0, onBytes, resolve });
    return { ended, cancel: () => void this.io.engineCancel(id) };
  }

  /** Jobs still running (tests: nothing may be left behind). */
  get running(): number {
    return this.jobs.size;
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
