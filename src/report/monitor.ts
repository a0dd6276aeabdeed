import type { MemberSummary } from '../domain/assemble';
import type { Decision } from '../domain/plan';
import type { Assessment, Finding } from '../domain/risk';
import type { StepLabel } from './activities';
import type { ActivitySpan, RunHistory } from './history';
import type { TriggerContext } from './migration';
import type { ActivityReport, ChildWorkflowReport, CycleReport, FindingSeen, MemberObservationSource, MonitorReport } from './types';

/**
 * The monitor's side of a report: its cycles (fetch Raft and node metrics, evaluate, decide), the decisions that
 * were not "nothing to do", the findings over the cycles, the migrations it started, and its continue-as-new.
 */

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/**
 * Group the monitor's activities into cycles, by scheduling order: a cycle opens with `migrationStatus` or
 * `fetchRaftMetrics` once the current one has fetched; `latestMigration` (a fresh monitor's first look) belongs to
 * no cycle. Returns the scheduled event ids of each cycle's activities.
 */
export function groupCycles(spans: readonly ActivitySpan[]): ActivitySpan[][] {
  const cycles: ActivitySpan[][] = [];
  let current: ActivitySpan[] | undefined;
  for (const span of [...spans].sort((a, b) => a.scheduledEventId - b.scheduledEventId)) {
    if (span.type === 'latestMigration') continue;
    // migrationStatus only ever opens a cycle; fetchRaftMetrics opens one unless the cycle so far only tracked.
    // observeCycle (a whole cycle in one local activity) always opens one.
    const opens = span.type === 'observeCycle' || span.type === 'migrationStatus' || (span.type === 'fetchRaftMetrics' && !(current?.every((s) => s.type === 'migrationStatus') ?? false));
    if (!current || opens) {
      current = [];
      cycles.push(current);
    }
    current.push(span);
  }
  return cycles;
}

/** A step label function for a monitor's history: the cycle number and the activity. */
export function monitorStepLabeller(spans: readonly ActivitySpan[], cyclesBefore: number): (span: ActivitySpan) => StepLabel {
  const cycleOf = new Map<number, number>();
  groupCycles(spans).forEach((cycle, index) => {
    for (const span of cycle) cycleOf.set(span.scheduledEventId, cyclesBefore + index + 1);
  });
  return (span) => {
    const cycle = cycleOf.get(span.scheduledEventId);
    return { step: cycle === undefined ? `startup: ${span.type}` : `cycle ${cycle}: ${span.type}`, compensation: false };
  };
}

function subjectOf(f: Finding): string {
  return f.member ?? f.node ?? f.pod ?? 'cluster';
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 3, warning: 2, info: 1 };

function findingsSeen(cycles: readonly CycleReport[]): FindingSeen[] {
  const seen = new Map<string, FindingSeen>();
  for (const cycle of cycles) {
    for (const f of cycle.findings) {
      const key = `${f.kind}/${subjectOf(f)}`;
      const entry = seen.get(key);
      if (!entry) {
        seen.set(key, { kind: f.kind, severity: f.severity, subject: subjectOf(f), message: f.message, firstCycle: cycle.number, lastCycle: cycle.number, cycles: 1, confirmed: f.confirmed });
        continue;
      }
      entry.lastCycle = cycle.number;
      entry.cycles += 1;
      entry.message = f.message;
      entry.confirmed ||= f.confirmed;
      if ((SEVERITY_RANK[f.severity] ?? 0) > (SEVERITY_RANK[entry.severity] ?? 0)) entry.severity = f.severity;
    }
  }
  return [...seen.values()];
}

/** The monitor part of a report. */
export function buildMonitorReport(run: RunHistory, activities: readonly ActivityReport[], children: readonly ChildWorkflowReport[]): MonitorReport {
  const input = obj(run.input);
  const cyclesBefore = typeof obj(input.carried).cycles === 'number' ? Number(obj(input.carried).cycles) : 0;
  const byId = new Map(activities.map((a) => [a.scheduledEventId, a]));
  const groups = groupCycles(run.activities);
  const cycles: CycleReport[] = groups.map((group, index) => {
    const startMs = Math.min(...group.map((s) => s.scheduledMs));
    const endMs = Math.max(...group.map((s) => s.closedMs ?? run.close?.atMs ?? run.lastEventMs));
    const evaluated = group.find((s) => (s.type === 'evaluateRisk' || s.type === 'observeCycle') && s.status === 'completed');
    const result = obj(evaluated?.result);
    const assessment = result.assessment as Assessment | undefined;
    const cycle: CycleReport = {
      number: cyclesBefore + index + 1,
      startedAt: new Date(startMs).toISOString(),
      endedAt: new Date(endMs).toISOString(),
      durationMs: endMs - startMs,
      findings: assessment?.findings ?? [],
      activities: group.map((s) => s.scheduledEventId),
    };
    if (assessment) {
      cycle.observedAt = assessment.observedAt;
      cycle.quorum = assessment.quorum;
      if (assessment.leader) cycle.leader = assessment.leader.name;
    }
    if (Array.isArray(result.members)) cycle.members = result.members as MemberSummary[];
    if (result.decision) cycle.decision = result.decision as Decision;
    const failed = group.map((s) => byId.get(s.scheduledEventId)).find((a) => a?.failure);
    if (failed?.failure) cycle.failure = failed.failure;
    return cycle;
  });
  // A migration belongs to the cycle during which (or right after which) it was started.
  for (const child of children) {
    const at = Date.parse(child.initiatedAt);
    const owner = [...cycles].reverse().find((c) => Date.parse(c.startedAt) <= at);
    if (owner) owner.migration = child;
  }
  const report: MonitorReport = {
    cluster: typeof input.cluster === 'string' ? input.cluster : '?',
    cyclesBefore,
    cycles,
    decisions: cycles.flatMap((c) => (c.decision && c.decision.kind !== 'none' ? [{ cycle: c.number, decision: c.decision }] : [])),
    findings: findingsSeen(cycles),
    migrations: [...children],
    healthChanges: run.searchAttributes.filter((s) => s.key === 'ClusterHealth').map((s) => ({ at: new Date(s.atMs).toISOString(), health: String(s.value) })),
    summary: '',
  };
  if (typeof input.intervalMs === 'number') report.intervalMs = input.intervalMs;
  if (typeof input.continueAsNewEvery === 'number') report.continueAsNewEvery = input.continueAsNewEvery;
  if (run.close?.kind === 'continued-as-new') {
    const carried = obj(obj(run.close.newInput).carried);
    report.continuedAsNew = {
      at: new Date(run.close.atMs).toISOString(),
      newRunId: run.close.newRunId ?? '?',
      ...(typeof carried.cycles === 'number' ? { cyclesCarried: carried.cycles } : {}),
    };
  }
  const first = cycles[0]?.number;
  const last = cycles[cycles.length - 1]?.number;
  const failedCycles = cycles.filter((c) => c.failure).length;
  report.summary = [
    `${cycles.length} cycle(s)${first !== undefined ? ` (${first === last ? first : `${first}–${last}`})` : ''}`,
    `${report.decisions.length} decision(s) other than none`,
    `${report.findings.length} finding(s)`,
    `${report.migrations.length} migration(s) started`,
    ...(failedCycles > 0 ? [`${failedCycles} failed cycle(s)`] : []),
    ...(report.continuedAsNew ? [`continued as new as run ${report.continuedAsNew.newRunId}`] : []),
  ].join(', ');
  return report;
}

/**
 * What the monitor run `monitorId` knew when it started a migration (its StartChildWorkflowExecutionInitiated
 * event `initiatedEventId`): the deciding cycle, the findings that triggered the move, and the members it saw.
 */
export function migrationEvidence(
  monitor: MonitorReport,
  monitorId: string,
  initiatedEventId: number,
): { trigger: TriggerContext; observation?: MemberObservationSource } | undefined {
  const cycle = monitor.cycles.find((c) => c.migration?.initiatedEventId === initiatedEventId);
  if (!cycle) return undefined;
  const trigger: TriggerContext = {
    monitor: monitorId,
    cycle: cycle.number,
    summary: cycle.decision?.summary ?? '?',
    // The plan's triggers are the confirmed findings that moved this member, with their evidence.
    findings: cycle.decision?.kind === 'migrate' ? cycle.decision.plan.triggers : cycle.findings.filter((f) => f.confirmed),
    ...(cycle.observedAt ? { observedAt: cycle.observedAt } : {}),
  };
  if (!cycle.members) return { trigger };
  return { trigger, observation: { source: `monitor ${monitorId} cycle ${cycle.number} (when it decided)`, observedAt: cycle.observedAt ?? cycle.startedAt, members: cycle.members } };
}

/** The members as the first cycle of the monitor run `monitorId` observed at or after `at` (ISO) saw them. */
export function observationAfter(monitor: MonitorReport, monitorId: string, at: string): MemberObservationSource | undefined {
  const t = Date.parse(at);
  const cycle = monitor.cycles.find((c) => c.members !== undefined && Date.parse(c.observedAt ?? c.startedAt) >= t);
  if (!cycle?.members) return undefined;
  return { source: `monitor ${monitorId} cycle ${cycle.number}`, observedAt: cycle.observedAt ?? cycle.startedAt, members: cycle.members };
}
