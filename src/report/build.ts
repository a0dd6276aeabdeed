import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { activityReport, type StepLabel } from './activities';
import { readHistory, type ActivitySpan, type RunHistory } from './history';
import { maintenanceStepLabeller } from './maintenance';
import { buildMigrationReport, migrationStepLabeller, type TriggerContext } from './migration';
import { buildMonitorReport, monitorStepLabeller } from './monitor';
import { buildRecoveryReport } from './recovery';
import { accountFor, buildTimeline, type Span } from './timeline';
import type { ChildWorkflowReport, MemberObservationSource, RunStatus, WorkflowReport } from './types';

/** What a report may know besides the history: ids the history lacks, the time of a running run, monitor context. */
export interface ReportContext {
  /** The workflow id, when the history does not carry it (older servers). */
  workflowId?: string;
  runId?: string;
  /** For a running workflow: the end of the timeline. Defaults to the last event's time. */
  asOf?: Date;
  /** For a running workflow: the attempt and last failure of activities still retrying, by activity id. */
  pendingAttempts?: Readonly<Record<string, { attempt: number; lastFailure?: string }>>;
  /** For a migration a monitor started: the monitor cycle that decided it. */
  trigger?: TriggerContext;
  /** For a migration: observations of the members with their racks, best first. */
  observations?: readonly MemberObservationSource[];
  payloadConverter?: PayloadConverter;
}

function statusOf(run: RunHistory): RunStatus {
  return run.close?.kind ?? 'running';
}

function labeller(run: RunHistory): (span: ActivitySpan) => StepLabel {
  if (run.workflowType === 'migrateMember') return migrationStepLabeller(run.activities);
  if (run.workflowType === 'maintainCluster') return maintenanceStepLabeller(run.activities);
  if (run.workflowType === 'monitorCluster') {
    const carried = (run.input as { carried?: { cycles?: unknown } } | undefined)?.carried;
    return monitorStepLabeller(run.activities, typeof carried?.cycles === 'number' ? carried.cycles : 0);
  }
  return (span) => ({ step: span.type, compensation: false });
}

function seconds(ms: number | undefined): string {
  if (ms === undefined) return '?';
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * The report of one workflow run, from its history alone (plus what `context` adds). Pure: the same history and
 * context always give the same report.
 */
export function buildReport(history: History, context: ReportContext = {}): WorkflowReport {
  const run = readHistory(history, context.payloadConverter ?? defaultPayloadConverter);
  const endMs = run.close?.atMs ?? Math.max(run.lastEventMs, context.asOf?.getTime() ?? run.lastEventMs);
  const label = labeller(run);
  const activities = run.activities.map((span) => activityReport(span, label(span), endMs, context.pendingAttempts?.[span.activityId]));
  const activitySpans: Span[] = activities.map((a, i) => {
    const span = run.activities[i];
    return { id: a.scheduledEventId, startMs: span?.scheduledMs ?? endMs, endMs: span?.closedMs ?? endMs, label: a.step };
  });
  const waitLabel = run.workflowType === 'monitorCluster' ? 'waiting for the next cycle' : 'timer';
  const timerSpans: Span[] = run.timers.map((t, i) => ({
    id: i,
    startMs: t.startedMs,
    endMs: t.endedMs ?? endMs,
    label: `${waitLabel} (${seconds(t.timeoutMs)}${t.outcome === 'canceled' ? ', cut short' : ''})`,
  }));
  const timeline = buildTimeline(run.startMs, endMs, activitySpans, timerSpans);
  const children: ChildWorkflowReport[] = run.children.map((c) => ({
    workflowId: c.workflowId,
    workflowType: c.workflowType,
    initiatedEventId: c.initiatedEventId,
    initiatedAt: new Date(c.initiatedMs).toISOString(),
    input: c.input,
    outcome: c.outcome,
    ...(c.runId ? { runId: c.runId } : {}),
    ...(c.startedMs !== undefined ? { startedAt: new Date(c.startedMs).toISOString() } : {}),
    ...(c.closedMs !== undefined ? { closedAt: new Date(c.closedMs).toISOString() } : {}),
  }));

  const report: WorkflowReport = {
    workflowType: run.workflowType,
    workflowId: run.workflowId ?? context.workflowId ?? '?',
    runId: context.runId ?? run.runId ?? '?',
    status: statusOf(run),
    startedAt: new Date(run.startMs).toISOString(),
    endAt: new Date(endMs).toISOString(),
    durationMs: endMs - run.startMs,
    activities,
    timeline,
    accounting: accountFor(timeline),
    signals: run.signals.map((s) => ({ name: s.name, at: new Date(s.atMs).toISOString(), ...(s.identity ? { identity: s.identity } : {}) })),
    children,
    searchAttributes: run.searchAttributes.map((s) => ({ at: new Date(s.atMs).toISOString(), key: s.key, value: s.value })),
    workflowTaskFailures: run.workflowTaskFailures.map((f) => ({ at: new Date(f.atMs).toISOString(), ...(f.message ? { message: f.message } : {}) })),
    notes: [],
  };
  if (run.taskQueue) report.taskQueue = run.taskQueue;
  if (run.parent) report.parent = { workflowId: run.parent.workflowId, ...(run.parent.runId ? { runId: run.parent.runId } : {}) };
  if (run.close) report.closedAt = new Date(run.close.atMs).toISOString();
  if (run.close?.failure) report.failure = run.close.failure;
  if (run.close?.kind === 'terminated' || run.cancelRequest) {
    const by = run.close?.kind === 'terminated' ? run.close.identity : run.cancelRequest?.identity;
    const reason = run.close?.kind === 'terminated' ? run.close.reason : run.cancelRequest?.cause;
    const at = run.close?.kind === 'terminated' ? run.close.atMs : (run.cancelRequest?.atMs ?? endMs);
    report.stopped = { at: new Date(at).toISOString(), ...(by ? { by } : {}), ...(reason ? { reason } : {}) };
  }
  if (!run.close) report.notes.push(`the workflow is still running: the timeline ends at ${report.endAt}, when this report was made`);
  if (run.workflowTaskFailures.length > 0) {
    report.notes.push(`${run.workflowTaskFailures.length} workflow task(s) failed (a worker bug or non-determinism): their time is in the workflow's share`);
  }

  const input = (typeof run.input === 'object' && run.input !== null ? run.input : {}) as Record<string, unknown>;
  if (run.workflowType === 'repairMembership' && typeof input['approveRemoval'] === 'string') {
    const reason = typeof input['reason'] === 'string' ? input['reason'] : undefined;
    report.approval = { member: input['approveRemoval'], approvedBy: typeof input['requestedBy'] === 'string' ? input['requestedBy'] : '?', ...(reason ? { reason } : {}) };
  }
  if (run.workflowType === 'migrateMember') {
    report.migration = buildMigrationReport(run, activities, {
      ...(context.trigger ? { trigger: context.trigger } : {}),
      ...(context.observations ? { observations: context.observations } : {}),
    });
    const unplaced = report.migration.finalMembership?.voters.filter((v) => v.rack === undefined) ?? [];
    if (unplaced.length > 0) {
      report.notes.push(
        `the rack of ${unplaced.map((v) => v.name).join(', ')} is not recorded in this migration's history (it records only the moving member and the candidate nodes); ` +
          '`etcd-guardian report` reads it from the monitor of the cluster when one ran after the migration, and `etcd-guardian status` shows it now',
      );
    }
  } else if (run.workflowType === 'recoverCluster') {
    const recovery = buildRecoveryReport(run);
    if (recovery) report.recovery = recovery;
  } else if (run.workflowType === 'monitorCluster') {
    report.monitor = buildMonitorReport(run, activities, children);
    // A monitor's activities carry whole Raft and node snapshots; the cycles already hold what a reader needs.
    for (const a of report.activities) {
      delete a.input;
      delete a.output;
    }
  }
  return report;
}
