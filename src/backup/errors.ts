import { errorText } from '../errors';

/** Errors of writing a backup, each with a code a workflow can branch on and a message an operator can act on. */

/** Where a failed write was going, for messages that name the directory and the file. */
export interface WriteTarget {
  directory: string;
  file: string;
  /** Bytes already written when it failed. */
  bytes: number;
}

/**
 * The backup disk refused: no permission, no space, read-only, missing. Retrying writes the same bytes to the same
 * disk, so these stop at once; a few transient errnos (too many open files, busy) are left to the retry policy.
 */
export class BackupDiskError extends Error {
  readonly code = 'BACKUP_DISK';
  constructor(
    message: string,
    /** The errno code Node reported, such as ENOSPC. */
    readonly errno: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'BackupDiskError';
  }
}

/** The snapshot stream from etcd broke mid-way: a member restarting or a connection lost. Another attempt may succeed. */
export class SnapshotStreamError extends Error {
  readonly code = 'SNAPSHOT_STREAM';
  readonly retryable = true;
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'SnapshotStreamError';
  }
}

/** The errno code of a Node file-system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  const code = propertyOf(error, 'code');
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

// Read by shape, not instanceof: errors made by Node's own fs may come from another realm (Jest's, a vm context).
function propertyOf(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}

/**
 * A file-system error told as what the operator should do about it, or undefined when `error` is not one. Node's
 * own text (errno, syscall, path) stays in the message, because it is what a search for the problem finds.
 */
export function backupDiskError(error: unknown, target: WriteTarget): BackupDiskError | undefined {
  const errno = errnoOf(error);
  if (errno === undefined) return undefined;
  const { directory, file, bytes } = target;
  const message = propertyOf(error, 'message');
  const cause = typeof message === 'string' ? message.replace(/\s+/g, ' ').trim() : errorText(error);
  const elsewhere = 'or set backup.directory to another path';
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return new BackupDiskError(`backup directory ${directory} is not writable: ${cause}; give the worker's user write access to it ${elsewhere}`, errno, false);
    case 'EROFS':
      return new BackupDiskError(`backup directory ${directory} is on a read-only file system: ${cause}; mount it read-write ${elsewhere}`, errno, false);
    case 'ENOSPC':
      return new BackupDiskError(`no space left on device writing ${file} after ${bytes} bytes: ${cause}; free space in ${directory}, lower backup.retain.count ${elsewhere}`, errno, false);
    case 'EDQUOT':
      return new BackupDiskError(`disk quota exceeded writing ${file} after ${bytes} bytes: ${cause}; raise the quota, free space in ${directory} ${elsewhere}`, errno, false);
    case 'ENOENT':
      return new BackupDiskError(`backup directory ${directory} does not exist: ${cause}; create it ${elsewhere}`, errno, false);
    case 'ENOTDIR':
      return new BackupDiskError(`backup directory ${directory} is not a directory: ${cause}; remove what is there ${elsewhere}`, errno, false);
    case 'EEXIST':
      // mkdir says EEXIST when a file sits where the directory should be; anywhere else it is a race worth retrying.
      if (propertyOf(error, 'syscall') === 'mkdir') {
        return new BackupDiskError(`backup directory ${directory} is not a directory: ${cause}; remove what is there ${elsewhere}`, errno, false);
      }
      return new BackupDiskError(`writing ${file} failed: ${cause}`, errno, true);
    case 'EIO':
      return new BackupDiskError(`the disk under ${directory} failed writing ${file}: ${cause}; check the disk and the kernel log ${elsewhere}`, errno, false);
    default:
      // EMFILE, EBUSY, EAGAIN and the like pass; a later attempt may find the disk willing.
      return new BackupDiskError(`writing ${file} failed: ${cause}`, errno, true);
  }
}
