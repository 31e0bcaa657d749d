import type { TransferState } from '../session.js';

/** How often running transfers are checked for progress. */
const CHECK_EVERY_MS = 1000;

interface Watch {
  state: TransferState;
  stallMs: number;
  lastBytes: number;
  lastProgressAt: number;
}

const watches = new Set<Watch>();
let timer: NodeJS.Timeout | undefined;

/**
 * Aborts a transfer that moves no byte for `stallMs` (vsftpd's data_connection_timeout,
 * ProFTPD's TimeoutStalled): a client that keeps its data connection open and stops reading
 * or writing would otherwise hold the transfer, its session, its file and descriptors for
 * ever, since the idle timeout is paused while a transfer runs. Progress is `state.bytes`,
 * which every path moves at least once a second while bytes flow (the engine reports that
 * often). One timer checks every running transfer, so a transfer costs a Set entry, not a
 * timer of its own; the timer stops once no transfer is left to watch.
 *
 * Returns the function that stops watching (call it when the transfer ends, however it ends).
 */
export function watchForStall(state: TransferState, stallMs: number): () => void {
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
