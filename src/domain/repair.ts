import type { ApprovalRequirement } from './approval';
import type { ClusterObservation, MemberObservation } from './observation';

import { nextMemberName } from './naming';
import { choosePlacement, placementRequestFor } from './placement';
import type { Policy } from './policy';
import { isMemberHealthy, knownLeader, toVoterViews } from './quorum';
import { clusterWorkload, kubeadmRunbook, unmovableReason } from './workload';
import { buildApprovedRemovalSteps, buildRepairSteps, type PlannedStep, type PlannedSuccessor, type StepMember } from './steps';

/**
 * The cluster has a desired size. A migration that failed part-way, an interrupted surge or a member removed by
 * hand leaves it short or long; the repair plan brings it back, one guarded step at a time, on the same machinery.
 */

/** Why the repair plan has the shape it has. */
export type RepairKind = 'grow' | 'shrink' | 'clean' | 'remove-approved';

/** The plan to bring a cluster back to its desired number of voters. */
export interface RepairPlan {
  cluster: string;
  kind: RepairKind;
  /** Not a move: the saga's surge-only rules never apply. */
  strategy: 'repair';
  desiredVoters: number;
  voters: number;
  reasons: string[];
  staleLearners: StepMember[];
  additions: { name: string; plannedNode: string }[];
  surplus?: StepMember;
  steps: PlannedStep[];
  createdAt: string;
  /** The cluster's per-call deadline, added by the activity that plans. */
  endpointTimeoutMs?: number;
  /** Why the plan waits for a person, and how long (the cluster's approval rules), added by the activity that plans. */
  needsApproval?: ApprovalRequirement;
  /** An operator-approved removal of a dead member: who approved which member. */
  approval?: { member: string; memberId: string; approvedBy: string };
  /** What the operator does next (a static-pod cluster: the runbook for replacing the node). */
  runbook?: string[];
}

/** Why no repair plan could be built. */
export interface RepairRefusal {
  code:
    | 'membership-unknown'
    | 'quorum-lost'
    | 'nothing-to-repair'
    | 'peer-down'
    | 'no-feasible-node'
    | 'quorum-guard'
    | 'no-template'
    | 'static-pod'
    | 'controller-owned'
    | 'unknown-member'
    | 'member-answers';
  message: string;
}

function stepMember(m: MemberObservation): StepMember {
  return { id: m.id, name: m.name || m.id, ...(m.podName ? { podName: m.podName } : {}), ...(m.nodeName ? { nodeName: m.nodeName } : {}) };
}

/** How many nodes of the cluster share the member's rack: the surplus member is best taken where racks double up. */
function rackSharing(observation: ClusterObservation, member: MemberObservation): number {
  const rackOf = (m: MemberObservation): string | undefined => observation.nodes.find((n) => n.name === m.nodeName)?.rack;
  const rack = rackOf(member);
  return rack === undefined ? 0 : observation.members.filter((m) => m.id !== member.id && !m.isLearner && rackOf(m) === rack).length;
}

/**
 * The voter to remove from a cluster with too many: a voter that is down first (it costs nothing), then one whose
 * rack another voter shares, then not the leader, then the highest name (the newest, by the naming scheme).
 */
export function chooseSurplus(observation: ClusterObservation): MemberObservation | undefined {
  const leader = knownLeader(observation.members);
  return observation.members
    .filter((m) => !m.isLearner)
    .sort(
      (a, b) =>
        Number(isMemberHealthy(a)) - Number(isMemberHealthy(b)) ||
        rackSharing(observation, b) - rackSharing(observation, a) ||
        Number(a.id === leader?.id) - Number(b.id === leader?.id) ||
        (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
    )[0];
}

/**
 * Build the plan that brings the cluster to `policy.desiredVoters`: remove learners no migration owns, then add
 * the missing voters one at a time (each a learner first, promoted once caught up), or remove one surplus voter.
 * Pure: the caller says when, and that no migration runs.
 */
export function buildRepairPlan(observation: ClusterObservation, policy: Policy, now: Date): { plan: RepairPlan } | { refusal: RepairRefusal } {
  if (observation.membershipUnknown !== undefined) {
    return { refusal: { code: 'membership-unknown', message: `cannot repair ${observation.cluster}: the membership is unknown (${observation.membershipUnknown})` } };
  }
  const voters = observation.members.filter((m) => !m.isLearner);
  const healthy = voters.filter(isMemberHealthy);
  const desired = policy.desiredVoters;
  if (healthy.length < Math.floor(voters.length / 2) + 1) {
    return { refusal: { code: 'quorum-lost', message: `cannot repair ${observation.cluster}: quorum is lost (${healthy.length}/${voters.length} healthy voters)` } };
  }
  const staleLearners = observation.members.filter((m) => m.isLearner).map(stepMember);
  if (voters.length === desired && staleLearners.length === 0) {
    return { refusal: { code: 'nothing-to-repair', message: `${observation.cluster} has its ${desired} desired voters and no learner: nothing to repair` } };
  }
  // Every repair but an approved removal deletes or copies pods: never those of a static pod or a controller.
  const model = clusterWorkload(observation.pods);
  const why = model.pod !== undefined ? unmovableReason(model.pod, model.workload) : undefined;
  if (why !== undefined && model.workload.kind !== 'movable') {
    const remedy =
      model.workload.kind === 'static'
        ? `add a member by joining a control-plane node (kubeadm join --control-plane); a dead member is removed with etcd-guardian repair ${observation.cluster} --approve-removal <member>`
        : `change the membership through ${model.workload.ownerKind} ${model.workload.ownerName}`;
    return {
      refusal: {
        code: model.workload.kind === 'static' ? 'static-pod' : 'controller-owned',
        message: `cannot repair ${observation.cluster} (${voters.length} voters, ${desired} desired${staleLearners.length > 0 ? `, learner ${staleLearners.map((l) => l.name).join(', ')}` : ''}): ${why}; ${remedy}`,
      },
    };
  }
  const template = healthy.find((m) => m.podName)?.podName;
  const reasons: string[] = [];
  if (staleLearners.length > 0) reasons.push(`learner ${staleLearners.map((l) => `${l.name} (${l.id})`).join(', ')} is left over: etcd allows one learner, so it blocks every addition`);
  const additions: PlannedSuccessor[] = [];
  let surplus: (StepMember & { healthy: boolean; isLeader: boolean }) | undefined;
  if (voters.length < desired) {
    const down = voters.filter((m) => !isMemberHealthy(m));
    if (down.length > 0) {
      return { refusal: { code: 'peer-down', message: `cannot add a voter to ${observation.cluster} while ${down.map((m) => m.name || m.id).join(', ')} is down: etcd adds no member while a voter is disconnected; migrate it first` } };
    }
    if (!template) return { refusal: { code: 'no-template', message: `cannot add a voter to ${observation.cluster}: no member pod to copy the spec from` } };
    const placement = choosePlacement(placementRequestFor(observation, { name: 'a new member' }, policy));
    if (!placement.chosen) return { refusal: { code: 'no-feasible-node', message: `cannot add a voter to ${observation.cluster}: ${placement.summary}` } };
    const taken = [...observation.members.map((m) => m.name), ...observation.pods.map((p) => p.name)];
    for (let i = 0; i < desired - voters.length; i++) {
      const name = nextMemberName(policy.memberNamePrefix, [...taken, ...additions.map((a) => a.newName)]);
      additions.push({ slot: `add-${name}`, leaving: { id: '', name: `a new member (${name})` }, newName: name, plannedNode: i === 0 ? placement.chosen.node : '(chosen when it runs)' });
    }
    reasons.push(`${voters.length} voters where ${desired} are desired: add ${additions.map((a) => a.newName).join(', ')} (first on ${placement.chosen.node}: ${placement.chosen.reason})`);
  } else if (voters.length > desired) {
    const chosen = chooseSurplus(observation);
    if (chosen) {
      surplus = { ...stepMember(chosen), healthy: isMemberHealthy(chosen), isLeader: knownLeader(observation.members)?.id === chosen.id };
      reasons.push(`${voters.length} voters where ${desired} are desired: remove ${surplus.name}${surplus.healthy ? '' : ' (down)'}${surplus.isLeader ? ', after moving leadership off it' : ''}`);
    }
  }
  const dbSizeBytes = Math.max(0, ...observation.members.map((m) => m.status.dbSizeBytes ?? 0));
  const expectedVoters = surplus ? voters.length - 1 : additions.length > 0 ? desired : voters.length;
  const built = buildRepairSteps(toVoterViews(observation.members), {
    staleLearners,
    additions,
    ...(surplus ? { surplus } : {}),
    templateMember: template ?? '',
    expectedVoters,
    budgets: { dbSizeBytes },
  });
  if ('refusal' in built) return { refusal: { code: 'quorum-guard', message: `cannot repair ${observation.cluster}: ${built.refusal}` } };
  return {
    plan: {
      cluster: observation.cluster,
      kind: surplus ? 'shrink' : additions.length > 0 ? 'grow' : 'clean',
      strategy: 'repair',
      desiredVoters: desired,
      voters: voters.length,
      reasons,
      staleLearners,
      additions: additions.map((a) => ({ name: a.newName, plannedNode: a.plannedNode })),
      ...(surplus ? { surplus: { id: surplus.id, name: surplus.name, ...(surplus.podName ? { podName: surplus.podName } : {}), ...(surplus.nodeName ? { nodeName: surplus.nodeName } : {}) } } : {}),
      steps: built.steps,
      createdAt: now.toISOString(),
    },
  };
}

/** An operator's approval to remove one member, and who gave it. */
export interface RemovalApproval {
  /** Member name or hex id. */
  member: string;
  approvedBy: string;
}

/**
 * The plan to remove one dead member an operator approved (a kubeadm member whose node is lost): backup, remove it
 * if it is still down and quorum holds without it, verify. No pod is touched and no successor added, whatever the
 * deployment model; the runbook says how to replace the node. Refused for a member that answers.
 */
export function buildApprovedRemovalPlan(observation: ClusterObservation, policy: Policy, approval: RemovalApproval, now: Date): { plan: RepairPlan } | { refusal: RepairRefusal } {
  if (observation.membershipUnknown !== undefined) {
    return { refusal: { code: 'membership-unknown', message: `cannot remove ${approval.member} from ${observation.cluster}: the membership is unknown (${observation.membershipUnknown})` } };
  }
  const key = approval.member.toLowerCase().replace(/^0x/, '');
  const member = observation.members.find((m) => m.name === approval.member || m.id === key);
  if (!member) {
    const known = observation.members.map((m) => m.name || m.id).sort().join(', ');
    return { refusal: { code: 'unknown-member', message: `approveRemoval: member "${approval.member}" is not in cluster ${observation.cluster}; members: ${known || 'none'}` } };
  }
  const who = member.name || member.id;
  if (isMemberHealthy(member)) {
    return {
      refusal: {
        code: 'member-answers',
        message: `approveRemoval: member ${who} (${member.id}) answers and has a leader: an approved removal takes out a dead member only; to move a live one, replace its node by hand or migrate it`,
      },
    };
  }
  const voters = observation.members.filter((m) => !m.isLearner);
  const expectedVoters = member.isLearner ? voters.length : voters.length - 1;
  const dbSizeBytes = Math.max(0, ...observation.members.map((m) => m.status.dbSizeBytes ?? 0));
  const built = buildApprovedRemovalSteps(toVoterViews(observation.members), { member: stepMember(member), approvedBy: approval.approvedBy, expectedVoters, budgets: { dbSizeBytes } });
  if ('refusal' in built) return { refusal: { code: 'quorum-guard', message: `cannot remove ${who} from ${observation.cluster}: ${built.refusal}` } };
  const healthy = observation.members.find((m) => m.id !== member.id && isMemberHealthy(m));
  const runbook =
    clusterWorkload(observation.pods).workload.kind === 'static'
      ? kubeadmRunbook(observation.cluster, { name: who, id: member.id, ...(member.nodeName ? { nodeName: member.nodeName } : {}), ...(healthy?.clientURLs[0] ? { endpoint: healthy.clientURLs[0] } : {}) })
      : undefined;
  return {
    plan: {
      cluster: observation.cluster,
      kind: 'remove-approved',
      strategy: 'repair',
      desiredVoters: policy.desiredVoters,
      voters: voters.length,
      reasons: [`${who} (${member.id}) is down${member.nodeName ? ` on ${member.nodeName}` : ''}: removed as approved by ${approval.approvedBy}; ${expectedVoters} voters remain, no pod is deleted and no successor added`],
      staleLearners: [],
      additions: [],
      steps: built.steps,
      createdAt: now.toISOString(),
      approval: { member: who, memberId: member.id, approvedBy: approval.approvedBy },
      ...(runbook ? { runbook } : {}),
    },
  };
}
