import type { ClusterObservation } from '../../../src/domain/observation';
import {
  buildMigrationPlan,
  nextMemberName,
  planMigration,
  resolveStrategy,
  type Decision,
  type MigrationState,
} from '../../../src/domain/plan';
import type { Policy } from '../../../src/domain/policy';
import { assessRisk } from '../../../src/domain/risk';
import { emptyWindow } from '../../../src/domain/window';
import {
  aCluster,
  aDeadStatus,
  aDownNode,
  aMember,
  aPolicy,
  aPod,
  aPressuredNode,
  aStatus,
  withMember,
  withNode,
  withPod,
} from '../../builders';

const NOW = new Date('2026-11-24T12:00:00.000Z');

/** Assess `samples` identical observations, then plan. */
function decide(obs: ClusterObservation, options: { policy?: Policy; state?: MigrationState; samples?: number } = {}): Decision {
  const policy = options.policy ?? aPolicy();
  let window = emptyWindow();
  let assessment = assessRisk(obs, policy, window).assessment;
  for (let i = 1; i < (options.samples ?? policy.hysteresisSamples); i++) {
    window = assessRisk(obs, policy, window).window;
    assessment = assessRisk(obs, policy, window).assessment;
  }
  return planMigration(obs, assessment, policy, options.state ?? {}, NOW);
}

function migratePlan(decision: Decision) {
  if (decision.kind !== 'migrate') throw new Error(`expected a migration, got ${decision.kind}: ${decision.summary}`);
  return decision.plan;
}

/** etcd-2 on node-2 (r2, z1) loses its node: the node is NotReady and the member does not answer. */
const nodeDown = (): ClusterObservation => withMember(withNode(aCluster(3), aDownNode(2)), 2, { status: aDeadStatus() });

/** etcd-1 answers, but its node runs at 95 % CPU. */
const livePressure = (): ClusterObservation => withNode(aCluster(3), aPressuredNode(1, 0.95, 0.5));

/** A learner `etcd-<ordinal>` on its own node, far behind the leader, as right after a replace added it. */
function withLearner(obs: ClusterObservation, ordinal: number): ClusterObservation {
  return {
    ...obs,
    members: [...obs.members, aMember(ordinal, { isLearner: true, status: aStatus({ raftIndex: 500, raftAppliedIndex: 500 }) })],
    pods: [...obs.pods, aPod(ordinal)],
  };
}

describe('planning after a node failure', () => {
  it('replaces the member of a NotReady node on a node whose rack and domain host no other member', () => {
    const plan = migratePlan(decide(nodeDown()));
    expect(plan).toMatchObject({
      member: { name: 'etcd-2', nodeName: 'node-2', rack: 'r2', domain: 'z1', healthy: false, isLeader: false },
      strategy: 'replace',
      newMemberName: 'etcd-3',
      target: { node: 'node-5', rack: 'r2', domain: 'z1', rackFree: true, membersInDomain: 0 },
    });
    expect(plan.triggers.map((f) => f.kind).sort()).toEqual(['member-unreachable', 'node-not-ready']);
  });

  it('lays out replace steps with the projected voters, learners and fault tolerance after each', () => {
    const plan = migratePlan(decide(nodeDown()));
    // etcd-2 is down and does not lead: no move-leader. Removing a dead voter costs nothing (2/2, quorum 2); the
    // learner does not vote; the promoted learner counts as unhealthy until verify-member has seen it answer.
    expect(plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters, s.projected.learners, s.projected.faultTolerance])).toEqual([
      ['backup-snapshot', 3, 2, 0, 0],
      ['remove-member', 2, 2, 0, 0],
      ['delete-pod', 2, 2, 0, 0],
      ['choose-node', 2, 2, 0, 0],
      ['schedule-pod', 2, 2, 1, 0],
      ['rejoin', 3, 2, 0, 0],
      ['verify-member', 3, 3, 0, 1],
      ['verify-quorum', 3, 3, 0, 1],
    ]);
  });

  it('moves leadership off a dead member that the others still name as leader before removing it', () => {
    const obs = withMember(withNode(aCluster(3), aDownNode(0)), 0, { status: aDeadStatus() });
    const plan = migratePlan(decide(obs));
    expect(plan.member).toMatchObject({ name: 'etcd-0', healthy: false, isLeader: true });
    expect(plan.steps.map((s) => s.step)).toEqual([
      'backup-snapshot',
      'move-leader',
      'remove-member',
      'delete-pod',
      'choose-node',
      'schedule-pod',
      'rejoin',
      'verify-member',
      'verify-quorum',
    ]);
  });

  it('explains itself: why the member moves, why this strategy, why this node', () => {
    const plan = migratePlan(decide(nodeDown()));
    expect(plan.reasons).toEqual([
      'member etcd-2 does not answer at 127.0.1.3:2379: no answer before the deadline',
      'node node-2 of member etcd-2 is not ready (Ready=Unknown, NodeStatusUnknown)',
      'replace: the member is down, so it is removed first and a learner takes its place',
      'target node-5: rack r2 hosts no member; domain z1 hosts no member; CPU 20%, memory 20%',
    ]);
  });

  it('waits for k samples before it moves anything', () => {
    expect(decide(nodeDown(), { samples: 2 })).toEqual({
      kind: 'none',
      reason: 'healthy',
      summary: 'healthy: 2/3 voters, fault tolerance 0, 3 signal(s) pending',
    });
  });
});

describe('planning for a live member at risk', () => {
  it('surges a member whose node is under CPU and memory pressure', () => {
    const plan = migratePlan(decide(withNode(aCluster(3), aPressuredNode(1, 0.95, 0.92))));
    expect(plan).toMatchObject({ strategy: 'surge', member: { name: 'etcd-1', healthy: true }, target: { node: 'node-4' } });
    // The promoted learner makes 4 voters, quorum 3, and counts as unhealthy until verify-member: fault tolerance
    // 0 for that one step. move-leader is always planned in a surge (a no-op unless the member leads by then).
    expect(plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters, s.projected.learners, s.projected.faultTolerance])).toEqual([
      ['backup-snapshot', 3, 3, 0, 1],
      ['choose-node', 3, 3, 0, 1],
      ['schedule-pod', 3, 3, 1, 1],
      ['rejoin', 4, 3, 0, 0],
      ['verify-member', 4, 4, 0, 1],
      ['move-leader', 4, 4, 0, 1],
      ['remove-member', 3, 3, 0, 1],
      ['delete-pod', 3, 3, 0, 1],
      ['verify-quorum', 3, 3, 0, 1],
    ]);
  });

  it('waits, saying why, when a live member is at risk while another voter has just gone down', () => {
    const policy = aPolicy();
    const pressured = withNode(aCluster(5, 8), aPressuredNode(1, 0.95, 0.92));
    const alsoDown = withMember(pressured, 3, { status: aDeadStatus() });
    let window = emptyWindow();
    for (let i = 1; i < policy.hysteresisSamples; i++) window = assessRisk(pressured, policy, window).window;
    // The pressure is confirmed; etcd-3's outage is one sample old, so it is not yet the one to move.
    const { assessment } = assessRisk(alsoDown, policy, window);
    expect(planMigration(alsoDown, assessment, policy, {}, NOW)).toEqual({
      kind: 'none',
      reason: 'not-actionable',
      summary:
        'etcd-1 is at risk but waits: cannot surge etcd-1: etcd adds no member while voter etcd-3 is down; migrate etcd-3 first (a replace removes every voter that is down and replaces each)',
    });
  });

  it('moves leadership off the leader before removing it', () => {
    const plan = migratePlan(decide(withNode(aCluster(3), aPressuredNode(0, 0.97, 0.5))));
    expect(plan.member).toMatchObject({ name: 'etcd-0', isLeader: true });
    const order = plan.steps.map((s) => s.step);
    expect(order.indexOf('move-leader')).toBeGreaterThan(order.indexOf('verify-member'));
    expect(order.indexOf('move-leader')).toBeLessThan(order.indexOf('remove-member'));
  });

  it.each([
    ['a dead member is replaced, and the migration still gets the policy\'s auto', nodeDown, aPolicy(), 'replace', 'auto'],
    ['a live member is surged, and the migration gets the policy\'s auto', livePressure, aPolicy(), 'surge', 'auto'],
    ['a dead member under a surge policy is replaced, and the migration gets surge', nodeDown, aPolicy({ strategy: 'surge' }), 'replace', 'surge'],
    ['a live member under a replace policy is replaced, and the migration gets replace', livePressure, aPolicy({ strategy: 'replace' }), 'replace', 'replace'],
  ] as const)('hands the migration the policy\'s preference, not its own choice, to decide from a fresh look: %s', (_name, observation, policy, strategy, preference) => {
    const decision = decide(observation(), { policy });
    expect(decision).toMatchObject({ kind: 'migrate', strategyPreference: preference, plan: { strategy } });
  });

  it('follows a configured preference for replace on a live member', () => {
    const plan = migratePlan(decide(withNode(aCluster(3), aPressuredNode(1, 0.95, 0.5)), { policy: aPolicy({ strategy: 'replace' }) }));
    expect(plan.strategy).toBe('replace');
  });

  it('marks a dry-run decision so that nothing is acted on', () => {
    const decision = decide(withNode(aCluster(3), aPressuredNode(1, 0.95, 0.5)), { policy: aPolicy({ dryRun: true }) });
    expect(decision).toMatchObject({ kind: 'migrate', dryRun: true });
    expect(decision.summary).toBe('[dry run] migrate etcd-1 from node-1 to node-4 with surge: node-cpu-high');
  });
});

describe('when the guardian must not move anything', () => {
  it('alerts, and never migrates, when 2 of 3 members are unreachable', () => {
    const obs = withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });
    const decision = decide(obs);
    expect(decision).toMatchObject({ kind: 'alert', reason: 'quorum-lost' });
    expect(decision.summary).toBe(
      'quorum lost (1/3 healthy, 2 needed): no destructive step is safe; restore members or recover from a snapshot by hand',
    );
  });

  it('neither migrates nor alerts while lost quorum is not yet confirmed', () => {
    const obs = withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });
    expect(decide(obs, { samples: 1 })).toEqual({
      kind: 'none',
      reason: 'not-actionable',
      summary: 'quorum not seen in this sample (1/3 healthy voters); watching before alerting',
    });
  });

  it('after a quorum outage, a member still down gets k fresh samples before it is replaced', () => {
    const policy = aPolicy();
    const outage = withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });
    const recovering = withMember(aCluster(3), 2, { status: aDeadStatus() });
    let window = emptyWindow();
    const decisions: string[] = [];
    for (const obs of [outage, outage, outage, outage, recovering, recovering, recovering]) {
      const { assessment, window: next } = assessRisk(obs, policy, window);
      window = next;
      decisions.push(planMigration(obs, assessment, policy, {}, NOW).kind);
    }
    expect(decisions).toEqual(['none', 'none', 'alert', 'alert', 'none', 'none', 'migrate']);
  });

  it('alerts when no member knows a leader', () => {
    const obs: ClusterObservation = { ...aCluster(3), members: [0, 1, 2].map((i) => aMember(i, { status: aStatus({ leaderId: '0' }) })) };
    expect(decide(obs)).toMatchObject({ kind: 'alert', reason: 'no-leader' });
  });

  it('alerts with every refused node when no node is feasible', () => {
    const obs = { ...nodeDown(), nodes: nodeDown().nodes.slice(0, 3) };
    const decision = decide(obs);
    expect(decision).toMatchObject({ kind: 'alert', reason: 'no-feasible-node' });
    expect(decision.summary).toBe(
      'etcd-2 is at risk but cannot be moved: cannot move etcd-2: no feasible node: node-0: already hosts member etcd-0 | node-1: already hosts member etcd-1 | node-2: hosts etcd-2, the member being moved; not ready (Ready=Unknown, NodeStatusUnknown); tainted node.kubernetes.io/unreachable:NoSchedule, node.kubernetes.io/unreachable:NoExecute and the pod does not tolerate it',
    );
  });

  it('moves nothing for pods that are not ready while their members answer, as after a quorum outage', () => {
    const obs = [0, 1, 2].reduce((o, i) => withPod(o, i, { ready: false }), aCluster(3));
    expect(decide(obs)).toEqual({ kind: 'none', reason: 'not-actionable', summary: 'no member to move; watching: pod-not-ready x3' });
  });

  it('alerts for a critical finding it cannot fix by moving a member', () => {
    const obs = withMember(aCluster(3), 0, { status: aStatus({ alarms: ['CORRUPT'] }) });
    expect(decide(obs)).toMatchObject({ kind: 'alert', reason: 'needs-operator', summary: 'needs an operator: member etcd-0 raised CORRUPT' });
  });

  it('does nothing while another migration of the cluster is in flight', () => {
    const decision = decide(nodeDown(), { state: { inFlight: { workflowId: 'migrate-main', member: 'etcd-1' } } });
    expect(decision).toEqual({
      kind: 'none',
      reason: 'migration-in-flight',
      summary: 'etcd-2 is at risk, but migration migrate-main of etcd-1 is still running',
    });
  });

  it.each([
    ['one second after the last migration', '2026-11-24T11:59:59.000Z', 'none'],
    ['just inside the ten-minute cooldown', '2026-11-24T11:50:00.001Z', 'none'],
    ['exactly when the cooldown ends', '2026-11-24T11:50:00.000Z', 'migrate'],
    ['long after the cooldown', '2026-11-24T10:00:00.000Z', 'migrate'],
  ])('a live member at risk honours the cooldown: %s, the decision is %s', (_name, lastEndedAt, kind) => {
    expect(decide(livePressure(), { state: { lastEndedAt } }).kind).toBe(kind);
  });

  it.each([
    [
      'a member that dies within the cooldown after a migration is replaced at once',
      nodeDown,
      {
        kind: 'migrate',
        summary: 'migrate etcd-2 from node-2 to node-5 with replace: member-unreachable, node-not-ready (a dead voter is not held back by the cooldown, 540s left)',
      },
    ],
    ['a live member at risk still waits for the cooldown', livePressure, { kind: 'none', reason: 'cooldown', summary: 'etcd-1 is at risk, but the cooldown after the last migration has 540s left' }],
  ] as const)('%s', (_name, observation, expected) => {
    expect(decide(observation(), { state: { lastEndedAt: '2026-11-24T11:59:00.000Z' } })).toMatchObject(expected);
  });

  it('a dead member after the cooldown is replaced with no word of it', () => {
    expect(decide(nodeDown(), { state: { lastEndedAt: '2026-11-24T10:00:00.000Z' } }).summary).toBe(
      'migrate etcd-2 from node-2 to node-5 with replace: member-unreachable, node-not-ready',
    );
  });

  it.each([
    ['a replace one voter short, its learner not yet promoted', () => withLearner(aCluster(2), 3), 'membership short: 2 of 3 desired voters, 1 missing; the cluster tolerates 0 failures instead of 1; learner etcd-3 does not vote until it is promoted'],
    ['a replace one voter short, before its learner is added', () => aCluster(2), 'membership short: 2 of 3 desired voters, 1 missing; the cluster tolerates 0 failures instead of 1'],
    ['a surge one voter long, before the member leaves', () => aCluster(4, 6), 'membership long: 4 voters where 3 are desired, 1 surplus; every write waits for 3 of them instead of 2'],
  ])('pages no one for the voter count of a migration in flight: %s', (_name, observation, message) => {
    expect(decide(observation(), { state: { inFlight: { workflowId: 'migrate-main', member: 'etcd-2' } } })).toEqual({
      kind: 'none',
      reason: 'migration-in-flight',
      summary: `migration migrate-main of etcd-2 is still running and changes the voter count on its way: ${message}`,
    });
  });

  it('repairs a short membership when no migration is in flight: adds the missing voter on the best node', () => {
    const decision = decide(aCluster(2));
    expect(decision).toMatchObject({
      kind: 'repair',
      summary: 'repair main: 2 voters where 3 are desired: add etcd-2 (first on node-2: rack r2 hosts no member; domain z1 hosts no member; CPU 20%, memory 20%)',
    });
    expect(decision.kind === 'repair' && decision.plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters])).toEqual([
      ['backup-snapshot', 2, 2],
      ['choose-node', 2, 2],
      ['schedule-pod', 2, 2],
      ['rejoin', 3, 2],
      ['verify-member', 3, 3],
      ['verify-quorum', 3, 3],
    ]);
  });

  it('grows a single voter (a recovery\'s seed) to three: each learner is promoted once caught up, so projected healthy', () => {
    const decision = decide(aCluster(1));
    expect(decision.kind).toBe('repair');
    expect(decision.kind === 'repair' && decision.plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters])).toEqual([
      ['backup-snapshot', 1, 1],
      ['choose-node', 1, 1],
      ['schedule-pod', 1, 1],
      ['rejoin', 2, 2],
      ['verify-member', 2, 2],
      ['choose-node', 2, 2],
      ['schedule-pod', 2, 2],
      ['rejoin', 3, 3],
      ['verify-member', 3, 3],
      ['verify-quorum', 3, 3],
    ]);
  });

  it('still alerts for another critical finding during a migration, naming only that finding', () => {
    const obs = withMember(aCluster(2), 0, { status: aStatus({ alarms: ['CORRUPT'] }) });
    const decision = decide(obs, { state: { inFlight: { workflowId: 'migrate-main', member: 'etcd-2' } } });
    expect(decision).toMatchObject({ kind: 'alert', reason: 'needs-operator', summary: 'needs an operator: member etcd-0 raised CORRUPT' });
    expect(decision.kind === 'alert' && decision.findings.map((f) => f.kind)).toEqual(['db-alarm']);
  });

  it('reports a healthy cluster as healthy', () => {
    expect(decide(aCluster(3))).toEqual({ kind: 'none', reason: 'healthy', summary: 'healthy: 3/3 voters, fault tolerance 1' });
  });
});

describe('choosing which member to move first', () => {
  it('a dead member goes before a live member at risk', () => {
    const obs = withNode(nodeDown(), aPressuredNode(1, 0.95, 0.5));
    expect(migratePlan(decide(obs)).member.name).toBe('etcd-2');
  });

  it('in 5 members with two dead, the replace removes both before adding (etcd adds no member while a voter is disconnected) and quorum holds', () => {
    const obs = withMember(withMember(aCluster(5, 8), 3, { status: aDeadStatus() }), 4, { status: aDeadStatus() });
    const plan = migratePlan(decide(obs));
    expect(plan.member.name).toBe('etcd-3');
    expect(plan.strategy).toBe('replace');
    expect(plan.alsoReplaced.map((m) => m.name)).toEqual(['etcd-4']);
    // Both dead voters leave first (5 → 3 voters, 3 healthy throughout), both pods go, then each successor joins in
    // turn: a promoted learner is unhealthy until verified, so the quorum of 3 rests on the 3 survivors each time.
    expect(plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters, s.projected.quorum])).toEqual([
      ['backup-snapshot', 5, 3, 3],
      ['remove-member', 4, 3, 3],
      ['remove-member', 3, 3, 2],
      ['delete-pod', 3, 3, 2],
      ['delete-pod', 3, 3, 2],
      ['choose-node', 3, 3, 2],
      ['schedule-pod', 3, 3, 2],
      ['rejoin', 4, 3, 3],
      ['verify-member', 4, 4, 3],
      ['choose-node', 4, 4, 3],
      ['schedule-pod', 4, 4, 3],
      ['rejoin', 5, 4, 3],
      ['verify-member', 5, 5, 3],
      ['verify-quorum', 5, 5, 3],
    ]);
    expect(plan.steps[2]?.description).toBe('remove member etcd-4 (5), also down: etcd adds no member while a voter is disconnected');
    expect(plan.steps.filter((s) => s.step === 'delete-pod').map((s) => s.description)).toEqual(['delete pod etcd-3 on node-3', 'delete pod etcd-4 on node-4']);
    expect(plan.steps.filter((s) => s.step === 'schedule-pod').map((s) => s.description)).toEqual(['add etcd-5 as a learner and create its pod', 'add etcd-6 as a learner and create its pod']);
    expect(plan.steps.at(-1)?.args).toEqual({ expectedVoters: 5, hashTimeoutMs: 3_000 });
    expect(plan.reasons).toContain('also replaced, being down too: etcd-4 (etcd adds no member while a voter is disconnected)');
  });

  it('behind a headless Service, a replace of two dead voters gives each successor its member\'s name, confirmed only after both are removed and their pods deleted', () => {
    const obs = withMember(withMember(aCluster(5, 8), 3, { status: aDeadStatus() }), 4, { status: aDeadStatus() });
    const plan = migratePlan(decide(obs, { policy: aPolicy({ addressingMode: 'headless-service' }) }));
    expect(plan.newMemberName).toBe('etcd-3');
    expect(plan.steps.filter((s) => s.step === 'schedule-pod').map((s) => s.description)).toEqual(['add etcd-3 as a learner and create its pod', 'add etcd-4 as a learner and create its pod']);
    expect(plan.steps.filter((s) => s.step === 'choose-node').map((s) => s.args)).toMatchObject([{ slot: 'main', preferredName: 'etcd-3' }, { slot: 'also-etcd-4', preferredName: 'etcd-4' }]);
    const firstChoice = plan.steps.findIndex((s) => s.step === 'choose-node');
    const lastRemoval = plan.steps.map((s) => s.step).lastIndexOf('delete-pod');
    expect(lastRemoval).toBeLessThan(firstChoice);
    expect(plan.reasons).toContain('successor named etcd-3: a replace behind a headless Service keeps the name etcd-3, so its DNS name stays valid; reused only once the member and its pod are gone');
  });

  it('behind a headless Service, a surge takes a new name: both members exist at once', () => {
    const plan = migratePlan(decide(livePressure(), { policy: aPolicy({ addressingMode: 'headless-service' }) }));
    expect(plan.strategy).toBe('surge');
    expect(plan.newMemberName).toBe('etcd-3');
  });

  it('a replace with every other voter healthy takes no other member along', () => {
    expect(migratePlan(decide(nodeDown())).alsoReplaced).toEqual([]);
  });
});

describe('building a manual migration plan', () => {
  const request = (overrides: Partial<Parameters<typeof buildMigrationPlan>[0]> = {}) =>
    buildMigrationPlan({ observation: aCluster(3), member: 'etcd-1', strategy: 'auto', policy: aPolicy(), now: NOW, ...overrides });

  it('moves a named member to a named node', () => {
    const result = request({ targetNode: 'node-5' });
    expect('plan' in result && result.plan.target.node).toBe('node-5');
  });

  it('accepts a member by its hex id', () => {
    const result = request({ member: '0x2' });
    expect('plan' in result && result.plan.member.name).toBe('etcd-1');
  });

  it.each([
    ['an unknown member', { member: 'etcd-9' }, { code: 'unknown-member', field: 'member', message: 'member "etcd-9" is not in cluster main; members: etcd-0, etcd-1, etcd-2' }],
    ['an unknown target node', { targetNode: 'node-99' }, { code: 'unknown-target', field: 'targetNode', message: 'targetNode "node-99" is not a node of the cluster; nodes: node-0, node-1, node-2, node-3, node-4, node-5' }],
    ['a target that already hosts a member', { targetNode: 'node-0' }, { code: 'target-refused', field: 'targetNode', message: 'targetNode "node-0" cannot host a member: already hosts member etcd-0' }],
  ] as const)('refuses %s, naming the field and the value', (_name, overrides, refusal) => {
    expect(request(overrides)).toEqual({ refusal: expect.objectContaining(refusal) as unknown });
  });

  it('refuses a target node that is not ready', () => {
    const obs = withNode(aCluster(3), aDownNode(5));
    const result = buildMigrationPlan({ observation: obs, member: 'etcd-1', strategy: 'auto', policy: aPolicy(), now: NOW, targetNode: 'node-5' });
    expect('refusal' in result && result.refusal.message).toBe(
      'targetNode "node-5" cannot host a member: not ready (Ready=Unknown, NodeStatusUnknown); tainted node.kubernetes.io/unreachable:NoSchedule, node.kubernetes.io/unreachable:NoExecute and the pod does not tolerate it',
    );
  });

  it('refuses to move a learner', () => {
    const obs = { ...aCluster(3), members: [...aCluster(3).members, aMember(3, { isLearner: true })] };
    const result = buildMigrationPlan({ observation: obs, member: 'etcd-3', strategy: 'auto', policy: aPolicy(), now: NOW });
    expect('refusal' in result && result.refusal.code).toBe('member-is-learner');
  });

  it('refuses a replace of a live member while another is dead, since removing it would lose quorum', () => {
    const result = buildMigrationPlan({ observation: nodeDown(), member: 'etcd-0', strategy: 'replace', policy: aPolicy(), now: NOW });
    expect('refusal' in result && result.refusal).toMatchObject({ code: 'quorum-guard' });
    expect('refusal' in result && result.refusal.message).toBe(
      'cannot move etcd-0 with replace: step remove-member refused by the quorum guard: remove-member etcd-0 would leave 1/2 healthy voters, quorum 2: below quorum (now 2/3 healthy voters, quorum 2)',
    );
  });

  it('refuses to surge a live member while another voter is down, naming it, since etcd would refuse to add the learner', () => {
    const result = buildMigrationPlan({ observation: nodeDown(), member: 'etcd-0', strategy: 'surge', policy: aPolicy(), now: NOW });
    expect('refusal' in result && result.refusal).toMatchObject({
      code: 'peer-down',
      message: 'cannot surge etcd-0: etcd adds no member while voter etcd-2 is down; migrate etcd-2 first (a replace removes every voter that is down and replaces each)',
    });
  });

  it('keeps off a node that still holds a pod no member owns', () => {
    const obs = { ...nodeDown(), pods: [...nodeDown().pods, { name: 'etcd-3', nodeName: 'node-5', phase: 'Running' as const, ready: false, restartCount: 0, terminating: true }] };
    const result = buildMigrationPlan({ observation: obs, member: 'etcd-2', strategy: 'auto', policy: aPolicy(), now: NOW });
    if (!('plan' in result)) throw new Error(result.refusal.message);
    expect(result.plan.placement.refused).toContainEqual({ node: 'node-5', reasons: ['holds pod etcd-3 of this cluster'] });
    expect(result.plan.newMemberName).toBe('etcd-4');
  });

  it('skips nodes excluded by an earlier failed attempt and says why', () => {
    const result = buildMigrationPlan({ observation: nodeDown(), member: 'etcd-2', strategy: 'auto', policy: aPolicy(), now: NOW, excludedNodes: { 'node-5': 'pod never became ready in attempt 1' } });
    if (!('plan' in result)) throw new Error(result.refusal.message);
    expect(result.plan.target.node).not.toBe('node-5');
    expect(result.plan.placement.refused).toContainEqual({ node: 'node-5', reasons: ['pod never became ready in attempt 1'] });
  });
});

describe('names and strategies', () => {
  it.each([
    ['the first member', [], 'etcd-0'],
    ['after etcd-0..2', ['etcd-0', 'etcd-1', 'etcd-2'], 'etcd-3'],
    ['after a gap', ['etcd-0', 'etcd-7'], 'etcd-8'],
    ['ignoring names of another shape', ['etcd-0', 'etcd-x-9', 'other-5', 'etcd-01x'], 'etcd-1'],
  ])('%s gets the next free ordinal', (_name, taken, expected) => {
    expect(nextMemberName('etcd', taken)).toBe(expected);
  });

  it.each([
    ['auto', true, 'surge'],
    ['auto', false, 'replace'],
    ['surge', false, 'replace'],
    ['replace', true, 'replace'],
    ['surge', true, 'surge'],
  ] as const)('preference %s for a member healthy=%s resolves to %s', (preference, healthy, strategy) => {
    expect(resolveStrategy(preference, healthy).strategy).toBe(strategy);
  });
});

describe('members the guardian may not move', () => {
  const mirror = { kind: 'static', evidence: 'kubernetes.io/config.mirror=h' } as const;
  const owned = { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 'etcd' } as const;
  const allPods = (obs: ClusterObservation, workload: typeof mirror | typeof owned): ClusterObservation => ({ ...obs, pods: obs.pods.map((p) => ({ ...p, workload })) });

  it('a dead member of a static-pod cluster is an alert with the reason and the kubeadm runbook, not a migration', () => {
    const decision = decide(allPods(nodeDown(), mirror));
    expect(decision.kind).toBe('alert');
    if (decision.kind !== 'alert') return;
    expect(decision.reason).toBe('unmovable-workload');
    expect(decision.summary).toContain('etcd-2 is at risk (member-unreachable, node-not-ready) but the guardian will not move it: pod etcd-2 is a static pod');
    expect(decision.summary).toContain('approve its removal with etcd-guardian repair main --approve-removal etcd-2');
    expect(decision.findings.map((f) => f.kind).sort()).toEqual(['member-unreachable', 'node-not-ready']);
    expect(decision.runbook?.[0]).toBe('runbook: replace node-2, the kubeadm control-plane node of etcd member etcd-2 (3) of main');
  });

  it('a live static member at risk is an alert without a removal runbook: it stays a member', () => {
    const decision = decide(allPods(livePressure(), mirror));
    expect(decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
    if (decision.kind === 'alert') {
      expect(decision.summary).toContain('it answers, so it stays a member');
      expect(decision.runbook).toBeUndefined();
    }
  });

  it('a member whose pod a StatefulSet owns is refused with the owner named', () => {
    const decision = decide(allPods(nodeDown(), owned));
    expect(decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
    if (decision.kind === 'alert') expect(decision.summary).toContain('pod etcd-2 is a pod owned by StatefulSet etcd');
  });

  it('a manual migration of a static member is refused up front, naming the member field', () => {
    const built = buildMigrationPlan({ observation: allPods(nodeDown(), mirror), member: 'etcd-2', strategy: 'auto', policy: aPolicy(), now: NOW });
    expect('refusal' in built && [built.refusal.code, built.refusal.field]).toEqual(['static-pod', 'member']);
  });

  it('a member whose pod is gone is judged by the pods its successor would copy', () => {
    const obs = allPods({ ...nodeDown(), pods: nodeDown().pods.filter((p) => p.name !== 'etcd-2') }, owned);
    const built = buildMigrationPlan({ observation: withMember(obs, 2, { podName: undefined }), member: 'etcd-2', strategy: 'auto', policy: aPolicy(), now: NOW });
    expect('refusal' in built && built.refusal.code).toBe('controller-owned');
  });

  it('a bare member of a cluster where another pod is static still moves (its own pod is the template)', () => {
    const obs = withPod(nodeDown(), 0, { workload: mirror });
    expect(decide(obs).kind).toBe('migrate');
  });

  it('a static-pod cluster short of a voter is not repaired by copying a pod: an alert says how to add one', () => {
    const obs = allPods({ ...aCluster(3), members: aCluster(3).members.slice(0, 2) }, mirror);
    const decision = decide(obs);
    expect(decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
    if (decision.kind === 'alert') expect(decision.summary).toContain('kubeadm join --control-plane');
  });
});

describe('members of the configured StatefulSet', () => {
  const owner = (name: string) => ({ kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: name }) as const;
  const statefulSet = aPolicy({ workload: { kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' } });
  const ownedBy = (obs: ClusterObservation, name: string, kind = 'StatefulSet'): ClusterObservation => ({
    ...obs,
    pods: obs.pods.map((p) => ({ ...p, workload: { ...owner(name), ownerKind: kind } })),
  });

  it('a dead member is replaced through its StatefulSet: removed, its ordinal recreated on the chosen node, old volumes released last', () => {
    const plan = migratePlan(decide(ownedBy(nodeDown(), 'etcd'), { policy: statefulSet }));
    expect(plan).toMatchObject({ strategy: 'replace', newMemberName: 'etcd-2', target: { node: 'node-5' } });
    expect(plan.steps.map((s) => [s.step, s.projected.voters, s.projected.healthyVoters, s.projected.learners])).toEqual([
      ['backup-snapshot', 3, 2, 0],
      ['remove-member', 2, 2, 0],
      ['choose-node', 2, 2, 0],
      ['schedule-pod', 2, 2, 1],
      ['rejoin', 3, 2, 0],
      ['verify-member', 3, 3, 0],
      ['verify-quorum', 3, 3, 0],
      ['release-volumes', 3, 3, 0],
    ]);
    const schedule = plan.steps.find((s) => s.step === 'schedule-pod');
    expect(schedule?.args).toEqual({ slot: 'main', templateMember: 'etcd-2', statefulSet: { statefulSet: 'etcd', podName: 'etcd-2', claimName: 'data-etcd-2' } });
    expect(plan.steps.find((s) => s.step === 'choose-node')?.args).toMatchObject({ statefulSetPod: 'etcd-2' });
    expect(plan.steps.find((s) => s.step === 'release-volumes')?.args).toEqual({ statefulSet: 'etcd', claims: [{ statefulSet: 'etcd', podName: 'etcd-2', claimName: 'data-etcd-2' }] });
  });

  it('a live member is replaced, not surged, and the plan says why: the ordinal\'s pod name is held by the old pod', () => {
    for (const preference of ['auto', 'surge'] as const) {
      const built = buildMigrationPlan({ observation: ownedBy(livePressure(), 'etcd'), member: 'etcd-1', strategy: preference, policy: statefulSet, now: NOW });
      if (!('plan' in built)) throw new Error(built.refusal.message);
      expect(built.plan.strategy).toBe('replace');
      expect(built.plan.reasons).toContain(
        'replace, not surge: pod etcd-1 of StatefulSet etcd holds the ordinal\'s name while it exists, so no successor can run beside it; etcd-1 is removed, then StatefulSet etcd recreates etcd-1 on the chosen node and it joins as a learner',
      );
      // A live member is removed while healthy: fault tolerance drops to 0 until its successor votes, never below quorum.
      expect(built.plan.steps.map((s) => s.projected.faultTolerance)).toEqual([1, 0, 0, 0, 0, 1, 1, 1]);
    }
  });

  it('keeps the same guards: a cluster that would lose quorum is refused', () => {
    const twoDown = withMember(nodeDown(), 1, { status: aDeadStatus() });
    const built = buildMigrationPlan({ observation: ownedBy(twoDown, 'etcd'), member: 'etcd-2', strategy: 'auto', policy: statefulSet, now: NOW });
    expect('refusal' in built && built.refusal.code).toBe('quorum-guard');
  });

  it('keeps the placement rules: only an allowed node is chosen, and none left is a refusal', () => {
    const allowed = aPolicy({ workload: { kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' }, placement: { allowedNodes: ['node-4'] } });
    const built = buildMigrationPlan({ observation: ownedBy(nodeDown(), 'etcd'), member: 'etcd-2', strategy: 'auto', policy: allowed, now: NOW });
    expect('plan' in built && built.plan.target.node).toBe('node-4');
    const none = aPolicy({ workload: { kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' }, placement: { allowedNodes: ['node-2'] } });
    const refused = buildMigrationPlan({ observation: ownedBy(nodeDown(), 'etcd'), member: 'etcd-2', strategy: 'auto', policy: none, now: NOW });
    expect('refusal' in refused && refused.refusal.code).toBe('no-feasible-node');
  });

  it('another down voter is replaced in the same run, on its own ordinal', () => {
    const obs = ownedBy(withMember(withNode(aCluster(5), aDownNode(1)), 1, { status: aDeadStatus() }), 'etcd');
    const built = buildMigrationPlan({ observation: withMember(withNode(obs, aDownNode(3)), 3, { status: aDeadStatus() }), member: 'etcd-1', strategy: 'auto', policy: statefulSet, now: NOW });
    if (!('plan' in built)) throw new Error(built.refusal.message);
    const schedules = built.plan.steps.filter((s) => s.step === 'schedule-pod').map((s) => s.args);
    expect(schedules.map((a) => ('statefulSet' in a ? a.statefulSet?.podName : undefined))).toEqual(['etcd-1', 'etcd-3']);
    expect(built.plan.steps.at(-1)?.args).toMatchObject({ claims: [{ podName: 'etcd-1' }, { podName: 'etcd-3' }] });
  });

  it.each<[string, ClusterObservation, Policy, string, string]>([
    [
      'a pod of another StatefulSet',
      ownedBy(nodeDown(), 'etcd-old'),
      statefulSet,
      'controller-owned',
      "cannot move etcd-2: pod etcd-2 is a pod owned by StatefulSet etcd-old, but the cluster's configured workload (clusters[].workload) is StatefulSet etcd: the guardian moves only that StatefulSet's pods; move the member through the StatefulSet, or configure workload: { kind: StatefulSet, name: etcd-old } if it is a StatefulSet",
    ],
    [
      'a pod of a ReplicaSet',
      ownedBy(nodeDown(), 'etcd-7d9f', 'ReplicaSet'),
      statefulSet,
      'controller-owned',
      "cannot move etcd-2: pod etcd-2 is a pod owned by ReplicaSet etcd-7d9f, but the cluster's configured workload (clusters[].workload) is StatefulSet etcd: the guardian moves only that StatefulSet's pods; move the member through the ReplicaSet, or configure workload: { kind: ReplicaSet, name: etcd-7d9f } if it is a StatefulSet",
    ],
    [
      'a StatefulSet pod in a cluster configured as bare pods',
      ownedBy(nodeDown(), 'etcd'),
      aPolicy(),
      'controller-owned',
      "cannot move etcd-2: pod etcd-2 is a pod owned by StatefulSet etcd: that controller recreates and places its pods, so the guardian does not delete or copy them; move the member through the StatefulSet (the cluster's configured workload (clusters[].workload) is bare pods; a StatefulSet's members move through it when it is configured as workload: { kind: StatefulSet, name: <its name> })",
    ],
    [
      'a bare pod in a cluster configured as a StatefulSet',
      nodeDown(),
      statefulSet,
      'workload-mismatch',
      "cannot move etcd-2: pod etcd-2 is a bare pod owned by no controller, but the cluster's configured workload (clusters[].workload) is StatefulSet etcd: deleting it would lose it, since no controller recreates it; fix clusters[].workload or the pod",
    ],
  ])('refuses %s, naming the owner and what is configured', (_name, observation, policy, code, message) => {
    const built = buildMigrationPlan({ observation, member: 'etcd-2', strategy: 'auto', policy, now: NOW });
    expect('refusal' in built && [built.refusal.code, built.refusal.field, built.refusal.message]).toEqual([code, 'member', message]);
  });

  it('the monitor alerts instead of migrating a member of a StatefulSet that is not the configured one', () => {
    const decision = decide(ownedBy(nodeDown(), 'etcd-old'), { policy: statefulSet });
    expect(decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
  });
});
