import { homedir } from 'node:os';
import { existsSync, realpathSync } from 'node:fs';
import * as nodePath from 'node:path';

/**
 * Where Wharf keeps what it generates for itself (the self-signed TLS certificate and its
 * key): `$XDG_STATE_HOME/wharf`, else `~/.local/state/wharf`. Never inside a served folder,
 * so no client can download a private key.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && nodePath.isAbsolute(xdg)) return nodePath.join(xdg, 'wharf');
  return nodePath.join(homedir(), '.local', 'state', 'wharf');
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
function realish(path: string): string {
  const abs = nodePath.resolve(path);
  let existing = abs;
  while (!existsSync(existing) && nodePath.dirname(existing) !== existing) existing = nodePath.dirname(existing);
  const real = existsSync(existing) ? realpathSync(existing) : existing;
  return nodePath.join(real, nodePath.relative(existing, abs));
}

/** True when `inner` is `outer` or lies below it (after resolving symlinks). */
export function isInsideFolder(inner: string, outer: string): boolean {
  const rel = nodePath.relative(realish(outer), realish(inner));
  return rel === '' || (!rel.startsWith('..') && !nodePath.isAbsolute(rel));
}
