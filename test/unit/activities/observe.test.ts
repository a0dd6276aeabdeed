import type { V1Pod } from '@kubernetes/client-node';
import { createMonitorActivities } from '../../../activities/monitor';
import { observeCluster, observeForChange, readRaft } from '../../../activities/observe';
import type { ClusterRuntime } from '../../../activities/runtime';
import { EtcdNoLeaderError } from '../../../src/etcd/errors';
import type { EndpointStatus, EtcdMemberInfo } from '../../../src/etcd/gateway';
import type { EtcdPort } from '../../../src/etcd/port';
import type { PodInfo } from '../../../src/kube/convert';
import type { NodeUsage } from '../../../src/kube/gateway';
import type { KubePort } from '../../../src/kube/port';
import { emptyWindow } from '../../../src/domain/window';
import { aPolicy } from '../../builders';
import { run } from './run-activity';

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
  metricsText: EtcdPort['metricsText'] = notUsed('metrics');
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
  listNodes: KubePort['listNodes'] = () => Promise.resolve([]);
  listPods: KubePort['listPods'] = () => Promise.resolve(pods.map((p) => ({ ...p })));
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
    metricsFigures: new Map(),
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

describe('an observation after one that found the members', () => {
  /** Records the order of the calls; the pod listing waits until the test lets it go. */
  function recording(options: { extraPod?: boolean; deadMember?: string } = {}) {
    const calls: string[] = [];
    let releasePods: () => void = () => undefined;
    const listed = pods.map((p) => ({ ...p }));
    if (options.extraPod) listed.push({ ...pods[0]!, name: 'etcd-3', nodeName: 'node-3', hostIP: '127.0.8.4' });
    const etcd = workingList();
    const memberList = etcd.memberList.bind(etcd);
    etcd.memberList = (...args: Parameters<EtcdPort['memberList']>) => {
      calls.push(`member list at ${[...(args[0] ?? [])].sort().join(' ')}`);
      return memberList();
    };
    etcd.endpointStatus = (endpoint: string) =>
      Promise.resolve(
        endpoint === options.deadMember
          ? { endpoint, reachable: false, error: 'timed out' }
          : { endpoint, reachable: true, memberId: idAt(endpoint), leaderId: '1', raftTerm: 2, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 1 },
      );
    etcd.metricsText = (endpoint: string) => {
      calls.push(`metrics of ${endpoint}`);
      return Promise.resolve('etcd_server_has_leader 1\netcd_server_leader_changes_seen_total 4\n');
    };
    const runtime = runtimeWith(etcd);
    const kube = runtime.kube as FakeKube;
    let hold = false;
    kube.listPods = () => {
      if (!hold) return Promise.resolve(listed.map((p) => ({ ...p })));
      return new Promise<PodInfo[]>((resolve) => {
        releasePods = () => {
          calls.push('pods listed');
          resolve(listed.map((p) => ({ ...p })));
        };
      });
    };
    return { calls, runtime, holdPods: () => (hold = true), release: () => releasePods() };
  }

  const all = 'http://127.0.8.1:2379 http://127.0.8.2:2379 http://127.0.8.3:2379';
  /** The member id the list gives the member at this endpoint (http://127.0.8.<n>:2379 is member n). */
  const idAt = (endpoint: string): string => /\.(\d+):2379$/.exec(endpoint)?.[1] ?? '?';

  it('asks for the member list and the metrics before the pods are listed, and keeps that list when the pods show no other endpoint', async () => {
    const { calls, runtime, holdPods, release } = recording();
    await readRaft(runtime, now);
    calls.length = 0;
    holdPods();
    const reading = readRaft(runtime, now);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const raft = await reading;
    expect(calls[0]).toBe(`member list at ${all}`);
    expect(calls.indexOf('pods listed')).toBeGreaterThan(calls.indexOf('metrics of http://127.0.8.3:2379'));
    expect(calls.filter((c) => c.startsWith('member list'))).toHaveLength(1);
    expect(raft.members.map((m) => [m.name, m.status.reachable, m.status.leaderChangesSeen])).toEqual([
      ['etcd-0', true, 4],
      ['etcd-1', true, 4],
      ['etcd-2', true, 4],
    ]);
  });

  it('keeps the early list even when a pod shows an endpoint it did not ask: a list the agreed leader gave is the membership', async () => {
    const { runtime } = recording();
    await readRaft(runtime, now);
    const { calls: later, runtime: grown } = recording({ extraPod: true });
    grown.lastMembership = runtime.lastMembership;
    const raft = await readRaft(grown, now);
    expect(later.filter((c) => c.startsWith('member list'))).toEqual([`member list at ${all}`]);
    expect(raft.membershipUnknown).toBeUndefined();
  });

  it('asks again, of every endpoint the pods show, when the early list fails and a pod has an endpoint it did not ask', async () => {
    const { runtime } = recording();
    await readRaft(runtime, now);
    const { calls: later, runtime: grown } = recording({ extraPod: true });
    grown.lastMembership = runtime.lastMembership;
    const working = grown.etcd.memberList.bind(grown.etcd);
    let first = true;
    grown.etcd.memberList = (...args: Parameters<EtcdPort['memberList']>) => {
      if (!first) return working(...args);
      first = false;
      later.push('early list failed');
      return Promise.reject(noLeader);
    };
    const raft = await readRaft(grown, now);
    expect(later.filter((c) => c.startsWith('member list') || c === 'early list failed')).toEqual(['early list failed', `member list at ${all} http://127.0.8.4:2379`]);
    expect(raft.membershipUnknown).toBeUndefined();
  });

  it('does not ask again when the early list fails and the pods show no other endpoint: the membership is unknown', async () => {
    const { runtime, calls } = recording();
    await readRaft(runtime, now);
    calls.length = 0;
    runtime.etcd.memberList = () => {
      calls.push('member list');
      return Promise.reject(noLeader);
    };
    const raft = await readRaft(runtime, now);
    expect(calls.filter((c) => c === 'member list')).toHaveLength(1);
    expect(raft.membershipUnknown).toBe(noLeader.message);
  });

  it('takes no figures of a member that answers as another member (an address a successor reused)', async () => {
    const { runtime } = recording();
    runtime.etcd.endpointStatus = (endpoint: string) =>
      Promise.resolve({ endpoint, reachable: true, memberId: endpoint.endsWith('.2:2379') ? 'a-successor' : idAt(endpoint), leaderId: '1', raftTerm: 2, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 1 });
    const raft = await readRaft(runtime, now);
    expect(raft.members.map((m) => [m.name, m.status.leaderChangesSeen])).toEqual([
      ['etcd-0', 4],
      ['etcd-1', undefined],
      ['etcd-2', 4],
    ]);
  });

  it('keeps no figures of a member whose status does not answer, even when its metrics were asked early', async () => {
    const { runtime } = recording({ deadMember: 'http://127.0.8.2:2379' });
    await readRaft(runtime, now);
    const raft = await readRaft(runtime, now);
    expect(raft.members.map((m) => [m.name, m.status.reachable, m.status.leaderChangesSeen])).toEqual([
      ['etcd-0', true, 4],
      ['etcd-1', false, undefined],
      ['etcd-2', true, 4],
    ]);
  });

  it('forgets the members when the list fails, and asks the pods first the next time', async () => {
    const etcd = workingList();
    const runtime = runtimeWith(etcd);
    await readRaft(runtime, now);
    expect(runtime.lastMembership?.clientURLs).toHaveLength(3);
    etcd.memberList = () => Promise.reject(noLeader);
    expect((await readRaft(runtime, now)).membershipUnknown).toBe(noLeader.message);
    expect(runtime.lastMembership).toBeUndefined();
  });
});

describe('how often a member\'s /metrics is read', () => {
  /** A cluster whose metrics text and statuses the test changes between reads; counts the metrics reads per endpoint. */
  function counting() {
    const reads: string[] = [];
    let leaderChanges = 4;
    let term = 2;
    let leader = '1';
    const etcd = workingList();
    etcd.endpointStatus = (endpoint: string) =>
      Promise.resolve({ endpoint, reachable: true, memberId: /\.(\d+):2379$/.exec(endpoint)?.[1] ?? '?', leaderId: leader, raftTerm: term, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 1 });
    etcd.metricsText = (endpoint: string) => {
      reads.push(endpoint);
      return Promise.resolve(`etcd_server_has_leader 1\netcd_server_leader_changes_seen_total ${leaderChanges}\n`);
    };
    let clock = Date.parse('2026-01-01T00:00:00Z');
    return {
      reads,
      runtime: runtimeWith(etcd),
      at: () => new Date(clock),
      advance: (ms: number) => (clock += ms),
      set: (changes: { leaderChanges?: number; term?: number; leader?: string }) => {
        leaderChanges = changes.leaderChanges ?? leaderChanges;
        term = changes.term ?? term;
        leader = changes.leader ?? leader;
      },
    };
  }
  const fiveSeconds = { metricsMaxAgeMs: 5_000 };
  const figures = (raft: Awaited<ReturnType<typeof readRaft>>) => raft.members.map((m) => [m.name, m.status.hasLeader, m.status.leaderChangesSeen]);

  it('without a maximum age, reads every member on every observation (migrations and guards)', async () => {
    const c = counting();
    await readRaft(c.runtime, c.at);
    await readRaft(c.runtime, c.at);
    expect(c.reads).toHaveLength(6);
  });

  it('keeps the last figures until they are as old as the maximum age, then reads every member again', async () => {
    const c = counting();
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    c.set({ leaderChanges: 9 });
    c.advance(4_999);
    const kept = await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads).toHaveLength(3);
    expect(figures(kept)).toEqual([
      ['etcd-0', true, 4],
      ['etcd-1', true, 4],
      ['etcd-2', true, 4],
    ]);
    c.advance(1);
    const fresh = await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads).toHaveLength(6);
    expect(figures(fresh)).toEqual([
      ['etcd-0', true, 9],
      ['etcd-1', true, 9],
      ['etcd-2', true, 9],
    ]);
  });

  it('reads at once when the term or the leader changed, and takes whether a member knows a leader from its status', async () => {
    const c = counting();
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    c.set({ leader: '2' });
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads).toHaveLength(6);
    c.set({ term: 3, leaderChanges: 5 });
    const newTerm = await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads).toHaveLength(9);
    expect(figures(newTerm).map(([, , changes]) => changes)).toEqual([5, 5, 5]);
  });

  it('when the figures stand, a status that knows no leader still says so', async () => {
    const c = counting();
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    // The members lose their leader: a reason to read again (their metrics text here still says has_leader 1)...
    c.set({ leader: '0' });
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    // ...and the next observation, standing on those figures, says what the status says: no leader.
    const stood = await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads).toHaveLength(6);
    expect(stood.members.map((m) => m.status.hasLeader)).toEqual([false, false, false]);
  });

  it('reads a member again after it did not answer, and forgets members no longer listed', async () => {
    const c = counting();
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    const answering = c.runtime.etcd.endpointStatus.bind(c.runtime.etcd);
    c.runtime.etcd.endpointStatus = (endpoint: string) => (endpoint.endsWith('.2:2379') ? Promise.resolve({ endpoint, reachable: false, error: 'timed out' }) : answering(endpoint));
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    c.runtime.etcd.endpointStatus = answering;
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect(c.reads.filter((e) => e.endsWith('.2:2379'))).toHaveLength(2);
    expect(c.reads).toHaveLength(4);
    const list = c.runtime.etcd.memberList.bind(c.runtime.etcd);
    c.runtime.etcd.memberList = async (...args) => {
      const listed = await list(...args);
      return { ...listed, members: listed.members.slice(0, 2) };
    };
    await readRaft(c.runtime, c.at, undefined, fiveSeconds);
    expect([...c.runtime.metricsFigures.keys()].sort()).toEqual(['1', '2']);
  });
});

describe('the monitor cycle and the metrics\' age', () => {
  /** A cluster whose members answer as themselves; counts the /metrics reads. */
  function countingReads(): { reads: string[]; etcd: FakeEtcd } {
    const reads: string[] = [];
    const etcd = workingList();
    etcd.endpointStatus = (endpoint: string) =>
      Promise.resolve({ endpoint, reachable: true, memberId: /\.(\d+):2379$/.exec(endpoint)?.[1] ?? '?', leaderId: '1', raftTerm: 2, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 1 });
    etcd.metricsText = (endpoint: string) => {
      reads.push(endpoint);
      return Promise.resolve('etcd_server_has_leader 1\n');
    };
    return { reads, etcd };
  }

  it('stands on the last figures while nothing builds up, and reads them fresh while a finding does', async () => {
    const { reads, etcd } = countingReads();
    const runtime = { ...runtimeWith(etcd), metricsMaxAgeMs: 60_000 };
    const kube = runtime.kube as FakeKube;
    const watched: string[] = [];
    kube.listPods = (_ns, _selector, options) => {
      watched.push(`pods ${options?.watched === true ? 'watched' : 'listed'}`);
      return Promise.resolve(pods.map((p) => ({ ...p })));
    };
    kube.listNodes = (_topology, options) => {
      watched.push(`nodes ${options?.watched === true ? 'watched' : 'listed'}`);
      return Promise.resolve([]);
    };
    const { observeCycle } = createMonitorActivities({ clusters: new Map([['main', runtime]]), now });
    const first = await run(observeCycle, { cluster: 'main', window: emptyWindow(), migration: {} });
    expect(reads).toHaveLength(3);
    await run(observeCycle, { cluster: 'main', window: { ...first.window, streaks: {} }, migration: {} });
    expect(reads).toHaveLength(3);
    await run(observeCycle, { cluster: 'main', window: { ...first.window, streaks: { 'slow-fsync/etcd-1': 1 } }, migration: {} });
    expect(reads).toHaveLength(6);
    expect(watched).toEqual(['pods watched', 'nodes watched', 'pods watched', 'nodes watched', 'pods listed', 'nodes listed']);
  });

  it('reads everything afresh on every cycle when one sample confirms a finding', async () => {
    const { reads, etcd } = countingReads();
    const runtime = { ...runtimeWith(etcd), metricsMaxAgeMs: 60_000, policy: aPolicy({ hysteresisSamples: 1 }) };
    const { observeCycle } = createMonitorActivities({ clusters: new Map([['main', runtime]]), now });
    const first = await run(observeCycle, { cluster: 'main', window: emptyWindow(), migration: {} });
    await run(observeCycle, { cluster: 'main', window: { ...first.window, streaks: {} }, migration: {} });
    expect(reads).toHaveLength(6);
  });
});
