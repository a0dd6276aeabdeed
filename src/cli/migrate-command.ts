import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { InvalidInputError } from '../config/errors';
import { parseMigrateMemberInput, type MigrateMemberRequest } from '../config/workflow-inputs';
import { migrationSummary, requestDetails } from '../domain/summaries';
import type { MigrationProgress, MigrationResult } from '../../workflows/migrate';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed, temporalClient } from './context';

/** The workflow id of a cluster's migration (one at a time per cluster). */
export function migrationIdFor(cluster: string): string {
  return `migrate-${cluster}`;
}

/** Start migrateMember for a validated request; a second one for the same cluster is refused by its id. */
export async function startMigration(client: Client, taskQueue: string, request: MigrateMemberRequest) {
  const workflowId = migrationIdFor(request.cluster);
  try {
    return await client.workflow.start('migrateMember', {
      workflowId,
      taskQueue,
      args: [request],
      // What the Temporal UI shows for the run until the workflow's plan (its current details) is there.
      staticSummary: migrationSummary({ ...request, strategy: request.strategy ?? 'auto' }),
      staticDetails: requestDetails('migration requested', {
        cluster: request.cluster,
        member: request.member,
        strategy: request.strategy ?? 'auto',
        targetNode: request.targetNode,
        reason: request.reason,
        requestedBy: request.requestedBy,
        dryRun: request.dryRun,
      }),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new Error(
        `a migration of cluster ${request.cluster} is already running (${workflowId}); wait for it (etcd-guardian status) or cancel it (temporal workflow cancel -w ${workflowId})`,
        { cause: error },
      );
    }
    throw error;
  }
}

function describeStep(p: MigrationProgress): string[] {
  return p.steps.map((s) => `  ${s.status === 'done' ? '✔' : s.status === 'running' ? '…' : s.status === 'failed' ? '✖' : s.status === 'compensated' ? '↺' : '·'} ${s.step}${s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : ''}${s.detail ? `: ${s.detail}` : ''}`);
}

/** Print each step as it starts and ends, then the outcome; throws with the failure's message if it fails. */
export async function followMigration(handle: WorkflowHandle, options: { json: boolean }): Promise<MigrationResult> {
  let printed = 0;
  let toldWaiting = false;
  const show = (p: MigrationProgress): void => {
    if (p.phase === 'awaiting-approval' && p.approvalNeeded && !toldWaiting && !options.json) {
      toldWaiting = true;
      process.stderr.write(
        `waiting for approval until ${p.approvalNeeded.deadline}: ${p.approvalNeeded.reasons.join('; ')}\n  approve: etcd-guardian approve ${p.cluster}    reject: etcd-guardian reject ${p.cluster} --reason "..."\n`,
      );
    }
    const lines = describeStep(p);
    // A step's line changes as it runs: print finished lines once, and the running one when it is new.
    for (; printed < lines.length; printed++) {
      const step = p.steps[printed];
      if (!step || step.status === 'running') break;
      if (!options.json) process.stderr.write(`${lines[printed]}\n`);
    }
  };
  const timer = setInterval(() => {
    handle.query<MigrationProgress>('progress').then(show).catch(() => undefined);
  }, 1000);
  try {
    const result = (await handle.result()) as MigrationResult;
    show({ cluster: result.cluster, member: result.member, phase: 'succeeded', steps: result.steps });
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        result.dryRun
          ? `dry run: would move ${result.member} from ${result.from ?? '?'} to ${result.plan.target.node} with ${result.strategy}${result.plan.needsApproval ? `, after a person's approval (${result.plan.needsApproval.reasons.join('; ')})` : ''}\n`
          : `moved ${result.member} from ${result.from ?? '?'} to ${result.to ?? '?'} as ${result.newMember ?? '?'} (${result.strategy})${result.approvedBy ? `, approved by ${result.approvedBy.by}` : ''}\n`,
      );
    }
    return result;
  } catch (error) {
    if (error instanceof WorkflowFailedError) throw new Error(`migration failed: ${error.cause?.message ?? error.message}`, { cause: error });
    throw error;
  } finally {
    clearInterval(timer);
  }
}

/** `etcd-guardian follow <cluster>`: follow the cluster's running (or next) migration step by step until it ends. */
export function registerFollowCommand(program: Command): void {
  program
    .command('follow')
    .description("follow a cluster's migration step by step until it ends (waits for one to start)")
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--timeout <seconds>', 'give up waiting for a migration to start after this long', '600')
    .option('--json', 'print the final result as JSON')
    .action(async (cluster: string, options: { config?: string; timeout: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const client = await temporalClient(config);
      try {
        const handle = client.workflow.getHandle(migrationIdFor(cluster));
        const deadline = Date.now() + Number(options.timeout) * 1000;
        for (;;) {
          const running = await handle.describe().then((d) => d.status.name === 'RUNNING', () => false);
          if (running) break;
          if (Date.now() > deadline) throw new Error(`no migration of cluster ${cluster} started within ${options.timeout} s`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        process.stderr.write(`following ${handle.workflowId}\n`);
        await followMigration(handle, { json: options.json === true });
      } finally {
        await client.connection.close();
      }
    });
}

/** `etcd-guardian migrate <cluster> <member>`: start a migration by hand and follow it step by step. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('move a member to a better node, the same workflow the monitor starts (and the Temporal UI can start)')
    .argument('<cluster>', 'cluster name, as in the config')
    .argument('<member>', 'member name (etcd-1) or hex id')
    .option('-c, --config <file>', 'config file')
    .option('--strategy <strategy>', 'auto (replace a dead member, surge a live one), replace or surge', 'auto')
    .option('--target-node <node>', 'move to this node instead of the best one')
    .option('--reason <text>', 'why, for the history and the report', 'manual migration')
    .option('--dry-run', 'plan only: print the steps, the chosen node and why; change nothing')
    .option('--no-follow', 'start and return at once')
    .option('--json', 'print the final result as JSON')
    .action(async (cluster: string, member: string, options: { config?: string; strategy: string; targetNode?: string; reason: string; dryRun?: boolean; follow: boolean; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const request: MigrateMemberRequest = {
        cluster,
        member,
        reason: options.reason,
        strategy: options.strategy as MigrateMemberRequest['strategy'],
        dryRun: options.dryRun === true,
        requestedBy: cliRequester(),
        ...(options.targetNode ? { targetNode: options.targetNode } : {}),
      };
      try {
        parseMigrateMemberInput(request);
      } catch (error) {
        if (error instanceof InvalidInputError) throw new CliArgumentError(error.message);
        throw error;
      }
      const client = await temporalClient(config);
      try {
        const handle = await startMigration(client, config.temporal.taskQueue, request);
        process.stderr.write(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})\n`);
        if (!options.follow) return;
        await followMigration(handle, { json: options.json === true });
      } finally {
        await client.connection.close();
      }
    });
}
