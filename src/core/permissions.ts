/** Named permissions, checked by the storage guard for every front end. */
export const PERMISSIONS = ['list', 'read', 'write', 'append', 'delete', 'rename', 'mkdir', 'rmdir', 'chmod', 'settime'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const READ_ONLY_PERMISSIONS: readonly Permission[] = ['list', 'read'];
export const ALL_PERMISSIONS: readonly Permission[] = PERMISSIONS;

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * Parses a permission list as users write it: names, or the shorthands `all` and `read-only`
 * (alias `ro`). Throws with the offending word so config errors are precise.
 */
export function parsePermissions(input: string | readonly string[]): Set<Permission> {
  const words = typeof input === 'string' ? input.split(/[\s,]+/).filter(Boolean) : input;
  const out = new Set<Permission>();
  for (const word of words) {
    const w = word.toLowerCase();
    if (w === 'all' || w === '*') ALL_PERMISSIONS.forEach((p) => out.add(p));
    else if (w === 'read-only' || w === 'ro' || w === 'readonly') READ_ONLY_PERMISSIONS.forEach((p) => out.add(p));
    else if (isPermission(w)) out.add(w);
    else throw new Error(`unknown permission "${word}" (expected one of: ${PERMISSIONS.join(', ')}, all, read-only)`);
  }
  return out;
}
