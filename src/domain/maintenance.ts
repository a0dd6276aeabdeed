import type { ApprovalRequirement } from './approval';
import { DEFAULT_MAINTENANCE_POLICY } from './maintenance-window';
import { plainCause } from './messages';
import type { ClusterObservation, MemberObservation } from './observation';
import type { Policy } from './policy';
import { isMemberHealthy, knownLeader, quorumState, toVoterViews } from './quorum';
import { memberLabel as label } from './risk';
import { DEFAULT_SPACE_POLICY, formatBytes, fragmentation, isFragmented, memberQuotaBytes, nospaceMembers, type SpacePolicy } from './space';
import type { StepMember } from './steps';

/**
 * Maintenance of a cluster's space, planned here and executed by the maintenance workflow step by step, the way a
 * migration's plan is: the dry run, the `progress` query, the CLI and the report print this same list.
 *
 * - `defragment`: defragment members one at a time, followers first and the leader last (leadership moved off it
 *   first), with a health gate after each (every voter healthy, the member caught up) and a pause between them.
 * - `nospace`: compact to the current revision, defragment every member as above (without the pause: the cluster refuses
 *   writes until the last one is done), disarm the NOSPACE alarm once every database is below 90 % of its quota, then
 *   prove that a write succeeds.
 *
 * A defragmentation blocks the member while it rewrites its database: never with a voter down, never without
 * fault tolerance.
 */

/** What a maintenance does. */
export type MaintenanceMode = 'defragment' | 'nospace';

/** The steps of a maintenance, as the history and the report name them. */
export type MaintenanceStepName = 'compact' | 'move-leader' | 'defragment' | 'disarm-alarm' | 'verify-write';

/** Share of the quota every database must be below before the NOSPACE alarm is disarmed (etcd would raise it again). */
export const DISARM_BELOW_QUOTA = 0.9;

/** What each step needs to run. */
export interface MaintenanceStepArgs {
  /** Compact the keyspace's history up to the revision current when the step runs. */
  compact: Record<string, never>;
  /** Hand leadership away from `member` before it is defragmented; a no-op when it no longer leads. */
  'move-leader': { member: StepMember };
  /**
   * Defragment `member` after a guarded fresh look (every voter healthy), then wait until it answers and has caught
   * up; `pauseAfterMs` of quiet follow before the next member.
   */
  defragment: { member: StepMember; learner: boolean; budgetMs: number; pauseAfterMs: number };
  /** Disarm the NOSPACE alarms once every database is below `belowRatio` of its quota. */
  'disarm-alarm': { belowRatio: number };
  /** Write a probe key: the cluster accepts writes again. */
  'verify-write': Record<string, never>;
}

/** One planned step. */
export type MaintenanceStep = {
  [K in MaintenanceStepName]: { step: K; args: MaintenanceStepArgs[K]; description: string; guard: string };
}[MaintenanceStepName];

/** One member's database when planned. */
export interface MemberSpaceBefore {
  member: string;
  dbSizeBytes?: number;
  dbSizeInUseBytes?: number;
  quotaBytes: number;
}

/** A maintenance's program. */
export interface MaintenancePlan {
  cluster: string;
  mode: MaintenanceMode;
  /** Sentences: why this maintenance, and why these members. */
  reasons: string[];
  steps: MaintenanceStep[];
  /** Members left out, and why. */
  skipped: { member: string; reason: string }[];
  before: MemberSpaceBefore[];
  createdAt: string;
  /** The cluster's per-call deadline, added by the activity that plans. */
  endpointTimeoutMs?: number;
  /** Why the plan waits for a person, and how long (the cluster's approval rules), added by the activity that plans. */
  needsApproval?: ApprovalRequirement;
}

/** What an operator or the monitor asks for. */
export interface MaintenanceRequest {
  /** `auto`: `nospace` when a NOSPACE alarm is raised, else `defragment`. */
  mode: MaintenanceMode | 'auto';
  /** Only these members, by name (a defragmentation); absent: every fragmented member, or all for NOSPACE. */
  members?: readonly string[];
  /** Defragment every member, fragmented or not. */
  all?: boolean;
  /** Why, in one sentence (the findings, or the operator's words). */
  reason?: string;
}

/** Why no plan was made. `field` names the request field at fault, when one is. */
export interface MaintenanceRefusal {
  code: 'membership-unknown' | 'alarms-unknown' | 'quorum-lost' | 'no-leader' | 'voter-unhealthy' | 'no-fault-tolerance' | 'unknown-member' | 'no-alarm' | 'nothing-to-do';
  field?: 'members' | 'mode';
  message: string;
}

/**
 * How long one member's defragmentation may take, with its catch-up: 30 s, plus the database rewritten at a
 * pessimistic 10 MB/s (bbolt copies every live page into a new file).
 */
export function defragBudgetMs(dbSizeBytes: number): number {
  return 30_000 + Math.ceil(dbSizeBytes / (10 * 1024 * 1024)) * 1000;
}

function stepMember(m: MemberObservation): StepMember {
  return { id: m.id, name: label(m), ...(m.podName ? { podName: m.podName } : {}), ...(m.nodeName ? { nodeName: m.nodeName } : {}) };
}

/** Learners first (they do not vote), then followers by name, the leader last. */
function defragOrder(members: readonly MemberObservation[], leaderId: string | undefined): MemberObservation[] {
  const rank = (m: MemberObservation): number => (m.isLearner ? 0 : m.id === leaderId ? 2 : 1);
  return [...members].sort((a, b) => rank(a) - rank(b) || (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0));
}

/** Plan a maintenance of the observed cluster, or say why none may run now. */
export function buildMaintenancePlan(
  obs: ClusterObservation,
  policy: Policy,
  request: MaintenanceRequest,
  now: Date,
): { plan: MaintenancePlan } | { refusal: MaintenanceRefusal } {
  const space = policy.space ?? DEFAULT_SPACE_POLICY;
  const pauseMs = (policy.maintenance ?? DEFAULT_MAINTENANCE_POLICY).pauseBetweenMembersMs;
  const cluster = obs.cluster;
  if (obs.membershipUnknown) {
    return { refusal: { code: 'membership-unknown', message: `the member list of ${cluster} cannot be read (${obs.membershipUnknown}): no maintenance on an unknown membership` } };
  }
  const raised = nospaceMembers(obs);
  // Unknown is not absent: without the alarm list, "no NOSPACE" would be a guess, and `auto` would pick the wrong remedy.
  if (raised.length === 0 && request.mode !== 'defragment' && obs.missingSignals.includes('alarms')) {
    return { refusal: { code: 'alarms-unknown', message: `the alarm list of ${cluster} could not be read: whether NOSPACE is raised is unknown` } };
  }
  const mode: MaintenanceMode = request.mode === 'auto' ? (raised.length > 0 ? 'nospace' : 'defragment') : request.mode;
  if (mode === 'nospace' && raised.length === 0) {
    return { refusal: { code: 'no-alarm', field: 'mode', message: `no NOSPACE alarm is raised on ${cluster}: nothing to recover; ask for mode "defragment" to return free pages` } };
  }
  const quorum = quorumState(toVoterViews(obs.members));
  if (!quorum.hasQuorum) {
    return { refusal: { code: 'quorum-lost', message: `${cluster} has lost quorum (${quorum.healthyVoters}/${quorum.voters} healthy voters): maintenance needs a working cluster; recover it first` } };
  }
  const leader = knownLeader(obs.members);
  if (!leader) return { refusal: { code: 'no-leader', message: `${cluster} has no leader: compaction, defragmentation and alarms need one; waiting for an election` } };
  const voters = obs.members.filter((m) => !m.isLearner);
  const down = voters.filter((m) => !isMemberHealthy(m));
  if (down.length > 0) {
    return {
      refusal: {
        code: 'voter-unhealthy',
        message: `${down.map(label).join(', ')} ${down.length === 1 ? 'is' : 'are'} not healthy: defragmenting another member would leave ${cluster} with ${Math.max(0, quorum.faultTolerance - 1)} failures to spare or fewer; the member is replaced first`,
      },
    };
  }
  if (quorum.faultTolerance < 1) {
    return {
      refusal: {
        code: 'no-fault-tolerance',
        message: `${cluster} has no fault tolerance (${quorum.healthyVoters} healthy voters, quorum ${quorum.quorum}): a member being defragmented stops serving, and the cluster with it`,
      },
    };
  }
  const named = request.members ?? [];
  const unknown = named.filter((n) => !obs.members.some((m) => label(m) === n));
  if (unknown.length > 0) {
    return {
      refusal: {
        code: 'unknown-member',
        field: 'members',
        message: `no member named ${unknown.map((n) => JSON.stringify(n)).join(', ')} in ${cluster}; members: ${obs.members.map(label).sort().join(', ')}`,
      },
    };
  }

  const skipped: MaintenancePlan['skipped'] = [];
  const targets: MemberObservation[] = [];
  for (const m of obs.members) {
    const name = label(m);
    if (named.length > 0 && !named.includes(name)) continue;
    if (!m.status.reachable) {
      skipped.push({ member: name, reason: `does not answer (${plainCause(m.status.error)})` });
      continue;
    }
    if (mode === 'defragment' && !request.all && named.length === 0 && !isFragmented(m, space)) {
      const f = fragmentation(m);
      skipped.push({
        member: name,
        reason: f
          ? `not fragmented: ${formatBytes(f.inUse)} of ${formatBytes(f.total)} in use (${(f.inUseRatio * 100).toFixed(1)}%; threshold ${Math.round(space.fragmentedRatio * 100)}% of at least ${formatBytes(space.fragmentedMinBytes)})`
          : 'reports no database sizes',
      });
      continue;
    }
    targets.push(m);
  }
  if (targets.length === 0) {
    return { refusal: { code: 'nothing-to-do', message: `nothing to defragment in ${cluster}: ${skipped.map((s) => `${s.member} ${s.reason}`).join('; ') || 'no member selected'}` } };
  }

  const ordered = defragOrder(targets, leader.id);
  const steps: MaintenanceStep[] = [];
  if (mode === 'nospace') {
    steps.push({
      step: 'compact',
      args: {},
      description: `compact ${cluster}'s history up to its current revision (frees the pages of old revisions)`,
      guard: 'quorum and a leader',
    });
  }
  ordered.forEach((m, i) => {
    const member = stepMember(m);
    if (m.id === leader.id && voters.length > 1) {
      steps.push({
        step: 'move-leader',
        args: { member },
        description: `move leadership off ${member.name} before its defragmentation`,
        guard: 'a healthy voter to take it',
      });
    }
    // A NOSPACE cluster refuses writes until the last member is done: no pause, the health gate is enough.
    const last = i === ordered.length - 1 || mode === 'nospace';
    steps.push({
      step: 'defragment',
      args: { member, learner: m.isLearner, budgetMs: defragBudgetMs(m.status.dbSizeBytes ?? 0), pauseAfterMs: last ? 0 : pauseMs },
      description: `defragment ${member.name}${m.isLearner ? ' (learner)' : ''}${m.status.dbSizeBytes !== undefined ? ` (${formatBytes(m.status.dbSizeBytes)})` : ''}, then wait until it has caught up${last || pauseMs === 0 ? '' : ` and ${Math.round(pauseMs / 1000)}s more`}`,
      guard: 'every voter healthy; the cluster keeps quorum without this member',
    });
  });
  if (mode === 'nospace') {
    steps.push({
      step: 'disarm-alarm',
      args: { belowRatio: DISARM_BELOW_QUOTA },
      description: `disarm the NOSPACE alarm of ${raised.map(label).join(', ')} once every database is below ${DISARM_BELOW_QUOTA * 100}% of its quota`,
      guard: 'every database below the threshold',
    });
    steps.push({ step: 'verify-write', args: {}, description: `write a probe key: ${cluster} accepts writes again`, guard: 'none' });
  }

  const reasons = [
    request.reason ??
      (mode === 'nospace'
        ? `NOSPACE alarm raised by ${raised.map(label).join(', ')}: etcd refuses writes`
        : `fragmented: ${ordered.map((m) => label(m)).join(', ')}`),
    `${mode === 'nospace' ? 'compact, then defragment' : 'defragment'} ${ordered.map(label).join(', ')} one at a time, ${ordered.some((m) => m.id === leader.id) ? `leader ${label(leader)} last` : 'followers only'}`,
  ];
  return {
    plan: {
      cluster,
      mode,
      reasons,
      steps,
      skipped,
      before: obs.members.map((m) => ({
        member: label(m),
        ...(m.status.dbSizeBytes !== undefined ? { dbSizeBytes: m.status.dbSizeBytes } : {}),
        ...(m.status.dbSizeInUseBytes !== undefined ? { dbSizeInUseBytes: m.status.dbSizeInUseBytes } : {}),
        quotaBytes: memberQuotaBytes(m, space),
      })),
      createdAt: now.toISOString(),
    },
  };
}

/**
 * Why `member` may not be taken out of service now, or undefined when it may: every voter must be healthy, and the
 * cluster must keep quorum without it (a learner does not vote). A voter down is the migration's business.
 */
export function defragBlocker(obs: ClusterObservation, member: MemberObservation): string | undefined {
  const down = obs.members.filter((m) => !m.isLearner && !isMemberHealthy(m));
  if (down.length > 0) return `${down.map((m) => `${label(m)} (${m.status.error !== undefined ? plainCause(m.status.error) : 'no leader'})`).join(', ')} not healthy; the monitor replaces it first`;
  const quorum = quorumState(toVoterViews(obs.members));
  if (!member.isLearner && quorum.faultTolerance < 1) return `no fault tolerance (${quorum.healthyVoters} healthy voters, quorum ${quorum.quorum})`;
  return undefined;
}

/** Members whose database is still at or above `belowRatio` of their quota: disarming NOSPACE would not hold. */
export function stillFull(obs: ClusterObservation, space: SpacePolicy, belowRatio: number): MemberObservation[] {
  return obs.members.filter((m) => m.status.dbSizeBytes !== undefined && m.status.dbSizeBytes >= belowRatio * memberQuotaBytes(m, space));
}
