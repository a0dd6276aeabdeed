import type { ClusterObservation, MemberObservation } from './observation';
import { successorName } from './naming';
import { choosePlacement, placementRequestFor, refusalReasons, type Candidate, type PlacementResult } from './placement';

export { nextMemberName } from './naming';
export { placementRequestFor, type LeavingMember } from './placement';
import type { Policy, Strategy, StrategyPreference } from './policy';
import { isMemberHealthy, knownLeader, toVoterViews } from './quorum';
import type { Assessment, Finding, FindingKind } from './risk';
import { buildRepairPlan, type RepairPlan } from './repair';
import { buildMaintenancePlan, type MaintenancePlan } from './maintenance';
import { DEFAULT_MAINTENANCE_POLICY, describeWindow, inMaintenanceWindow, nextWindowOpening } from './maintenance-window';
import type { ApprovalRequirement } from './approval';
import { buildSteps, type PlannedStep, type PlannedSuccessor } from './steps';
import { clusterWorkload, kubeadmRunbook, moveModeOf, type MoveMode } from './workload';

export type { PlannedStep, StepName } from './steps';

/** The member a plan moves, as it was when planned. */
export interface PlannedMember {
  id: string;
  name: string;
  podName?: string;
  nodeName?: string;
  rack?: string;
  domain?: string;
  healthy: boolean;
  isLeader: boolean;
}

/** A complete answer to "why move this member, how, and where to". */
export interface MigrationPlan {
  cluster: string;
  member: PlannedMember;
  strategy: Strategy;
  /** Sentences: why the member moves and why this strategy. */
  reasons: string[];
  /** The confirmed findings about the member that triggered the move; empty for a manual migration. */
  triggers: Finding[];
  newMemberName: string;
  /**
   * Other voters that are down when a `replace` is planned. etcd adds no member, not even a learner, while a voter
   * is disconnected, so they are removed right after the member and replaced after its successor, in the same run.
   */
  alsoReplaced: PlannedMember[];
  target: Candidate;
  placement: PlacementResult;
  steps: PlannedStep[];
  createdAt: string;
  /** The cluster's per-call deadline, added by the activity that plans: the workflow's step timeouts grow with it. */
  endpointTimeoutMs?: number;
  /** Why the plan waits for a person, and how long, added by the activity that plans (the cluster's approval rules). */
  needsApproval?: ApprovalRequirement;
}

/** Why the planner did nothing. */
export type NoActionReason = 'healthy' | 'not-actionable' | 'migration-in-flight' | 'cooldown' | 'outside-window';

/** Why the planner wants a person to look. */
export type AlertReason = 'quorum-lost' | 'no-leader' | 'needs-operator' | 'no-feasible-node' | 'quorum-guard' | 'unmovable-workload' | 'nospace' | 'frozen';

/** What the monitor should do after an assessment. */
export type Decision =
  | { kind: 'none'; reason: NoActionReason; summary: string }
  /** Bring the cluster back to its desired voters (a failed migration, a member removed by hand). */
  | { kind: 'repair'; plan: RepairPlan; dryRun: boolean; summary: string }
  /** Compact, defragment and disarm: the space findings' remedy (never at the same time as a migration). */
  | { kind: 'maintain'; plan: MaintenancePlan; dryRun: boolean; summary: string }
  /** `runbook`: what the operator runs (the kubeadm node replacement, for a dead member of a static pod). */
  | { kind: 'alert'; reason: AlertReason; summary: string; findings: Finding[]; runbook?: string[] }
  /**
   * `strategyPreference` is the policy's, for the migration workflow: it plans again from its own fresh
   * observation, and a member that answers again by then is surged, not replaced while healthy. Absent from
   * decisions recorded before it existed (activity results in history, the monitor's carried status).
   */
  | { kind: 'migrate'; plan: MigrationPlan; strategyPreference?: StrategyPreference; dryRun: boolean; summary: string };

/** What the monitor learned of its operation in flight: still running, or closed (when, how). */
export interface TrackedOperation {
  workflowId: string;
  running: boolean;
  status: string;
  closedAt?: string;
}

/**
 * The migration state after tracking the operation in flight: a finished migration, repair or recovery starts the
 * cooldown (from when it closed, else `nowIso`); a finished maintenance moved no member and starts none.
 */
export function afterTracking(state: MigrationState, tracked: TrackedOperation | undefined, nowIso: string): MigrationState {
  const inFlight = state.inFlight;
  if (!inFlight || !tracked || tracked.running || tracked.workflowId !== inFlight.workflowId) return state;
  if (inFlight.operation === 'maintenance') {
    const { inFlight: _ended, ...rest } = state;
    return rest;
  }
  return { lastEndedAt: tracked.closedAt ?? nowIso };
}

/**
 * A decision as the monitor's history keeps it: an intent. A migration's plan keeps its chosen node, not every
 * candidate and refusal (the migration plans again, and its own history has them).
 */
export function decisionIntent(decision: Decision): Decision {
  if (decision.kind !== 'migrate') return decision;
  const { placement } = decision.plan;
  return { ...decision, plan: { ...decision.plan, placement: { ...(placement.chosen ? { chosen: placement.chosen } : {}), candidates: placement.chosen ? [placement.chosen] : [], refused: [], summary: placement.summary } } };
}

/** What the monitor knows of migrations, carried across cycles. */
export interface MigrationState {
  /**
   * The disruptive operation running under the cluster's migration id. `operation: 'maintenance'` for a maintenance
   * (defragmentation, NOSPACE recovery): its end starts no cooldown, since it moved no member.
   */
  inFlight?: { workflowId: string; member: string; operation?: 'maintenance' };
  /** ISO time the last migration ended (successfully or not), for the cooldown. */
  lastEndedAt?: string;
}

/** Why a plan could not be built. `field` names the request field at fault, when one is. */
export interface PlanRefusal {
  code: 'unknown-member' | 'member-is-learner' | 'unknown-target' | 'target-refused' | 'no-feasible-node' | 'quorum-guard' | 'peer-down' | 'static-pod' | 'controller-owned' | 'workload-mismatch';
  field?: 'member' | 'targetNode';
  message: string;
  placement?: PlacementResult;
  /** What the operator runs instead (a static pod's dead member: the kubeadm node replacement). */
  runbook?: string[];
}

/** What to build a plan for. */
export interface PlanRequest {
  observation: ClusterObservation;
  /** Member name or hex id. */
  member: string;
  strategy: StrategyPreference;
  policy: Policy;
  now: Date;
  reasons?: string[];
  triggers?: Finding[];
  targetNode?: string;
  /** Nodes to avoid, with the reason (for example a target that failed in an earlier attempt). */
  excludedNodes?: Readonly<Record<string, string>>;
}

/**
 * Findings that put a member at risk and justify moving it. Not `pod-not-ready`: etcd's readiness follows the
 * cluster's health (/health fails while there is no leader), so every pod turns unready during an election or a
 * quorum outage and stays so for a probe period after; a member that really is down is `member-unreachable`.
 */
export const TRIGGER_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'member-unreachable',
  'member-lagging',
  'slow-fsync',
  'slow-peer-network',
  'node-not-ready',
  'node-cpu-high',
  'node-memory-high',
  'node-pressure',
  'pod-restarting',
]);

/**
 * The strategy for a member: a dead member is always replaced, since adding a voter while one is down would
 * leave the projection below quorum; a live member follows the preference, `auto` meaning surge.
 */
export function resolveStrategy(preference: StrategyPreference, memberHealthy: boolean): { strategy: Strategy; reason: string } {
  if (!memberHealthy) {
    return {
      strategy: 'replace',
      reason:
        preference === 'surge'
          ? 'replace although surge was preferred: the member is down, and adding a voter first would count a dead voter'
          : 'replace: the member is down, so it is removed first and a learner takes its place',
    };
  }
  if (preference === 'replace') return { strategy: 'replace', reason: 'replace, as configured: the member is removed before its successor joins' };
  return { strategy: 'surge', reason: 'surge: the member is alive, so its successor joins and is promoted before it leaves' };
}

function findMember(observation: ClusterObservation, key: string): MemberObservation | undefined {
  return observation.members.find((m) => m.name === key || m.id === key || m.id === key.toLowerCase().replace(/^0x/, ''));
}

/** What a step needs of a planned member. */
function stepMember(m: PlannedMember): { id: string; name: string; podName?: string; nodeName?: string } {
  return { id: m.id, name: m.name, ...(m.podName ? { podName: m.podName } : {}), ...(m.nodeName ? { nodeName: m.nodeName } : {}) };
}

/** A member as a plan records it: where it runs and whether it is healthy and leads. */
function plannedMember(observation: ClusterObservation, member: MemberObservation): PlannedMember {
  const node = member.nodeName ? observation.nodes.find((n) => n.name === member.nodeName) : undefined;
  const planned: PlannedMember = { id: member.id, name: member.name || member.id, healthy: isMemberHealthy(member), isLeader: knownLeader(observation.members)?.id === member.id };
  if (member.podName) planned.podName = member.podName;
  if (member.nodeName) planned.nodeName = member.nodeName;
  if (node?.rack !== undefined) planned.rack = node.rack;
  if (node?.domain !== undefined) planned.domain = node.domain;
  return planned;
}

/**
 * How the member's pod may be moved under the cluster's configured workload: bare pods are deleted and copied, the
 * configured StatefulSet's pods are recreated through it, anything else is refused with the reason. A member whose
 * pod is not seen is judged by the cluster's other pods (its successor would copy one, or be one of the same set).
 */
function moveModeFor(observation: ClusterObservation, member: MemberObservation, policy: Policy): { mode: MoveMode } | { refusal: PlanRefusal } {
  const own = member.podName ? observation.pods.find((p) => p.name === member.podName) : undefined;
  const judged = own ? { workload: own.workload ?? { kind: 'movable' as const }, pod: own.name } : clusterWorkload(observation.pods);
  const mode = moveModeOf(judged.pod ?? member.podName ?? (member.name || member.id), judged.workload, policy.workload);
  if (mode.kind !== 'refused') return { mode };
  const who = member.name || member.id;
  if (mode.code !== 'static-pod') return { refusal: { code: mode.code, field: 'member', message: `cannot move ${who}: ${mode.reason}` } };
  if (isMemberHealthy(member)) {
    return {
      refusal: {
        code: 'static-pod',
        field: 'member',
        message: `cannot move ${who}: ${mode.reason}; it answers, so it stays a member: relieve its node or replace the node by hand (kubeadm reset there, kubeadm join --control-plane on a new one)`,
      },
    };
  }
  const healthy = observation.members.find((m) => m.id !== member.id && !m.isLearner && isMemberHealthy(m));
  const runbook = kubeadmRunbook(observation.cluster, {
    name: who,
    id: member.id,
    ...(member.nodeName ? { nodeName: member.nodeName } : {}),
    ...(healthy?.clientURLs[0] ? { endpoint: healthy.clientURLs[0] } : {}),
  });
  return {
    refusal: {
      code: 'static-pod',
      field: 'member',
      message: `cannot move ${who}: ${mode.reason}; it is down: approve its removal with etcd-guardian repair ${observation.cluster} --approve-removal ${who}, then replace its node`,
      runbook,
    },
  };
}

/** A StatefulSet's member is always replaced, and the plan says why not surged. */
function statefulSetStrategy(statefulSet: string, member: PlannedMember): { strategy: Strategy; reason: string } {
  const pod = member.podName ?? member.name;
  return {
    strategy: 'replace',
    reason: `replace, not surge: pod ${pod} of StatefulSet ${statefulSet} holds the ordinal's name while it exists, so no successor can run beside it; ${member.name} is removed, then StatefulSet ${statefulSet} recreates ${pod} on the chosen node and it joins as a learner`,
  };
}

/**
 * Build the plan to move one member: resolve the strategy, choose the node, and project every step, refusing
 * a plan that would pass through a state below quorum. Pure: the same request always gives the same answer.
 */
export function buildMigrationPlan(request: PlanRequest): { plan: MigrationPlan } | { refusal: PlanRefusal } {
  const { observation, policy } = request;
  const member = findMember(observation, request.member);
  if (!member) {
    const known = observation.members.map((m) => m.name || m.id).sort().join(', ');
    return { refusal: { code: 'unknown-member', field: 'member', message: `member "${request.member}" is not in cluster ${observation.cluster}; members: ${known || 'none'}` } };
  }
  if (member.isLearner) {
    return { refusal: { code: 'member-is-learner', field: 'member', message: `member "${request.member}" is a learner; only voters are migrated (a stuck learner is removed by the migration that added it)` } };
  }
  const nodes = new Map(observation.nodes.map((n) => [n.name, n]));
  const planned = plannedMember(observation, member);
  const movable = moveModeFor(observation, member, policy);
  if ('refusal' in movable) return { refusal: movable.refusal };
  const statefulSet = movable.mode.kind === 'statefulset' ? { name: movable.mode.statefulSet, volumeClaimTemplate: movable.mode.volumeClaimTemplate } : undefined;

  const placementRequest = placementRequestFor(observation, { memberId: member.id, name: planned.name, ...(member.nodeName ? { nodeName: member.nodeName } : {}) }, policy, request.excludedNodes);
  const placement = choosePlacement(placementRequest);
  let target = placement.chosen;
  if (request.targetNode !== undefined) {
    const node = nodes.get(request.targetNode);
    if (!node) {
      return { refusal: { code: 'unknown-target', field: 'targetNode', message: `targetNode "${request.targetNode}" is not a node of the cluster; nodes: ${[...nodes.keys()].sort().join(', ')}` } };
    }
    const reasons = refusalReasons(node, placementRequest);
    if (reasons.length > 0) {
      return { refusal: { code: 'target-refused', field: 'targetNode', message: `targetNode "${request.targetNode}" cannot host a member: ${reasons.join('; ')}`, placement } };
    }
    target = placement.candidates.find((c) => c.node === request.targetNode);
  }
  if (!target) {
    return { refusal: { code: 'no-feasible-node', message: `cannot move ${planned.name}: ${placement.summary}`, placement } };
  }

  const { strategy, reason: strategyReason } = statefulSet ? statefulSetStrategy(statefulSet.name, planned) : resolveStrategy(request.strategy, planned.healthy);
  const othersDown = observation.members
    .filter((m) => m.id !== member.id && !m.isLearner && !isMemberHealthy(m))
    .map((m) => plannedMember(observation, m));
  if (strategy === 'surge' && othersDown.length > 0) {
    const names = othersDown.map((m) => m.name).join(', ');
    return {
      refusal: {
        code: 'peer-down',
        message: `cannot surge ${planned.name}: etcd adds no member while voter ${names} is down; migrate ${names} first (a replace removes every voter that is down and replaces each)`,
        placement,
      },
    };
  }
  const also = strategy === 'replace' ? othersDown : [];
  const taken = [...observation.members.map((m) => m.name), ...observation.pods.map((p) => p.name)];
  const naming = (leaving: string, given: readonly string[]) =>
    successorName({ strategy, leaving, prefix: policy.memberNamePrefix, taken: [...taken, ...given], ...(policy.addressingMode ? { addressing: policy.addressingMode } : {}) });
  // A StatefulSet's successor takes over its member's ordinal: the same pod name, so the same member name.
  const mainName = statefulSet
    ? { name: planned.podName ?? planned.name, reused: true, why: `StatefulSet ${statefulSet.name} recreates the ordinal's pod under its own name` }
    : naming(member.name, []);
  const newMemberName = mainName.name;
  const successors: PlannedSuccessor[] = [
    { slot: 'main', leaving: stepMember(planned), newName: newMemberName, plannedNode: target.node, ...(request.targetNode !== undefined ? { targetNode: request.targetNode } : {}) },
  ];
  for (const other of also) {
    // The name as etcd knows it: a member that never started has none (its plan shows its id), so none to reuse.
    const { name } = statefulSet
      ? { name: other.podName ?? other.name }
      : naming(observation.members.find((m) => m.id === other.id)?.name ?? '', successors.map((s) => s.newName));
    successors.push({ slot: `also-${other.name}`, leaving: stepMember(other), newName: name, plannedNode: '(chosen when it runs)' });
  }
  const voters = observation.members.filter((m) => !m.isLearner).length;
  const dbSizeBytes = Math.max(0, ...observation.members.map((m) => m.status.dbSizeBytes ?? 0));
  const projected = buildSteps(toVoterViews(observation.members), {
    strategy,
    member: planned,
    alsoReplaced: also,
    successors,
    expectedVoters: voters,
    budgets: { dbSizeBytes },
    // Replaced because it looked down (not because the operator asked for a replace): if it answers when its
    // removal comes, one failed status call made it look dead, and the migration is planned again.
    replanIfAnswers: strategy === 'replace' && !planned.healthy && request.strategy !== 'replace',
    ...(statefulSet ? { statefulSet } : {}),
  });
  if ('refusal' in projected) {
    return { refusal: { code: 'quorum-guard', message: `cannot move ${planned.name} with ${strategy}: ${projected.refusal}`, placement } };
  }
  return {
    plan: {
      cluster: observation.cluster,
      member: planned,
      strategy,
      reasons: [
        ...(request.reasons ?? []),
        strategyReason,
        `target ${target.node}: ${target.reason}`,
        ...(mainName.reused ? [`successor named ${newMemberName}: ${mainName.why}`] : []),
        ...(also.length > 0 ? [`also replaced, being down too: ${also.map((m) => m.name).join(', ')} (etcd adds no member while a voter is disconnected)`] : []),
      ],
      triggers: request.triggers ?? [],
      newMemberName,
      alsoReplaced: also,
      target,
      placement,
      steps: projected.steps,
      createdAt: request.now.toISOString(),
    },
  };
}

function atRiskMembers(observation: ClusterObservation, assessment: Assessment): { member: MemberObservation; triggers: Finding[] }[] {
  const byMember = new Map<string, Finding[]>();
  for (const f of assessment.findings) {
    if (!f.confirmed || !f.memberId || !TRIGGER_KINDS.has(f.kind)) continue;
    byMember.set(f.memberId, [...(byMember.get(f.memberId) ?? []), f]);
  }
  const result: { member: MemberObservation; triggers: Finding[]; dead: boolean; critical: number }[] = [];
  for (const member of observation.members) {
    const triggers = byMember.get(member.id);
    if (!triggers || member.isLearner) continue;
    result.push({ member, triggers, dead: !isMemberHealthy(member), critical: triggers.filter((f) => f.severity === 'critical').length });
  }
  // Dead members first: they already cost fault tolerance. Then the most critical, the most findings, the name.
  result.sort(
    (a, b) =>
      Number(b.dead) - Number(a.dead) ||
      b.critical - a.critical ||
      b.triggers.length - a.triggers.length ||
      (a.member.name < b.member.name ? -1 : a.member.name > b.member.name ? 1 : 0),
  );
  return result;
}

/**
 * Decide what to do after an assessment: nothing, alert a person, or migrate one member. Never a destructive
 * step without quorum or a leader; at most one migration per cluster, and none during the cooldown but of a dead voter.
 */
export function planMigration(
  observation: ClusterObservation,
  assessment: Assessment,
  policy: Policy,
  state: MigrationState,
  now: Date,
): Decision {
  const confirmed = assessment.findings.filter((f) => f.confirmed && f.severity !== 'info');
  const quorumLost = confirmed.filter((f) => f.kind === 'quorum-lost');
  if (!assessment.quorum.hasQuorum && quorumLost.length === 0) {
    // Not yet confirmed (an election, a slow sample): nothing destructive is ever planned without quorum, and no
    // one is paged until it holds.
    return { kind: 'none', reason: 'not-actionable', summary: `quorum not seen in this sample (${assessment.quorum.healthyVoters}/${assessment.quorum.voters} healthy voters); watching before alerting` };
  }
  if (quorumLost.length > 0) {
    return {
      kind: 'alert',
      reason: 'quorum-lost',
      summary: `quorum lost (${assessment.quorum.healthyVoters}/${assessment.quorum.voters} healthy, ${assessment.quorum.quorum} needed): no destructive step is safe; restore members or recover from a snapshot by hand`,
      findings: confirmed,
    };
  }
  const noLeader = confirmed.filter((f) => f.kind === 'no-leader');
  if (noLeader.length > 0) {
    return { kind: 'alert', reason: 'no-leader', summary: 'no leader although quorum seems present: membership changes need a leader, so the guardian waits', findings: noLeader };
  }
  const atRisk = atRiskMembers(observation, assessment);
  const first = atRisk[0];
  if (!first) {
    // A replace is one voter short until its successor is promoted, a surge one long until the member leaves: the
    // migration in flight is the repair, so a voter count off by its own doing pages no one.
    const inFlight = state.inFlight;
    const expected = inFlight ? confirmed.filter((f) => f.kind === 'membership-short' || f.kind === 'membership-long') : [];
    const critical = confirmed.filter((f) => f.severity === 'critical' && !expected.includes(f));
    // Short of voters, and nothing running that would restore them: add the missing ones. A cluster with too many
    // is only reported; removing a voter is an operator's call (`etcd-guardian repair`).
    const short = confirmed.find((f) => f.kind === 'membership-short');
    if (short && !inFlight) {
      const repair = buildRepairPlan(observation, policy, now);
      if ('plan' in repair && repair.plan.kind !== 'shrink') {
        return { kind: 'repair', plan: repair.plan, dryRun: policy.dryRun, summary: `${policy.dryRun ? '[dry run] ' : ''}repair ${observation.cluster}: ${repair.plan.reasons.join('; ')}` };
      }
      if ('refusal' in repair && (repair.refusal.code === 'static-pod' || repair.refusal.code === 'controller-owned')) {
        return { kind: 'alert', reason: 'unmovable-workload', summary: `needs an operator: ${short.message}; ${repair.refusal.message}`, findings: critical.length > 0 ? critical : [short] };
      }
    }
    const maintenance = maintenanceDecision(observation, assessment, policy, state, now);
    if (maintenance) return maintenance;
    if (critical.length > 0) {
      return { kind: 'alert', reason: 'needs-operator', summary: `needs an operator: ${critical.map((f) => f.message).join('; ')}`, findings: critical };
    }
    if (inFlight && expected.length > 0) {
      return {
        kind: 'none',
        reason: 'migration-in-flight',
        summary: `migration ${inFlight.workflowId} of ${inFlight.member} is still running and changes the voter count on its way: ${expected.map((f) => f.message).join('; ')}`,
      };
    }
    if (confirmed.length > 0) {
      const counts = new Map<string, number>();
      for (const f of confirmed) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
      const watching = [...counts].map(([kind, n]) => (n > 1 ? `${kind} x${n}` : kind)).join(', ');
      return { kind: 'none', reason: 'not-actionable', summary: `no member to move; watching: ${watching}` };
    }
    return { kind: 'none', reason: 'healthy', summary: assessment.summary };
  }
  const who = first.member.name || first.member.id;
  if (state.inFlight) {
    return { kind: 'none', reason: 'migration-in-flight', summary: `${who} is at risk, but migration ${state.inFlight.workflowId} of ${state.inFlight.member} is still running` };
  }
  const cooldownLeftMs = state.lastEndedAt === undefined ? 0 : Date.parse(state.lastEndedAt) + policy.cooldownMs - now.getTime();
  const cooldownSeconds = Math.ceil(cooldownLeftMs / 1000);
  // The cooldown spaces out moves of live members. A dead voter already costs fault tolerance: waiting would leave
  // a second failure fatal for the whole cooldown, so it is replaced at once whenever the quorum guard allows it.
  const dead = !isMemberHealthy(first.member);
  if (cooldownLeftMs > 0 && !dead) {
    return { kind: 'none', reason: 'cooldown', summary: `${who} is at risk, but the cooldown after the last migration has ${cooldownSeconds}s left` };
  }
  const built = buildMigrationPlan({
    observation,
    member: first.member.id,
    strategy: policy.strategy,
    policy,
    now,
    reasons: first.triggers.map((f) => f.message),
    triggers: first.triggers,
  });
  if ('refusal' in built && built.refusal.code === 'peer-down') {
    // Another voter is down but not yet confirmed: once it is, it comes first and is replaced, then this one.
    return { kind: 'none', reason: 'not-actionable', summary: `${who} is at risk but waits: ${built.refusal.message}` };
  }
  if ('refusal' in built && (built.refusal.code === 'static-pod' || built.refusal.code === 'controller-owned' || built.refusal.code === 'workload-mismatch')) {
    // Findings stay reported and the monitor keeps watching; the guardian touches no pod of such a member.
    return {
      kind: 'alert',
      reason: 'unmovable-workload',
      summary: `${who} is at risk (${first.triggers.map((f) => f.kind).join(', ')}) but the guardian will not move it: ${built.refusal.message.replace(/^cannot move [^:]+: /, '')}`,
      findings: first.triggers,
      ...(built.refusal.runbook ? { runbook: built.refusal.runbook } : {}),
    };
  }
  if ('refusal' in built) {
    const reason: AlertReason = built.refusal.code === 'quorum-guard' ? 'quorum-guard' : 'no-feasible-node';
    return { kind: 'alert', reason, summary: `${who} is at risk but cannot be moved: ${built.refusal.message}`, findings: first.triggers };
  }
  const { plan } = built;
  const cooldownNote = cooldownLeftMs > 0 ? ` (a dead voter is not held back by the cooldown, ${cooldownSeconds}s left)` : '';
  return {
    kind: 'migrate',
    plan,
    strategyPreference: policy.strategy,
    dryRun: policy.dryRun,
    summary: `${policy.dryRun ? '[dry run] ' : ''}migrate ${plan.member.name} from ${plan.member.nodeName ?? '?'} to ${plan.target.node} with ${plan.strategy}: ${first.triggers.map((f) => f.kind).join(', ')}${cooldownNote}`,
  };
}

/** The etcd runbook for NOSPACE, for an operator when the guardian may not run it itself. */
export const NOSPACE_RUNBOOK = [
  'etcdctl endpoint status -w table   # DB SIZE of every member against its quota',
  'rev=$(etcdctl endpoint status --write-out=json | grep -o \'"revision":[0-9]*\' | head -1 | cut -d: -f2)',
  'etcdctl compact "$rev" --physical',
  'etcdctl defrag --endpoints=<one member at a time, the leader last>',
  'etcdctl alarm disarm',
];

/**
 * Maintenance the space findings call for, when nothing else comes first: a NOSPACE recovery at any time, a
 * defragmentation of fragmented members inside the cluster's windows. Undefined when no space finding is confirmed
 * (or automatic maintenance is off and nothing is critical), so that the planner's other answers stand.
 */
export function maintenanceDecision(
  observation: ClusterObservation,
  assessment: Assessment,
  policy: Policy,
  state: MigrationState,
  now: Date,
): Decision | undefined {
  const confirmed = assessment.findings.filter((f) => f.confirmed);
  const nospace = confirmed.find((f) => f.kind === 'nospace-alarm');
  const fragmented = confirmed.filter((f) => f.kind === 'db-fragmented');
  if (!nospace && fragmented.length === 0) return undefined;
  const maintenance = policy.maintenance ?? DEFAULT_MAINTENANCE_POLICY;
  if (!maintenance.auto) {
    if (!nospace) return undefined;
    return { kind: 'alert', reason: 'nospace', summary: `${nospace.message}; automatic maintenance is off for ${observation.cluster} (maintenance.auto): recover by hand or run etcd-guardian maintain ${observation.cluster}`, findings: [nospace], runbook: NOSPACE_RUNBOOK };
  }
  if (state.inFlight) {
    return { kind: 'none', reason: 'migration-in-flight', summary: `${nospace ? 'NOSPACE' : 'fragmentation'} waits: ${state.inFlight.workflowId} (${state.inFlight.member}) is still running, and one disruptive operation runs at a time` };
  }
  if (!nospace && !inMaintenanceWindow(maintenance.windows, now)) {
    const next = nextWindowOpening(maintenance.windows, now);
    return {
      kind: 'none',
      reason: 'outside-window',
      summary: `${fragmented.map((f) => f.member ?? '?').join(', ')} fragmented; defragmentation waits for a maintenance window (${maintenance.windows.map(describeWindow).join('; ')}${next ? `, next at ${next.toISOString()}` : ''})`,
    };
  }
  const built = buildMaintenancePlan(observation, policy, nospace ? { mode: 'nospace', reason: nospace.message } : { mode: 'defragment', members: fragmented.map((f) => f.member ?? ''), reason: fragmented.map((f) => f.message).join('; ') }, now);
  if ('refusal' in built) {
    if (nospace) return { kind: 'alert', reason: 'nospace', summary: `${nospace.message}; the guardian cannot recover it now: ${built.refusal.message}`, findings: [nospace], runbook: NOSPACE_RUNBOOK };
    return { kind: 'none', reason: 'not-actionable', summary: `fragmentation waits: ${built.refusal.message}` };
  }
  const { plan } = built;
  return {
    kind: 'maintain',
    plan,
    dryRun: policy.dryRun,
    summary: `${policy.dryRun ? '[dry run] ' : ''}${plan.mode === 'nospace' ? 'recover from NOSPACE' : 'defragment'} ${observation.cluster}: ${plan.reasons.join('; ')}`,
  };
}
