import { nativeIo } from './native.js';

/** Quiet time after the last transfer before memory is handed back. */
const RELEASE_AFTER_MS = 2000;
let timer: NodeJS.Timeout | undefined;
let collector: (() => void) | undefined;

/**
 * A full garbage collection to run first when the server goes quiet (the CLI provides one).
 * An idle V8 heap is rarely collected, so Buffers of finished transfers, and the C memory
 * behind them (OpenSSL's above all), would otherwise stay allocated for as long as the server
 * is idle.
 */
export function setIdleCollector(collect: (() => void) | undefined): void {
  collector = collect;
}

/**
 * Called when a transfer ends. Once transfers have stopped for a moment, garbage is collected
 * (when a collector was set) and memory the C allocator kept goes back to the system (with
 * the native module), so a server that was busy and is now idle holds about what an idle
 * server needs. A busy server only refreshes one timer.
 */
export function releaseMemorySoon(): void {
  if (!collector && !nativeIo) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = undefined;
    collector?.();
    nativeIo?.trimMemory();
  }, RELEASE_AFTER_MS);
  timer.unref();
}
