import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import { effectsOf, heartbeating } from './effects';
import { MigrationRefusedError, NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, healthyEndpoints, observeCluster } from './observe';
import { runtimeOf, type ActivityDeps } from './runtime';

/** A snapshot taken before the first destructive step. */
export interface BackupRecord {
  path: string;
  revision: number;
  bytes: number;
  sha256: string;
  endpoint: string;
}

/** The backup activities: an etcd snapshot saved where the cluster's backup config says. */
export function createBackupActivities(deps: ActivityDeps) {
  return withFailureTypes({
    /** Save an etcd snapshot of a healthy voter, once per migration. */
    async backupSnapshot({ cluster, migrationId }: { cluster: string; migrationId: string }): Promise<BackupRecord> {
      const runtime = runtimeOf(deps, cluster);
      const path = join(runtime.backup.directory, `${cluster}-${migrationId.replace(/[^\w.-]/g, '_')}.db`);
      const record = `${path}.json`;
      if (existsSync(record)) return JSON.parse(readFileSync(record, 'utf8')) as BackupRecord;
      const observation = await observeCluster(runtime, deps.now);
      const endpoint = healthyEndpoints(observation)[0];
      if (!endpoint) throw new NotReadyYetError(`no healthy voter to take a snapshot from; ${describeCluster(observation)}`);
      log.info(`backup-snapshot: taking a snapshot of ${cluster} from ${endpoint}`, { step: 'backup-snapshot', cluster, endpoint, path });
      try {
        mkdirSync(runtime.backup.directory, { recursive: true });
      } catch (error) {
        throw new MigrationRefusedError('BACKUP_REQUIRED', `backup directory ${runtime.backup.directory} cannot be created: ${(error as Error).message}`);
      }
      // The snapshot holds at least everything up to this revision.
      const revision = await runtime.etcd.revision(endpoint);
      const taken = await heartbeating(effectsOf(deps), `snapshot of ${cluster} to ${path}`, runtime.etcd.snapshot(endpoint, path, 5 * 60_000));
      const result: BackupRecord = { path, revision, bytes: taken.bytes, sha256: taken.sha256, endpoint };
      writeFileSync(record, JSON.stringify(result));
      log.info(`backup-snapshot: ${taken.bytes} bytes at revision ${revision} saved to ${path}`, { step: 'backup-snapshot', cluster, ...result });
      return result;
    },
  });
}

/** The backup activities, for `proxyActivities<BackupActivities>()` in workflow code. */
export type BackupActivities = ReturnType<typeof createBackupActivities>;
