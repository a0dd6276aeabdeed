import { foreignConditions, statusDrifted, type StatusLike } from '../../../src/sandbox/pods/status-sync';

/** A running, ready pod as the node agent writes it. */
const WRITTEN: StatusLike = {
  phase: 'Running',
  conditions: [
    { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2026-11-30T20:00:00Z' },
    { type: 'Initialized', status: 'True', lastTransitionTime: '2026-11-30T20:00:00Z' },
    { type: 'ContainersReady', status: 'True', lastTransitionTime: '2026-11-30T20:00:02Z' },
    { type: 'Ready', status: 'True', lastTransitionTime: '2026-11-30T20:00:02Z' },
    { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-11-30T20:00:00Z' },
  ],
  containerStatuses: [{ name: 'etcd', ready: true, started: true, restartCount: 1, containerID: 'sandbox://4242', state: { running: { startedAt: '2026-11-30T20:00:00Z' } } }],
};

function withCondition(status: StatusLike, type: string, value: string): StatusLike {
  return { ...status, conditions: (status.conditions ?? []).map((c) => (c.type === type ? { ...c, status: value, lastTransitionTime: new Date() } : c)) };
}

describe("whether the API's copy of a pod status must be written again", () => {
  it.each<[string, StatusLike | undefined, boolean]>([
    ['the same status, with times as Date objects and unset fields the client library adds', {
      ...WRITTEN,
      conditions: (WRITTEN.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: new Date(String(c.lastTransitionTime)) })),
      containerStatuses: [{ name: 'etcd', ready: true, started: true, restartCount: 1, containerID: 'sandbox://4242', state: { running: { startedAt: new Date() }, waiting: undefined, terminated: undefined } }],
    }, false],
    ['the node lifecycle controller set Ready=False', withCondition(WRITTEN, 'Ready', 'False'), true],
    ['a condition someone else owns was added', { ...WRITTEN, conditions: [...(WRITTEN.conditions ?? []), { type: 'DisruptionTarget', status: 'True' }] }, false],
    ['the API still has the previous container', { ...WRITTEN, containerStatuses: [{ name: 'etcd', ready: true, started: true, restartCount: 0, containerID: 'sandbox://17', state: { running: {} } }] }, true],
    ['the API has no status at all', undefined, true],
  ])('%s: %s', (_name, current, drifted) => {
    expect(statusDrifted(WRITTEN, current)).toBe(drifted);
  });
});

describe('conditions the kubelet does not own', () => {
  it('are kept as they are, times as the API writes them, and the kubelet\'s own are left out', () => {
    expect(
      foreignConditions([
        { type: 'Ready', status: 'False', lastTransitionTime: new Date('2026-11-30T20:01:00.123Z') },
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'DeletionByTaintManager',
          message: 'Taint manager: deleting due to NoExecute taint',
          lastTransitionTime: new Date('2026-11-30T20:01:00.123Z'),
        },
      ]),
    ).toEqual([
      {
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint',
        lastProbeTime: null,
        lastTransitionTime: '2026-11-30T20:01:00Z',
      },
    ]);
    expect(foreignConditions(undefined)).toEqual([]);
  });
});
