import { readFileSync, statSync } from 'node:fs';
import type { UserRecord } from './static.js';
import { isPasswordHash } from './password.js';
import { parsePermissions } from '../permissions.js';

export interface UsersFileContent {
  users: UserRecord[];
}

/**
 * Reads a users file: JSON `{ "users": [ { "name", "password": "$scrypt$...", "home",
 * "permissions": [...], "requireTls" } ] }`. Passwords must be hashes: a users file never
 * holds a plain password. Errors name the entry and field.
 */
export function parseUsersFile(text: string, source = 'users file'): UserRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const users = (data as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) throw new Error(`${source}: expected an object with a "users" array`);
  const seen = new Set<string>();
  return users.map((raw: unknown, i: number): UserRecord => {
    const where = `${source}: users[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: expected an object`);
    const u = raw as Record<string, unknown>;
    if (typeof u.name !== 'string' || !/^[^\s:\0]{1,64}$/.test(u.name)) throw new Error(`${where}.name: expected a user name without spaces or colons`);
    if (seen.has(u.name)) throw new Error(`${where}.name: duplicate user "${u.name}"`);
    seen.add(u.name);
    if (typeof u.password !== 'string' || !isPasswordHash(u.password)) throw new Error(`${where}.password: expected a scrypt hash from \`wharf passwd\``);
    if (u.home !== undefined && typeof u.home !== 'string') throw new Error(`${where}.home: expected a folder path`);
    let permissions: string[] | undefined;
    if (u.permissions !== undefined) {
      if (!Array.isArray(u.permissions) && typeof u.permissions !== 'string') throw new Error(`${where}.permissions: expected a list of permission names`);
      permissions = typeof u.permissions === 'string' ? [u.permissions] : u.permissions.map(String);
      try {
        parsePermissions(permissions);
      } catch (err) {
        throw new Error(`${where}.permissions: ${(err as Error).message}`);
      }
    }
    for (const flag of ['requireTls', 'disabled'] as const) {
      if (u[flag] !== undefined && typeof u[flag] !== 'boolean') throw new Error(`${where}.${flag}: expected true or false`);
    }
    return {
      name: u.name,
      password: u.password,
      ...(u.home !== undefined ? { home: u.home as string } : {}),
      ...(permissions ? { permissions } : {}),
      ...(u.requireTls !== undefined ? { requireTls: u.requireTls as boolean } : {}),
      ...(u.disabled !== undefined ? { disabled: u.disabled as boolean } : {}),
    };
  });
}

export function loadUsersFile(path: string): UserRecord[] {
  return parseUsersFile(readFileSync(path, 'utf8'), path);
}

/** mtime+size, to notice edits without watching the file. */
export function usersFileVersion(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'missing';
  }
}
