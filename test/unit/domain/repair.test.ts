import { buildApprovedRemovalPlan, buildRepairPlan, chooseSurplus } from '../../../src/domain/repair';
import { aCluster, aDeadStatus, aMember, aPod, aPolicy, withMember } from '../../builders';

const NOW = new Date('2026-11-24T12:00:00.000Z');

/** A cluster with `voters` voters and, optionally, a learner left by an interrupted migration. */
function cluster(voters: number, options: { learner?: boolean } = {}) {
  const obs = aCluster(voters, 7);
  if (!options.learner) return obs;
  return { ...obs, members: [...obs.members, aMember(voters, { isLearner: true, name: '' })], pods: [...obs.pods, aPod(voters)] };
}

describe('the repair plan brings a cluster back to its desired voters', () => {
  it('adds the missing voter of a cluster one short, as a learner first, and verifies the desired count', () => {
    const built = buildRepairPlan(cluster(2), aPolicy({ desiredVoters: 3 }), NOW);
    if (!('plan' in built)) throw new Error(built.refusal.message);
    expect(built.plan).toMatchObject({ kind: 'grow', desiredVoters: 3, voters: 2, additions: [{ name: 'etcd-2' }] });
    expect(built.plan.steps.map((s) => s.step)).toEqual(['backup-snapshot', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum']);
    expect(built.plan.steps.at(-1)?.args).toMatchObject({ expectedVoters: 3 });
  });

  it('adds two voters of a cluster of five that lost two, one after the other', () => {
    const built = buildRepairPlan(cluster(3), aPolicy({ desiredVoters: 5 }), NOW);
    if (!('plan' in built)) throw new Error(built.refusal.message);
    expect(built.plan.additions.map((a) => a.name)).toEqual(['etcd-3', 'etcd-4']);
    expect(built.plan.steps.filter((s) => s.step === 'choose-node').map((s) => s.group?.id)).toEqual(['add-etcd-3', 'add-etcd-4']);
  });

  it('removes a learner no migration owns before adding, since etcd allows one learner', () => {
    const built = buildRepairPlan(cluster(2, { learner: true }), aPolicy({ desiredVoters: 3 }), NOW);
    if (!('plan' in built)) throw new Error(built.refusal.message);
    expect(built.plan.steps.slice(0, 3).map((s) => [s.step, s.description])).toEqual([
      ['backup-snapshot', 'save an etcd snapshot and record its revision and hash'],
      ['remove-member', 'remove member 3 (3), a learner no migration owns: etcd allows one learner, so it blocks every addition'],
      ['delete-pod', 'delete pod etcd-2 on node-2'],
    ]);
  });

  it('cleans up a leftover learner of a cluster at its desired size', () => {
    const built = buildRepairPlan(cluster(3, { learner: true }), aPolicy({ desiredVoters: 3 }), NOW);
    expect('plan' in built && built.plan.kind).toBe('clean');
  });

  it('removes one surplus voter, a down one first', () => {
    const obs = withMember(cluster(4), 1, { status: aDeadStatus() });
    const built = buildRepairPlan(obs, aPolicy({ desiredVoters: 3 }), NOW);
    if (!('plan' in built)) throw new Error(built.refusal.message);
    expect(built.plan).toMatchObject({ kind: 'shrink', surplus: { name: 'etcd-1' } });
    expect(built.plan.steps.map((s) => s.step)).toEqual(['backup-snapshot', 'remove-member', 'delete-pod', 'verify-quorum']);
  });

  it.each([
    ['a cluster at its desired size', cluster(3), 3, 'nothing-to-repair', 'main has its 3 desired voters and no learner: nothing to repair'],
    ['a cluster whose quorum is lost', withMember(withMember(cluster(3), 0, { status: aDeadStatus() }), 1, { status: aDeadStatus() }), 5, 'quorum-lost', 'cannot repair main: quorum is lost (1/3 healthy voters)'],
    [
      'a short cluster with a voter down',
      withMember(cluster(3), 2, { status: aDeadStatus() }),
      5,
      'peer-down',
      'cannot add a voter to main while etcd-2 is down: etcd adds no member while a voter is disconnected; migrate it first',
    ],
    ['a cluster whose membership is unknown', { ...cluster(2), membershipUnknown: 'no endpoint answered' }, 3, 'membership-unknown', 'cannot repair main: the membership is unknown (no endpoint answered)'],
  ])('refuses %s', (_name, obs, desired, code, message) => {
    expect(buildRepairPlan(obs, aPolicy({ desiredVoters: desired }), NOW)).toEqual({ refusal: { code, message } });
  });
});

describe('choosing the surplus voter', () => {
  it('prefers a follower to the leader when all are healthy, the newest name first', () => {
    const obs = aCluster(4, 7);
    const leaderId = obs.members[0]?.status.leaderId;
    const surplus = chooseSurplus(obs);
    expect(surplus?.id).not.toBe(leaderId);
    expect(surplus?.name).toBe('etcd-3');
  });

  it('prefers a member down over any healthy one', () => {
    expect(chooseSurplus(withMember(aCluster(4, 7), 2, { status: aDeadStatus() }))?.name).toBe('etcd-2');
  });
});

describe('an operator-approved removal of a dead member', () => {
  const mirror = { kind: 'static', evidence: 'kubernetes.io/config.mirror=h' } as const;
  const staticCluster = () => {
    const obs = withMember(aCluster(3), 1, { status: aDeadStatus() });
    return { ...obs, pods: obs.pods.map((p) => ({ ...p, workload: mirror })) };
  };

  it('removes only that member, touches no pod, adds no successor, and records who approved', () => {
    const built = buildApprovedRemovalPlan(staticCluster(), aPolicy(), { member: 'etcd-1', approvedBy: 'alice' }, NOW);
    if (!('plan' in built)) throw new Error(built.refusal.message);
    expect(built.plan).toMatchObject({ kind: 'remove-approved', approval: { member: 'etcd-1', memberId: '2', approvedBy: 'alice' }, additions: [] });
    expect(built.plan.steps.map((s) => s.step)).toEqual(['backup-snapshot', 'remove-member', 'verify-quorum']);
    expect(built.plan.steps[1]?.args).toMatchObject({ onlyIfDown: true, successorFollows: false });
    expect(built.plan.steps[1]?.description).toBe('remove member etcd-1 (2), down, as approved by alice; no pod is deleted and no successor added');
    expect(built.plan.steps.at(-1)?.args).toMatchObject({ expectedVoters: 2 });
    expect(built.plan.runbook?.[0]).toBe('runbook: replace node-1, the kubeadm control-plane node of etcd member etcd-1 (2) of main');
  });

  it.each([
    ['a member that answers', 'etcd-0', 'member-answers', 'approveRemoval: member etcd-0 (1) answers and has a leader'],
    ['an unknown member', 'etcd-9', 'unknown-member', 'approveRemoval: member "etcd-9" is not in cluster main; members: etcd-0, etcd-1, etcd-2'],
  ])('refuses %s', (_what, member, code, message) => {
    const built = buildApprovedRemovalPlan(staticCluster(), aPolicy(), { member, approvedBy: 'alice' }, NOW);
    expect('refusal' in built && built.refusal.code).toBe(code);
    expect('refusal' in built && built.refusal.message).toContain(message);
  });

  it('refuses a removal that would leave the cluster below quorum', () => {
    const obs = withMember(staticCluster(), 2, { status: aDeadStatus() });
    const built = buildApprovedRemovalPlan(obs, aPolicy(), { member: 'etcd-1', approvedBy: 'alice' }, NOW);
    expect('refusal' in built && built.refusal.code).toBe('quorum-guard');
  });

  it('a static-pod cluster short of voters is not grown by copying a pod', () => {
    const obs = { ...aCluster(2, 7), pods: aCluster(2, 7).pods.map((p) => ({ ...p, workload: mirror })) };
    const built = buildRepairPlan(obs, aPolicy({ desiredVoters: 3 }), NOW);
    expect('refusal' in built && built.refusal.code).toBe('static-pod');
    expect('refusal' in built && built.refusal.message).toContain('add a member by joining a control-plane node (kubeadm join --control-plane)');
  });
});
