/**
 * A token bucket: `ratePerSecond` sustained, bursts up to `burst`. Used per session to stop
 * command floods (a client sending NOOP as fast as the socket allows would otherwise take a
 * CPU core); protocol-neutral so any front end can meter its requests with it.
 */
/** One clock for every limiter (a default closure per limiter was 56 bytes per session). */
const monotonicNow = (): number => performance.now();

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(ratePerSecond * 2, 50),
    private readonly now: () => number = monotonicNow,
  ) {
    this.tokens = burst;
    this.last = this.now();
  }

  /** Whether limiting is on at all (a rate of 0 means unlimited). */
  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  /** Takes `n` tokens; false when the bucket is empty (the caller is over the limit). */
  take(n = 1): boolean {
    if (!this.enabled) return true;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
