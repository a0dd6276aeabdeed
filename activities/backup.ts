import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { log } from '@temporalio/activity';
import { backupDiskError, BackupDiskError } from '../src/backup/errors';
import { chooseBackupsToPrune, recordNameOf, type DirectoryEntry, type RetentionPolicy } from '../src/backup/retention';
import { writeBackupFile } from '../src/backup/write';
import { DEFAULT_BACKUP_RETAIN } from '../src/config/schema';
import { errorText } from '../src/errors';
import { effectsOf, heartbeating } from './effects';
import { MigrationRefusedError, NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, observeCluster, snapshotSource } from './observe';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';
import { pruneStoredBackups, storeOf, takeStoredBackup } from './stored-backups';

/** A snapshot taken before the first destructive step, or the reason none was. */
export interface BackupRecord {
  path: string;
  revision: number;
  bytes: number;
  sha256: string;
  endpoint: string;
  /**
   * Set when no snapshot was taken because the disk refused and `backup.required` is false: the reason, in one
   * sentence. `path` is then where it would have gone, and `bytes`, `revision` and `sha256` are empty.
   */
  skipped?: string;
}

/**
 * The backup section as the worker hands it over: the config's, with `retain` when the operator wrote one
 * (`maxAge` in milliseconds). Absent, DEFAULT_BACKUP_RETAIN applies.
 */
type BackupSettings = ClusterRuntime['backup'];

/** Owner only: the directory of snapshots, which hold every Secret of the cluster. */
export const BACKUP_DIRECTORY_MODE = 0o700;

/** The backup activities: an etcd snapshot saved where the cluster's backup config says. */
export function createBackupActivities(deps: ActivityDeps) {
  return withFailureTypes({
    /**
     * Save an etcd snapshot of a healthy voter, once per migration, then prune the cluster's older snapshots. A disk
     * that refuses fails the step for good when `backup.required` is true, and is reported and skipped when false.
     */
    async backupSnapshot({ cluster, migrationId }: { cluster: string; migrationId: string }): Promise<BackupRecord> {
      const runtime = runtimeOf(deps, cluster);
      const settings: BackupSettings = runtime.backup;
      if (settings.s3 !== undefined || runtime.backupStore !== undefined) return backupToStore(deps, runtime, migrationId);
      const path = join(settings.directory, `${cluster}-${migrationId.replace(/[^\w.-]/g, '_')}.db`);
      const record = recordNameOf(path);
      if (existsSync(record)) {
        // An attempt that saved the record may have died before pruning: pruning again is harmless.
        await pruneSnapshots(deps, cluster, settings, path);
        return JSON.parse(readFileSync(record, 'utf8')) as BackupRecord;
      }
      const observation = await observeCluster(runtime, deps.now);
      // A follower when there is one: the leader's disk and CPU serve the writes meanwhile.
      const endpoint = snapshotSource(observation)?.endpoint;
      if (!endpoint) throw new NotReadyYetError(`no healthy voter to take a snapshot from; ${describeCluster(observation)}`);
      log.info(`backup-snapshot: taking a snapshot of ${cluster} from ${endpoint}`, { step: 'backup-snapshot', cluster, endpoint, path });
      let result: BackupRecord;
      try {
        await makeDirectory(settings.directory, path, cluster);
        // The snapshot holds at least everything up to this revision.
        const revision = await runtime.etcd.revision(endpoint);
        const taken = await heartbeating(effectsOf(deps), `snapshot of ${cluster} to ${path}`, runtime.etcd.snapshot(endpoint, path, 5 * 60_000));
        result = { path, revision, bytes: taken.bytes, sha256: taken.sha256, endpoint };
        // The record says "done" to a retry, so it is written whole or not at all, and as private as the snapshot.
        await writeBackupFile(record, [Buffer.from(JSON.stringify(result))]);
      } catch (error) {
        // A broken stream, a timeout or etcd unavailable may pass: those are retried. A disk that refuses will not.
        if (!(error instanceof BackupDiskError) || error.retryable) throw error;
        if (settings.required) {
          throw new MigrationRefusedError(
            'BACKUP_REQUIRED',
            `the backup of cluster ${cluster} failed and backup.required is true, so nothing destructive runs without one: ${error.message}`,
          );
        }
        const skipped = `no backup of cluster ${cluster} before this migration (backup.required is false): ${error.message}`;
        log.warn(`backup-snapshot: ${skipped}`, { step: 'backup-snapshot', cluster, endpoint, path, errno: error.errno });
        return { path, revision: 0, bytes: 0, sha256: '', endpoint, skipped };
      }
      log.info(`backup-snapshot: ${result.bytes} bytes at revision ${result.revision} saved to ${path}`, { step: 'backup-snapshot', cluster, ...result });
      await pruneSnapshots(deps, cluster, settings, path);
      return result;
    },
  });
}

/**
 * The pre-migration backup into the cluster's store (with `backup.s3`): the same record a scheduled backup has, under
 * a name the migration's retries find again, then the store's retention. It is not drilled: a migration should not
 * wait for a restore; the scheduled backups are the proven ones. The store refusing fails the step when
 * `backup.required` (retried first: a bucket is a network service), and is reported and skipped otherwise.
 */
async function backupToStore(deps: ActivityDeps, runtime: ClusterRuntime, migrationId: string): Promise<BackupRecord> {
  const cluster = runtime.name;
  const name = `${cluster}-${migrationId.replace(/[^A-Za-z0-9-]/g, '-')}`;
  const store = storeOf(runtime);
  let meta;
  try {
    meta = await takeStoredBackup(deps, runtime, name, `before migration ${migrationId}`);
  } catch (error) {
    if (error instanceof NotReadyYetError || runtime.backup.required) throw error;
    const skipped = `no backup of cluster ${cluster} before this migration (backup.required is false): ${errorText(error)}`;
    log.warn(`backup-snapshot: ${skipped}`, { step: 'backup-snapshot', cluster });
    return { path: store.urlOf(cluster, name), revision: 0, bytes: 0, sha256: '', endpoint: '', skipped };
  }
  try {
    await pruneStoredBackups(deps, runtime);
  } catch (error) {
    log.warn(`backup-snapshot: old backups of ${cluster} in ${store.location} were not pruned: ${errorText(error)}`, { step: 'backup-snapshot', cluster });
  }
  return { path: store.urlOf(cluster, name), revision: meta.revision, bytes: meta.bytes, sha256: meta.sha256, endpoint: meta.endpoint };
}

/** The backup activities, for `proxyActivities<BackupActivities>()` in workflow code. */
export type BackupActivities = ReturnType<typeof createBackupActivities>;

/**
 * Create the backup directory when missing, owner-only; one that exists with group or other access (made by hand,
 * or by a umask) is tightened to 0700 and said so: every snapshot in it holds every Secret of the cluster. A refusal
 * is told like any other disk error.
 */
async function makeDirectory(directory: string, path: string, cluster: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true, mode: BACKUP_DIRECTORY_MODE });
    const mode = (await stat(directory)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      await chmod(directory, BACKUP_DIRECTORY_MODE);
      log.warn(`backup-snapshot: ${directory} was mode ${mode.toString(8).padStart(4, '0')}: tightened to 0700, since its snapshots hold every Secret of the cluster`, {
        step: 'backup-snapshot',
        cluster,
        directory,
      });
    }
  } catch (error) {
    throw backupDiskError(error, { directory, file: path, bytes: 0 }) ?? error;
  }
}

/**
 * Delete the cluster's snapshots (and their records) that `backup.retain` no longer keeps. Never fails the backup
 * that has just succeeded: a snapshot that could not be pruned is reported and tried again after the next one.
 */
async function pruneSnapshots(deps: ActivityDeps, cluster: string, settings: BackupSettings, current: string): Promise<void> {
  const retain = settings.retain ?? DEFAULT_BACKUP_RETAIN;
  const policy: RetentionPolicy = { count: retain.count, maxAgeMs: retain.maxAge };
  const directory = settings.directory;
  try {
    const entries = await listEntries(directory);
    const pruning = chooseBackupsToPrune(entries, { cluster, clusters: [...deps.clusters.keys()], current: basename(current) }, deps.now().getTime(), policy);
    for (const removal of pruning.remove) {
      for (const name of removal.names) await rm(join(directory, name), { force: true });
      log.info(`backup-snapshot: deleted ${removal.names.join(' and ')}: ${removal.reason}`, { step: 'backup-snapshot', cluster, deleted: removal.names });
    }
  } catch (error) {
    log.warn(`backup-snapshot: old snapshots of ${cluster} in ${directory} were not pruned: ${errorText(error)}`, { step: 'backup-snapshot', cluster });
  }
}

/** The snapshot-like files of the directory with their modification times; a file gone meanwhile is left out. */
async function listEntries(directory: string): Promise<DirectoryEntry[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.db') || name.endsWith('.db.json'));
  const entries = await Promise.all(
    names.map(async (name) => {
      try {
        return { name, modifiedMs: (await stat(join(directory, name))).mtimeMs };
      } catch {
        return undefined;
      }
    }),
  );
  return entries.filter((entry): entry is DirectoryEntry => entry !== undefined);
}
