import { fstat } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setIdleCollector } from '../core/idle-memory.js';
import { nativeIo } from '../core/native.js';

/**
 * `wharf serve` keeps V8's young generation at its start-up size (1 MiB semi-spaces) instead
 * of letting it double up to 8 MiB semi-spaces under load. V8 grows it whenever enough objects
 * survive scavenges (a burst of logins, a busy transfer) and keeps those pages committed long
 * after the burst, so an idle server that had been busy held ~12 MiB more than a fresh one.
 * Measured here (after RETR/STOR 128 MiB, 50 concurrent RETR/STOR of 2 MiB and the small-file
 * loop): PSS 29 -> 24 MiB; server CPU for that workload 840 -> 950 ms median of three
 * interleaved runs, within this machine's noise (810-970 vs 790-1010). Bulk bytes never live
 * in the JavaScript heap (they are Buffers outside it, or sendfile/splice), which is why the
 * small young generation costs little.
 *
 * Set at run time, before the server allocates anything: `--max-semi-space-size` would only
 * apply when given to node itself, but the growth factor is read at every resize. A user who
 * passes their own young-generation flags to node keeps them.
 */
export function keepYoungGenerationSmall(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const own = [...execArgv, nodeOptions].some((arg) => /semi[-_]space/.test(arg));
  if (own) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/**
 * `wharf serve` collects garbage once transfers have stopped for two seconds (see
 * core/idle-memory.ts): without it an idle server keeps finished transfers' Buffers, and
 * the C memory behind them, until some later allocation triggers a collection. Measured
 * after FTPS transfers: PSS swung between 35 and 57 MiB depending on when V8 last collected.
 * It also runs after a burst of logins or commands once the control connections go quiet.
 *
 * With the native module the collection is V8's low-memory one (native/wharf.c, lowMemory):
 * besides compacting, it shrinks the young generation back to its start-up size and hands
 * back its spare semi-space and the pages V8 pools for reuse, which a gc() leaves committed
 * (the young generation only shrank in the collection SETTLED_AFTER_MS later, well after the
 * bench reads the figure). 1 000 idle sessions logged in to a server that had been quiet
 * (idle-probe --pre 8000, 3 interleaved reps): private dirty memory 15.2 -> 13.1 MiB in every
 * rep, committed young generation 2 -> 1 MiB, the rest pooled pages. It costs two full
 * collections instead of one (8 + 15 ms against 19 ms, --trace-gc, after 1 000 logins);
 * --trace-flush-bytecode showed no bytecode flushed over six 200-login bursts and the bursts'
 * own CPU stayed the same (60-80 ms each after the first, either way).
 *
 * Without the module, V8 offers gc() only with --expose-gc; set at run time, it is picked up
 * by a new context (which costs ~140 KiB of heap, spared when the native call is there). A
 * full collection of an idle server's small heap takes a few milliseconds.
 */
export function collectGarbageWhenIdle(): boolean {
  const lowMemory = nativeIo?.lowMemory;
  if (lowMemory) {
    setIdleCollector(() => keepNodeShapesThrough(lowMemory), true);
    return true;
  }
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return false;
    setIdleCollector(() => compacting(gc as () => void));
    return true;
  } catch {
    return false; // a runtime without the flag: memory is still released, only later
  }
}

/**
 * Runs the idle collection with compaction. A plain full collection frees dead objects but
 * leaves the pages they were spread over committed: after 1 000 logins the old space held
 * 8.6 MiB of live objects in 11.5 MiB of pages, and after listings and transfers 9.3 MiB in
 * 15.2 MiB. Compacting moves the survivors together so the emptied pages go back to the
 * system (measured, 1 000 idle sessions: committed heap 16.5 -> 14.0 MiB, USS 22.5 -> 20.0 MiB).
 * Only this collection compacts: V8's own collections while the server is busy keep their
 * usual, cheaper policy.
 *
 * What it costs the next burst (200 logins, then quiet, repeated; --trace-opt/--trace-deopt/
 * --trace-flush-bytecode on the server): about 4 optimized functions thrown away per release
 * (Node's own: the SafeMap iterator of processPromiseRejections, stream helpers; the
 * session's code survives through core/warm-shapes.ts), and no bytecode flushed at all, so
 * --no-flush-bytecode / --no-flush-baseline-code changed neither the recompilations nor the
 * next burst's time or CPU, and no V8 flag is set for it. Disabling the release entirely left
 * the next burst's own CPU unchanged too: the release costs its own collection (~12 ms on the
 * main thread and ~20 ms on V8's helper threads per 200-login burst), after the burst.
 */
function compacting(gc: () => void): void {
  keepNodeShapesThrough(() => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  });
}

const noop = (): void => undefined;

/**
 * Runs `collect` while one object of each of Node's own per-request kinds is alive: a queued
 * nextTick and a pending fs request. Their maps are reached only through transitions and
 * inline caches, which hold them weakly, so a collection in a quiet moment (none pending)
 * frees them, and every optimized function that embedded them is thrown away: nextTick,
 * processTicksAndRejections, fs.open ... (core/warm-shapes.ts does the same for Wharf's own
 * objects).
 */
function keepNodeShapesThrough(collect: () => void): void {
  process.nextTick(noop);
  fstat(0, noop); // any descriptor will do: the request object is what matters, not its answer
  collect();
}
