import {
  baselineCells,
  healthyAgainAtMs,
  observe,
  probeText,
  ratioCell,
  startTimeline,
  stopReason,
  tolerationText,
  writesBetween,
  writesCell,
  type PodSample,
  type Sample,
  type Timeline,
} from '../../../bench/baseline';

/** The Kubernetes-alone timeline of the scenario benchmark, folded from samples a test writes by hand. */

const FAULT_AT = 1_000_000;
const VICTIM = { member: 'etcd-1', pod: 'etcd-1', node: 'node-1' };
const READY = { Ready: 'True', MemoryPressure: 'False' };

function aPod(ordinal: number, overrides: Partial<PodSample> = {}): PodSample {
  return { uid: `uid-${ordinal}`, pod: `etcd-${ordinal}`, member: `etcd-${ordinal}`, node: `node-${ordinal}`, terminating: false, restartCount: 0, healthy: true, ...overrides };
}

const MEMBERS = [0, 1, 2].map((i) => ({ id: `id-${i}`, name: `etcd-${i}` }));

/** A sample `atS` seconds from the fault of a healthy 3-member cluster, with the victim's pod and node changed as given. */
function aSample(atS: number, change: { victim?: Partial<PodSample> | 'gone'; node?: Sample['node'] | 'unreadable'; pods?: PodSample[]; members?: Sample['members'] | 'failed' } = {}): Sample {
  const victim = change.victim === 'gone' ? [] : [aPod(1, change.victim)];
  return {
    at: FAULT_AT + atS * 1000,
    node: change.node === 'unreadable' ? undefined : (change.node ?? { conditions: READY, taints: [] }),
    pods: [aPod(0), ...victim, aPod(2), ...(change.pods ?? [])],
    members: change.members === 'failed' ? undefined : (change.members ?? MEMBERS),
  };
}

function timelineOf(...samples: Sample[]): Timeline {
  const start = startTimeline('node-down', VICTIM, FAULT_AT, aSample(-0.5));
  return samples.reduce(observe, start);
}

const UNREACHABLE = { conditions: { Ready: 'Unknown', MemoryPressure: 'Unknown' }, taints: ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'] };

describe('a node that goes down: Kubernetes marks it, taints it, evicts the pod after the toleration, and replaces nothing', () => {
  const t = timelineOf(
    aSample(1, { victim: { healthy: false } }),
    aSample(52, { victim: { healthy: false }, node: UNREACHABLE }),
    aSample(352, { victim: { healthy: false, terminating: true }, node: UNREACHABLE }),
    aSample(420, { victim: { healthy: false, terminating: true }, node: UNREACHABLE }),
  );

  it('records each change once, at the first sample that shows it', () => {
    expect(baselineCells(t, 'the 420 s bound')).toEqual({
      node: 'Ready True→Unknown at 52.0 s; MemoryPressure False→Unknown at 52.0 s',
      taints: 'unreachable:NoSchedule at 52.0 s; unreachable:NoExecute at 52.0 s',
      eviction: 'at 352.0 s, pod left Terminating',
      replacementPod: 'none',
      member: 'no: still listed, no member added',
      restarts: 'none',
      healthyAgain: 'no (unhealthy from 1.0 s)',
      observed: '420 s (the 420 s bound)',
    });
  });

  it('gives no ratio it did not measure: a lower bound from how long it watched, and the eviction beside it', () => {
    expect(ratioCell(t, 4000)).toBe('> 105x (not restored); eviction alone 88x');
  });

  it('watches to the bound: a member that never comes back never settles', () => {
    expect(stopReason(t, { boundMs: 420_000, settledMs: 15_000 })).toBe('the 420 s bound');
    expect(stopReason({ ...t, lastAtMs: 419_999 }, { boundMs: 420_000, settledMs: 15_000 })).toBeUndefined();
  });

  it('says when the pod finally left the API (the node came back and finished the deletion)', () => {
    const gone = observe(t, aSample(430, { victim: 'gone', node: UNREACHABLE }));
    expect(baselineCells(gone, 'the 420 s bound').eviction).toBe('at 352.0 s, pod gone at 430.0 s');
    expect(baselineCells(gone, 'the 420 s bound').healthyAgain).toBe('no (unhealthy from 1.0 s)');
  });
});

describe('a frozen pod that its liveness probe has restarted in place', () => {
  const frozen = [aSample(1, { victim: { healthy: false } }), aSample(90, { victim: { healthy: false } })];
  const restarted = [...frozen, aSample(151, { victim: { healthy: false, restartCount: 1 } }), aSample(160, { victim: { restartCount: 1 } })];

  it('counts the restart and the time the member answered again', () => {
    const cells = baselineCells(timelineOf(...restarted, aSample(175, { victim: { restartCount: 1 } })), 'healthy again for 15 s');
    expect([cells.restarts, cells.healthyAgain, cells.eviction, cells.node]).toEqual(['1 (first at 151.0 s)', 'at 160.0 s (unhealthy from 1.0 s)', 'none', 'no change']);
  });

  it('compares the time Kubernetes restored the member with the guardian\'s', () => {
    expect(ratioCell(timelineOf(...restarted, aSample(175, { victim: { restartCount: 1 } })), 4000)).toBe('40x');
  });

  it('does not count a member that answers at the last sample, but not yet for 15 s, as restored (a crash loop answers between kills)', () => {
    const t = timelineOf(...restarted, aSample(174, { victim: { restartCount: 1 } }));
    expect(healthyAgainAtMs(t)).toBeUndefined();
    expect(baselineCells(t, 'the 174 s bound').healthyAgain).toBe('no (unhealthy from 1.0 s; answered again 1 time, never for 15 s)');
    expect(ratioCell(t, 4000)).toBe('> 44x (not restored)');
  });

  it.each([
    ['still frozen', frozen, undefined],
    ['healthy again for less than the settling time', [...restarted, aSample(174, { victim: { restartCount: 1 } })], undefined],
    ['healthy again for the settling time', [...restarted, aSample(175, { victim: { restartCount: 1 } })], 'healthy again for 15 s'],
  ])('stops early only once the member has stayed healthy: %s', (_, samples, reason) => {
    expect(stopReason(timelineOf(...samples), { boundMs: 300_000, settledMs: 15_000 })).toBe(reason);
  });

  it('forgets a recovery that did not last: a crash loop is not healthy again', () => {
    const flapping = timelineOf(...restarted, aSample(162, { victim: { healthy: false, restartCount: 2 } }), aSample(170, { victim: { healthy: false, restartCount: 3 } }));
    expect(healthyAgainAtMs(flapping)).toBeUndefined();
    expect(baselineCells(flapping, 'the 180 s bound').restarts).toBe('3 (first at 151.0 s)');
    expect(baselineCells(flapping, 'the 180 s bound').healthyAgain).toBe('no (unhealthy from 1.0 s; answered again 1 time, never for 15 s)');
    expect(ratioCell(flapping, 4000)).toBe('> 43x (not restored)');
  });
});

describe('a node under memory pressure: a condition and a NoSchedule taint, and the member never fails', () => {
  const pressure = { conditions: { Ready: 'True', MemoryPressure: 'True' }, taints: ['node.kubernetes.io/memory-pressure:NoSchedule'] };
  const t = timelineOf(aSample(2, { node: pressure }), aSample(90, { node: pressure }));

  it('records the condition and the taint, and nothing else', () => {
    const cells = baselineCells(t, 'the 90 s bound');
    expect([cells.node, cells.taints, cells.eviction, cells.healthyAgain]).toEqual(['MemoryPressure False→True at 2.0 s', 'memory-pressure:NoSchedule at 2.0 s', 'none', 'never unhealthy']);
  });

  it('has no ratio: there is nothing Kubernetes had to restore', () => {
    expect(ratioCell(t, 5500)).toBe('-');
  });

  it('records a taint taken off again, and shows only those put on', () => {
    const healed = observe(t, aSample(95));
    expect(healed.taints).toEqual([
      { taint: 'node.kubernetes.io/memory-pressure:NoSchedule', added: true, atMs: 2000 },
      { taint: 'node.kubernetes.io/memory-pressure:NoSchedule', added: false, atMs: 95_000 },
    ]);
    expect(baselineCells(healed, 'the 95 s bound').node).toBe('MemoryPressure False→True at 2.0 s; MemoryPressure True→False at 95.0 s');
  });
});

describe('a controller that replaces the pod (a StatefulSet keeps its name) and a member replaced in etcd', () => {
  const successor = aPod(1, { uid: 'uid-1b', node: '', healthy: false });
  const t = timelineOf(
    aSample(350, { victim: { healthy: false, terminating: true } }),
    aSample(360, { victim: 'gone', pods: [successor], members: [MEMBERS[0]!, MEMBERS[2]!] }),
    aSample(361, { victim: 'gone', pods: [{ ...successor, node: 'node-4' }], members: [MEMBERS[0]!, MEMBERS[2]!, { id: 'id-9', name: '' }] }),
  );

  it('tells the new pod from the old one by uid, and the member by id', () => {
    const cells = baselineCells(t, 'the 420 s bound');
    expect([cells.eviction, cells.replacementPod, cells.member]).toEqual(['at 350.0 s, pod gone at 360.0 s', 'etcd-1 on node-4 at 361.0 s', 'removed at 360.0 s; id-9 added at 361.0 s']);
  });

  it('counts a successor added as restored', () => {
    expect(ratioCell(t, 4000)).toBe('90x; eviction alone 88x');
  });

  it('says so when the new pod was never scheduled', () => {
    const unscheduled = timelineOf(aSample(360, { victim: 'gone', pods: [successor] }));
    expect(baselineCells(unscheduled, 'the 420 s bound').replacementPod).toBe('etcd-1 created at 360.0 s, never scheduled');
  });
});

describe('what a sample cannot tell', () => {
  it('takes an unreadable node for no news, not for a change', () => {
    const t = timelineOf(aSample(5, { node: 'unreadable' }), aSample(6));
    expect(t.conditions).toEqual([]);
    expect(t.taints).toEqual([]);
  });

  it('takes a member list that failed for unknown, not for a member removed', () => {
    expect(timelineOf(aSample(5, { members: 'failed' })).memberRemovedAtMs).toBeUndefined();
  });

  it('refuses a sample older than the last one, naming both times', () => {
    expect(() => timelineOf(aSample(5), aSample(4))).toThrow('sample at 4000 ms from the fault came after one at 5000 ms: samples must come in time order');
  });

  it('refuses to start without the victim pod in the sample before the fault, naming the pods it has', () => {
    expect(() => startTimeline('pod-freeze', { ...VICTIM, pod: 'etcd-7' }, FAULT_AT, aSample(-1))).toThrow('the sample before the fault has no pod etcd-7: it has etcd-0, etcd-1, etcd-2');
  });
});

describe('the writer beside it', () => {
  const writes = [
    { at: FAULT_AT - 100, ok: false },
    { at: FAULT_AT + 100, ok: true },
    { at: FAULT_AT + 400, ok: false },
    { at: FAULT_AT + 700, ok: false },
    { at: FAULT_AT + 5000, ok: false },
  ];

  it.each([
    ['counts the writes started in the window, and when the first failed', FAULT_AT, FAULT_AT + 1000, '2 of 3 failed (first at 0.4 s)'],
    ['says none failed when none did', FAULT_AT, FAULT_AT + 200, '0 of 1 failed'],
    ['says there were no writes when there were none', FAULT_AT + 6000, FAULT_AT + 7000, 'no writes'],
  ])('%s', (_, from, to, cell) => {
    expect(writesCell(writesBetween(writes, from, to))).toBe(cell);
  });
});

describe('the pod spec as the report quotes it', () => {
  it.each([
    [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, 'node.kubernetes.io/unreachable:NoExecute for 300 s'],
    [{ key: 'dedicated', operator: 'Equal', effect: 'NoSchedule' }, 'dedicated Equal:NoSchedule'],
    [{ operator: 'Exists' }, '*:*'],
  ])('a toleration %j reads "%s"', (toleration, text) => {
    expect(tolerationText(toleration)).toBe(text);
  });

  it.each([
    [{ httpGet: { path: '/livez', port: 2381 }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 8 }, 'httpGet :2381/livez after 10 s, every 10 s, timeout 15 s, 8 failures'],
    [{ tcpSocket: { port: 2379 } }, 'tcpSocket :2379 after 0 s, every 10 s, timeout 1 s, 3 failures'],
    [{ exec: { command: ['etcdctl', 'endpoint', 'health'] }, periodSeconds: 1 }, 'exec etcdctl endpoint health after 0 s, every 1 s, timeout 1 s, 3 failures'],
    [undefined, undefined],
  ])('a probe %j reads "%s", with Kubernetes\' defaults for what it leaves out', (probe, text) => {
    expect(probeText(probe)).toBe(text);
  });
});
