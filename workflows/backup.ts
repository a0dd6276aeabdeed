import { ApplicationFailure, defineQuery, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { StoredBackupActivities } from '../activities/stored-backups';
import { parseBackupClusterInput, type BackupClusterInput } from '../src/config/workflow-inputs';
import { backupName, runIdSuffix, type BackupMeta, type BackupPruning } from '../src/domain/backups';
import { failureType, invalidInputFailure, rootMessage } from './failures';

/** The patch under which a backup's name takes the random end of its run id (see runIdSuffix). */
export const BACKUP_NAME_RANDOM_PART = 'backup-name-random-part';

/** What a backup run answers to `progress`, and returns. */
export interface BackupProgress {
  cluster: string;
  name?: string;
  phase: 'validating' | 'taking' | 'drilling' | 'pruning' | 'succeeded' | 'failed';
  backup?: BackupMeta;
  pruned?: BackupPruning['remove'];
  error?: string;
}

/** The backup's phase, its record and what retention deleted. */
export const backupProgressQuery = defineQuery<BackupProgress>('progress');

/** The workflow id of an operator's backup of a cluster: one at a time per cluster. */
export function backupWorkflowId(cluster: string): string {
  return `backup-${cluster}`;
}

function activities(summary: string, startToCloseTimeout: Duration, heartbeatTimeout: Duration) {
  return proxyActivities<StoredBackupActivities>({
    startToCloseTimeout,
    heartbeatTimeout,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: ['UNKNOWN_CLUSTER', 'BACKUP_CORRUPT', 'BACKUP_NOT_FOUND', 'INVALID_INPUT'] },
    summary,
  });
}

function details(p: BackupProgress): string {
  const lines = [`**backup of ${p.cluster}**: ${p.phase}${p.name ? ` — \`${p.name}\`` : ''}`];
  if (p.backup) {
    const b = p.backup;
    lines.push('', `- from ${b.member} (etcd ${b.etcdVersion}) at revision ${b.revision}: ${b.keys} keys, ${b.bytes} bytes, sha256 \`${b.sha256}\``);
    if (b.verified) lines.push(`- verified by a restore drill in ${b.verified.tookMs} ms: revision ${b.verified.revision}, ${b.verified.keys} keys, HashKV ${b.verified.hashKv}`);
  }
  for (const removal of p.pruned ?? []) lines.push(`- deleted ${removal.name}: ${removal.reason}`);
  if (p.error) lines.push('', `**failed**: ${p.error}`);
  return lines.join('\n');
}

/**
 * One backup of a cluster: take a snapshot into the cluster's store (a follower's, when there is one), prove it with
 * a restore drill into a scratch etcd, then prune what retention no longer keeps. Started by the cluster's backup
 * schedule (`backup.schedule.every`), by `etcd-guardian backup now`, or from the Temporal UI with
 * `{"cluster":"main","reason":"before the upgrade","requestedBy":"alice"}`; `{"cluster":"main","verify":"<name>"}` only
 * drills a stored backup. A backup whose drill fails is kept,
 * marked, never counted as verified, and fails the run (BACKUP_CORRUPT) so that it is seen.
 */
export async function backupCluster(raw: BackupClusterInput): Promise<BackupProgress> {
  let input: BackupClusterInput;
  const progress: BackupProgress = { cluster: typeof (raw as { cluster?: unknown })?.cluster === 'string' ? (raw as { cluster: string }).cluster : '?', phase: 'validating' };
  setHandler(backupProgressQuery, () => progress);
  try {
    input = parseBackupClusterInput(raw);
  } catch (error) {
    throw invalidInputFailure(error) ?? error;
  }
  const { cluster } = input;
  const show = (): void => setCurrentDetails(details(progress));
  // Runs recorded before the patch keep the name they took (the first digits of the run id, which collide in UUIDv7s).
  const runPart = patched(BACKUP_NAME_RANDOM_PART) ? runIdSuffix(workflowInfo().runId) : workflowInfo().runId.slice(0, 8);
  const name = input.verify ?? backupName(cluster, new Date(), runPart);
  progress.name = name;
  const reason = input.requestedBy !== undefined ? `${input.reason} (${input.requestedBy})` : input.reason;
  try {
    if (input.verify === undefined) {
      progress.phase = 'taking';
      show();
      progress.backup = await activities(`take a snapshot of ${cluster} into its backup store as ${name}`, '15m', '1m').takeBackup({ cluster, name, reason });
    }
    if (!input.skipDrill) {
      progress.phase = 'drilling';
      show();
      progress.backup = await activities(`restore drill: restore ${name} into a scratch etcd and compare revision, keys and HashKV`, '30m', '1m').drillBackup({ cluster, name });
    }
    if (input.verify !== undefined) {
      progress.phase = 'succeeded';
      show();
      return progress;
    }
    progress.phase = 'pruning';
    show();
    progress.pruned = (await activities(`prune ${cluster}'s backups by backup.retain`, '5m', '5m').pruneBackups({ cluster })).remove;
    progress.phase = 'succeeded';
    show();
    return progress;
  } catch (error) {
    progress.phase = 'failed';
    progress.error = rootMessage(error);
    show();
    throw ApplicationFailure.create({ message: `backup ${name} of ${cluster} failed: ${progress.error}`, type: failureType(error) ?? 'BACKUP_FAILED', nonRetryable: true, details: [progress] });
  }
}
