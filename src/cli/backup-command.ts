import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { backupStoreFor } from '../backup/store';
import { InvalidInputError } from '../config/errors';
import type { GuardianConfig } from '../config/schema';
import { parseBackupClusterInput, type BackupClusterRequest } from '../config/workflow-inputs';
import type { BackupMeta } from '../domain/backups';
import { formatBytes } from '../domain/space';
import { requestDetails } from '../domain/summaries';
import type { BackupProgress } from '../../workflows/backup';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed, temporalClient } from './context';

/** One line per backup, newest first: when, size, revision, keys, and whether a drill proved it. */
export function backupLines(backups: readonly BackupMeta[], location: string): string[] {
  if (backups.length === 0) return [`no backups in ${location}`];
  const sorted = [...backups].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
  return [
    `${backups.length} backup${backups.length === 1 ? '' : 's'} in ${location}, newest first:`,
    ...sorted.map((b) => {
      const verdict = b.verified ? `verified ${b.verified.at}` : b.drillFailed ? `DRILL FAILED: ${b.drillFailed.reason}` : 'not verified';
      return `  ${b.name}  ${b.takenAt}  ${formatBytes(b.bytes)}  revision ${b.revision}  ${b.keys} keys  from ${b.member} (etcd ${b.etcdVersion}), ${b.reason}  ${verdict}`;
    }),
  ];
}

function progressLines(result: BackupProgress): string[] {
  const b = result.backup;
  if (!b) return [`backup of ${result.cluster}: ${result.phase}`];
  return [
    `backup ${b.name} of ${result.cluster}: ${formatBytes(b.bytes)} from ${b.member} at revision ${b.revision}, ${b.keys} keys, sha256 ${b.sha256}`,
    b.verified ? `  verified by a restore drill in ${b.verified.tookMs} ms: revision ${b.verified.revision}, ${b.verified.keys} keys, HashKV ${b.verified.hashKv}` : '  not verified (no drill)',
    ...(result.pruned ?? []).map((p) => `  deleted ${p.name}: ${p.reason}`),
  ];
}

async function runBackup(config: GuardianConfig, request: BackupClusterRequest): Promise<BackupProgress> {
  try {
    parseBackupClusterInput(request);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new CliArgumentError(error.message);
    throw error;
  }
  const client = await temporalClient(config);
  const workflowId = `backup-${request.cluster}`;
  const summary = request.verify !== undefined ? `restore drill of backup ${request.verify} of ${request.cluster}` : `back up ${request.cluster}: ${request.reason ?? 'operator'}`;
  try {
    const handle = await client.workflow
      .start('backupCluster', {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [request],
        staticSummary: `${summary}, by ${request.requestedBy ?? 'cli'}`,
        staticDetails: requestDetails('backup requested', request),
      })
      .catch((error: unknown) => {
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw new Error(`a backup of cluster ${request.cluster} is already running (${workflowId}); wait for it`, { cause: error });
        throw error;
      });
    process.stderr.write(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})\n`);
    return (await handle.result().catch((error: unknown) => {
      if (error instanceof WorkflowFailedError) throw new Error(`backup failed: ${error.cause?.message ?? error.message}`, { cause: error });
      throw error;
    })) as BackupProgress;
  } finally {
    await client.connection.close();
  }
}

/** `etcd-guardian backup now|list|verify <cluster>`: backups into the cluster's store, each proven by a restore drill. */
export function registerBackupCommand(program: Command): void {
  const backup = program.command('backup').description('back up a cluster into its store (S3 or a directory), list its backups, prove one by a restore drill');

  backup
    .command('now')
    .description('take a backup now, prove it by restoring it into a scratch etcd, then prune by backup.retain')
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--reason <text>', 'why, for the record and the history', 'operator')
    .option('--no-drill', 'skip the restore drill (the backup stays unverified)')
    .option('--json', 'print the result as JSON')
    .action(async (cluster: string, options: { config?: string; reason: string; drill: boolean; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const result = await runBackup(config, { cluster, reason: options.reason, requestedBy: cliRequester(), ...(options.drill ? {} : { skipDrill: true }) });
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${progressLines(result).join('\n')}\n`);
    });

  backup
    .command('verify')
    .description('run the restore drill of a stored backup: download, check its sha256, restore, compare revision, keys and HashKV')
    .argument('<cluster>', 'cluster name, as in the config')
    .argument('<name>', 'the backup, as `backup list` prints it')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print the result as JSON')
    .action(async (cluster: string, name: string, options: { config?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const result = await runBackup(config, { cluster, reason: 'verify', verify: name, requestedBy: cliRequester() });
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${progressLines(result).join('\n')}\n`);
    });

  backup
    .command('list')
    .description("list the cluster's backups in its store, newest first, with each drill's verdict")
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print the records as JSON')
    .action(async (cluster: string, options: { config?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      const settings = clusterNamed(config, cluster).backup;
      const store = backupStoreFor(settings);
      const backups = (await store.list(cluster)).sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
      process.stdout.write(options.json ? `${JSON.stringify(backups, null, 2)}\n` : `${backupLines(backups, store.location).join('\n')}\n`);
    });
}
