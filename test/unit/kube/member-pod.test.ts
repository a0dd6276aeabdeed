import type { V1Pod } from '@kubernetes/client-node';
import { successorPod } from '../../../src/kube/member-pod';

const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'etcd-1', namespace: 'etcd', labels: { app: 'etcd', 'etcd-guardian.io/member': 'etcd-1' }, resourceVersion: '42', uid: 'u' },
  spec: {
    nodeName: 'node-1',
    hostNetwork: true,
    containers: [
      {
        name: 'etcd',
        image: 'quay.io/coreos/etcd:v3.4.23',
        command: ['etcd'],
        args: [
          '--name=etcd-1',
          '--data-dir=/var/lib/etcd',
          '--listen-client-urls=http://127.20.0.2:2379',
          '--advertise-client-urls=http://127.20.0.2:2379',
          '--listen-peer-urls=http://127.20.0.2:2380',
          '--initial-advertise-peer-urls=http://127.20.0.2:2380',
          '--initial-cluster=etcd-0=http://127.20.0.1:2380,etcd-1=http://127.20.0.2:2380,etcd-10=http://127.20.0.21:2380',
          '--initial-cluster-state=new',
          '--initial-cluster-token=tok',
        ],
      },
    ],
    volumes: [{ name: 'data', hostPath: { path: '/var/lib/etcd-guardian/main/etcd-1', type: 'DirectoryOrCreate' } }],
  },
  status: { phase: 'Running' },
};

describe('the pod of a successor member', () => {
  const pod = successorPod(template, {
    oldMemberName: 'etcd-1',
    newMemberName: 'etcd-3',
    oldAddress: '127.20.0.2',
    newAddress: '127.20.0.5',
    nodeName: 'node-4',
    initialCluster: 'etcd-0=http://127.20.0.1:2380,etcd-2=http://127.20.0.3:2380,etcd-3=http://127.20.0.5:2380',
    memberLabel: 'etcd-guardian.io/member',
  });

  it('swaps name and address in every flag, joins the existing cluster, and keeps the rest', () => {
    expect(pod.spec?.containers[0]?.args).toEqual([
      '--name=etcd-3',
      '--data-dir=/var/lib/etcd',
      '--listen-client-urls=http://127.20.0.5:2379',
      '--advertise-client-urls=http://127.20.0.5:2379',
      '--listen-peer-urls=http://127.20.0.5:2380',
      '--initial-advertise-peer-urls=http://127.20.0.5:2380',
      '--initial-cluster=etcd-0=http://127.20.0.1:2380,etcd-2=http://127.20.0.3:2380,etcd-3=http://127.20.0.5:2380',
      '--initial-cluster-state=existing',
      '--initial-cluster-token=tok',
    ]);
  });

  it('is bound to the chosen node, named and labelled for the new member, with its own data directory', () => {
    expect(pod.metadata).toEqual({
      name: 'etcd-3',
      namespace: 'etcd',
      labels: { app: 'etcd', 'etcd-guardian.io/member': 'etcd-3' },
      annotations: { 'etcd-guardian.io/replaces': 'etcd-1' },
    });
    expect(pod.spec?.nodeName).toBe('node-4');
    expect(pod.spec?.volumes?.[0]?.hostPath?.path).toBe('/var/lib/etcd-guardian/main/etcd-3');
    expect(pod.status).toBeUndefined();
  });

  it('keeps a reused name but gives the data directory the new member id, so an earlier incarnation\'s data is never picked up', () => {
    const reused = successorPod(template, { oldMemberName: 'etcd-0', newMemberName: 'etcd-1', nodeName: 'node-4', initialCluster: 'etcd-0=x,etcd-1=y', incarnation: '8e9e05c52164694d' });
    expect(reused.metadata?.name).toBe('etcd-1');
    expect(reused.spec?.containers[0]?.args?.[0]).toBe('--name=etcd-1');
    expect(reused.spec?.volumes?.[0]?.hostPath?.path).toBe('/var/lib/etcd-guardian/main/etcd-1-8e9e05c52164694d');
  });

  it('replaces whole tokens only', () => {
    const odd = successorPod(
      { ...template, spec: { ...template.spec!, containers: [{ name: 'etcd', args: ['--x=etcd-10,127.20.0.21,etcd-1'] }] } },
      { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', oldAddress: '127.20.0.2', newAddress: '127.20.0.5', nodeName: 'n', initialCluster: 'c' },
    );
    expect(odd.spec?.containers[0]?.args?.[0]).toBe('--x=etcd-10,127.20.0.21,etcd-3');
  });

  it('adds flags the template lacks and rewrites the two-word form', () => {
    const bare = successorPod(
      { ...template, spec: { ...template.spec!, containers: [{ name: 'etcd', args: ['--name', 'etcd-1'] }] } },
      { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', nodeName: 'n', initialCluster: 'c' },
    );
    expect(bare.spec?.containers[0]?.args).toEqual(['--name=etcd-3', '--initial-cluster=c', '--initial-cluster-state=existing']);
  });
});
