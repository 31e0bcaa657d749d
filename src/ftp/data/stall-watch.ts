import type { TransferState } from '../session.js';

/** How often running transfers are checked for progress. */
const CHECK_EVERY_MS = 1000;

/**
 * The shortest stall the watch can tell from a transfer that moves. Uploads stored by the
 * native engine report their progress about once a second, and a check can fall just before a
 * report: with a 1 s timeout, a trickling upload that never stopped got 426. Three check
 * periods leave room for a late report and a busy event loop.
 */
export const MIN_STALL_MS = 3 * CHECK_EVERY_MS;

/** The stall timeout in force for a configured one: 0 (never) stays 0, anything else is at least MIN_STALL_MS. */
export function effectiveStallMs(configuredMs: number): number {
  return configuredMs > 0 ? Math.max(configuredMs, MIN_STALL_MS) : 0;
}

interface Watch {
  state: TransferState;
  stallMs: number;
  lastBytes: number;
  lastProgressAt: number;
}

const watches = new Set<Watch>();
let timer: NodeJS.Timeout | undefined;

/**
 * Aborts a transfer that moves no byte for `configuredMs` (at least MIN_STALL_MS; vsftpd's data_connection_timeout,
 * ProFTPD's TimeoutStalled): a client that keeps its data connection open and stops reading
 * or writing would otherwise hold the transfer, its session, its file and descriptors for
 * ever, since the idle timeout is paused while a transfer runs. Progress is `state.bytes`,
 * which every path moves at least once a second while bytes flow (the engine reports that
 * often). One timer checks every running transfer, so a transfer costs a Set entry, not a
 * timer of its own; the timer stops once no transfer is left to watch.
 *
 * Returns the function that stops watching (call it when the transfer ends, however it ends).
 */
export function watchForStall(state: TransferState, configuredMs: number): () => void {
  const stallMs = effectiveStallMs(configuredMs);
  if (!(stallMs > 0)) return noop;
  const watch: Watch = { state, stallMs, lastBytes: state.bytes, lastProgressAt: Date.now() };
  watches.add(watch);
  if (!timer) {
    timer = setInterval(checkAll, CHECK_EVERY_MS);
    timer.unref();
  }
  return () => void watches.delete(watch);
}

function noop(): void {}

function checkAll(): void {
  if (watches.size === 0) {
    clearInterval(timer);
    timer = undefined;
    return;
  }
  const now = Date.now();
  for (const watch of watches) {
    const { state } = watch;
    if (state.bytes !== watch.lastBytes) {
      watch.lastBytes = state.bytes;
      watch.lastProgressAt = now;
    } else if (now - watch.lastProgressAt >= watch.stallMs) {
      watches.delete(watch);
      state.abortedBy ??= 'stall';
      state.abort();
    }
  }
}
