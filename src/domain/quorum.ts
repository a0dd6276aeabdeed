import type { MemberObservation } from './observation';

/** The least a projection needs to know of a member. */
export interface VoterView {
  id: string;
  name: string;
  isLearner: boolean;
  /** Answers and takes part in Raft. A member whose health is not yet proven counts as unhealthy. */
  healthy: boolean;
}

/** Voting arithmetic of a cluster at one moment. */
export interface QuorumState {
  voters: number;
  healthyVoters: number;
  learners: number;
  /** floor(voters / 2) + 1. */
  quorum: number;
  /** Healthy voters that may still fail before quorum is lost; negative when quorum is already lost. */
  faultTolerance: number;
  hasQuorum: boolean;
}

/** A membership change whose effect the guardian projects before making it. */
export type MembershipChange =
  | { kind: 'remove-member'; memberId: string }
  | { kind: 'stop-member'; memberId: string }
  | { kind: 'add-learner'; memberId: string; name: string }
  /** `observedHealthy`: the learner answers and has caught up, so it votes as soon as it is promoted. */
  | { kind: 'promote-learner'; memberId: string; observedHealthy?: boolean }
  | { kind: 'mark-healthy'; memberId: string };

/** Whether a change keeps quorum, with the states before and after and a sentence saying why. */
export interface ProjectionVerdict {
  allowed: boolean;
  reason: string;
  before: QuorumState;
  after: QuorumState;
  /** The membership after the change, for chaining projections. */
  members: VoterView[];
}

/** Votes needed for a decision among `voters` voting members. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** A member is a healthy voter-to-be when it answers and (if it reports it) knows a leader. */
export function isMemberHealthy(member: MemberObservation): boolean {
  return member.status.reachable && member.status.hasLeader !== false;
}

/** Reduce observed members to what quorum arithmetic needs. */
export function toVoterViews(members: readonly MemberObservation[]): VoterView[] {
  return members.map((m) => ({ id: m.id, name: m.name, isLearner: m.isLearner, healthy: isMemberHealthy(m) }));
}

/** Count voters, healthy voters and learners, and derive quorum and fault tolerance. */
export function quorumState(members: readonly VoterView[]): QuorumState {
  const voters = members.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => m.healthy).length;
  const quorum = quorumSize(voters.length);
  return {
    voters: voters.length,
    healthyVoters,
    learners: members.length - voters.length,
    quorum,
    faultTolerance: healthyVoters - quorum,
    hasQuorum: voters.length > 0 && healthyVoters >= quorum,
  };
}

function describe(state: QuorumState): string {
  return `${state.healthyVoters}/${state.voters} healthy voters, quorum ${state.quorum}`;
}

/**
 * Project the cluster after one membership change, assuming the worst: a member that joins or is promoted is not
 * healthy until observed so, and a stopped member stops voting at once. The change is allowed only when the
 * projected cluster still has at least quorum healthy voters.
 */
export function projectChange(members: readonly VoterView[], change: MembershipChange): ProjectionVerdict {
  const before = quorumState(members);
  const target = members.find((m) => m.id === change.memberId);
  let after: VoterView[];
  switch (change.kind) {
    case 'remove-member':
      after = members.filter((m) => m.id !== change.memberId);
      break;
    case 'stop-member':
      after = members.map((m) => (m.id === change.memberId ? { ...m, healthy: false } : m));
      break;
    case 'add-learner':
      after = target ? [...members] : [...members, { id: change.memberId, name: change.name, isLearner: true, healthy: false }];
      break;
    case 'promote-learner':
      after = members.map((m) => (m.id === change.memberId ? { ...m, isLearner: false, healthy: change.observedHealthy === true } : m));
      break;
    case 'mark-healthy':
      after = members.map((m) => (m.id === change.memberId ? { ...m, healthy: true } : m));
      break;
  }
  const afterState = quorumState(after);
  const verdict = (allowed: boolean, reason: string): ProjectionVerdict => ({
    allowed,
    reason,
    before,
    after: afterState,
    members: after,
  });

  if (change.kind !== 'add-learner' && change.kind !== 'mark-healthy' && !target) {
    return verdict(false, `member ${change.memberId} is not in the cluster (${describe(before)})`);
  }
  if (change.kind === 'promote-learner' && target && !target.isLearner) {
    return verdict(false, `member ${target.name || target.id} is already a voter`);
  }
  const label = target?.name || change.memberId;
  // A membership change is a Raft proposal: without a quorum now it never commits, whatever it would leave.
  if ((change.kind === 'remove-member' || change.kind === 'add-learner' || change.kind === 'promote-learner') && !before.hasQuorum) {
    return verdict(false, `${change.kind} ${label} needs a quorum to commit and there is none: ${describe(before)}`);
  }
  if (!afterState.hasQuorum) {
    return verdict(
      false,
      `${change.kind} ${label} would leave ${describe(afterState)}: below quorum (now ${describe(before)})`,
    );
  }
  return verdict(true, `${change.kind} keeps ${describe(afterState)}, fault tolerance ${afterState.faultTolerance}`);
}

/** Project a sequence of changes; stops at the first one that would break quorum. */
export function projectSequence(
  members: readonly VoterView[],
  changes: readonly MembershipChange[],
): { allowed: boolean; verdicts: ProjectionVerdict[] } {
  const verdicts: ProjectionVerdict[] = [];
  let current: readonly VoterView[] = members;
  for (const change of changes) {
    const verdict = projectChange(current, change);
    verdicts.push(verdict);
    if (!verdict.allowed) return { allowed: false, verdicts };
    current = verdict.members;
  }
  return { allowed: true, verdicts };
}

/**
 * The leader most reachable members agree on (ties broken by id), or undefined when none knows one. Members that
 * report having no leader are not counted, whatever stale leader id they still carry.
 */
export function knownLeader<M extends MemberObservation>(members: readonly M[]): M | undefined {
  const votes = new Map<string, number>();
  for (const m of members) {
    const leader = m.status.leaderId;
    if (m.status.reachable && leader && leader !== '0' && m.status.hasLeader !== false) {
      votes.set(leader, (votes.get(leader) ?? 0) + 1);
    }
  }
  const best = [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  return best ? members.find((m) => m.id === best[0]) : undefined;
}

/**
 * A learner etcd would promote: it answers and its applied index is at least 90 % of the leader's (etcd's own
 * "in sync" rule), so it votes as soon as it is a voter.
 */
export function learnerCaughtUp(learner: MemberObservation, leader: MemberObservation | undefined): boolean {
  if (!learner.status.reachable || !leader) return false;
  const own = learner.status.raftAppliedIndex ?? learner.status.raftIndex;
  const lead = leader.status.raftIndex ?? leader.status.raftAppliedIndex;
  if (own === undefined || lead === undefined) return false;
  return own >= lead * 0.9;
}
