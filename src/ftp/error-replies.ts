import { isWharfError } from '../core/errors.js';

export interface FtpReply {
  code: number;
  text: string;
}

/**
 * Maps semantic errors to FTP replies (PROTOCOL.md §3). `context` picks between codes that
 * depend on the operation: a bad name is 553 when creating and 550 when reading.
 */
export function replyForError(err: unknown, context: 'read' | 'create' | 'transfer' = 'read'): FtpReply {
  if (!isWharfError(err)) return { code: 451, text: 'Requested action aborted: local error in processing' };
  switch (err.code) {
    case 'STORAGE_NOT_FOUND':
      return { code: 550, text: 'No such file or directory' };
    case 'STORAGE_NOT_A_DIRECTORY':
      return { code: 550, text: 'Not a directory' };
    case 'STORAGE_IS_A_DIRECTORY':
      return { code: 550, text: 'Is a directory' };
    case 'STORAGE_EXISTS':
      return { code: context === 'create' ? 553 : 550, text: 'File exists' };
    case 'STORAGE_NOT_EMPTY':
      return { code: 550, text: 'Directory not empty' };
    case 'STORAGE_NO_SPACE':
      return { code: context === 'transfer' ? 452 : 452, text: 'Insufficient storage space' };
    case 'STORAGE_QUOTA_EXCEEDED':
      return { code: 552, text: 'Exceeded storage allocation' };
    case 'STORAGE_INVALID_RANGE':
      return { code: 554, text: 'Restart offset is beyond the end of the file' };
    case 'PATH_INVALID_NAME':
      return { code: 553, text: 'File name not allowed' };
    case 'PATH_OUTSIDE_ROOT':
      // creating a name that would land outside the root is "name not allowed" (§3)
      return { code: context === 'create' ? 553 : 550, text: 'Permission denied: path is outside your root' };
    case 'PERMISSION_DENIED':
      return { code: 550, text: 'Permission denied' };
    case 'NOT_SUPPORTED':
      return { code: 502, text: 'Not supported by this storage' };
    case 'STORAGE_IO':
    default:
      return { code: 451, text: 'Requested action aborted: local error in processing' };
  }
}
