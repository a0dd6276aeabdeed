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
  it.each([1, 3, 5, 7])('of %i members yields no findings over several samples', (members) => {
    const { assessment } = assessSeries(repeat(aCluster(members, members + 3), 5));
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
    ['a member that raised NOSPACE', withMember(aCluster(3), 0, { status: aStatus({ alarms: ['NOSPACE'] }) }), ['db-alarm:etcd-0']],
    ['a pod that is not ready', withPod(aCluster(3), 2, { ready: false }), ['pod-not-ready:etcd-2']],
    ['a member whose pod is gone', { ...aCluster(3), pods: aCluster(3).pods.slice(0, 2) }, ['pod-not-ready:etcd-2']],
    ['no member knowing a leader', { ...aCluster(3), members: [0, 1, 2].map((i) => aMember(i, { status: aStatus({ hasLeader: false, leaderId: '0' }) })) }, ['quorum-lost', 'no-leader']],
    ['one member of five down, which still tolerates one more', withMember(aCluster(5, 8), 4, { status: aDeadStatus() }), ['member-unreachable:etcd-4']],
    ['two members of five down', withMember(withMember(aCluster(5, 8), 3, { status: aDeadStatus() }), 4, { status: aDeadStatus() }), ['member-unreachable:etcd-3', 'member-unreachable:etcd-4', 'quorum-at-risk']],
  ])('%s', (_name, obs, expected) => {
    const { assessment } = assessSeries(repeat(obs, 3));
    expect(kinds(assessment.findings).sort()).toEqual(expected.sort());
  });

  it('a dead member names the error it gave', () => {
    const obs = withMember(aCluster(3), 1, { status: aDeadStatus('connect ECONNREFUSED 127.0.1.2:2379') });
    const finding = assessSeries(repeat(obs, 3)).assessment.findings.find((f) => f.kind === 'member-unreachable');
    expect(finding?.message).toBe('member etcd-1 does not answer: connect ECONNREFUSED 127.0.1.2:2379');
    expect(finding?.evidence).toEqual({ error: 'connect ECONNREFUSED 127.0.1.2:2379', clientURL: 'http://127.0.1.2:2379' });
  });

  it('a learner does not count as a voter', () => {
    const obs = { ...aCluster(3), members: [...aCluster(3).members, aMember(3, { isLearner: true, podName: undefined })] };
    const { assessment } = assessSeries([obs]);
    expect(assessment.quorum).toMatchObject({ voters: 3, learners: 1, faultTolerance: 1 });
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
      evidence: { restarts: 5, restartCount: 5, threshold: 3 },
    });
  });

  it.each([
    ['the first sight of a counter', undefined, 7, 0],
    ['a counter that grew', 7, 10, 3],
    ['a counter that did not move', 10, 10, 0],
    ['a counter that was reset by a restart', 10, 2, 2],
  ])('%s increments by the right amount', (_name, previous, current, increment) => {
    expect(counterIncrement(previous, current)).toBe(increment);
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
