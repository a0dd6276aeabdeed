import type { ClusterObservation } from '../../../src/domain/observation';
import type { Policy } from '../../../src/domain/policy';
import { assessRisk, type Assessment, type Finding } from '../../../src/domain/risk';
import { counterIncrement, emptyWindow, type SampleWindow } from '../../../src/domain/window';
import {
  aCluster,
  aDeadStatus,
  aDownNode,
  aMember,
  aNode,
  aPolicy,
  aPressuredNode,
  aStatus,
  withMember,
  withNode,
  withPod,
} from '../../builders';

/** Assess a sequence of observations, carrying the window; returns the last assessment and window. */
function assessSeries(observations: ClusterObservation[], policy: Policy = aPolicy()): { assessment: Assessment; window: SampleWindow } {
  let window = emptyWindow();
  let last: Assessment | undefined;
  for (const obs of observations) {
    const result = assessRisk(obs, policy, window);
    window = result.window;
    last = result.assessment;
  }
  if (!last) throw new Error('no observation');
  return { assessment: last, window };
}

function repeat(obs: ClusterObservation, times: number): ClusterObservation[] {
  return Array.from({ length: times }, () => obs);
}

function kinds(findings: Finding[], confirmed = true): string[] {
  return findings.filter((f) => f.confirmed === confirmed).map((f) => `${f.kind}${f.member ? `:${f.member}` : ''}`);
}

describe('a healthy cluster', () => {
  it.each([1, 3, 5, 7])('of %i members, all desired, yields no findings over several samples', (members) => {
    const { assessment } = assessSeries(repeat(aCluster(members, members + 3), 5), aPolicy({ desiredVoters: members }));
    expect(assessment.findings).toEqual([]);
    expect(assessment.healthy).toBe(true);
    expect(assessment.leader).toEqual({ id: '1', name: 'etcd-0' });
  });

  it('a single member is not reported at risk: it has no redundancy to lose', () => {
    expect(assessSeries([aCluster(1)]).assessment.quorum).toMatchObject({ faultTolerance: 0, hasQuorum: true });
  });

  it('is summarised with its voters and fault tolerance', () => {
    expect(assessSeries([aCluster(3)]).assessment.summary).toBe('healthy: 3/3 voters, fault tolerance 1');
  });
});

describe('hysteresis: a signal counts only after k consecutive samples', () => {
  const pressured = withNode(aCluster(3), aPressuredNode(1, 0.95, 0.92));

  it.each([
    [1, 1, true],
    [2, 1, false],
    [3, 2, false],
    [3, 3, true],
    [3, 5, true],
  ])('with k=%i after %i samples the CPU finding is confirmed: %s', (k, samples, confirmed) => {
    const { assessment } = assessSeries(repeat(pressured, samples), aPolicy({ hysteresisSamples: k }));
    const cpu = assessment.findings.find((f) => f.kind === 'node-cpu-high');
    expect(cpu).toMatchObject({ member: 'etcd-1', node: 'node-1', samples, confirmed });
  });

  it('a flapping node (unhealthy, healthy, unhealthy) never reaches k=3', () => {
    const healthy = aCluster(3);
    const { assessment } = assessSeries([pressured, pressured, healthy, pressured, pressured]);
    expect(assessment.findings.find((f) => f.kind === 'node-cpu-high')).toMatchObject({ samples: 2, confirmed: false });
    expect(assessment.healthy).toBe(true);
    expect(assessment.summary).toBe('healthy: 3/3 voters, fault tolerance 1, 2 signal(s) pending');
  });

  it('the window keeps only the signals that still hold', () => {
    const { window } = assessSeries([pressured, aCluster(3)]);
    expect(window.streaks).toEqual({});
    expect(window.samples).toBe(2);
  });

  it('quorum findings too wait for k samples, so that a leader election pages no one', () => {
    const obs = withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });
    expect(kinds(assessSeries([obs]).assessment.findings, false)).toEqual(['quorum-lost', 'member-unreachable:etcd-1', 'member-unreachable:etcd-2']);
    expect(kinds(assessSeries(repeat(obs, 3)).assessment.findings)).toEqual(['quorum-lost']);
  });

  it('while quorum is lost, member findings are shown but do not count toward k', () => {
    const obs = withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });
    const { assessment, window } = assessSeries(repeat(obs, 5));
    expect(assessment.findings.filter((f) => f.kind === 'member-unreachable').map((f) => [f.member, f.samples, f.confirmed])).toEqual([
      ['etcd-1', 0, false],
      ['etcd-2', 0, false],
    ]);
    expect(window.streaks).toEqual({ 'quorum-lost/cluster': 5 });
  });
});

describe('findings carry the figures and thresholds that fired', () => {
  it('node under CPU and memory pressure', () => {
    const obs = withNode(aCluster(3), aPressuredNode(1, 0.95, 0.92));
    const { assessment } = assessSeries(repeat(obs, 3));
    expect(assessment.findings).toEqual([
      expect.objectContaining({
        kind: 'node-cpu-high',
        severity: 'warning',
        member: 'etcd-1',
        message: 'node node-1 of member etcd-1 CPU at 95% of allocatable (threshold 90%)',
        evidence: { cpuUsage: 0.95, threshold: 0.9, usedMillis: 3800, allocatableMillis: 4000 },
      }),
      expect.objectContaining({
        kind: 'node-memory-high',
        message: 'node node-1 of member etcd-1 memory at 92% of allocatable (threshold 90%)',
        evidence: expect.objectContaining({ memoryUsage: 0.92, threshold: 0.9 }) as unknown,
      }),
    ]);
    expect(assessment.summary).toBe('2 finding(s): node-cpu-high(etcd-1), node-memory-high(etcd-1)');
  });

  it.each<[string, ClusterObservation, string[]]>([
    ['a node that stops being ready, with its member unreachable', withMember(withNode(aCluster(3), aDownNode(1)), 1, { status: aDeadStatus() }), ['member-unreachable:etcd-1', 'node-not-ready:etcd-1', 'quorum-at-risk']],
    ['a node that is no longer in the cluster', { ...aCluster(3), nodes: aCluster(3).nodes.filter((n) => n.name !== 'node-1') }, ['node-not-ready:etcd-1']],
    ['a node reporting disk pressure', withNode(aCluster(3), aNode(2, { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'True' }] })), ['node-pressure:etcd-2']],
    ['a member trailing the leader by more than the threshold', withMember(withMember(aCluster(3), 0, { status: aStatus({ raftIndex: 1500 }) }), 2, { status: aStatus({ raftIndex: 10 }) }), ['member-lagging:etcd-2']],
    ['a member trailing by less than the threshold', withMember(aCluster(3), 2, { status: aStatus({ raftIndex: 10 }) }), []],
    ['a member whose WAL fsync is slow', withMember(aCluster(3), 1, { status: aStatus({ walFsyncP99Seconds: 1.2 }) }), ['slow-fsync:etcd-1']],
    ['a member whose peer round trips are slow', withMember(aCluster(3), 1, { status: aStatus({ peerRoundTripP99Seconds: 0.9 }) }), ['slow-peer-network:etcd-1']],
    ['a member that raised NOSPACE', withMember(aCluster(3), 0, { status: aStatus({ alarms: ['NOSPACE'] }) }), ['nospace-alarm']],
    ['a member that raised CORRUPT', withMember(aCluster(3), 0, { status: aStatus({ alarms: ['CORRUPT'] }) }), ['db-alarm:etcd-0']],
    ['a pod that is not ready', withPod(aCluster(3), 2, { ready: false }), ['pod-not-ready:etcd-2']],
    ['a member whose pod is gone', { ...aCluster(3), pods: aCluster(3).pods.slice(0, 2) }, ['pod-not-ready:etcd-2']],
    ['no member knowing a leader', { ...aCluster(3), members: [0, 1, 2].map((i) => aMember(i, { status: aStatus({ hasLeader: false, leaderId: '0' }) })) }, ['quorum-lost', 'no-leader']],
    ['one member of five down, which still tolerates one more', withMember(aCluster(5, 8), 4, { status: aDeadStatus() }), ['member-unreachable:etcd-4']],
    ['two members of five down', withMember(withMember(aCluster(5, 8), 3, { status: aDeadStatus() }), 4, { status: aDeadStatus() }), ['member-unreachable:etcd-3', 'member-unreachable:etcd-4', 'quorum-at-risk']],
  ])('%s', (_name, obs, expected) => {
    const { assessment } = assessSeries(repeat(obs, 3), aPolicy({ desiredVoters: obs.members.length }));
    expect(kinds(assessment.findings).sort()).toEqual(expected.sort());
  });

  it('a dead member names the error it gave', () => {
    const obs = withMember(aCluster(3), 1, { status: aDeadStatus('connect ECONNREFUSED 127.0.1.2:2379') });
    const finding = assessSeries(repeat(obs, 3)).assessment.findings.find((f) => f.kind === 'member-unreachable');
    expect(finding?.message).toBe('member etcd-1 does not answer at 127.0.1.2:2379: connection refused');
    expect(finding?.evidence).toEqual({ error: 'connect ECONNREFUSED 127.0.1.2:2379', clientURL: 'http://127.0.1.2:2379' });
  });

  it('a learner does not count as a voter', () => {
    const obs = { ...aCluster(3), members: [...aCluster(3).members, aMember(3, { isLearner: true, podName: undefined })] };
    const { assessment } = assessSeries([obs]);
    expect(assessment.quorum).toMatchObject({ voters: 3, learners: 1, faultTolerance: 1 });
  });
});

describe('the desired number of voters', () => {
  const withLearner = (obs: ClusterObservation): ClusterObservation => ({
    ...obs,
    members: [...obs.members, aMember(obs.members.length, { isLearner: true, podName: undefined })],
  });
  const membership = (assessment: Assessment): Finding[] => assessment.findings.filter((f) => f.kind.startsWith('membership-'));

  it.each<[string, number, ClusterObservation, Partial<Finding> | undefined]>([
    [
      '3 desired, 2 voters: membership-short, critical',
      3,
      aCluster(2),
      {
        kind: 'membership-short',
        severity: 'critical',
        message: 'membership short: 2 of 3 desired voters, 1 missing; the cluster tolerates 0 failures instead of 1',
        evidence: { voters: 2, desired: 3, learners: 0 },
      },
    ],
    [
      '5 desired, 4 voters: membership-short, although four voters still tolerate a failure',
      5,
      aCluster(4, 8),
      {
        kind: 'membership-short',
        severity: 'critical',
        message: 'membership short: 4 of 5 desired voters, 1 missing; the cluster tolerates 1 failure instead of 2',
        evidence: { voters: 4, desired: 5, learners: 0 },
      },
    ],
    [
      '3 desired, 2 voters and a learner: membership-short, naming the learner that does not vote yet',
      3,
      withLearner(aCluster(2)),
      {
        kind: 'membership-short',
        severity: 'critical',
        message: 'membership short: 2 of 3 desired voters, 1 missing; the cluster tolerates 0 failures instead of 1; learner etcd-2 does not vote until it is promoted',
        evidence: { voters: 2, desired: 3, learners: 1 },
      },
    ],
    ['3 desired, 3 voters and a learner: nothing, a surge in progress is the right size', 3, withLearner(aCluster(3)), undefined],
    [
      '3 desired, 4 voters: membership-long, warning',
      3,
      aCluster(4),
      {
        kind: 'membership-long',
        severity: 'warning',
        message: 'membership long: 4 voters where 3 are desired, 1 surplus; every write waits for 3 of them instead of 2',
        evidence: { voters: 4, desired: 3, learners: 0, surplus: 1 },
      },
    ],
    [
      '3 desired, 4 voters of which one is down: membership-long names the voter that is not healthy',
      3,
      withMember(aCluster(4), 3, { status: aDeadStatus() }),
      {
        kind: 'membership-long',
        severity: 'warning',
        message: 'membership long: 4 voters where 3 are desired, 1 surplus; every write waits for 3 of them instead of 2; not healthy: etcd-3',
        evidence: { voters: 4, desired: 3, learners: 0, surplus: 1 },
      },
    ],
    [
      '3 desired, 5 voters: membership-long by two',
      3,
      aCluster(5, 8),
      {
        kind: 'membership-long',
        message: 'membership long: 5 voters where 3 are desired, 2 surplus; every write waits for 3 of them instead of 2',
        evidence: { voters: 5, desired: 3, learners: 0, surplus: 2 },
      },
    ],
    ['1 desired, 1 voter: nothing', 1, aCluster(1), undefined],
    ['5 desired, 5 voters: nothing', 5, aCluster(5, 8), undefined],
  ])('%s', (_name, desiredVoters, obs, expected) => {
    const { assessment } = assessSeries(repeat(obs, 3), aPolicy({ desiredVoters }));
    expect(membership(assessment)).toEqual(expected === undefined ? [] : [{ ...expected, severity: expected.severity ?? 'warning', samples: 3, confirmed: true }]);
  });

  it('a short cluster is not healthy, and says so in its summary', () => {
    const { assessment } = assessSeries(repeat(aCluster(4, 8), 3), aPolicy({ desiredVoters: 5 }));
    expect(assessment.healthy).toBe(false);
    expect(assessment.summary).toBe('1 finding(s): membership-short');
  });

  it('a single sample does not confirm it', () => {
    const { assessment } = assessSeries([aCluster(4, 8)], aPolicy({ desiredVoters: 5 }));
    expect(membership(assessment)).toEqual([expect.objectContaining({ kind: 'membership-short', samples: 1, confirmed: false })]);
    expect(assessment.healthy).toBe(true);
    expect(assessment.summary).toBe('healthy: 4/4 voters, fault tolerance 1, 1 signal(s) pending');
  });

  it('an ordinary surge (a learner, then four voters for one sample, then three) confirms nothing', () => {
    const series = [aCluster(3), withLearner(aCluster(3)), aCluster(4), aCluster(3)];
    const { assessment, window } = assessSeries(series, aPolicy({ desiredVoters: 3 }));
    expect(assessment.findings).toEqual([]);
    expect(window.streaks).toEqual({});
  });

  it('an interrupted surge that leaves four voters is confirmed after k samples', () => {
    const series = [aCluster(3), withLearner(aCluster(3)), ...repeat(aCluster(4), 3)];
    const { assessment } = assessSeries(series, aPolicy({ desiredVoters: 3 }));
    expect(kinds(assessment.findings)).toEqual(['membership-long']);
  });

  it('while quorum is lost it is still reported and counted, but quorum-lost stays the headline', () => {
    const obs = withMember(aCluster(2), 1, { status: aDeadStatus() });
    const { assessment } = assessSeries(repeat(obs, 3), aPolicy({ desiredVoters: 3 }));
    expect(kinds(assessment.findings)).toEqual(['quorum-lost', 'membership-short']);
    expect(assessment.summary).toBe('2 finding(s): quorum-lost, membership-short');
  });

  it('says nothing about the size when the member list could not be read: unknown is not absent', () => {
    const obs = { ...aCluster(2), missingSignals: ['member-list'] };
    const { assessment, window } = assessSeries(repeat(obs, 3), aPolicy({ desiredVoters: 3 }));
    expect(membership(assessment)).toEqual([]);
    expect(Object.keys(window.streaks).filter((key) => key.startsWith('membership-'))).toEqual([]);
  });
});

describe('windowed counters', () => {
  const withCounters = (leaderChanges: number, failed: number, restarts = 0): ClusterObservation => {
    const base = aCluster(3);
    return {
      ...withPod(base, 1, { restartCount: restarts }),
      members: base.members.map((m) => ({ ...m, status: aStatus({ leaderChangesSeen: leaderChanges, proposalsFailed: failed }) })),
    };
  };

  it('leader churn counts leader changes over the window, once per change', () => {
    const { assessment } = assessSeries([1, 2, 3, 4, 5, 6].map((n) => withCounters(n, 0)));
    const churn = assessment.findings.find((f) => f.kind === 'leader-churn');
    expect(churn).toMatchObject({ confirmed: true, evidence: { leaderChanges: 5, windowSamples: 10, threshold: 3 } });
  });

  it('changes that fall out of the window stop counting', () => {
    const series = [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5].map((n) => withCounters(n, 0));
    expect(assessSeries(series).assessment.findings).toEqual([]);
  });

  it('failed proposals add up over members', () => {
    const { assessment } = assessSeries([0, 1, 2, 3].map((n) => withCounters(1, n)));
    expect(assessment.findings.find((f) => f.kind === 'proposals-failed')?.evidence).toMatchObject({ failedProposals: 9 });
  });

  it('a crash-looping pod is reported once its restarts cross the threshold', () => {
    const { assessment } = assessSeries([0, 1, 2, 3, 4, 5].map((n) => withCounters(1, 0, n)));
    expect(assessment.findings.find((f) => f.kind === 'pod-restarting')).toMatchObject({
      member: 'etcd-1',
      pod: 'etcd-1',
      confirmed: true,
      evidence: { restarts: 5, restartCount: 5, threshold: 2 },
    });
  });

  it.each([
    ['one restart: an event, not a loop', [0, 0, 1, 1], undefined],
    ['the second restart, in the sample that sees it: confirmed at once', [0, 0, 1, 1, 2], { samples: 1, confirmed: true }],
    ['two restarts seen in one sample', [0, 2], { samples: 1, confirmed: true }],
    ['two restarts more than the window apart', [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], undefined],
  ])('a crash loop by the default threshold: %s', (_name, counts, expected) => {
    const { assessment } = assessSeries(counts.map((n) => withCounters(1, 0, n)));
    const finding = assessment.findings.find((f) => f.kind === 'pod-restarting');
    if (expected === undefined) expect(finding).toBeUndefined();
    else expect(finding).toMatchObject(expected);
  });

  it('names what a crash-looping member said of its data: the unreachable and restarting findings carry the cause', () => {
    const cause = 'its data directory was wiped: etcd refuses to bootstrap member m1 again, which the cluster already has ("has already been bootstrapped")';
    const series = [0, 1, 2, 3, 4, 5].map((n) => withPod(withMember(withCounters(1, 0, n), 1, { status: aDeadStatus('connection refused') }), 1, { dataFault: cause, restartCount: n }));
    const { assessment } = assessSeries(series);
    const unreachable = assessment.findings.find((f) => f.kind === 'member-unreachable');
    expect(unreachable?.message).toMatch(new RegExp(`^member etcd-1 does not answer at .*; its last exit says ${cause.replace(/[()]/g, '\\$&')}$`));
    expect(unreachable?.evidence['dataFault']).toBe(cause);
    expect(assessment.findings.find((f) => f.kind === 'pod-restarting')?.message).toBe(`pod etcd-1 of member etcd-1 restarted 5 times in the last 10 samples (threshold 2): ${cause}`);
  });

  it.each<[string, { exitCode: number; reason?: string } | undefined, string]>([
    ['killed (a liveness probe, the OOM killer, a fault)', { exitCode: 137, reason: 'Error' }, '; its last exit: code 137 (SIGKILL)'],
    ['out of its memory limit', { exitCode: 137, reason: 'OOMKilled' }, '; its last exit: code 137 (OOMKilled, SIGKILL)'],
    ['stopped by SIGTERM', { exitCode: 143 }, '; its last exit: code 143 (SIGTERM)'],
    ["etcd's own error exit", { exitCode: 2, reason: 'Error' }, '; its last exit: code 2'],
    ['a signal without a name here', { exitCode: 135 }, '; its last exit: code 135'],
    ['no exit seen', undefined, ''],
  ])('a crash loop with no data fault says how the container last ended: %s', (_name, lastExit, clause) => {
    const series = [0, 1, 2].map((n) => withPod(withCounters(1, 0, n), 1, { restartCount: n, ...(lastExit ? { lastExit } : {}) }));
    const finding = assessSeries(series).assessment.findings.find((f) => f.kind === 'pod-restarting');
    expect(finding?.message).toBe(`pod etcd-1 of member etcd-1 restarted 2 times in the last 10 samples (threshold 2)${clause}`);
    expect(finding?.evidence['lastExitCode']).toBe(lastExit?.exitCode);
  });

  it.each([
    ['the first sight of a counter', undefined, 7, 0],
    ['a counter that grew', 7, 10, 3],
    ['a counter that did not move', 10, 10, 0],
    ['a counter that was reset by a restart', 10, 2, 2],
  ])('%s increments by the right amount', (_name, previous, current, increment) => {
    expect(counterIncrement(previous, current)).toBe(increment);
  });

  it.each<[string, [string, number][], number | undefined]>([
    ['one pod restarting twice', [['u1', 3], ['u1', 4], ['u1', 5]], 2],
    ['an older read of the same pod between two newer ones (a watch a moment behind a list) adds nothing', [['u1', 5], ['u1', 4], ['u1', 5], ['u1', 4], ['u1', 5]], undefined],
    ['the same, then a real restart: counted once', [['u1', 5], ['u1', 4], ['u1', 6], ['u1', 7]], 2],
    ['an older read twice apart, then the newer: nothing', [['u1', 5], ['u1', 4], ['u1', 5], ['u1', 4], ['u1', 4], ['u1', 5]], undefined],
    ['a count reset under the same uid (lower in two samples running), then two restarts: counted', [['u1', 5], ['u1', 0], ['u1', 1], ['u1', 2]], 2],
    ['a pod recreated under its name starts afresh: its first count is not a restart', [['u1', 5], ['u2', 0], ['u2', 1]], undefined],
    ['a pod recreated under its name that crash-loops', [['u1', 5], ['u2', 0], ['u2', 1], ['u2', 2]], 2],
  ])("a pod's restarts, by its uid: %s", (_name, reads, restarts) => {
    const series = reads.map(([uid, restartCount]) => withPod(aCluster(3), 1, { uid, restartCount }));
    const finding = assessSeries(series).assessment.findings.find((f) => f.kind === 'pod-restarting');
    expect(finding?.evidence['restarts']).toBe(restarts);
  });
});

describe('spread over racks and domains', () => {
  it('members sharing a rack are reported when a free rack exists', () => {
    const obs = withMember(aCluster(3), 2, { nodeName: 'node-3' });
    const { assessment } = assessSeries(repeat(obs, 3));
    const shared = assessment.findings.find((f) => f.kind === 'rack-shared');
    expect(shared).toMatchObject({ severity: 'info', message: 'members etcd-0, etcd-2 share rack r0 while 3 racks are available' });
    expect(assessment.healthy).toBe(true);
  });

  it('sharing that the nodes make unavoidable is not reported', () => {
    // Three members over two domains: two of them must share one.
    expect(assessSeries(repeat(aCluster(3), 3)).assessment.findings.filter((f) => f.kind === 'domain-shared')).toEqual([]);
  });
});

describe('missing signals', () => {
  it('passes on what the observation could not read and adds members without /metrics', () => {
    const obs = withMember({ ...aCluster(3), missingSignals: ['node-usage'] }, 2, { status: aStatus({ hasLeader: undefined }) });
    expect(assessSeries([obs]).assessment.missingSignals).toEqual(['node-usage', 'raft-metrics/etcd-2']);
  });

  it('a node without usage yields no CPU or memory finding', () => {
    const node = aNode(1);
    delete node.usage;
    expect(assessSeries(repeat(withNode(aCluster(3), node), 3)).assessment.findings).toEqual([]);
  });
});

describe('start-up grace: a member whose node just came back is starting up', () => {
  const T0 = Date.parse('2026-11-24T12:00:00.000Z');
  const at = (obs: ClusterObservation, second: number): ClusterObservation => ({ ...obs, observedAt: new Date(T0 + second * 1000).toISOString() });
  const silent = withMember(aCluster(3), 1, { status: aDeadStatus('connection refused') });
  const nodeDown = withNode(silent, aDownNode(1));
  const unreachable = (assessment: Assessment): Finding | undefined => assessment.findings.find((f) => f.kind === 'member-unreachable' && f.member === 'etcd-1');
  /** Three samples with the node down, then the node Ready with the member still silent, one sample a second. */
  const afterReturn = (seconds: number): ClusterObservation[] => [
    ...[0, 1, 2].map((s) => at(nodeDown, s)),
    ...Array.from({ length: seconds + 1 }, (_, i) => at(silent, 3 + i)),
  ];

  it('its findings show, saying why they do not count, until the grace ends', () => {
    expect(unreachable(assessSeries([0, 1, 2].map((s) => at(nodeDown, s))).assessment)).toMatchObject({ confirmed: true });
    expect(unreachable(assessSeries(afterReturn(0)).assessment)).toMatchObject({
      confirmed: false,
      samples: 0,
      message: expect.stringMatching(/\(starting up: node node-1 is Ready again since 0s; start-up grace for 30s more\)$/) as unknown,
    });
    expect(unreachable(assessSeries(afterReturn(29)).assessment)).toMatchObject({ confirmed: false, message: expect.stringContaining('start-up grace for 1s more') as unknown });
  });

  it('counts from the grace\'s end: confirmed after the usual samples', () => {
    expect(unreachable(assessSeries(afterReturn(30)).assessment)).toMatchObject({ confirmed: false, samples: 1 });
    expect(unreachable(assessSeries(afterReturn(32)).assessment)).toMatchObject({ confirmed: true, samples: 3 });
  });

  it('keeps to the configured grace', () => {
    const { assessment } = assessSeries(afterReturn(5), aPolicy({ startupGraceMs: 5_000 }));
    expect(unreachable(assessment)).toMatchObject({ confirmed: false, samples: 1 });
  });

  it('gives none to a node only ever seen Ready (the guardian cannot tell it was down), nor to members on other nodes', () => {
    expect(unreachable(assessSeries([0, 1, 2].map((s) => at(silent, s))).assessment)).toMatchObject({ confirmed: true });
    const otherSilent = withMember(withNode(aCluster(3), aDownNode(1)), 2, { status: aDeadStatus('connection refused') });
    const series = [...[0, 1, 2].map((s) => at(otherSilent, s)), at(withMember(aCluster(3), 2, { status: aDeadStatus('connection refused') }), 3)];
    expect(assessSeries(series).assessment.findings.find((f) => f.kind === 'member-unreachable' && f.member === 'etcd-2')).toMatchObject({ confirmed: true });
  });
});
