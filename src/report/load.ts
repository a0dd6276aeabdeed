import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { buildReport, type ReportContext } from './build';
import { migrationEvidence, observationAfter } from './monitor';
import type { MemberObservationSource, WorkflowReport } from './types';

/**
 * Fetch a run's history from Temporal and build its report. A migration's report also reads the monitor's
 * history: the cycle that started it (its findings, the evidence), and the first cycle after it ended (the final
 * membership with racks, which a migration's own history does not record for the members that stayed).
 */

/** No workflow with that id (and run id) in the namespace. */
export class ReportWorkflowNotFoundError extends Error {
  readonly code = 'WORKFLOW_NOT_FOUND';
  constructor(
    readonly workflowId: string,
    readonly runId: string | undefined,
    namespace: string,
  ) {
    super(`no workflow "${workflowId}"${runId ? ` with run "${runId}"` : ''} in namespace ${namespace}: check the id (etcd-guardian status shows the running ones; temporal workflow list lists them all)`);
    this.name = 'ReportWorkflowNotFoundError';
  }
}

/** A workflow or run id the server refuses as malformed (a run id that is no UUID). */
export class ReportArgumentError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'ReportArgumentError';
  }
}

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;

/** How many monitor runs to read when looking for the cycle after a migration. */
const MONITOR_RUNS_TO_READ = 3;

function grpcCode(error: unknown): number | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function historyOf(client: Client, workflowId: string, runId?: string): Promise<History> {
  return client.workflow.getHandle(workflowId, runId).fetchHistory();
}

/** The monitor cycle that started this migration, and the members it saw then. */
async function evidenceFrom(client: Client, parent: { workflowId: string; runId?: string }, initiatedEventId: number | undefined, notes: string[]): Promise<ReturnType<typeof migrationEvidence>> {
  try {
    const monitor = buildReport(await historyOf(client, parent.workflowId, parent.runId), { workflowId: parent.workflowId }).monitor;
    const evidence = monitor && initiatedEventId !== undefined ? migrationEvidence(monitor, parent.workflowId, initiatedEventId) : undefined;
    if (!evidence) notes.push(`the history of the monitor run that started this migration (${parent.workflowId}) has no cycle that started it`);
    return evidence;
  } catch (error) {
    notes.push(`the history of the monitor that started this migration (${parent.workflowId}) could not be read: ${messageOf(error)}`);
    return undefined;
  }
}

/** The first monitor observation of the cluster after `closedAt`: the membership the migration left, with racks. */
async function membersAfter(client: Client, cluster: string, closedAt: string, notes: string[]): Promise<MemberObservationSource | undefined> {
  try {
    const closed = Date.parse(closedAt);
    const runs: { workflowId: string; runId: string; start: number }[] = [];
    const query = `WorkflowType = 'monitorCluster' AND EtcdCluster = '${cluster.replace(/'/g, '')}'`;
    for await (const info of client.workflow.list({ query, pageSize: 50 })) {
      const end = info.closeTime?.getTime() ?? Number.POSITIVE_INFINITY;
      if (end >= closed) runs.push({ workflowId: info.workflowId, runId: info.runId, start: info.startTime.getTime() });
      if (runs.length >= 50) break;
    }
    // The run that was going when the migration ended comes first, then the ones after it.
    runs.sort((a, b) => a.start - b.start);
    const covering = runs.filter((r) => r.start <= closed).pop();
    const later = runs.filter((r) => r.start > closed);
    for (const run of [...(covering ? [covering] : []), ...later].slice(0, MONITOR_RUNS_TO_READ)) {
      const monitor = buildReport(await historyOf(client, run.workflowId, run.runId), { workflowId: run.workflowId, runId: run.runId }).monitor;
      const seen = monitor ? observationAfter(monitor, run.workflowId, closedAt) : undefined;
      if (seen) return seen;
    }
    notes.push(`no cycle of a monitor of cluster ${cluster} after the migration was found (${runs.length} monitor run(s) since)`);
    return undefined;
  } catch (error) {
    notes.push(`the monitors of cluster ${cluster} could not be listed to find the racks after the migration: ${messageOf(error)}`);
    return undefined;
  }
}

/**
 * The report of a workflow run: the latest run of `workflowId` unless `runId` names one. Throws
 * ReportWorkflowNotFoundError for an unknown id.
 */
export async function loadReport(client: Client, workflowId: string, runId?: string): Promise<WorkflowReport> {
  const handle = client.workflow.getHandle(workflowId, runId);
  let description: Awaited<ReturnType<typeof handle.describe>>;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError || grpcCode(error) === GRPC_NOT_FOUND) throw new ReportWorkflowNotFoundError(workflowId, runId, client.options.namespace);
    if (grpcCode(error) === GRPC_INVALID_ARGUMENT) throw new ReportArgumentError(`workflow "${workflowId}"${runId ? ` run "${runId}"` : ''} cannot be asked for: ${messageOf(error)}`);
    throw error;
  }
  const history = await historyOf(client, workflowId, description.runId);
  const pendingAttempts: Record<string, { attempt: number; lastFailure?: string }> = {};
  for (const p of description.raw.pendingActivities ?? []) {
    if (!p.activityId) continue;
    pendingAttempts[p.activityId] = { attempt: p.attempt ?? 1, ...(p.lastFailure?.message ? { lastFailure: p.lastFailure.message } : {}) };
  }
  const context: ReportContext = { workflowId, runId: description.runId, asOf: new Date(), pendingAttempts };
  const first = buildReport(history, context);
  if (!first.migration) return first;

  const notes: string[] = [];
  const observations: MemberObservationSource[] = [];
  if (first.migration.finalMembership && first.closedAt) {
    const after = await membersAfter(client, first.migration.cluster, first.closedAt, notes);
    if (after) observations.push(after);
  }
  if (first.parent) {
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.parentInitiatedEventId;
    const initiated = started === null || started === undefined ? undefined : Number(started.toString());
    const evidence = await evidenceFrom(client, first.parent, initiated, notes);
    if (evidence) context.trigger = evidence.trigger;
    if (evidence?.observation) observations.push(evidence.observation);
  }
  if (observations.length > 0) context.observations = observations;
  const report = buildReport(history, context);
  report.notes.push(...notes);
  return report;
}
