import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorText } from '../errors';
import { backupDiskError, SnapshotStreamError, type WriteTarget } from './errors';

/**
 * Writing a backup file so that it cannot take the worker down: every error of the source and of the disk becomes a
 * rejection, the bytes go to `<path>.part` (owner-only: a snapshot holds every Secret of the cluster) and are renamed
 * to `path` only once complete and synced, and a failed write leaves nothing behind.
 */

/** An open file, as much of Node's FileHandle as a backup needs. */
export interface WritableFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The file operations a backup needs: Node's in the worker, a fault-injecting wrapper in tests. */
export interface BackupFiles {
  open(path: string, flags: string, mode: number): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

/** Node's file system. */
export const nodeBackupFiles: BackupFiles = { open, rename, rm };

/** What was written. */
export interface WrittenFile {
  bytes: number;
  sha256: string;
}

/** How to write. */
export interface WriteOptions {
  /** Named in the message when the source breaks, such as "etcd https://10.0.0.1:2379". */
  source?: string;
  /** Stops the write (a deadline): it rejects with the signal's reason, and the partial file is removed. */
  signal?: AbortSignal;
  files?: BackupFiles;
}

/** Owner read and write only. */
export const BACKUP_FILE_MODE = 0o600;

/**
 * Write `chunks` to `path` through `<path>.part`. Rejects with SnapshotStreamError when the source fails, with
 * BackupDiskError when the disk does, or with the signal's reason when aborted; the `.part` file is removed in
 * every case. Never leaves an 'error' event unheard.
 */
export async function writeBackupFile(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: WriteOptions = {}): Promise<WrittenFile> {
  const files = options.files ?? nodeBackupFiles;
  const target: WriteTarget = { directory: dirname(path), file: `${path}.part`, bytes: 0 };
  const hash = createHash('sha256');
  const iterator = iterate(chunks);
  let file: WritableFile | undefined;
  let drained = false;
  try {
    options.signal?.throwIfAborted();
    // A worker killed mid-write leaves a .part behind; the retry of the same backup starts it afresh.
    await onDisk(target, () => files.rm(target.file, { force: true }));
    // 'wx' with the mode: the file is created owner-only, never opened with a looser mode left by someone else.
    const opened = await onDisk(target, () => files.open(target.file, 'wx', BACKUP_FILE_MODE));
    file = opened;
    for (;;) {
      const next = await nextChunk(iterator, target, options);
      if (next.done === true) break;
      const chunk = next.value;
      await onDisk(target, () => writeAll(opened, chunk));
      target.bytes += chunk.byteLength;
      hash.update(chunk);
    }
    drained = true;
    // Synced before the rename: a backup that exists under its final name is on the disk, whatever happens next.
    await onDisk(target, () => opened.sync());
    file = undefined;
    await onDisk(target, () => opened.close());
    await onDisk(target, () => files.rename(target.file, path));
    return { bytes: target.bytes, sha256: hash.digest('hex') };
  } catch (error) {
    if (!drained) stopSource(iterator);
    await file?.close().catch(() => undefined);
    // Best effort: when the directory refuses writes it may refuse this too, and the first error is the one to tell.
    await files.rm(target.file, { force: true }).catch(() => undefined);
    throw error;
  }
}

function iterate(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  return Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
}

/** The next chunk, or the source's failure as SnapshotStreamError, or the abort's reason, whichever comes first. */
async function nextChunk(iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>, target: WriteTarget, options: WriteOptions): Promise<IteratorResult<Uint8Array>> {
  const next = (async () => {
    try {
      return await iterator.next();
    } catch (error) {
      const source = options.source ?? 'the source';
      throw new SnapshotStreamError(`the snapshot stream from ${source} broke after ${target.bytes} bytes: ${errorText(error)}; the partial file ${target.file} was discarded`, { cause: error });
    }
  })();
  const signal = options.signal;
  if (signal === undefined) return await next;
  // A source that hangs must not hold the write past its deadline: the abort settles this wait at once.
  return await new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void next.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Tell the source to stop (a gRPC stream is cancelled by it) without waiting on a source that may hang. */
function stopSource(iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>): void {
  try {
    // Promise.resolve takes a sync iterator's plain result as well as an async one's promise.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  } catch {
    // The source is being abandoned after a failure of its own or of the disk; its complaint adds nothing.
  }
}

/** A write may take less than the whole buffer; loop until it is all on the file. */
async function writeAll(file: WritableFile, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    // Node reports a failed write as an error; a write of nothing would spin here forever instead.
    if (bytesWritten <= 0) throw new Error(`wrote no bytes to a file that accepted ${offset} of ${chunk.byteLength}`);
    offset += bytesWritten;
  }
}

/** Run a file operation, telling its errno as what to do about it. */
async function onDisk<T>(target: WriteTarget, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw backupDiskError(error, target) ?? error;
  }
}
