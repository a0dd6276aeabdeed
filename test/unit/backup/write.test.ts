import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { backupDiskError, BackupDiskError, SnapshotStreamError } from '../../../src/backup/errors';
import { writeBackupFile, type BackupFiles } from '../../../src/backup/write';
import { TimeoutError } from '../../../src/errors';
import { aDirectory, anErrnoError, faultyFiles, modeOf, namesIn, removeDirectory } from './files';

/** Writing a snapshot file: owner-only, whole or not at all, and every failure a rejection that says what to do. */

const SOURCE = 'etcd http://10.0.0.1:2379';

/** A stream that sends `parts`, each on a later turn of the event loop as from a socket. */
async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await setImmediate();
    yield Buffer.from(part);
  }
}

/** A stream that sends `parts`, then breaks as a gRPC stream does when its member goes away. */
async function* breaking(...parts: string[]): AsyncGenerator<Uint8Array> {
  yield* chunks(...parts);
  throw new Error('14 UNAVAILABLE: Connection dropped');
}

/** A stream that sends `parts`, then never sends anything again. */
async function* hanging(...parts: string[]): AsyncGenerator<Uint8Array> {
  yield* chunks(...parts);
  await new Promise<never>(() => undefined);
}

/** What `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected a rejection, but the write succeeded');
}

let directory: string;
beforeEach(() => {
  directory = aDirectory();
});
afterEach(() => removeDirectory(directory));

describe('writing a backup file', () => {
  it('writes every chunk owner-only under the final name and returns the size and sha256', async () => {
    const path = join(directory, 'main-1.db');
    await expect(writeBackupFile(path, chunks('snap', 'shot'), { source: SOURCE })).resolves.toEqual({
      bytes: 8,
      sha256: createHash('sha256').update('snapshot').digest('hex'),
    });
    expect(readFileSync(path, 'utf8')).toBe('snapshot');
    expect(modeOf(path)).toBe(0o600);
    expect(namesIn(directory)).toEqual(['main-1.db']);
  });

  it('starts afresh, owner-only, over a world-readable .part left by a worker that died mid-write', async () => {
    const path = join(directory, 'main-1.db');
    writeFileSync(`${path}.part`, 'half a snapsh', { mode: 0o644 });
    await writeBackupFile(path, chunks('whole'));
    expect(readFileSync(path, 'utf8')).toBe('whole');
    expect(modeOf(path)).toBe(0o600);
    expect(namesIn(directory)).toEqual(['main-1.db']);
  });

  it('writes a record from plain chunks the same way', async () => {
    const path = join(directory, 'main-1.db.json');
    await writeBackupFile(path, [Buffer.from('{"revision":7}')]);
    expect(readFileSync(path, 'utf8')).toBe('{"revision":7}');
    expect(modeOf(path)).toBe(0o600);
  });
});

describe('a backup file that cannot be written', () => {
  it.each<[string, (dir: string) => { path: string; stream: AsyncIterable<Uint8Array>; files?: BackupFiles }, (dir: string) => string, { code: string; retryable: boolean }]>([
    [
      'a directory that does not exist is refused before a byte is read',
      (dir) => ({ path: join(dir, 'missing', 'main-1.db'), stream: chunks('snapshot') }),
      (dir) =>
        `backup directory ${dir}/missing does not exist: ENOENT: no such file or directory, open '${dir}/missing/main-1.db.part'; create it or set backup.directory to another path`,
      { code: 'BACKUP_DISK', retryable: false },
    ],
    [
      'a directory the worker may not write to is refused, for good',
      (dir) => ({ path: join(dir, 'main-1.db'), stream: chunks('snapshot'), files: faultyFiles({ open: 'EACCES' }) }),
      (dir) =>
        `backup directory ${dir} is not writable: EACCES: permission denied, open '${dir}/main-1.db.part'; give the worker's user write access to it or set backup.directory to another path`,
      { code: 'BACKUP_DISK', retryable: false },
    ],
    [
      'a directory on a read-only file system is refused, for good',
      (dir) => ({ path: join(dir, 'main-1.db'), stream: chunks('snapshot'), files: faultyFiles({ open: 'EROFS' }) }),
      (dir) =>
        `backup directory ${dir} is on a read-only file system: EROFS: read-only file system, open '${dir}/main-1.db.part'; mount it read-write or set backup.directory to another path`,
      { code: 'BACKUP_DISK', retryable: false },
    ],
    [
      'a disk that fills up mid-way is reported with the file and the bytes written',
      (dir) => ({ path: join(dir, 'main-1.db'), stream: chunks('snap', 'shot'), files: faultyFiles({ write: { errno: 'ENOSPC', afterBytes: 4 } }) }),
      (dir) =>
        `no space left on device writing ${dir}/main-1.db.part after 4 bytes: ENOSPC: no space left on device, write; free space in ${dir}, lower backup.retain.count or set backup.directory to another path`,
      { code: 'BACKUP_DISK', retryable: false },
    ],
    [
      'too many open files is worth another attempt',
      (dir) => ({ path: join(dir, 'main-1.db'), stream: chunks('snapshot'), files: faultyFiles({ open: 'EMFILE' }) }),
      (dir) => `writing ${dir}/main-1.db.part failed: EMFILE: too many open files, open '${dir}/main-1.db.part'`,
      { code: 'BACKUP_DISK', retryable: true },
    ],
    [
      'an etcd stream that breaks mid-way is worth another attempt',
      (dir) => ({ path: join(dir, 'main-1.db'), stream: breaking('snap', 'sh') }),
      (dir) =>
        `the snapshot stream from etcd http://10.0.0.1:2379 broke after 6 bytes: 14 UNAVAILABLE: Connection dropped; the partial file ${dir}/main-1.db.part was discarded`,
      { code: 'SNAPSHOT_STREAM', retryable: true },
    ],
  ])('%s, and leaves nothing behind', async (_case, setup, message, kind) => {
    const { path, stream, files } = setup(directory);
    const error = await rejection(writeBackupFile(path, stream, { source: SOURCE, ...(files ? { files } : {}) }));
    expect(error.message).toBe(message(directory));
    expect(error).toMatchObject(kind);
    expect(namesIn(directory)).toEqual([]);
  });

  it('stops reading the stream when the disk refuses, so that etcd is not left streaming to nobody', async () => {
    let stopped = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          await setImmediate();
          yield Buffer.from('snap');
        }
      } finally {
        stopped = true;
      }
    }
    const files = faultyFiles({ write: { errno: 'ENOSPC', afterBytes: 8 } });
    await rejection(writeBackupFile(join(directory, 'main-1.db'), endless(), { files }));
    await setImmediate();
    expect(stopped).toBe(true);
  });

  it('gives up at its deadline on a stream that stops sending, with the deadline as the reason', async () => {
    const path = join(directory, 'main-1.db');
    const deadline = new AbortController();
    const writing = writeBackupFile(path, hanging('snap'), { source: SOURCE, signal: deadline.signal });
    // The first chunk is on its way to the disk when the deadline passes.
    await setImmediate();
    deadline.abort(new TimeoutError(`snapshot from http://10.0.0.1:2379`, 300_000));
    const error = await rejection(writing);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe('snapshot from http://10.0.0.1:2379 timed out after 300000 ms');
    expect(namesIn(directory)).toEqual([]);
  });
});

describe('which disk errors stop a backup for good', () => {
  it.each<[string, string, boolean]>([
    ['no permission', 'EACCES', false],
    ['an operation not permitted', 'EPERM', false],
    ['a full disk', 'ENOSPC', false],
    ['a quota reached', 'EDQUOT', false],
    ['a read-only file system', 'EROFS', false],
    ['a missing directory', 'ENOENT', false],
    ['a file where the directory should be', 'ENOTDIR', false],
    ['a failing disk', 'EIO', false],
    ['too many open files', 'EMFILE', true],
    ['a busy file', 'EBUSY', true],
  ])('%s (%s) is retryable: %s', (_case, errno, retryable) => {
    const error = backupDiskError(anErrnoError(errno, 'open', '/b/main-1.db.part'), { directory: '/b', file: '/b/main-1.db.part', bytes: 0 });
    expect(error).toBeInstanceOf(BackupDiskError);
    expect(error).toMatchObject({ code: 'BACKUP_DISK', errno, retryable });
  });

  it('tells mkdir finding a file where the directory should be as not a directory', () => {
    const error = backupDiskError(anErrnoError('EEXIST', 'mkdir', '/b'), { directory: '/b', file: '/b/main-1.db', bytes: 0 });
    expect(error?.message).toBe("backup directory /b is not a directory: EEXIST: failed, mkdir '/b'; remove what is there or set backup.directory to another path");
    expect(error?.retryable).toBe(false);
  });

  it('leaves errors that are not the file system to their own kind', () => {
    expect(backupDiskError(new SnapshotStreamError('broke'), { directory: '/b', file: '/b/x', bytes: 0 })).toBeUndefined();
  });
});
