/**
 * One catalogue of semantic errors. Storage and policy code throw these; each front end
 * maps the stable `code` to its own replies (FTP reply codes, SFTP status codes).
 */
export type WharfErrorCode =
  | 'STORAGE_NOT_FOUND'
  | 'STORAGE_EXISTS'
  | 'STORAGE_NOT_A_DIRECTORY'
  | 'STORAGE_IS_A_DIRECTORY'
  | 'STORAGE_NOT_EMPTY'
  | 'STORAGE_NO_SPACE'
  | 'STORAGE_QUOTA_EXCEEDED'
  | 'STORAGE_IO'
  | 'STORAGE_INVALID_RANGE'
  | 'PATH_INVALID_NAME'
  | 'PATH_OUTSIDE_ROOT'
  | 'PERMISSION_DENIED'
  | 'NOT_SUPPORTED';

export class WharfError extends Error {
  override readonly name = 'WharfError';
  constructor(
    readonly code: WharfErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isWharfError(err: unknown, code?: WharfErrorCode): err is WharfError {
  return err instanceof WharfError && (code === undefined || err.code === code);
}

const ERRNO_TO_CODE: Record<string, WharfErrorCode> = {
  ENOENT: 'STORAGE_NOT_FOUND',
  EEXIST: 'STORAGE_EXISTS',
  ENOTDIR: 'STORAGE_NOT_A_DIRECTORY',
  EISDIR: 'STORAGE_IS_A_DIRECTORY',
  ENOTEMPTY: 'STORAGE_NOT_EMPTY',
  ENOSPC: 'STORAGE_NO_SPACE',
  EDQUOT: 'STORAGE_QUOTA_EXCEEDED',
  EFBIG: 'STORAGE_NO_SPACE',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  ELOOP: 'PATH_OUTSIDE_ROOT',
  ENAMETOOLONG: 'PATH_INVALID_NAME',
  EINVAL: 'PATH_INVALID_NAME',
  EXDEV: 'NOT_SUPPORTED',
};

/** Translates a Node fs error into a WharfError; anything else stays STORAGE_IO. */
export function fromFsError(err: unknown, what: string): WharfError {
  if (err instanceof WharfError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno && ERRNO_TO_CODE[errno]) || 'STORAGE_IO';
  return new WharfError(code, `${what}: ${errno ?? 'I/O error'}`, { cause: err });
}
