import { open as openCallback, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const openOnPool = promisify(openCallback);

/** A create-open that took this long (ms) on the event loop was too slow to do there. */
const SLOW_OPEN_MS = 2;
/** After a slow one, creates go to the thread pool for this long, then the event loop tries again. */
const POOL_FOR_MS = 10_000;

export interface UploadOpenerOptions {
  /** The synchronous open. Tests pass a slow one; a slow filesystem cannot be made here. */
  openNow?: (path: Buffer, flags: number, mode: number) => number;
  /** The thread-pool open. */
  openLater?: (path: Buffer, flags: number, mode: number) => Promise<number>;
  /** Monotonic milliseconds, fractional: times each open and the pool period. Tests pass their own. */
  now?: () => number;
}

/**
 * Opens upload targets, which usually means creating a file. On local disks a create is fast.
 * Under create/delete churn, ext4 also walks past every inode freed in the last minute or so
 * before it picks one, and that takes 0.1-1 ms. Even then it is cheaper on the event loop than
 * on the thread pool. A pool open wakes a worker thread and then the event loop again, and
 * when client processes keep both cores busy, each wake-up waits for a CPU. Small files from
 * 20 Python ftplib clients (bench/ftplib-probe.mjs) ran 7-18% faster with the create on the
 * event loop. 200 concurrent STOR and the Node client's small files ran as fast as before
 * (docs/profiling.md has the figures).
 *
 * A filesystem where creating a file blocks for long (network storage, a device that has to
 * spin up) would stall every session while it waits. So one create slower than
 * SLOW_OPEN_MS sends the next ones to the thread pool for POOL_FOR_MS, and after that the
 * event loop tries again. Such a filesystem costs one stall per period, not one per upload.
 */
export class UploadOpener {
  private readonly openNow: (path: Buffer, flags: number, mode: number) => number;
  private readonly openLater: (path: Buffer, flags: number, mode: number) => Promise<number>;
  private readonly now: () => number;
  /** Until when (ms, `now()`) creates go to the thread pool. */
  private poolUntil = 0;

  constructor(options: UploadOpenerOptions = {}) {
    this.openNow = options.openNow ?? openSync;
    this.openLater = options.openLater ?? openOnPool;
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether the next open runs on the thread pool (a recent one was slow). */
  get onPool(): boolean {
    return this.now() < this.poolUntil;
  }

  /** Opens `path`; errors reject, as the thread-pool open's do (EEXIST, ELOOP, ...). */
  async open(path: Buffer, flags: number, mode: number): Promise<number> {
    if (this.onPool) return this.openLater(path, flags, mode);
    const started = this.now();
    try {
      return this.openNow(path, flags, mode);
    } finally {
      const ended = this.now();
      if (ended - started > SLOW_OPEN_MS) this.poolUntil = ended + POOL_FOR_MS;
    }
  }
}
