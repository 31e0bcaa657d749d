import * as nodePath from 'node:path';
import { READ_ONLY_PERMISSIONS, parsePermissions, type Permission } from '../permissions.js';
import type { Authenticator, Credentials, User } from './types.js';
import { decoyPasswordHash, isPasswordHash, safeEqual, verifyWithCache, VerifiedCredentialsCache } from './password.js';

/** One account as configured: a plain password or a scrypt hash, home, permissions. */
export interface UserRecord {
  name: string;
  /** A `$scrypt$...` hash (see `wharf passwd`) or, for inline users, the plain password. */
  password: string;
  /** Home folder; relative paths resolve against the server's root folder. */
  home?: string;
  permissions?: string | readonly string[];
  requireTls?: boolean;
  disabled?: boolean;
}

export interface StaticUsersOptions {
  /** Default home and the base of relative homes. */
  root: string;
  /** Permissions for users that do not list their own. */
  defaultPermissions: readonly Permission[];
  /** Let `anonymous`/`ftp` in, read-only, with any password. */
  anonymous?: boolean;
  /** Home for anonymous users (defaults to root). */
  anonymousRoot?: string;
}

export const ANONYMOUS_NAMES = new Set(['anonymous', 'ftp']);

/**
 * Authenticates against a fixed list of users (the CLI's --user flags and the users file).
 * Unknown names cost a decoy scrypt so timing does not reveal which accounts exist.
 */
export class StaticUsers implements Authenticator {
  /** `hashed`: the password is a scrypt hash (decided once here, not parsed again per login). */
  private readonly users = new Map<string, { record: UserRecord; user: User; hashed: boolean }>();
  private readonly cache = new VerifiedCredentialsCache();

  constructor(
    records: readonly UserRecord[],
    private readonly options: StaticUsersOptions,
  ) {
    this.replace(records);
  }

  /** Swaps the whole list at once (users file reload). */
  replace(records: readonly UserRecord[]): void {
    const next = new Map<string, { record: UserRecord; user: User; hashed: boolean }>();
    for (const record of records) {
      const permissions = record.permissions !== undefined ? parsePermissions(record.permissions) : new Set(this.options.defaultPermissions);
      next.set(record.name, {
        record,
        hashed: isPasswordHash(record.password),
        user: {
          name: record.name,
          home: nodePath.resolve(this.options.root, record.home ?? '.'),
          permissions,
          requireTls: record.requireTls ?? false,
        },
      });
    }
    this.users.clear();
    for (const [k, v] of next) this.users.set(k, v);
  }

  get size(): number {
    return this.users.size;
  }

  async authenticate({ username, password }: Credentials): Promise<User | null> {
    const entry = this.users.get(username);
    if (!entry && this.options.anonymous && ANONYMOUS_NAMES.has(username.toLowerCase())) {
      return {
        name: username,
        home: nodePath.resolve(this.options.anonymousRoot ?? this.options.root),
        permissions: new Set(READ_ONLY_PERMISSIONS),
        anonymous: true,
      };
    }
    if (!entry) {
      await verifyWithCache(this.cache, username, password, await decoyPasswordHash());
      return null;
    }
    const stored = entry.record.password;
    // A recent success is answered from the cache without another await (most logins).
    const ok = entry.hashed
      ? this.cache.has(username, password, stored) || (await verifyWithCache(this.cache, username, password, stored))
      : safeEqual(password, stored);
    if (!ok || entry.record.disabled) return null;
    return entry.user;
  }
}
