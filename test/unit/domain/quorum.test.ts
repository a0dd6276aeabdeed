import {
  knownLeader,
  projectChange,
  projectSequence,
  quorumSize,
  quorumState,
  toVoterViews,
  type VoterView,
} from '../../../src/domain/quorum';
import { aCluster, aDeadStatus, aMember, aStatus } from '../../builders';

function voters(healthy: number, total: number, learners = 0): VoterView[] {
  const list: VoterView[] = [];
  for (let i = 0; i < total; i++) list.push({ id: `${i + 1}`, name: `etcd-${i}`, isLearner: false, healthy: i < healthy });
  for (let i = 0; i < learners; i++) list.push({ id: `L${i}`, name: `learner-${i}`, isLearner: true, healthy: true });
  return list;
}

describe('quorum size', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ])('a cluster of %i voters needs %i votes', (n, q) => {
    expect(quorumSize(n)).toBe(q);
  });
});

describe('quorum state', () => {
  it.each([
    ['1 healthy voter of 1 has quorum and no fault tolerance', 1, 1, 0, { quorum: 1, faultTolerance: 0, hasQuorum: true }],
    ['3 healthy voters tolerate one failure', 3, 3, 0, { quorum: 2, faultTolerance: 1, hasQuorum: true }],
    ['2 healthy of 3 have quorum with no tolerance left', 2, 3, 0, { quorum: 2, faultTolerance: 0, hasQuorum: true }],
    ['1 healthy of 3 has lost quorum', 1, 3, 0, { quorum: 2, faultTolerance: -1, hasQuorum: false }],
    ['5 healthy voters tolerate two failures', 5, 5, 0, { quorum: 3, faultTolerance: 2, hasQuorum: true }],
    ['3 healthy of 5 have no tolerance left', 3, 5, 0, { quorum: 3, faultTolerance: 0, hasQuorum: true }],
    ['7 healthy voters tolerate three failures', 7, 7, 0, { quorum: 4, faultTolerance: 3, hasQuorum: true }],
    ['learners do not vote and do not count toward quorum', 2, 3, 2, { quorum: 2, faultTolerance: 0, learners: 2, voters: 3 }],
    ['a cluster with no voters has no quorum', 0, 0, 1, { hasQuorum: false, voters: 0 }],
  ])('%s', (_name, healthy, total, learners, expected) => {
    expect(quorumState(voters(healthy, total, learners))).toMatchObject(expected);
  });
});

describe('projecting a membership change, assuming the worst', () => {
  it.each([
    ['removing a dead member of 3 keeps 2 of 2', voters(2, 3), { kind: 'remove-member', memberId: '3' }, true, { voters: 2, healthyVoters: 2 }],
    ['removing a healthy member of 3 keeps 2 of 2', voters(3, 3), { kind: 'remove-member', memberId: '1' }, true, { voters: 2, healthyVoters: 2, faultTolerance: 0 }],
    ['removing a healthy member while another is dead loses quorum', voters(2, 3), { kind: 'remove-member', memberId: '1' }, false, { voters: 2, healthyVoters: 1 }],
    ['stopping a healthy member of 3 keeps quorum', voters(3, 3), { kind: 'stop-member', memberId: '2' }, true, { healthyVoters: 2 }],
    ['stopping a second member of 3 loses quorum', voters(2, 3), { kind: 'stop-member', memberId: '1' }, false, { healthyVoters: 1 }],
    ['adding a learner changes no vote', voters(2, 3), { kind: 'add-learner', memberId: 'n', name: 'etcd-3' }, true, { voters: 3, learners: 1 }],
    ['promoting a learner into 3 healthy counts it unhealthy: 3 of 4', voters(3, 3, 1), { kind: 'promote-learner', memberId: 'L0' }, true, { voters: 4, healthyVoters: 3, quorum: 3 }],
    ['promoting a learner while a voter is dead would leave 2 of 4', voters(2, 3, 1), { kind: 'promote-learner', memberId: 'L0' }, false, { voters: 4, healthyVoters: 2 }],
    ['promoting into 2 of 2 after a removal keeps 2 of 3', voters(2, 2, 1), { kind: 'promote-learner', memberId: 'L0' }, true, { voters: 3, healthyVoters: 2 }],
    ['in 5 members with 2 dead, removing a dead one keeps 3 of 4', voters(3, 5), { kind: 'remove-member', memberId: '5' }, true, { voters: 4, healthyVoters: 3 }],
    ['in 7 members with 3 dead, stopping one more loses quorum', voters(4, 7), { kind: 'stop-member', memberId: '1' }, false, { healthyVoters: 3, quorum: 4 }],
    ['marking a new member healthy restores tolerance', voters(2, 3), { kind: 'mark-healthy', memberId: '3' }, true, { healthyVoters: 3, faultTolerance: 1 }],
    ['removing a dead member of 4 with 2 dead cannot commit, although 2 of 3 would be quorum', voters(2, 4), { kind: 'remove-member', memberId: '4' }, false, { voters: 3, healthyVoters: 2, quorum: 2 }],
    ['adding a learner to 1 of 3 cannot commit', voters(1, 3), { kind: 'add-learner', memberId: 'n', name: 'etcd-3' }, false, { voters: 3, healthyVoters: 1 }],
    ['promoting a learner into 1 of 2 cannot commit', voters(1, 2, 1), { kind: 'promote-learner', memberId: 'L0' }, false, { voters: 3, healthyVoters: 1 }],
  ] as const)('%s', (_name, members, change, allowed, after) => {
    const verdict = projectChange(members, change);
    expect(verdict.allowed).toBe(allowed);
    expect(verdict.after).toMatchObject(after);
  });

  it('refuses to remove a member that is not in the cluster, and says which', () => {
    const verdict = projectChange(voters(3, 3), { kind: 'remove-member', memberId: 'ff' });
    expect(verdict).toMatchObject({ allowed: false, reason: 'member ff is not in the cluster (3/3 healthy voters, quorum 2)' });
  });

  it('says why a change cannot commit without quorum', () => {
    expect(projectChange(voters(2, 4), { kind: 'remove-member', memberId: '4' }).reason).toBe(
      'remove-member etcd-3 needs a quorum to commit and there is none: 2/4 healthy voters, quorum 3',
    );
  });

  it('refuses to promote a member that is already a voter', () => {
    expect(projectChange(voters(3, 3), { kind: 'promote-learner', memberId: '1' }).reason).toBe('member etcd-0 is already a voter');
  });

  it('explains a refusal with the numbers before and after', () => {
    const verdict = projectChange(voters(2, 3), { kind: 'remove-member', memberId: '1' });
    expect(verdict.reason).toBe(
      'remove-member etcd-0 would leave 1/2 healthy voters, quorum 2: below quorum (now 2/3 healthy voters, quorum 2)',
    );
  });

  it('adding a learner twice is a no-op the second time', () => {
    const once = projectChange(voters(3, 3), { kind: 'add-learner', memberId: 'n', name: 'etcd-3' });
    const twice = projectChange(once.members, { kind: 'add-learner', memberId: 'n', name: 'etcd-3' });
    expect(twice.members).toHaveLength(4);
  });

  it('a sequence stops at the first change that breaks quorum', () => {
    const result = projectSequence(voters(3, 3), [
      { kind: 'stop-member', memberId: '1' },
      { kind: 'stop-member', memberId: '2' },
      { kind: 'remove-member', memberId: '3' },
    ]);
    expect(result.allowed).toBe(false);
    expect(result.verdicts.map((v) => v.allowed)).toEqual([true, false]);
  });

  it('a sequence that keeps quorum throughout is allowed', () => {
    const result = projectSequence(voters(2, 3), [
      { kind: 'remove-member', memberId: '3' },
      { kind: 'add-learner', memberId: 'n', name: 'etcd-3' },
      { kind: 'promote-learner', memberId: 'n' },
      { kind: 'mark-healthy', memberId: 'n' },
    ]);
    expect(result.allowed).toBe(true);
    expect(result.verdicts.at(-1)?.after).toMatchObject({ voters: 3, healthyVoters: 3, faultTolerance: 1 });
  });
});

describe('member health and the leader', () => {
  it('an unreachable member and one that knows no leader are unhealthy', () => {
    const views = toVoterViews([aMember(0), aMember(1, { status: aDeadStatus() }), aMember(2, { status: aStatus({ hasLeader: false }) })]);
    expect(views.map((v) => v.healthy)).toEqual([true, false, false]);
  });

  it('the leader is the one most reachable members follow', () => {
    const obs = aCluster(3);
    expect(knownLeader(obs.members)?.name).toBe('etcd-0');
  });

  it('members that report no leader are not counted even with a stale leader id', () => {
    const members = [0, 1, 2].map((i) => aMember(i, { status: aStatus({ hasLeader: false, leaderId: '1' }) }));
    expect(knownLeader(members)).toBeUndefined();
  });

  it('a split view is settled by the majority', () => {
    const members = [aMember(0, { status: aStatus({ leaderId: '2' }) }), aMember(1, { status: aStatus({ leaderId: '2' }) }), aMember(2)];
    expect(knownLeader(members)?.name).toBe('etcd-1');
  });
});
