import { getHeapStatistics } from 'node:v8';
import { nativeIo } from './native.js';

/** Quiet time after the last transfer before memory is handed back. */
const RELEASE_AFTER_MS = 2000;
/**
 * After a burst of commands (logins above all), how often the server checks whether it has
 * gone quiet: memory is handed back between one and two periods after the last command.
 */
const QUIET_CHECK_MS = 300;
/**
 * How much the JavaScript heap must have grown since the last release for a quiet moment to
 * be worth a full collection: a lone command every few seconds never pays for one.
 */
const BURST_GROWTH_BYTES = 1024 * 1024;
/**
 * After a release, how long the server must stay quiet (no read, no transfer) for one more
 * collection. V8 shrinks its young generation back to the start-up size only in a collection
 * that follows a few seconds of low allocation (its allocation-rate window is 5 s), so the
 * release right after a burst cannot do it: the young generation that loading Wharf's modules
 * or a busy period grew to 4 MiB (2 MiB semi-spaces) stays committed until this one.
 */
const SETTLED_AFTER_MS = 6000;

let timer: NodeJS.Timeout | undefined;
let collector: (() => void) | undefined;
/** The collector shrinks the young generation itself (V8's low-memory collection): no settled collection after a release. */
let collectorSettles = false;
/** Control-connection reads so far, and at the last quiet check. */
let reads = 0;
let readsAtCheck = 0;
let quietWatch: NodeJS.Timeout | undefined;
/** Heap in use just after the last release (growth beyond it marks a burst). */
let heapAfterRelease = 0;
let settleTimer: NodeJS.Timeout | undefined;
/** Reads and transfers seen when the settled collection was scheduled. */
let readsAtRelease = 0;
let transfers = 0;
let transfersAtRelease = 0;
/**
 * Transfers running now. No collection runs while one does: control connections are quiet
 * during a transfer, and a compacting collection of a heap holding 200 sessions stopped the
 * event loop for 20-110 ms in the middle of 200 concurrent uploads (--trace-gc). The end of
 * the last one arms the release as usual.
 */
let active = 0;

/**
 * A full garbage collection to run first when the server goes quiet (the CLI provides one).
 * An idle V8 heap is rarely collected, so Buffers of finished transfers, and the C memory
 * behind them (OpenSSL's above all), would otherwise stay allocated for as long as the server
 * is idle. `settlesItself`: the collector also shrinks the young generation (V8's low-memory
 * collection), so a release is not followed by the settled collection.
 */
export function setIdleCollector(collect: (() => void) | undefined, settlesItself = false): void {
  collector = collect;
  collectorSettles = settlesItself;
  clearTimeout(settleTimer);
  settleTimer = undefined;
  if (!collect) return;
  heapAfterRelease = getHeapStatistics().used_heap_size;
  // Start-up is a burst too (parsing every module grew the young generation): settle once.
  scheduleSettled();
}

function releaseNow(): void {
  collector?.();
  handBackPages();
  if (!collector) return;
  heapAfterRelease = getHeapStatistics().used_heap_size;
  // A collector that shrinks the young generation itself has nothing left for the settled
  // one to do, which would only cost another full collection (~15-25 ms) per quiet period.
  if (!collectorSettles) scheduleSettled();
}

/**
 * Memory the process holds without needing it goes back: what the C allocator kept
 * (malloc_trim) and, where Wharf owns the process (the CLI set a collector), the pages of the
 * node executable that only starting up or a past burst ran. Those stay mapped, and counted in
 * the RSS, until unmapped (native/file-pages.c): 1 000 idle sessions, RSS 54.8 -> 22.9 MiB,
 * PSS 28.0 -> 16.1 MiB (idle-probe, 3 interleaved reps). What runs again maps back with minor
 * faults. An embedding application keeps its own mappings: the call acts on the whole process.
 */
function handBackPages(): void {
  nativeIo?.trimMemory();
  if (collector) nativeIo?.releaseFilePages?.();
}

/** One more collection after SETTLED_AFTER_MS of quiet (see there); skipped if anything happened. */
function scheduleSettled(): void {
  readsAtRelease = reads;
  transfersAtRelease = transfers;
  if (settleTimer) {
    settleTimer.refresh();
    return;
  }
  settleTimer = setTimeout(() => {
    settleTimer = undefined;
    if (reads === readsAtRelease && transfers === transfersAtRelease && active === 0) {
      collector?.();
      handBackPages();
    }
  }, SETTLED_AFTER_MS);
  settleTimer.unref();
}

/** Called when a transfer starts; releaseMemorySoon() ends it. */
export function noteTransferStart(): void {
  active++;
}

/**
 * Called when a transfer ends. Once transfers have stopped for a moment, garbage is collected
 * (when a collector was set) and memory the C allocator kept goes back to the system (with
 * the native module), so a server that was busy and is now idle holds about what an idle
 * server needs. A busy server only refreshes one timer.
 */
export function releaseMemorySoon(): void {
  transfers++;
  if (active > 0) active--;
  if (!collector && !nativeIo) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = undefined;
    if (active === 0) releaseNow(); // otherwise the last transfer's end arms it again
  }, RELEASE_AFTER_MS);
  timer.unref();
}

/**
 * Called for every read on a control connection. A burst of logins leaves its garbage (and
 * the heap pages V8 grew for it) behind just like a transfer does: 1 000 sessions logging in
 * at once left ~4 MiB of dead objects and ~3 MiB of free heap pages committed. Once reads
 * stop for a moment after such a burst, the same release as after transfers runs. While
 * commands keep coming this costs an increment and a comparison per read; the check runs
 * only while there is activity to watch and stops once the server is quiet. Without a
 * collector (library use, tests) it does nothing at all.
 */
export function noteControlActivity(): void {
  reads++;
  if (quietWatch !== undefined || !collector) return;
  readsAtCheck = reads;
  quietWatch = setInterval(checkQuiet, QUIET_CHECK_MS);
  quietWatch.unref();
}

function checkQuiet(): void {
  if (reads !== readsAtCheck) {
    readsAtCheck = reads;
    return;
  }
  clearInterval(quietWatch);
  quietWatch = undefined;
  if (active > 0) return; // the end of the last transfer releases
  if (getHeapStatistics().used_heap_size >= heapAfterRelease + BURST_GROWTH_BYTES) releaseNow();
}
