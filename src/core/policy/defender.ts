import { createHash } from 'node:crypto';
import type { WharfEvents } from '../events.js';
import type { Logger } from '../logger.js';
import { AddressList, unmapIPv4 } from './cidr.js';

/**
 * Brute-force defence shared by every front end (FTP now, SFTP later). It knows nothing of
 * any protocol: a front end asks `isBanned(ip)` when a connection arrives (and before it
 * checks a password), reports each failed login with `recordFailure`, waits the delay it is
 * given, and closes the connection when told the address is now banned.
 *
 * Failures are scored per client address and per user name within a sliding window:
 * - the delay before a failure is answered grows with the larger of the two scores, so a
 *   guesser is slowed whichever it varies; successful logins are never delayed, and a user
 *   mistyping from their own address is scored on their own name and address only;
 * - an address reaching `maxFailures` is banned for `banMs`; user names are never banned
 *   (that would let anyone lock a real user out);
 * - addresses on the allow-list are never banned (they are still delayed).
 * Memory is bounded: at most `maxTracked` addresses and names are remembered (oldest first
 * out), and expired scores and bans are dropped lazily, so there is no timer to leak.
 */
export interface DefenderOptions {
  /** Failed logins from one address within `windowMs` before it is banned. 0 disables bans. Default 10. */
  maxFailures?: number;
  /** How long a ban lasts. Default 15 minutes. */
  banMs?: number;
  /** Failures older than this are forgotten. Default: `banMs`. */
  windowMs?: number;
  /** Addresses and CIDR blocks never banned (loopback is NOT included by default). */
  allow?: readonly string[];
  /** Delay before answering the first failure. Default 1000 ms. */
  baseDelayMs?: number;
  /** Upper bound of the progressive delay. Default 8 × `baseDelayMs`. */
  maxDelayMs?: number;
  /** Failed logins in one connection before the front end closes it. Default 3. 0: no limit. */
  maxFailuresPerSession?: number;
  /** Addresses and names remembered at most (each). Default 100 000. */
  maxTracked?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface FailureVerdict {
  /** Wait this long before answering the failure. */
  delayMs: number;
  /** The address is banned now (this failure crossed the threshold, or it already was). */
  banned: boolean;
  /** Failures scored for the address and the user name (within the window). */
  ipFailures: number;
  userFailures: number;
}

interface Score {
  /** Times of the failures within the window, oldest first (at most max(64, maxFailures) kept). */
  times: number[];
}

export interface BanInfo {
  ip: string;
  untilMs: number;
  failures: number;
}

const MAX_TIMES_KEPT = 64;

export class Defender {
  readonly maxFailures: number;
  readonly banMs: number;
  readonly windowMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxFailuresPerSession: number;
  readonly allow: AddressList;
  private readonly maxTracked: number;
  private readonly now: () => number;
  private readonly byIp = new Map<string, Score>();
  private readonly byUser = new Map<string, Score>();
  private readonly bans = new Map<string, BanInfo>();

  constructor(
    options: DefenderOptions = {},
    private readonly events?: WharfEvents,
    private readonly log?: Logger,
  ) {
    this.maxFailures = nonNegative(options.maxFailures, 10);
    this.banMs = nonNegative(options.banMs, 15 * 60_000);
    this.windowMs = nonNegative(options.windowMs, Math.max(this.banMs, 60_000));
    this.baseDelayMs = nonNegative(options.baseDelayMs, 1000);
    this.maxDelayMs = Math.max(this.baseDelayMs, nonNegative(options.maxDelayMs, this.baseDelayMs * 8));
    this.maxFailuresPerSession = nonNegative(options.maxFailuresPerSession, 3);
    this.maxTracked = Math.max(1, nonNegative(options.maxTracked, 100_000));
    this.allow = new AddressList(options.allow ?? []);
    this.now = options.now ?? Date.now;
  }

  isAllowed(ip: string): boolean {
    return this.allow.has(ip);
  }

  /** The active ban of an address, if any (expired bans are removed here). */
  ban(ip: string): BanInfo | undefined {
    const key = unmapIPv4(ip);
    const ban = this.bans.get(key);
    if (!ban) return undefined;
    if (ban.untilMs <= this.now()) {
      this.bans.delete(key);
      this.byIp.delete(key); // a fresh start after serving the sentence
      return undefined;
    }
    return ban;
  }

  isBanned(ip: string): boolean {
    return this.ban(ip) !== undefined;
  }

  /** Addresses banned right now. */
  get bannedCount(): number {
    for (const ip of [...this.bans.keys()]) this.ban(ip);
    return this.bans.size;
  }

  /** Scores one failed login and says how long to wait and whether the address is now banned. */
  recordFailure(ip: string, user: string): FailureVerdict {
    const key = unmapIPv4(ip);
    const now = this.now();
    const ipFailures = this.score(this.byIp, key, now);
    const userFailures = this.score(this.byUser, userKey(user), now);
    let banned = this.isBanned(key);
    if (!banned && this.maxFailures > 0 && ipFailures >= this.maxFailures && !this.isAllowed(key)) {
      this.imposeBan(key, ipFailures, now);
      banned = true;
    }
    const worst = Math.max(ipFailures, userFailures);
    const delayMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(worst - 1, 30));
    return { delayMs, banned, ipFailures, userFailures };
  }

  /** Lifts a ban and forgets the address's failures (for operators and tests). */
  unban(ip: string): void {
    const key = unmapIPv4(ip);
    this.bans.delete(key);
    this.byIp.delete(key);
  }

  private imposeBan(ip: string, failures: number, now: number): void {
    const info: BanInfo = { ip, untilMs: now + this.banMs, failures };
    this.bans.delete(ip);
    this.bans.set(ip, info);
    this.trim(this.bans);
    this.log?.warn({ ip, failures, banSeconds: Math.round(this.banMs / 1000) }, 'address banned after failed logins');
    this.events?.emit('security:ban', { ...info });
  }

  /** Adds a failure now, drops those outside the window, returns the count within it. */
  private score(map: Map<string, Score>, key: string, now: number): number {
    let score = map.get(key);
    if (score) map.delete(key); // re-insert: Map order is then least recently failed first
    else score = { times: [] };
    const since = now - this.windowMs;
    let drop = 0;
    while (drop < score.times.length && score.times[drop]! <= since) drop++;
    if (drop) score.times.splice(0, drop);
    score.times.push(now);
    const keep = Math.max(MAX_TIMES_KEPT, this.maxFailures);
    if (score.times.length > keep) score.times.splice(0, score.times.length - keep);
    map.set(key, score);
    this.trim(map);
    return score.times.length;
  }

  private trim(map: Map<string, unknown>): void {
    while (map.size > this.maxTracked) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
  }
}

/** Long names are hashed so a guesser cannot make the table hold megabytes of names. */
function userKey(name: string): string {
  return name.length <= 64 ? name : 'sha256:' + createHash('sha256').update(name).digest('base64');
}

function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}
