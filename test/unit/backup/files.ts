import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeBackupFiles, type BackupFiles, type WritableFile } from '../../../src/backup/write';

/** Test helpers for backup files: real temporary directories, and a file system that fails where a test says. */

/** A fresh directory under the system's temporary directory; remove it with `removeDirectory`. */
export function aDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'guardian-backup-'));
}

/** Remove a directory made by `aDirectory`, whatever a test left in it. */
export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

/** The names in a directory, sorted. */
export function namesIn(directory: string): string[] {
  return readdirSync(directory).sort();
}

/** The permission bits of a file, such as 0o600. */
export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
};

/** An error shaped as Node's file system makes them: `EACCES: permission denied, open '/x'`, with code and syscall. */
export function anErrnoError(code: string, syscall: string, path?: string): Error {
  const text = `${code}: ${ERRNO_TEXT[code] ?? 'failed'}, ${syscall}${path === undefined ? '' : ` '${path}'`}`;
  return Object.assign(new Error(text), { code, syscall, ...(path === undefined ? {} : { path }) });
}

/** Where the faulty file system fails. */
export interface Faults {
  /** Opening any file fails with this errno. */
  open?: string;
  /** Writing fails with this errno once this many bytes are in the file. */
  write?: { errno: string; afterBytes: number };
}

/**
 * Node's file system, failing where `faults` says. The disk errors a real disk gives only to a non-root user
 * (EACCES) or only when full or remounted (ENOSPC, EROFS) are injected here, since these tests may run as root;
 * everything else really happens, so a `.part` left behind would really be on disk.
 */
export function faultyFiles(faults: Faults): BackupFiles {
  return {
    ...nodeBackupFiles,
    async open(path, flags, mode) {
      if (faults.open !== undefined) throw anErrnoError(faults.open, 'open', path);
      const file = await nodeBackupFiles.open(path, flags, mode);
      let written = 0;
      const faulty: WritableFile = {
        async write(buffer, offset, length) {
          if (faults.write !== undefined && written + length > faults.write.afterBytes) throw anErrnoError(faults.write.errno, 'write');
          const result = await file.write(buffer, offset, length);
          written += result.bytesWritten;
          return result;
        },
        sync: () => file.sync(),
        close: () => file.close(),
      };
      return faulty;
    },
  };
}
