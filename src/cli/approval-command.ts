import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { ApprovalRequirement, Verdict } from '../domain/approval';
import { formatDurationMs } from '../domain/space';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed, temporalClient } from './context';
import { migrationIdFor } from './migrate-command';

/** The workflows whose plans may wait for a person, and what each is called in the list. */
export const APPROVABLE_WORKFLOWS = { migrateMember: 'migration', repairMembership: 'repair', maintainCluster: 'maintenance', recoverCluster: 'recovery' } as const;
type ApprovableType = keyof typeof APPROVABLE_WORKFLOWS;

/** One plan that waits for a person, as `approvals` lists it. */
export interface WaitingApproval {
  cluster: string;
  workflowId: string;
  operation: (typeof APPROVABLE_WORKFLOWS)[ApprovableType];
  /** The plan in one line. */
  plan: string;
  reasons: string[];
  since?: string;
  deadline?: string;
}

/** What the progress queries of those workflows answer, as far as the list reads them. */
interface WaitingProgress {
  cluster?: string;
  phase?: string;
  approvalNeeded?: ApprovalRequirement & { since: string; deadline: string };
  member?: string;
  strategy?: string;
  from?: string;
  to?: string;
  plan?: { kind?: string; mode?: string; reasons?: string[] };
  assessment?: { plan?: { reasons?: string[] } };
}

/** The waiting plan of one run, from its progress; undefined when it does not wait for a person. */
export function waitingApproval(workflowType: string, workflowId: string, progress: WaitingProgress): WaitingApproval | undefined {
  if (progress.phase !== 'awaiting-approval' || !(workflowType in APPROVABLE_WORKFLOWS)) return undefined;
  const operation = APPROVABLE_WORKFLOWS[workflowType as ApprovableType];
  const cluster = progress.cluster ?? '?';
  const plan =
    operation === 'migration'
      ? `${progress.strategy ?? '?'} ${progress.member ?? '?'} from ${progress.from ?? '?'} to ${progress.to ?? '?'}`
      : operation === 'repair'
        ? `repair (${progress.plan?.kind ?? '?'}): ${(progress.plan?.reasons ?? []).join('; ')}`
        : operation === 'maintenance'
          ? `${progress.plan?.mode ?? '?'} maintenance: ${(progress.plan?.reasons ?? []).join('; ')}`
          : `recovery from lost quorum: ${(progress.assessment?.plan?.reasons ?? []).join('; ')}`;
  return {
    cluster,
    workflowId,
    operation,
    plan,
    reasons: progress.approvalNeeded?.reasons ?? [],
    ...(progress.approvalNeeded ? { since: progress.approvalNeeded.since, deadline: progress.approvalNeeded.deadline } : {}),
  };
}

/** The list in lines: each plan, why it waits, for how long, and the commands that answer it. */
export function approvalLines(waiting: readonly WaitingApproval[], nowMs: number): string[] {
  if (waiting.length === 0) return ['no plan waits for approval'];
  const lines: string[] = [];
  for (const w of [...waiting].sort((a, b) => a.cluster.localeCompare(b.cluster))) {
    const since = w.since !== undefined ? ` for ${formatDurationMs(Math.max(0, nowMs - Date.parse(w.since)))}` : '';
    const left = w.deadline !== undefined ? `, abandoned in ${formatDurationMs(Math.max(0, Date.parse(w.deadline) - nowMs))} without an answer` : '';
    lines.push(`${w.cluster}: ${w.operation} waiting${since}${left} (${w.workflowId})`);
    lines.push(`  plan: ${w.plan}`);
    for (const reason of w.reasons) lines.push(`  why: ${reason}`);
    lines.push(`  approve: etcd-guardian approve ${w.cluster}    reject: etcd-guardian reject ${w.cluster} --reason "..."`);
  }
  return lines;
}

/** Every plan that waits for a person on this Temporal namespace: the running operations, asked for their progress. */
export async function listWaitingApprovals(client: Client): Promise<WaitingApproval[]> {
  const types = Object.keys(APPROVABLE_WORKFLOWS).map((type) => `WorkflowType = '${type}'`);
  const waiting: WaitingApproval[] = [];
  for await (const run of client.workflow.list({ query: `ExecutionStatus = 'Running' AND (${types.join(' OR ')})` })) {
    const progress = await client.workflow
      .getHandle(run.workflowId, run.runId)
      .query<WaitingProgress>('progress')
      // A run that closed since it was listed, or whose worker is away, is not waiting for a person now.
      .catch(() => undefined);
    const entry = progress && waitingApproval(run.type, run.workflowId, progress);
    if (entry) waiting.push(entry);
  }
  return waiting;
}

/** Send a verdict to the cluster's operation, if it waits for one; says what it answered. */
async function answer(cluster: string, options: { config?: string; reason?: string; by?: string }, name: 'approve' | 'reject'): Promise<void> {
  const config = cliConfig(options.config);
  clusterNamed(config, cluster);
  if (name === 'reject' && (options.reason ?? '').trim() === '') throw new CliArgumentError('--reason: a rejection says why (it is recorded in the history)');
  const client = await temporalClient(config);
  try {
    const workflowId = migrationIdFor(cluster);
    const handle = client.workflow.getHandle(workflowId);
    const [description, progress] = await Promise.all([handle.describe(), handle.query<WaitingProgress>('progress')]).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new CliArgumentError(`nothing of cluster ${cluster} waits for approval: no migration, repair, maintenance or recovery runs (${workflowId})`);
      throw error;
    });
    const waiting = waitingApproval(description.type, workflowId, progress);
    if (description.status.name !== 'RUNNING' || waiting === undefined) {
      throw new CliArgumentError(`the ${APPROVABLE_WORKFLOWS[description.type as ApprovableType] ?? description.type} of cluster ${cluster} (${workflowId}) does not wait for approval (${description.status.name === 'RUNNING' ? `phase ${progress.phase ?? 'unknown'}` : description.status.name.toLowerCase()})`);
    }
    const verdict: Verdict = { by: options.by ?? cliRequester(), ...(options.reason !== undefined ? { reason: options.reason } : {}) };
    await handle.signal(name, verdict);
    process.stdout.write(`${waiting.operation} of ${cluster}: ${name === 'approve' ? 'approved' : 'rejected'} by ${verdict.by} (${waiting.plan})\n`);
  } finally {
    await client.connection.close();
  }
}

/** `approvals`, `approve <cluster>` and `reject <cluster>`: the plans that wait for a person, and the answer to one. */
export function registerApprovalCommands(program: Command): void {
  program
    .command('approvals')
    .description('list the plans that wait for a person (the clusters\' approval rules, recoveries), why, and until when')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print the list as JSON')
    .action(async (options: { config?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      const client = await temporalClient(config);
      try {
        const waiting = await listWaitingApprovals(client);
        process.stdout.write(options.json ? `${JSON.stringify(waiting, null, 2)}\n` : `${approvalLines(waiting, Date.now()).join('\n')}\n`);
      } finally {
        await client.connection.close();
      }
    });
  for (const [name, description] of [
    ['approve', 'approve the plan (migration, repair, maintenance, recovery) a cluster waits on'],
    ['reject', 'reject the plan a cluster waits on: nothing is touched'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<cluster>', 'cluster name, as in the config')
      .option('-c, --config <file>', 'config file')
      .option('--reason <text>', name === 'reject' ? 'why (required), recorded with the verdict' : 'why, recorded with the verdict')
      .option('--by <name>', 'who answers, for the history (default: cli:$USER, else the OS account)')
      .action(async (cluster: string, options: { config?: string; reason?: string; by?: string }) => answer(cluster, options, name));
  }
}
