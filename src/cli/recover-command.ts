import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { InvalidInputError } from '../config/errors';
import { parseRecoverClusterInput, type RecoverClusterRequest } from '../config/workflow-inputs';
import { requestDetails } from '../domain/summaries';
import type { RecoveryProgress } from '../../workflows/recover';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed, temporalClient } from './context';
import { migrationIdFor } from './migrate-command';

/** The plan in lines: seed or backup, the data-loss window, the steps to come, how to approve. */
export function recoveryLines(p: RecoveryProgress): string[] {
  const a = p.assessment;
  if (!a) return [`recovery of ${p.cluster}: ${p.phase}${p.error ? `: ${p.error}` : ''}`];
  const plan = a.plan;
  return [
    `recovery of ${p.cluster}: ${p.phase}`,
    `  ${a.observed}`,
    ...plan.reasons.map((r) => `  ${r}`),
    `  data loss: ${plan.window.summary}`,
    ...(a.restore ? [`  restore into a new member ${a.seedPod?.podName ?? '?'} on ${a.restore.node} (${a.restore.nodeReason}), token ${a.restore.token}`] : []),
    `  then: stop ${a.otherPods.map((o) => o.podName).join(', ') || 'no other pod'}; ${a.restore ? 'restore the backup into the seed, restart it without the restore script' : 'restart the seed without the flag'}; prove a write; grow back to ${a.desiredVoters} voters`,
    ...(p.phase === 'awaiting-approval' ? [`  approve: etcd-guardian approve ${p.cluster}    reject: etcd-guardian reject ${p.cluster} --reason "..."`] : []),
    ...(p.approval ? [`  approved by ${p.approval.by} at ${p.approval.at}`] : []),
    ...p.steps.map((s) => `  ${s.endedAt ? 'done' : 'running'} ${s.step}${s.detail ? `: ${s.detail}` : ''}`),
  ];
}

/** `etcd-guardian recover <cluster>`: quorum-loss recovery with a person's approval (`approve|reject <cluster>` answer it). */
export function registerRecoverCommand(program: Command): void {
  program
    .command('recover')
    .description('plan a recovery of a cluster that lost quorum (the survivor with the most data, restarted with --force-new-cluster) and wait for approval')
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--from <source>', 'auto (a survivor, else the newest verified backup), survivor or backup', 'auto')
    .option('--reason <text>', 'why, for the history')
    .option('--dry-run', 'plan only: print the seed and the data-loss window; touch nothing')
    .option('--json', 'print the plan as JSON')
    .action(async (cluster: string, options: { config?: string; from: string; reason?: string; dryRun?: boolean; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const request = { cluster, from: options.from, dryRun: options.dryRun === true, requestedBy: cliRequester(), ...(options.reason ? { reason: options.reason } : {}) } as RecoverClusterRequest;
      try {
        parseRecoverClusterInput(request);
      } catch (error) {
        if (error instanceof InvalidInputError) throw new CliArgumentError(error.message);
        throw error;
      }
      const client = await temporalClient(config);
      try {
        const workflowId = migrationIdFor(cluster);
        const handle = await client.workflow
          .start('recoverCluster', {
            workflowId,
            taskQueue: config.temporal.taskQueue,
            args: [request],
            staticSummary: `${request.dryRun === true ? 'plan the recovery' : 'recover'} of ${cluster} from lost quorum (${request.from ?? 'auto'}), by ${request.requestedBy ?? 'cli'}`,
            staticDetails: requestDetails('recovery requested', request),
          })
          .catch((error: unknown) => {
            if (error instanceof WorkflowExecutionAlreadyStartedError) throw new Error(`a migration, repair, maintenance or recovery of cluster ${cluster} is already running (${workflowId}); see etcd-guardian status`, { cause: error });
            throw error;
          });
        process.stderr.write(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})\n`);
        // The plan, once made: a dry run ends there; a real one waits for approval, which another command gives.
        let progress: RecoveryProgress | undefined;
        for (;;) {
          const description = await handle.describe();
          if (description.status.name !== 'RUNNING') {
            progress = (await handle.result()) as RecoveryProgress;
            break;
          }
          progress = await handle.query<RecoveryProgress>('progress');
          if (progress.phase !== 'planning' && progress.phase !== 'validating') break;
          await sleep(500);
        }
        process.stdout.write(options.json ? `${JSON.stringify(progress, null, 2)}\n` : `${recoveryLines(progress).join('\n')}\n`);
      } finally {
        await client.connection.close();
      }
    });
}
