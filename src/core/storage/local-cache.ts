import { LocalStorage } from './local.js';

/** How long one LocalStorage serves new logins to the same home before it is rebuilt. */
const REUSE_MS = 1000;
/** Homes remembered at most (oldest first out). */
const MAX_HOMES = 1024;

/**
 * Shares one LocalStorage per home folder between sessions that log in close together.
 * Building one resolves the home's real path twice (realpath(3) and a thread-pool round
 * trip), which was the largest single cost of a login (~160 us of main-thread CPU). A
 * LocalStorage holds no per-session state, only that real path, so sessions may share it.
 *
 * An entry is reused for at most a second (the users file is re-checked at that pace too),
 * so a home folder that is moved or replaced by a symlink is seen by logins a second later;
 * a session keeps the storage it logged in with, as before.
 */
export class LocalStorageCache {
  private readonly entries = new Map<string, { storage: LocalStorage; madeAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(home: string): LocalStorage {
    const now = this.now();
    const hit = this.entries.get(home);
    if (hit && now - hit.madeAt < REUSE_MS) return hit.storage;
    const storage = new LocalStorage(home);
    this.entries.delete(home);
    this.entries.set(home, { storage, madeAt: now });
    if (this.entries.size > MAX_HOMES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return storage;
  }
}
