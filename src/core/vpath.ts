import { WharfError } from './errors.js';

/**
 * Virtual paths: what a user sees. Always absolute, '/'-separated, normalized, rooted at the
 * user's home. Resolution can never climb above '/', so '..' chains and absolute paths both
 * stay inside the jail before any storage is touched.
 */
export function resolveVirtual(cwd: string, input: string): string {
  assertSafeName(input);
  // Already absolute and normalized (the storage guard re-resolves every path it is given,
  // and most client paths are plain): the answer is the input, without splitting anything.
  if (isNormalized(input)) return input;
  const base = input.startsWith('/') ? [] : splitVirtual(cwd);
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') base.pop();
    else base.push(part);
  }
  return '/' + base.join('/');
}

export function splitVirtual(path: string): string[] {
  if (path === '/') return [];
  if (isNormalized(path)) return path.slice(1).split('/');
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** '/' followed by names that are neither empty, '.' nor '..', with no trailing '/'. */
const NORMALIZED = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/** The path is in the form resolveVirtual returns (so resolving it again changes nothing). */
export function isNormalized(path: string): boolean {
  return path === '/' || NORMALIZED.test(path);
}

export function assertSafeName(input: string): void {
  if (/[\0\r\n]/.test(input)) throw new WharfError('PATH_INVALID_NAME', 'File name contains NUL, CR or LF');
}

export function parentOf(path: string): string {
  const parts = splitVirtual(path);
  parts.pop();
  return '/' + parts.join('/');
}

export function baseName(path: string): string {
  const parts = splitVirtual(path);
  return parts[parts.length - 1] ?? '';
}

export function joinVirtual(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
