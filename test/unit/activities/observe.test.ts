import type { V1Pod } from '@kubernetes/client-node';
import { observeCluster, observeForChange, readRaft } from '../../../activities/observe';
import type { ClusterRuntime } from '../../../activities/runtime';
import { EtcdNoLeaderError } from '../../../src/etcd/errors';
import type { EndpointStatus, EtcdMemberInfo } from '../../../src/etcd/gateway';
import type { EtcdPort } from '../../../src/etcd/port';
import type { PodInfo } from '../../../src/kube/convert';
import type { NodeUsage } from '../../../src/kube/gateway';
import type { KubePort } from '../../../src/kube/port';
import { aPolicy } from '../../builders';

/** Observing a cluster whose member list cannot be read: the monitor still reports, a change must not proceed. */

const pods: PodInfo[] = [0, 1, 2].map((i) => ({
  name: `etcd-${i}`,
  nodeName: `node-${i}`,
  hostIP: `127.0.8.${i + 1}`,
  phase: 'Running',
  ready: true,
  restartCount: 0,
  terminating: false,
}));

const notUsed = (what: string) => (): Promise<never> => Promise.reject(new Error(`${what} is not used by this test`));

/** An etcd port whose member list gives what the test says; statuses answer from the list, nothing else is asked. */
class FakeEtcd implements EtcdPort {
  constructor(private readonly list: () => Promise<{ members: EtcdMemberInfo[]; endpoint: string }>) {}
  memberList(): Promise<{ members: EtcdMemberInfo[]; endpoint: string }> {
    return this.list();
  }
  endpointStatus(endpoint: string): Promise<EndpointStatus> {
    return Promise.resolve({ endpoint, reachable: true, memberId: '1', leaderId: '1', raftTerm: 2, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 1 });
  }
  alarms = (): Promise<[]> => Promise.resolve([]);
  metricsText = notUsed('metrics');
  addLearner = notUsed('addLearner');
  removeMember = notUsed('removeMember');
  promoteMember = notUsed('promoteMember');
  moveLeader = notUsed('moveLeader');
  hashKv = notUsed('hashKv');
  revision = notUsed('revision');
  keyCount = notUsed('keyCount');
  localRevision = notUsed('localRevision');
  snapshot = notUsed('snapshot');
  defragment = notUsed('defragment');
  compact = notUsed('compact');
  disarmAlarm = notUsed('disarmAlarm');
  put = notUsed('put');
  close(): void {}
}

class FakeKube implements KubePort {
  listNodes = (): Promise<[]> => Promise.resolve([]);
  listPods = (): Promise<PodInfo[]> => Promise.resolve(pods.map((p) => ({ ...p })));
  listPodObjects = (): Promise<V1Pod[]> => Promise.resolve([]);
  getPod = (): Promise<undefined> => Promise.resolve(undefined);
  createPod = notUsed('createPod');
  deletePod = notUsed('deletePod');
  getClaim = notUsed('getClaim');
  deleteClaim = notUsed('deleteClaim');
  getVolume = notUsed('getVolume');
  listVolumes = notUsed('listVolumes');
  createVolume = notUsed('createVolume');
  deleteVolume = notUsed('deleteVolume');
  nodeUsage = (): Promise<NodeUsage> => Promise.resolve({ ok: false, error: 'no metrics API' });
}

function runtimeWith(etcd: EtcdPort): ClusterRuntime {
  return {
    name: 'main',
    namespace: 'etcd',
    podSelector: 'app=etcd',
    addressing: { mode: 'host-network' },
    clientPort: 2379,
    peerPort: 2380,
    scheme: 'http',
    topology: { rackLabel: 'rack', domainLabel: 'zone' },
    policy: aPolicy(),
    seedEndpoints: [],
    etcd,
    kube: new FakeKube(),
    histograms: new Map(),
    backup: { required: false, directory: '/tmp' },
    memberLabel: 'etcd-member',
  };
}

const now = (): Date => new Date('2026-01-01T00:00:00Z');
const noLeader = new EtcdNoLeaderError('member list', [{ endpoint: 'http://127.0.8.1:2379', said: 'member 1 knows no leader (term 7)' }]);
const failingList = (): FakeEtcd => new FakeEtcd(() => Promise.reject(noLeader));
const workingList = (): FakeEtcd =>
  new FakeEtcd(() =>
    Promise.resolve({
      endpoint: 'http://127.0.8.1:2379',
      members: pods.map((p, i) => ({ id: String(i + 1), name: p.name, peerURLs: [`http://${p.hostIP ?? ''}:2380`], clientURLs: [`http://${p.hostIP ?? ''}:2379`], isLearner: false })),
    }),
  );

describe('reading Raft when the member list cannot be read', () => {
  it('says the membership is unknown, and why, while the pods stand in as unreachable voters', async () => {
    const raft = await readRaft(runtimeWith(failingList()), now);
    expect(raft.membershipUnknown).toBe(noLeader.message);
    expect(raft.missingSignals).toContain('member-list');
    expect(raft.members.map((m) => [m.id, m.isLearner, m.status.reachable])).toEqual([
      ['pod:etcd-0', false, false],
      ['pod:etcd-1', false, false],
      ['pod:etcd-2', false, false],
    ]);
  });

  it('carries it into the observation the monitor assesses', async () => {
    const obs = await observeCluster(runtimeWith(failingList()), now);
    expect(obs.membershipUnknown).toBe(noLeader.message);
    expect(obs.members).toHaveLength(3);
  });

  it('says nothing of the kind when the list was read', async () => {
    const raft = await readRaft(runtimeWith(workingList()), now);
    expect(raft.membershipUnknown).toBeUndefined();
    expect(raft.members.map((m) => m.id)).toEqual(['1', '2', '3']);
    expect('membershipUnknown' in (await observeCluster(runtimeWith(workingList()), now))).toBe(false);
  });
});

describe('observing for a change', () => {
  it('refuses, retryably, with MEMBERSHIP_UNKNOWN naming the cluster and the reason, never a list of stand-ins', async () => {
    const error = await observeForChange(runtimeWith(failingList()), now).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'MEMBERSHIP_UNKNOWN', retryable: true, name: 'MembershipUnknownError' });
    expect((error as Error).message).toBe(
      `cluster main: the membership is unknown, so no change is safe until a member list succeeds: ${noLeader.message}`,
    );
  });

  it('gives the observation when the membership is known', async () => {
    const obs = await observeForChange(runtimeWith(workingList()), now);
    expect(obs.members.map((m) => [m.name, m.podName, m.nodeName])).toEqual([
      ['etcd-0', 'etcd-0', 'node-0'],
      ['etcd-1', 'etcd-1', 'node-1'],
      ['etcd-2', 'etcd-2', 'node-2'],
    ]);
  });
});
