import { assembleObservation, memberSummaries, type KubeSnapshot, type RaftSnapshot } from '../../../src/domain/assemble';
import { clientURLFor, peerURLFor, podOfMember, urlHost, type Addressing } from '../../../src/domain/membership';
import { aCluster, aDeadStatus, aMember, aNode, aPod, aStatus, withMember } from '../../builders';

const hostNetwork: Addressing = { mode: 'host-network' };
const headless: Addressing = { mode: 'headless-service', serviceName: 'etcd', namespace: 'kube-system' };

const pods = [
  { name: 'etcd-a', nodeName: 'node-1', hostIP: '10.0.0.1', podIP: '10.0.0.1' },
  { name: 'etcd-b', nodeName: 'node-2', hostIP: '10.0.0.2', podIP: '10.0.0.2' },
];

describe('finding the pod of a member', () => {
  it.each([
    ['by the node address in its peer URL (host network)', { name: 'etcd-x', peerURLs: ['https://10.0.0.2:2380'] }, hostNetwork, 'etcd-b'],
    ['by its pod DNS name (headless service)', { name: 'x', peerURLs: ['https://etcd-a.etcd.kube-system.svc:2380'] }, headless, 'etcd-a'],
    ['by its fully qualified pod DNS name', { name: 'x', peerURLs: ['https://etcd-b.etcd.kube-system.svc.cluster.local:2380'] }, headless, 'etcd-b'],
    ['by its short pod DNS name', { name: 'x', peerURLs: ['http://etcd-b.etcd:2380'] }, headless, 'etcd-b'],
    ['by name when the address matches nothing', { name: 'etcd-a', peerURLs: ['http://192.0.2.9:2380'] }, hostNetwork, 'etcd-a'],
    ['not at all for a member that matches nothing', { name: 'zzz', peerURLs: ['http://192.0.2.9:2380'] }, hostNetwork, undefined],
    ['not by name for a member that has not started (empty name)', { name: '', peerURLs: ['not a url'] }, hostNetwork, undefined],
  ])('%s', (_name, member, addressing, expected) => {
    expect(podOfMember(member, pods, addressing)?.name).toBe(expected);
  });

  it('prefers a live pod over a terminating one at the same address', () => {
    const both = [{ ...pods[0]!, name: 'old', terminating: true }, { ...pods[0]!, name: 'new', terminating: false }];
    expect(podOfMember({ name: '', peerURLs: ['http://10.0.0.1:2380'] }, both, hostNetwork)?.name).toBe('new');
  });
});

describe('addresses of a new member', () => {
  it('host network uses the node address', () => {
    expect(peerURLFor({ nodeIP: '127.20.0.5', podName: 'etcd-3' }, hostNetwork, 2380, 'http')).toBe('http://127.20.0.5:2380');
    expect(clientURLFor({ nodeIP: '127.20.0.5', podName: 'etcd-3' }, hostNetwork, 2379, 'https')).toBe('https://127.20.0.5:2379');
  });

  it('a headless service uses the pod DNS name', () => {
    expect(peerURLFor({ podName: 'etcd-3' }, headless, 2380, 'https')).toBe('https://etcd-3.etcd.kube-system.svc:2380');
  });

  it('host network without a node address is an error that says why', () => {
    expect(() => peerURLFor({ podName: 'etcd-3' }, hostNetwork, 2380, 'http')).toThrow('node of pod etcd-3 has no InternalIP, which host-network addressing needs');
  });

  it.each([
    ['http://127.0.0.1:2379', '127.0.0.1'],
    ['https://[::1]:2379', '::1'],
    ['https://Etcd-0.ETCD:2380/x', 'etcd-0.etcd'],
    ['127.0.0.1:2379', undefined],
  ])('the host of %s is %s', (url, host) => {
    expect(urlHost(url)).toBe(host);
  });
});

describe('assembling an observation from both sides', () => {
  it('gives each member its pod and node, and merges missing signals', () => {
    const raft: RaftSnapshot = {
      observedAt: '2026-11-24T12:00:01.000Z',
      source: 'http://10.0.0.1:2379',
      missingSignals: ['raft-metrics/etcd-b'],
      members: [
        { id: '1', name: 'etcd-a', peerURLs: ['http://10.0.0.1:2380'], clientURLs: [], isLearner: false, status: aStatus() },
        { id: '2', name: '', peerURLs: ['http://10.0.0.9:2380'], clientURLs: [], isLearner: true, status: aDeadStatus('not started') },
      ],
    };
    const kube: KubeSnapshot = {
      observedAt: '2026-11-24T12:00:00.000Z',
      nodes: [aNode(1)],
      pods: [{ ...aPod(1), name: 'etcd-a', nodeName: 'node-1', hostIP: '10.0.0.1', podIP: '10.0.0.1' }],
      missingSignals: ['node-usage', 'raft-metrics/etcd-b'],
    };
    const obs = assembleObservation('main', raft, kube, hostNetwork);
    expect(obs.members.map((m) => [m.name, m.podName, m.nodeName])).toEqual([
      ['etcd-a', 'etcd-a', 'node-1'],
      ['', undefined, undefined],
    ]);
    expect(obs.pods).toEqual([{ name: 'etcd-a', nodeName: 'node-1', phase: 'Running', ready: true, restartCount: 0, terminating: false }]);
    expect(obs.missingSignals).toEqual(['node-usage', 'raft-metrics/etcd-b']);
    expect(obs.observedAt).toBe('2026-11-24T12:00:01.000Z');
  });
});

describe('member summaries for status displays', () => {
  it('name each member with its node, rack, domain, health and role, in name order', () => {
    const obs = withMember(aCluster(3), 2, { status: aDeadStatus() });
    expect(memberSummaries({ ...obs, members: [...obs.members].reverse() })).toEqual([
      { id: '1', name: 'etcd-0', node: 'node-0', rack: 'r0', domain: 'z0', healthy: true, isLearner: false, isLeader: true },
      { id: '2', name: 'etcd-1', node: 'node-1', rack: 'r1', domain: 'z0', healthy: true, isLearner: false, isLeader: false },
      { id: '3', name: 'etcd-2', node: 'node-2', rack: 'r2', domain: 'z1', healthy: false, isLearner: false, isLeader: false },
    ]);
  });

  it('shows a member that has not started by its id, without a node', () => {
    const obs = { ...aCluster(1), members: [{ ...aMember(0), name: '', podName: undefined, nodeName: undefined }] };
    expect(memberSummaries(obs)).toEqual([{ id: '1', name: '1', healthy: true, isLearner: false, isLeader: true }]);
  });
});
