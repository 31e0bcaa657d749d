import * as nodeCrypto from 'node:crypto';
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** crypto.hash (Node 20.12+, not in these type definitions): a one-shot digest without a Hash object. */
const oneShotHash = (nodeCrypto as unknown as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

function scrypt(password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const DEFAULT_LOG_N = 15;
const KEY_LENGTH = 32;

/**
 * Password hashes look like `$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>`: self-describing so
 * the cost can rise later without breaking old entries. scrypt runs on libuv's thread pool,
 * off the event loop.
 */
export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scrypt(password, salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r });
  return `$scrypt$ln=${logN},r=${r},p=${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

export function parseHash(encoded: string): ParsedHash | null {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
  if (!m) return null;
  const logN = Number(m[1]);
  if (logN < 1 || logN > 20) return null;
  return { logN, r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4]!, 'base64'), key: Buffer.from(m[5]!, 'base64') };
}

export function isPasswordHash(encoded: string): boolean {
  return parseHash(encoded) !== null;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const { logN, r, p, salt, key } = parsed;
  const candidate = await scrypt(password, salt, key.length, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 });
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

/** A hash of a password nobody has, so unknown user names cost the same time as known ones. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}

/** Constant-time comparison of two secrets of any length. */
export function safeEqual(a: string, b: string): boolean {
  const key = randomBytes(32);
  const ha = createHmac('sha256', key).update(a).digest();
  const hb = createHmac('sha256', key).update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Remembers that (user, password, stored hash) verified, so a client that opens many
 * sessions does not pay scrypt (~100 ms and 32 MiB at ln=15) each time: a camera that
 * uploads every minute, an EDI partner that reconnects per file. An entry lives ten minutes
 * after its last use (SFTPGo caches verified passwords the same way). Only successes are
 * cached, so guessing is as slow as ever; a changed password or hash never matches an old
 * entry. Keys are HMACs under a per-process secret: the cache never holds a password or
 * anything that helps guess one.
 */
export class VerifiedCredentialsCache {
  private readonly secret = randomBytes(32);
  /** The same secret as text, the prefix of every key digest (see key()). */
  private readonly secretText = this.secret.toString('hex');
  private readonly entries = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * SHA-256 of the per-process secret and the length-prefixed fields: keyed, not reversible,
   * and unambiguous whatever bytes a name or password holds. One call is ~0.6 us, where an
   * HMAC object cost ~11 us per login. The digest is never shown to anyone, so the
   * length-extension property of a bare prefix key does not matter here; without crypto.hash
   * (older Node) it is an HMAC as before.
   */
  private key(name: string, password: string, stored: string): string {
    const fields = `${name.length}:${name}${password.length}:${password}${stored}`;
    if (oneShotHash) return oneShotHash('sha256', this.secretText + fields, 'base64');
    return createHmac('sha256', this.secret).update(fields).digest('base64');
  }

  has(name: string, password: string, stored: string): boolean {
    const k = this.key(name, password, stored);
    const expires = this.entries.get(k);
    if (expires === undefined) return false;
    const now = Date.now();
    if (expires < now) {
      this.entries.delete(k);
      return false;
    }
    // Used again: it lives on, and moves to the back of the eviction order.
    this.entries.delete(k);
    this.entries.set(k, now + this.ttlMs);
    return true;
  }

  /** Runs `verify` once for concurrent identical (user, password, hash) checks. */
  shareInFlight(name: string, password: string, stored: string, verify: () => Promise<boolean>): Promise<boolean> {
    const k = this.key(name, password, stored);
    const running = this.inFlight.get(k);
    if (running) return running;
    const job = verify().finally(() => this.inFlight.delete(k));
    this.inFlight.set(k, job);
    return job;
  }

  add(name: string, password: string, stored: string): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.key(name, password, stored), Date.now() + this.ttlMs);
  }
}

/**
 * Verifies against a stored scrypt hash, through the cache. Identical verifications already
 * running share one scrypt: 200 sessions of one user logging in at once cost one derivation,
 * not 200 queued on the thread pool.
 */
export async function verifyWithCache(cache: VerifiedCredentialsCache, name: string, password: string, stored: string): Promise<boolean> {
  if (cache.has(name, password, stored)) return true;
  return cache.shareInFlight(name, password, stored, async () => {
    const ok = await verifyPassword(password, stored);
    if (ok) cache.add(name, password, stored);
    return ok;
  });
}
