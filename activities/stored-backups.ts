import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import { DrillError, restoreAndMeasure, snapshotStatus } from '../src/backup/drill';
import { backupStoreFor, BackupNotFoundError, type BackupStore } from '../src/backup/store';
import { DEFAULT_BACKUP_RETAIN } from '../src/config/schema';
import { backupFreshness, chooseStoredBackupsToPrune, drillMismatches, type BackupFreshness, type BackupMeta, type BackupPruning } from '../src/domain/backups';
import { errorText } from '../src/errors';
import { effectsOf, heartbeating } from './effects';
import { NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, observeCluster, snapshotSource } from './observe';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/** A backup that a drill proved broken, or whose bytes are not those recorded: never restored from. */
export class BackupCorruptError extends Error {
  readonly code = 'BACKUP_CORRUPT';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BackupCorruptError';
  }
}

const stores = new WeakMap<ClusterRuntime, BackupStore>();

/** The cluster's backup store, made once per runtime (its S3 client keeps connections). */
export function storeOf(runtime: ClusterRuntime): BackupStore {
  let store = stores.get(runtime);
  if (store === undefined) {
    store = runtime.backupStore ?? backupStoreFor(runtime.backup);
    stores.set(runtime, store);
  }
  return store;
}

/** Where a worker keeps a snapshot between the etcd stream and the store, and the drill's scratch etcd. */
function scratch(...parts: string[]): string {
  return join(tmpdir(), 'etcd-guardian-backups', ...parts);
}

function drillSettings(runtime: ClusterRuntime): { etcdBinDirectory: string; timeout: number } {
  return runtime.backup.drill ?? { etcdBinDirectory: '/usr/local/bin', timeout: 600_000 };
}

/** Input of takeBackup: the cluster, the backup's name (made by the workflow, so that a retry finds it) and why. */
export interface TakeBackupInput {
  cluster: string;
  name: string;
  reason: string;
}

/**
 * The activities of scheduled and operator backups: take one into the cluster's store, prove it with a restore
 * drill, prune by the retention policy, and read what the store holds.
 */
export function createStoredBackupActivities(deps: ActivityDeps) {
  return withFailureTypes({
    /**
     * Snapshot a healthy member (a follower when there is one, so that the leader's disk is spared), record the
     * snapshot's revision, its live keys and HashKV there as the member answers, and upload both. A retry after the
     * upload returns the stored record.
     */
    async takeBackup({ cluster, name, reason }: TakeBackupInput): Promise<BackupMeta> {
      return takeStoredBackup(deps, runtimeOf(deps, cluster), name, reason);
    },

    /**
     * The restore drill: download the backup, check its sha256, restore it into a scratch etcd, and compare the
     * revision, key count and HashKV with the record. The verdict goes into the record either way; a backup that
     * does not match or does not restore fails the drill for good (BACKUP_CORRUPT).
     */
    async drillBackup({ cluster, name }: { cluster: string; name: string }): Promise<BackupMeta> {
      const runtime = runtimeOf(deps, cluster);
      const store = storeOf(runtime);
      const meta = await store.get(cluster, name);
      if (!meta) throw new BackupNotFoundError(`no backup ${name} of cluster ${cluster} in ${store.location}`);
      if (meta.verified) return meta;
      const settings = drillSettings(runtime);
      const started = deps.now().getTime();
      const work = scratch(`drill-${name}`);
      const file = join(work, 'snapshot.db');
      const fail = async (reason: string): Promise<never> => {
        await store.putMeta({ ...meta, drillFailed: { at: deps.now().toISOString(), reason } });
        log.warn(`backup: drill of ${name} failed: ${reason}`, { cluster, name });
        throw new BackupCorruptError(`backup ${name} of cluster ${cluster} failed its restore drill: ${reason}`);
      };
      try {
        const read = await heartbeating(effectsOf(deps), `download of ${name}`, store.download(cluster, name, file));
        if (read.sha256 !== meta.sha256 || read.bytes !== meta.bytes) {
          return await fail(`its snapshot reads ${read.bytes} bytes with sha256 ${read.sha256}, where ${meta.bytes} bytes with sha256 ${meta.sha256} were stored`);
        }
        let figures;
        try {
          figures = await heartbeating(
            effectsOf(deps),
            `restore drill of ${name}`,
            restoreAndMeasure({ binDirectory: settings.etcdBinDirectory, file, workDir: join(work, 'etcd'), name, timeoutMs: settings.timeout }),
          );
        } catch (error) {
          if (error instanceof DrillError && !error.retryable) return await fail(error.message);
          throw error;
        }
        const problems = drillMismatches(meta, figures);
        if (problems.length > 0) return await fail(`the restored etcd shows ${problems.join('; ')}`);
        const verified: BackupMeta = { ...meta, verified: { ...figures, at: deps.now().toISOString(), tookMs: deps.now().getTime() - started } };
        delete verified.drillFailed;
        await store.putMeta(verified);
        // The monitor's next cycle reads the store again: a stale-backup finding clears at once.
        forgetBackupListing(runtime);
        log.info(`backup: ${name} verified by a restore drill: revision ${figures.revision}, ${figures.keys} keys, HashKV ${figures.hashKv}`, { cluster, name });
        return verified;
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },

    /** Delete the backups `backup.retain` no longer keeps; never the newest, nor the newest verified. */
    async pruneBackups({ cluster }: { cluster: string }): Promise<BackupPruning> {
      return pruneStoredBackups(deps, runtimeOf(deps, cluster));
    },
  });
}

/**
 * Snapshot a healthy member of the cluster (a follower when there is one, so that the leader's disk is spared), record
 * the snapshot's revision (as etcd's snapshot tool reads it), its live keys and HashKV there as the member answers, and
 * upload both to the cluster's store under `name`. A retry after the upload returns the stored record.
 */
export async function takeStoredBackup(deps: ActivityDeps, runtime: ClusterRuntime, name: string, reason: string): Promise<BackupMeta> {
  const cluster = runtime.name;
  const store = storeOf(runtime);
  const existing = await store.get(cluster, name);
  if (existing) return existing;
  const observation = await observeCluster(runtime, deps.now);
  const source = snapshotSource(observation);
  const endpoint = source?.endpoint;
  if (!source || endpoint === undefined) throw new NotReadyYetError(`no healthy voter of ${cluster} to take a snapshot from; ${describeCluster(observation)}`);
  const takenAt = deps.now();
  const file = scratch(`${name}.db`);
  log.info(`backup: taking a snapshot of ${cluster} from ${source.name} (${endpoint}) for ${store.urlOf(cluster, name)}`, { cluster, member: source.name, endpoint });
  try {
    // The worker's staging area: owner-only, since a snapshot holds every Secret of the cluster.
    await mkdir(scratch(), { recursive: true, mode: 0o700 });
    const taken = await heartbeating(effectsOf(deps), `snapshot of ${cluster} from ${source.name}`, runtime.etcd.snapshot(endpoint, file, 10 * 60_000));
    const status = await snapshotStatus(drillSettings(runtime).etcdBinDirectory, file);
    // The member's figures at the snapshot's own revision: what a restore of it must show.
    const hash = await runtime.etcd.hashKv(endpoint, status.revision, 60_000);
    const keys = await runtime.etcd.keyCount(endpoint, status.revision, 60_000);
    const meta: BackupMeta = {
      name,
      cluster,
      member: source.name,
      endpoint,
      etcdVersion: source.status.version ?? 'unknown',
      reason,
      takenAt: takenAt.toISOString(),
      bytes: taken.bytes,
      sha256: taken.sha256,
      revision: status.revision,
      keys,
      hashKv: hash.hash,
      compactRevision: hash.compactRevision,
    };
    await heartbeating(effectsOf(deps), `upload of ${name}`, store.put(file, meta));
    log.info(`backup: ${name} stored: ${meta.bytes} bytes, revision ${meta.revision}, ${meta.keys} keys, sha256 ${meta.sha256}`, { ...meta });
    return meta;
  } finally {
    await rm(file, { force: true });
  }
}

/** Delete the cluster's backups that `backup.retain` no longer keeps; never the newest, nor the newest verified. */
export async function pruneStoredBackups(deps: ActivityDeps, runtime: ClusterRuntime): Promise<BackupPruning> {
  const store = storeOf(runtime);
  const retain: { count: number; maxAge: number; totalSize?: number | undefined } = runtime.backup.retain ?? DEFAULT_BACKUP_RETAIN;
  const pruning = chooseStoredBackupsToPrune(await store.list(runtime.name), deps.now().getTime(), {
    count: retain.count,
    maxAgeMs: retain.maxAge,
    ...(retain.totalSize !== undefined ? { totalBytes: retain.totalSize } : {}),
  });
  for (const removal of pruning.remove) {
    await store.remove(runtime.name, removal.name);
    log.info(`backup: deleted ${removal.name}: ${removal.reason}`, { cluster: runtime.name, name: removal.name });
  }
  return pruning;
}

/** The stored-backup activities, for `proxyActivities<StoredBackupActivities>()` in workflow code. */
export type StoredBackupActivities = ReturnType<typeof createStoredBackupActivities>;

const freshnessCache = new WeakMap<ClusterRuntime, { at: number; records: BackupMeta[] }>();

/**
 * How fresh the cluster's newest verified backup is, for the monitor: undefined when no backups are scheduled.
 * The store is listed at most once a minute per cluster; a store that does not answer is reported in the message.
 */
export async function backupFreshnessOf(runtime: ClusterRuntime, nowMs: number): Promise<BackupFreshness | undefined> {
  const every = runtime.backup.schedule?.every;
  if (every === undefined) return undefined;
  const store = storeOf(runtime);
  let cached = freshnessCache.get(runtime);
  if (cached === undefined || nowMs - cached.at > Math.min(60_000, every / 2)) {
    try {
      cached = { at: nowMs, records: await store.list(runtime.name) };
      freshnessCache.set(runtime, cached);
    } catch (error) {
      if (cached === undefined) return { stale: true, message: `the backups in ${store.location} cannot be listed: ${errorText(error)}` };
    }
  }
  return backupFreshness(cached.records, nowMs, every, store.location);
}

/** Forget the cached listing, so that the next cycle reads the store (after a backup finished). */
export function forgetBackupListing(runtime: ClusterRuntime): void {
  freshnessCache.delete(runtime);
}
