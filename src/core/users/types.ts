import type { Permission } from '../permissions.js';
import type { StorageBackend } from '../storage/types.js';

/** An authenticated user as every front end sees it. */
export interface User {
  name: string;
  /** Local folder that is this user's root, used when no custom storage is given. */
  home: string;
  permissions: ReadonlySet<Permission>;
  /** Refuse this user's login and transfers without TLS. */
  requireTls?: boolean;
  anonymous?: boolean;
  /** A custom backend for this user; otherwise a LocalStorage on `home`. */
  storage?: StorageBackend;
}

export interface Credentials {
  username: string;
  password: string;
  /** Client IP (plain IPv4 for mapped addresses). */
  ip: string;
  /** Whether the control connection is encrypted. */
  secure: boolean;
}

/** Turns credentials into a user, or null when they are wrong. Must not log the password. */
export interface Authenticator {
  authenticate(credentials: Credentials): Promise<User | null>;
}
