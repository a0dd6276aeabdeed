import type { VoterView } from '../../../src/domain/quorum';
import {
  PLACEMENT_ATTEMPTS,
  buildSteps,
  catchUpBudgetMs,
  describeSteps,
  groupStart,
  hashTimeoutMs,
  type PlannedStep,
  type PlannedSuccessor,
  type StepListRequest,
  type StepMember,
} from '../../../src/domain/steps';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Voters etcd-0..n-1 with ids 1..n; the ordinals in `down` do not answer. */
function voters(n: number, down: readonly number[] = []): VoterView[] {
  return Array.from({ length: n }, (_, i) => ({ id: String(i + 1), name: `etcd-${i}`, isLearner: false, healthy: !down.includes(i) }));
}

/** Member `etcd-<ordinal>` as a step names it, its pod on `node-<ordinal>`. */
function aStepMember(ordinal: number, overrides: Partial<StepMember> = {}): StepMember {
  return { id: String(ordinal + 1), name: `etcd-${ordinal}`, podName: `etcd-${ordinal}`, nodeName: `node-${ordinal}`, ...overrides };
}

/** The successor `etcd-<newOrdinal>` of `etcd-<leaving>`, planned on `node-<node>`. */
function aSuccessor(slot: string, leaving: number, newOrdinal: number, node: number, overrides: Partial<PlannedSuccessor> = {}): PlannedSuccessor {
  return { slot, leaving: aStepMember(leaving), newName: `etcd-${newOrdinal}`, plannedNode: `node-${node}`, ...overrides };
}

/** A surge of live etcd-1 in three voters, its successor etcd-3 on node-4, a 20 MiB database. */
function aSurge(overrides: Partial<StepListRequest> = {}): StepListRequest {
  return {
    strategy: 'surge',
    member: { ...aStepMember(1), healthy: true, isLeader: false },
    alsoReplaced: [],
    successors: [aSuccessor('main', 1, 3, 4)],
    expectedVoters: 3,
    budgets: { dbSizeBytes: 20 * MiB },
    ...overrides,
  };
}

/** A replace of dead etcd-2 in three voters, its successor etcd-3 on node-5, a 20 MiB database. */
function aReplace(overrides: Partial<StepListRequest> = {}): StepListRequest {
  return {
    strategy: 'replace',
    member: { ...aStepMember(2), healthy: false, isLeader: false },
    alsoReplaced: [],
    successors: [aSuccessor('main', 2, 3, 5)],
    expectedVoters: 3,
    budgets: { dbSizeBytes: 20 * MiB },
    ...overrides,
  };
}

/** In five voters etcd-3 and etcd-4 are down: the replace of etcd-3 takes etcd-4 along. */
function aDoubleReplace(): StepListRequest {
  return aReplace({
    member: { ...aStepMember(3), healthy: false, isLeader: false },
    alsoReplaced: [{ ...aStepMember(4), healthy: false }],
    successors: [aSuccessor('main', 3, 5, 6), aSuccessor('also-etcd-4', 4, 6, 7, { plannedNode: '(chosen when it runs)' })],
    expectedVoters: 5,
  });
}

function stepsOf(views: readonly VoterView[], request: StepListRequest): PlannedStep[] {
  const result = buildSteps(views, request);
  if ('refusal' in result) throw new Error(result.refusal);
  return result.steps;
}

describe('the arguments of each step', () => {
  it('a surge adds and verifies the successor, then moves leadership if need be, and removes the member without a successor to follow', () => {
    const steps = stepsOf(voters(3), aSurge());
    // toMatchObject on an array: the same steps in the same order, each with at least these arguments.
    expect(steps.map((s) => [s.step, s.args])).toMatchObject([
      ['backup-snapshot', {}],
      ['choose-node', { slot: 'main', leaving: aStepMember(1), preferredName: 'etcd-3' }],
      ['schedule-pod', { slot: 'main', templateMember: 'etcd-1' }],
      ['rejoin', { slot: 'main', catchUpBudgetMs: 124_000 }],
      ['verify-member', { slot: 'main' }],
      ['move-leader', { member: aStepMember(1) }],
      ['remove-member', { member: aStepMember(1), onlyIfDown: false, successorFollows: false }],
      ['delete-pod', { member: aStepMember(1), podName: 'etcd-1', memberDown: false }],
      ['verify-quorum', { expectedVoters: 3, hashTimeoutMs: 3_000 }],
    ]);
  });

  it('a replace removes the dead member first, its successor to follow, and deletes its pod at once', () => {
    const steps = stepsOf(voters(3, [2]), aReplace());
    expect(steps.map((s) => [s.step, s.args])).toMatchObject([
      ['backup-snapshot', {}],
      ['remove-member', { member: aStepMember(2), onlyIfDown: false, successorFollows: true }],
      ['delete-pod', { member: aStepMember(2), podName: 'etcd-2', memberDown: true }],
      ['choose-node', { slot: 'main', leaving: aStepMember(2), preferredName: 'etcd-3' }],
      ['schedule-pod', { slot: 'main', templateMember: 'etcd-2' }],
      ['rejoin', { slot: 'main', catchUpBudgetMs: 124_000 }],
      ['verify-member', { slot: 'main' }],
      ['verify-quorum', { expectedVoters: 3, hashTimeoutMs: 3_000 }],
    ]);
  });

  it('a replace of a live member under a replace policy deletes its pod without haste, since it was not down', () => {
    const steps = stepsOf(voters(3), aReplace({ member: { ...aStepMember(1), healthy: true, isLeader: false }, successors: [aSuccessor('main', 1, 3, 4)] }));
    expect(steps.find((s) => s.step === 'delete-pod')?.args).toEqual({ member: expect.objectContaining(aStepMember(1)) as unknown, podName: 'etcd-1', memberDown: false });
  });

  it('a replace of the leader moves leadership off it before removing it', () => {
    const steps = stepsOf(voters(3), aReplace({ member: { ...aStepMember(0), healthy: true, isLeader: true }, successors: [aSuccessor('main', 0, 3, 4)] }));
    expect(steps.slice(0, 3).map((s) => [s.step, s.description])).toEqual([
      ['backup-snapshot', 'save an etcd snapshot and record its revision and hash'],
      ['move-leader', 'move leadership off etcd-0 to the most caught-up healthy voter'],
      ['remove-member', 'remove member etcd-0 (1)'],
    ]);
  });

  it('a replace taking another down voter along removes both, left in place if the other answers again, then places a successor for each', () => {
    const steps = stepsOf(voters(5, [3, 4]), aDoubleReplace());
    expect(steps.map((s) => [s.step, s.args])).toMatchObject([
      ['backup-snapshot', {}],
      ['remove-member', { member: aStepMember(3), onlyIfDown: false, successorFollows: true }],
      ['remove-member', { member: aStepMember(4), onlyIfDown: true, successorFollows: true }],
      ['delete-pod', { member: aStepMember(3), podName: 'etcd-3', memberDown: true }],
      ['delete-pod', { member: aStepMember(4), podName: 'etcd-4', memberDown: true }],
      ['choose-node', { slot: 'main', leaving: aStepMember(3), preferredName: 'etcd-5' }],
      ['schedule-pod', { slot: 'main', templateMember: 'etcd-3' }],
      ['rejoin', { slot: 'main', catchUpBudgetMs: 124_000 }],
      ['verify-member', { slot: 'main' }],
      ['choose-node', { slot: 'also-etcd-4', leaving: aStepMember(4) }],
      ['schedule-pod', { slot: 'also-etcd-4', templateMember: 'etcd-3' }],
      ['rejoin', { slot: 'also-etcd-4', catchUpBudgetMs: 124_000 }],
      ['verify-member', { slot: 'also-etcd-4' }],
      ['verify-quorum', { expectedVoters: 5, hashTimeoutMs: 3_000 }],
    ]);
  });

  it.each([
    ['the main slot gets the planned name and the operator\'s target node', 'main', { slot: 'main', leaving: aStepMember(3), preferredName: 'etcd-5', targetNode: 'node-9' }],
    ['another slot gets no name: its node and name are chosen when it runs', 'also-etcd-4', { slot: 'also-etcd-4', leaving: aStepMember(4) }],
  ])('choose-node: %s', (_name, slot, args) => {
    const request = aDoubleReplace();
    const [main, other] = request.successors;
    if (!main || !other) throw new Error('the request has two successors');
    // The planner gives the operator's target to the main slot only.
    const steps = stepsOf(voters(5, [3, 4]), { ...request, successors: [{ ...main, targetNode: 'node-9' }, other] });
    expect(steps.find((s) => s.step === 'choose-node' && s.args.slot === slot)?.args).toEqual(args);
  });

  it('a member with no pod left gets no delete-pod step, and its successor copies a pod named after it', () => {
    const gone = { id: '3', name: 'etcd-2', healthy: false, isLeader: false };
    const steps = stepsOf(voters(3, [2]), aReplace({ member: gone }));
    expect(steps.map((s) => s.step)).not.toContain('delete-pod');
    expect(steps.find((s) => s.step === 'schedule-pod')?.args).toEqual({ slot: 'main', templateMember: 'etcd-2' });
  });

  it('plans nothing without a successor', () => {
    expect(buildSteps(voters(3), aSurge({ successors: [] }))).toEqual({ steps: [] });
  });

  it('marks only remove-member and delete-pod destructive, and registers retire-successor on schedule-pod alone', () => {
    const steps = stepsOf(voters(3), aSurge());
    expect(steps.filter((s) => s.destructive).map((s) => s.step)).toEqual(['remove-member', 'delete-pod']);
    expect(steps.filter((s) => s.compensation !== undefined).map((s) => [s.step, s.compensation])).toEqual([['schedule-pod', 'retire-successor']]);
  });

  it('the guard of a replace\'s remove-member checks that the successor can be added', () => {
    expect(stepsOf(voters(3, [2]), aReplace()).find((s) => s.step === 'remove-member')?.guard).toBe(
      'membership read through the leader; the cluster keeps quorum without it; its successor can be added (no learner, a pod to copy, a feasible node)',
    );
  });

  it('the guard of a surge\'s remove-member does not ask whether a successor can be added: it is a voter already', () => {
    const guard = stepsOf(voters(3), aSurge()).find((s) => s.step === 'remove-member')?.guard;
    expect(guard?.startsWith('membership read through the leader; the cluster keeps quorum without it')).toBe(true);
    expect(guard).not.toContain('its successor can be added');
  });
});

describe('budgets that grow with the database', () => {
  it.each([
    ['an empty database', 0, 120_000, 2_000],
    ['a single byte, rounded up to a whole second', 1, 121_000, 3_000],
    ['20 MiB', 20 * MiB, 124_000, 3_000],
    ['exactly 50 MiB', 50 * MiB, 130_000, 3_000],
    ['1 GiB: 205 s of streaming at 5 MB/s, 21 s of hashing at 50 MB/s', GiB, 325_000, 23_000],
    ['8 GiB, etcd\'s advised maximum', 8 * GiB, 1_759_000, 166_000],
  ])('%s: catch-up %d ms, HashKV %d ms', (_name, dbSizeBytes, catchUp, hash) => {
    expect([catchUpBudgetMs(dbSizeBytes), hashTimeoutMs(dbSizeBytes)]).toEqual([catchUp, hash]);
    const steps = stepsOf(voters(3), aSurge({ budgets: { dbSizeBytes } }));
    expect(steps.find((s) => s.step === 'rejoin')?.args).toEqual({ slot: 'main', catchUpBudgetMs: catchUp });
    expect(steps.find((s) => s.step === 'verify-quorum')?.args).toEqual({ expectedVoters: 3, hashTimeoutMs: hash });
  });
});

describe('placement groups', () => {
  it('puts the steps that place one successor in one group, tried up to three times', () => {
    const steps = stepsOf(voters(5, [3, 4]), aDoubleReplace());
    expect(PLACEMENT_ATTEMPTS).toBe(3);
    expect(steps.map((s) => [s.step, s.group])).toEqual([
      ['backup-snapshot', undefined],
      ['remove-member', undefined],
      ['remove-member', undefined],
      ['delete-pod', undefined],
      ['delete-pod', undefined],
      ['choose-node', { id: 'main', attempts: 3 }],
      ['schedule-pod', { id: 'main', attempts: 3 }],
      ['rejoin', { id: 'main', attempts: 3 }],
      ['verify-member', { id: 'main', attempts: 3 }],
      ['choose-node', { id: 'also-etcd-4', attempts: 3 }],
      ['schedule-pod', { id: 'also-etcd-4', attempts: 3 }],
      ['rejoin', { id: 'also-etcd-4', attempts: 3 }],
      ['verify-member', { id: 'also-etcd-4', attempts: 3 }],
      ['verify-quorum', undefined],
    ]);
  });

  it.each([
    ['the backup, in no group, starts where it is', 0, 0],
    ['a removal, in no group, starts where it is', 2, 2],
    ['the main slot\'s choose-node starts its own group', 5, 5],
    ['the main slot\'s rejoin goes back to its choose-node', 7, 5],
    ['the main slot\'s verify-member goes back to its choose-node', 8, 5],
    ['the other slot\'s choose-node, right after the main group, starts its own group', 9, 9],
    ['the other slot\'s rejoin goes back to its own choose-node, not the main one', 11, 9],
    ['the other slot\'s verify-member goes back to its own choose-node', 12, 9],
    ['verify-quorum, in no group, starts where it is', 13, 13],
    ['an index past the end stays where it is', 99, 99],
  ])('a failed attempt starts again from the group\'s first step: %s (step %d from %d)', (_name, index, start) => {
    expect(groupStart(stepsOf(voters(5, [3, 4]), aDoubleReplace()), index)).toBe(start);
  });
});

describe('the plan in words', () => {
  it('prints one numbered line per step with the projection after it', () => {
    expect(describeSteps(stepsOf(voters(3), aSurge()))).toEqual([
      '1. backup-snapshot: save an etcd snapshot and record its revision and hash (after: 3/3 healthy voters, fault tolerance 1)',
      '2. choose-node: confirm node-4 is still the best feasible node for the successor of etcd-1 (after: 3/3 healthy voters, fault tolerance 1)',
      '3. schedule-pod: add etcd-3 as a learner and create its pod (after: 3/3 healthy voters, fault tolerance 1)',
      '4. rejoin: wait until etcd-3 has caught up, then promote it to voter (after: 3/4 healthy voters, fault tolerance 0)',
      '5. verify-member: verify etcd-3 is a healthy voter (after: 4/4 healthy voters, fault tolerance 1)',
      '6. move-leader: move leadership off etcd-1 if it leads (after: 4/4 healthy voters, fault tolerance 1)',
      '7. remove-member: remove member etcd-1 (2), now that its successor is a healthy voter (after: 3/3 healthy voters, fault tolerance 1)',
      '8. delete-pod: delete pod etcd-1 on node-1 (after: 3/3 healthy voters, fault tolerance 1)',
      '9. verify-quorum: verify 3 healthy voters, no learner, one leader, and the same HashKV on every member (after: 3/3 healthy voters, fault tolerance 1)',
    ]);
  });

  it('prints a replace with its other down voter', () => {
    const lines = describeSteps(stepsOf(voters(5, [3, 4]), aDoubleReplace()));
    expect(lines.slice(1, 5)).toEqual([
      '2. remove-member: remove member etcd-3 (4) (after: 3/4 healthy voters, fault tolerance 0)',
      '3. remove-member: remove member etcd-4 (5), also down: etcd adds no member while a voter is disconnected (after: 3/3 healthy voters, fault tolerance 1)',
      '4. delete-pod: delete pod etcd-3 on node-3 (after: 3/3 healthy voters, fault tolerance 1)',
      '5. delete-pod: delete pod etcd-4 on node-4 (after: 3/3 healthy voters, fault tolerance 1)',
    ]);
    expect(lines[9]).toBe('10. choose-node: confirm (chosen when it runs) is still the best feasible node for the successor of etcd-4 (after: 4/4 healthy voters, fault tolerance 1)');
  });
});

describe('the quorum guard', () => {
  it.each([
    [
      'a replace of a live member while another is down, whose removal would lose quorum',
      voters(3, [2]),
      aReplace({ member: { ...aStepMember(0), healthy: true, isLeader: false }, successors: [aSuccessor('main', 0, 3, 4)] }),
      'step remove-member refused by the quorum guard: remove-member etcd-0 would leave 1/2 healthy voters, quorum 2: below quorum (now 2/3 healthy voters, quorum 2)',
    ],
    [
      'a surge while another voter is down, whose promoted learner would count a dead voter',
      voters(3, [2]),
      aSurge(),
      'step rejoin refused by the quorum guard: promote-learner etcd-3 would leave 2/4 healthy voters, quorum 3: below quorum (now 2/3 healthy voters, quorum 2)',
    ],
    [
      'a replace of the only voter',
      voters(1),
      aReplace({ member: { ...aStepMember(0), healthy: true, isLeader: true }, successors: [aSuccessor('main', 0, 1, 1)], expectedVoters: 1 }),
      'step remove-member refused by the quorum guard: remove-member etcd-0 would leave 0/0 healthy voters, quorum 1: below quorum (now 1/1 healthy voters, quorum 1)',
    ],
    [
      'a replace when quorum is already lost',
      voters(3, [1, 2]),
      aReplace(),
      'step remove-member refused by the quorum guard: remove-member etcd-2 needs a quorum to commit and there is none: 1/3 healthy voters, quorum 2',
    ],
  ])('refuses %s, naming the step', (_name, views, request, refusal) => {
    expect(buildSteps(views, request)).toEqual({ refusal });
  });
});
