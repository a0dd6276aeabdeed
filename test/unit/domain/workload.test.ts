import { classifyWorkload, clusterWorkload, kubeadmRunbook, unmovableReason, type Workload, type WorkloadMetadata } from '../../../src/domain/workload';

const statefulSet = { kind: 'StatefulSet', name: 'etcd', controller: true };

describe('the deployment model of a member pod', () => {
  it.each<[string, WorkloadMetadata, Workload]>([
    ['a bare pod is movable', {}, { kind: 'movable' }],
    ['a bare pod with unrelated annotations is movable', { annotations: { 'etcd-guardian.io/replaces': 'etcd-1' } }, { kind: 'movable' }],
    ['a pod the API server created (config.source=api) is movable', { annotations: { 'kubernetes.io/config.source': 'api' } }, { kind: 'movable' }],
    ['a mirror pod is static', { annotations: { 'kubernetes.io/config.mirror': 'a1b2' } }, { kind: 'static', evidence: 'kubernetes.io/config.mirror=a1b2' }],
    ['a pod from a manifest file is static', { annotations: { 'kubernetes.io/config.source': 'file' } }, { kind: 'static', evidence: 'kubernetes.io/config.source=file' }],
    [
      "a mirror pod is static although it names its Node as controller (as kubelets do)",
      { annotations: { 'kubernetes.io/config.mirror': 'h' }, ownerReferences: [{ kind: 'Node', name: 'cp-1', controller: true }] },
      { kind: 'static', evidence: 'kubernetes.io/config.mirror=h' },
    ],
    ['a pod a StatefulSet controls is controller-owned, named', { ownerReferences: [statefulSet] }, { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 'etcd' }],
    ['an owner that is not the controller does not make a pod controller-owned', { ownerReferences: [{ kind: 'ConfigMap', name: 'x' }] }, { kind: 'movable' }],
    [
      'the controller among several owners is the one named',
      { ownerReferences: [{ kind: 'ConfigMap', name: 'x', controller: false }, { kind: 'EtcdCluster', name: 'main', controller: true }] },
      { kind: 'controller-owned', ownerKind: 'EtcdCluster', ownerName: 'main' },
    ],
  ])('%s', (_name, metadata, expected) => {
    expect(classifyWorkload(metadata)).toEqual(expected);
  });

  it('says why a static pod or a controller\'s pod is not moved, and nothing for a bare one', () => {
    expect(unmovableReason('etcd-1', { kind: 'movable' })).toBeUndefined();
    expect(unmovableReason('etcd-1', { kind: 'static', evidence: 'kubernetes.io/config.mirror=h' })).toBe(
      "pod etcd-1 is a static pod run by its node's kubelet from a manifest file, as kubeadm deploys etcd (kubernetes.io/config.mirror=h): deleting its mirror stops nothing and a copy elsewhere would be deleted by that node's kubelet, so the guardian only monitors, alerts, and removes a dead member when an operator approves",
    );
    expect(unmovableReason('etcd-0', { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 'etcd' })).toBe(
      'pod etcd-0 is a pod owned by StatefulSet etcd: that controller recreates and places its pods, so the guardian does not delete or copy them; move the member through the StatefulSet',
    );
  });

  it.each<[string, { name: string; workload?: Workload }[], { workload: Workload; pod?: string }]>([
    ['a cluster of bare pods is movable', [{ name: 'etcd-0' }, { name: 'etcd-1', workload: { kind: 'movable' } }], { workload: { kind: 'movable' } }],
    [
      'one static pod makes the cluster static',
      [{ name: 'etcd-0', workload: { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 's' } }, { name: 'etcd-1', workload: { kind: 'static', evidence: 'e' } }],
      { workload: { kind: 'static', evidence: 'e' }, pod: 'etcd-1' },
    ],
    ['a controller-owned pod among bare ones makes it controller-owned', [{ name: 'etcd-0' }, { name: 'etcd-1', workload: { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 's' } }], { workload: { kind: 'controller-owned', ownerKind: 'StatefulSet', ownerName: 's' }, pod: 'etcd-1' }],
  ])('%s', (_name, pods, expected) => {
    expect(clusterWorkload(pods)).toEqual(expected);
  });

  it('the kubeadm runbook removes the member through the guardian, resets the old node, joins a new one, and checks', () => {
    const runbook = kubeadmRunbook('main', { name: 'cp-2', id: 'abc', nodeName: 'node-2', endpoint: 'https://10.0.0.1:2379' });
    expect(runbook[0]).toBe('runbook: replace node-2, the kubeadm control-plane node of etcd member cp-2 (abc) of main');
    expect(runbook[1]).toContain('etcd-guardian repair main --approve-removal cp-2');
    expect(runbook[2]).toContain('kubeadm reset -f');
    expect(runbook[3]).toContain('kubeadm join <control-plane endpoint> --control-plane');
    expect(runbook[4]).toContain('etcdctl --endpoints=https://10.0.0.1:2379');
    expect(runbook[4]).toContain('member list');
  });
});
