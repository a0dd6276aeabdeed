import type { Candidate, PlacementResult } from '../domain/placement';
import type { MigrationPlan } from '../domain/plan';
import type { Finding } from '../domain/risk';
import type { StepLabel } from './activities';
import { rootOf, type ActivitySpan, type RunHistory } from './history';
import type {
  ActivityReport,
  EvidenceReport,
  FinalMember,
  MemberObservationSource,
  MigrationReport,
  PlacementAttempt,
  PlanReport,
} from './types';

/**
 * The migration's side of a report: what triggered it, the plan, where the successor went, the compensations and
 * the membership it left. The step names are the workflow's own (workflows/migrate.ts), so that the report, the
 * `progress` query and the plan speak the same words.
 */

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function optStr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The step each migration activity carries out, as the workflow names it. */
const STEP_OF: Readonly<Record<string, string>> = {
  prepareMigration: 'plan',
  backupSnapshot: 'backup-snapshot',
  moveLeader: 'move-leader',
  removeMember: 'remove-member',
  deletePod: 'delete-pod',
  chooseNode: 'choose-node',
  addLearner: 'schedule-pod',
  createMemberPod: 'schedule-pod',
  reserveVolume: 'schedule-pod',
  recreateStatefulPod: 'schedule-pod',
  releaseVolumes: 'release-volumes',
  promoteLearner: 'rejoin',
  verifyMember: 'verify-member',
  verifyQuorum: 'verify-quorum',
  describeClusterNow: 'describe the cluster after the failure',
};

/**
 * A step label function for a migration's history. `deletePod` is a step when it deletes the old member's pod
 * and a compensation when it deletes a pod this migration created (the workflow's own compensation names).
 */
export function migrationStepLabeller(spans: readonly ActivitySpan[]): (span: ActivitySpan) => StepLabel {
  const created = new Set(spans.filter((s) => s.type === 'addLearner').map((s) => optStr(obj(s.input).podName)).filter((n): n is string => n !== undefined));
  return (span) => {
    const input = obj(span.input);
    if (span.type === 'releaseReservedVolume') return { step: `compensate: release the volume reserved for ${optStr(input.podName) ?? '?'} on ${optStr(input.nodeName) ?? '?'}`, compensation: true };
    if (span.type === 'retireSuccessor') return { step: `compensate: retire ${optStr(obj(input.successor).podName) ?? '?'}`, compensation: true };
    // The compensation of migrations started before plan-is-the-program: their histories still read.
    if (span.type === 'removeAddedMember') return { step: `compensate: remove learner ${optStr(input.podName) ?? '?'} on ${optStr(input.nodeName) ?? '?'}`, compensation: true };
    if (span.type === 'deletePod') {
      const pod = optStr(input.podName);
      if (pod !== undefined && created.has(pod)) return { step: `compensate: delete pod ${pod}`, compensation: true };
    }
    return { step: STEP_OF[span.type] ?? span.type, compensation: false };
  };
}

function planReport(plan: MigrationPlan): PlanReport {
  const placement: Partial<PlacementResult> = plan.placement ?? {};
  const target: Partial<Candidate> = plan.target ?? {};
  const report: PlanReport = {
    strategy: plan.strategy,
    member: plan.member,
    to: target.node ?? '?',
    newMemberName: plan.newMemberName,
    reasons: plan.reasons ?? [],
    steps: (plan.steps ?? []).map((s) => ({ step: s.step, description: s.description, destructive: s.destructive, projected: s.projected })),
    candidates: (placement.candidates ?? []).map((c) => ({ node: c.node, ...(c.rack !== undefined ? { rack: c.rack } : {}), ...(c.domain !== undefined ? { domain: c.domain } : {}), reason: c.reason })),
    refused: (placement.refused ?? []).map((r) => ({ node: r.node, reasons: r.reasons })),
  };
  if (plan.member?.nodeName) report.from = plan.member.nodeName;
  if (target.rack !== undefined) report.toRack = target.rack;
  if (target.domain !== undefined) report.toDomain = target.domain;
  if (plan.createdAt) report.createdAt = plan.createdAt;
  return report;
}

/** What a monitor cycle that started a migration contributes to its report. */
export interface TriggerContext {
  monitor: string;
  cycle: number;
  observedAt?: string;
  summary: string;
  findings: Finding[];
}

/** Context a migration report can use beyond its own history. */
export interface MigrationContext {
  trigger?: TriggerContext;
  /** Observations of the cluster's members, best first (after the migration, then when it was decided). */
  observations?: readonly MemberObservationSource[];
}

function placementAttempts(activities: readonly ActivityReport[], status: RunHistory['close']): PlacementAttempt[] {
  const chosen = activities.filter((a) => a.type === 'chooseNode' && a.status === 'completed');
  return chosen.map((choice, index) => {
    const next = chosen[index + 1];
    const within = activities.filter((a) => a.scheduledEventId > choice.scheduledEventId && (!next || a.scheduledEventId < next.scheduledEventId));
    const output = obj(choice.output);
    const learner = within.find((a) => a.type === 'addLearner');
    const memberName = optStr(output.memberName) ?? optStr(obj(learner?.input).podName);
    const placed = within.some((a) => a.type === 'verifyMember' && a.status === 'completed');
    const outcome: PlacementAttempt['outcome'] = placed ? 'placed' : next || status ? 'failed' : 'in progress';
    return {
      attempt: index + 1,
      node: optStr(output.node) ?? '?',
      ...(memberName !== undefined ? { memberName } : {}),
      ...(optStr(output.reason) !== undefined ? { reason: String(output.reason) } : {}),
      outcome,
    };
  });
}

function finalMembership(
  verified: Json,
  plan: PlanReport | undefined,
  placed: PlacementAttempt | undefined,
  observations: readonly MemberObservationSource[],
): NonNullable<MigrationReport['finalMembership']> {
  const names = Array.isArray(verified.voters) ? verified.voters.map((v) => String(v)) : [];
  const leader = optStr(verified.leader);
  const voters: FinalMember[] = [...names].sort().map((name) => {
    const added = placed?.memberName === name;
    const member: FinalMember = { name, leader: name === leader, added, source: 'not recorded in this history' };
    for (const observation of observations) {
      const seen = observation.members.find((m) => m.name === name);
      if (!seen) continue;
      if (seen.node !== undefined) member.node = seen.node;
      if (seen.rack !== undefined) member.rack = seen.rack;
      if (seen.domain !== undefined) member.domain = seen.domain;
      member.source = `${observation.source}, observed ${observation.observedAt}`;
      return member;
    }
    if (added && placed) {
      // The node the successor went to, and its rack and domain as the plan's placement ranked it.
      member.node = placed.node;
      const candidate = plan?.candidates.find((c) => c.node === placed.node);
      if (candidate?.rack !== undefined) member.rack = candidate.rack;
      if (candidate?.domain !== undefined) member.domain = candidate.domain;
      member.source = candidate ? 'the node choice and the plan\'s placement' : 'the node choice (the plan did not rank this node)';
    }
    return member;
  });
  const result: NonNullable<MigrationReport['finalMembership']> = { voters };
  if (leader !== undefined) result.leader = leader;
  if (typeof verified.revision === 'number') result.revision = verified.revision;
  if (optStr(verified.hash) !== undefined) result.hash = String(verified.hash);
  return result;
}

/** The migration part of a report. */
export function buildMigrationReport(run: RunHistory, activities: readonly ActivityReport[], context: MigrationContext = {}): MigrationReport {
  const input = obj(run.input);
  const result = obj(run.close?.kind === 'completed' ? run.close.result : undefined);
  const prepared = activities.find((a) => a.type === 'prepareMigration' && a.status === 'completed');
  const rawPlan = (result.plan ?? prepared?.output) as MigrationPlan | undefined;
  const plan = rawPlan && typeof rawPlan === 'object' ? planReport(rawPlan) : undefined;
  const cluster = optStr(input.cluster) ?? optStr(result.cluster) ?? '?';
  const member = plan?.member.name ?? optStr(input.member) ?? '?';
  const dryRun = input.dryRun === true || result.dryRun === true;

  const requestedBy = optStr(input.requestedBy);
  const evidence: EvidenceReport = {
    startedBy: run.parent ? 'monitor' : 'operator',
    reason: optStr(input.reason) ?? 'manual migration',
    triggers: context.trigger?.findings ?? rawPlan?.triggers ?? [],
  };
  if (requestedBy !== undefined) evidence.requestedBy = requestedBy;
  if (run.identity !== undefined) evidence.clientIdentity = run.identity;
  if (context.trigger) {
    evidence.decision = { monitor: context.trigger.monitor, cycle: context.trigger.cycle, summary: context.trigger.summary, ...(context.trigger.observedAt ? { observedAt: context.trigger.observedAt } : {}) };
  }

  const placements = placementAttempts(activities, run.close);
  const placed = placements.find((p) => p.outcome === 'placed');
  const report: MigrationReport = {
    cluster,
    member,
    dryRun,
    evidence,
    placements,
    compensations: activities.filter((a) => a.compensation),
    retried: activities.filter((a) => a.attempts > 1),
    summary: '',
  };
  if (optStr(input.strategy) !== undefined) report.requestedStrategy = String(input.strategy);
  if (optStr(input.targetNode) !== undefined) report.requestedTargetNode = String(input.targetNode);
  if (plan) report.plan = plan;
  const newMember = optStr(result.newMember) ?? placed?.memberName;
  if (newMember !== undefined) report.newMember = newMember;
  const backup = obj(activities.find((a) => a.type === 'backupSnapshot' && a.status === 'completed')?.output ?? result.backup);
  if (typeof backup.path === 'string') {
    report.backup = { path: backup.path, revision: Number(backup.revision), bytes: Number(backup.bytes), sha256: String(backup.sha256), ...(optStr(backup.skipped) !== undefined ? { skipped: String(backup.skipped) } : {}) };
  }
  const verifiedActivity = [...activities].reverse().find((a) => a.type === 'verifyQuorum' && a.status === 'completed');
  const verified = obj(result.verified ?? verifiedActivity?.output);
  if (Array.isArray(verified.voters)) {
    report.finalMembership = finalMembership(verified, plan, placed, context.observations ?? []);
    if (plan) {
      const old = plan.member;
      report.finalMembership.removed = { name: old.name, ...(old.nodeName ? { node: old.nodeName } : {}), ...(old.rack !== undefined ? { rack: old.rack } : {}), ...(old.domain !== undefined ? { domain: old.domain } : {}) };
    }
  }
  const described = [...activities].reverse().find((a) => a.type === 'describeClusterNow' && a.status === 'completed');
  if (described && typeof described.output === 'string') report.clusterAfterFailure = described.output;
  report.summary = migrationSummary(run, report, activities);
  return report;
}

function migrationSummary(run: RunHistory, report: MigrationReport, activities: readonly ActivityReport[]): string {
  const plan = report.plan;
  const move = plan ? `${plan.member.name} from ${plan.from ?? '?'} to ${report.placements.find((p) => p.outcome === 'placed')?.node ?? plan.to}` : report.member;
  const firstFailed = activities.find((a) => !a.compensation && (a.status === 'failed' || a.status === 'timed-out'));
  const compensated = report.compensations.length > 0 ? `; ${report.compensations.length} compensation(s) ran` : '';
  switch (run.close?.kind) {
    case undefined: {
      const current = [...activities].reverse().find((a) => a.status === 'running' || a.status === 'scheduled');
      return `running: ${plan ? `${plan.strategy} ${move}` : 'planning'}${current ? `, now at ${current.step}` : ''}`;
    }
    case 'completed':
      return report.dryRun
        ? `dry run: would move ${plan?.member.name ?? report.member} from ${plan?.from ?? '?'} to ${plan?.to ?? '?'} with ${plan?.strategy ?? '?'}; nothing changed`
        : `moved ${move} as ${report.newMember ?? '?'} (${plan?.strategy ?? '?'})`;
    case 'failed': {
      const why = run.close.failure ? rootOf(run.close.failure) : 'unknown failure';
      return firstFailed ? `failed at ${firstFailed.step} (${firstFailed.type}): ${firstFailed.failure ? rootOf(firstFailed.failure) : why}${compensated}` : `failed: ${why}${compensated}`;
    }
    case 'canceled': {
      const cut = activities.find((a) => a.status === 'canceled' && !a.compensation);
      return `canceled${cut ? ` during ${cut.step}` : ''}${compensated}`;
    }
    case 'terminated':
      return `terminated${run.close.reason ? `: ${run.close.reason}` : ''}; no compensation runs after a termination`;
    case 'timed-out':
      return 'timed out (workflow execution timeout)';
    case 'continued-as-new':
      return `continued as new (run ${run.close.newRunId ?? '?'})`;
  }
}
