import type { V1NodeSelectorTerm, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { claimMount, claimVolumes, resolveClaimVolumes, volumeAllowsNode, type ClaimReader, type NodeView } from '../../../src/sandbox/pods/claim-volumes';
import { ContainerConfigError, resolveCommand, type PodPlacement } from '../../../src/sandbox/pods/container-command';

/**
 * The node simulator's volume manager for persistentVolumeClaim volumes: a pod waits while its claim is unbound, fails
 * on a volume pinned to another node, and otherwise mounts the bound volume's path under its node's directory.
 */

const node4: NodeView = {
  name: 'node-4',
  labels: { 'kubernetes.io/hostname': 'node-4', 'topology.kubernetes.io/rack': 'rack-1', 'topology.kubernetes.io/zone': 'zone-0' },
};
const DATA = { volume: 'data', claim: 'data-etcd-1' };

function aClaim(overrides: { phase?: string; volumeName?: string } = {}): V1PersistentVolumeClaim {
  return {
    metadata: { name: 'data-etcd-1', namespace: 'etcd' },
    spec: { ...(overrides.volumeName === undefined ? {} : { volumeName: overrides.volumeName }) },
    status: { phase: overrides.phase ?? 'Pending' },
  };
}

function aLocalVolume(overrides: { name?: string; node?: string; terms?: V1NodeSelectorTerm[]; hostPath?: string; nfs?: boolean } = {}): V1PersistentVolume {
  const name = overrides.name ?? 'etcd-data-1-node-4';
  const terms = overrides.terms ?? [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [overrides.node ?? 'node-4'] }] }];
  const source = overrides.nfs
    ? { nfs: { server: 'nfs.example', path: '/exports/etcd' } }
    : overrides.hostPath !== undefined
      ? { hostPath: { path: overrides.hostPath } }
      : { local: { path: `/var/lib/etcd-guardian/${name}` } };
  // A network volume is reachable from every node: no node affinity.
  const affinity = overrides.nfs ? {} : { nodeAffinity: { required: { nodeSelectorTerms: terms } } };
  return { metadata: { name }, spec: { ...source, ...affinity } };
}

const bound = aClaim({ phase: 'Bound', volumeName: 'etcd-data-1-node-4' });

describe('a claim volume on a node', () => {
  it.each([
    ['a claim that does not exist yet makes the pod wait', undefined, undefined, { kind: 'waiting', message: 'persistentvolumeclaim "data-etcd-1" not found' }],
    ['a Pending claim makes the pod wait', aClaim(), undefined, { kind: 'waiting', message: 'persistentvolumeclaim "data-etcd-1" is not bound (phase Pending)' }],
    [
      'a bound claim that is being deleted makes the pod wait',
      { ...bound, metadata: { ...bound.metadata, deletionTimestamp: new Date() } },
      aLocalVolume(),
      { kind: 'waiting', message: 'persistentvolumeclaim "data-etcd-1" is being deleted' },
    ],
    [
      'a claim bound to a volume that cannot be read yet makes the pod wait',
      bound,
      undefined,
      { kind: 'waiting', message: 'persistentvolume "etcd-data-1-node-4" of claim "data-etcd-1" not found' },
    ],
    [
      'a volume pinned to another node fails, naming the volume, the claim and the node',
      bound,
      aLocalVolume({ node: 'node-1' }),
      {
        kind: 'failed',
        message: 'MountVolume.NodeAffinity check failed for volume "etcd-data-1-node-4" (claim "data-etcd-1"): its node affinity does not allow node node-4',
      },
    ],
    [
      'a volume of a kind no node disk holds fails',
      bound,
      aLocalVolume({ nfs: true }),
      { kind: 'failed', message: 'persistentvolume "etcd-data-1-node-4" of claim "data-etcd-1" is neither local nor hostPath: the sandbox\'s nodes have only local disks' },
    ],
    ['a local volume on this node mounts at its path', bound, aLocalVolume(), { kind: 'ready', persistentVolume: 'etcd-data-1-node-4', path: '/var/lib/etcd-guardian/etcd-data-1-node-4' }],
    ['a hostPath volume mounts at its path', bound, aLocalVolume({ hostPath: '/mnt/disks/etcd-1' }), { kind: 'ready', persistentVolume: 'etcd-data-1-node-4', path: '/mnt/disks/etcd-1' }],
  ])('%s', (_name, claim, pv, expected) => {
    expect(claimMount(DATA, claim, pv, node4)).toEqual({ volume: 'data', ...expected });
  });
});

describe('a volume\'s node affinity', () => {
  const term = (terms: V1NodeSelectorTerm[]): V1PersistentVolume => aLocalVolume({ terms });
  it.each([
    ['In a list holding the node\'s label', [{ matchExpressions: [{ key: 'topology.kubernetes.io/rack', operator: 'In', values: ['rack-0', 'rack-1'] }] }], true],
    ['In a list without it', [{ matchExpressions: [{ key: 'topology.kubernetes.io/rack', operator: 'In', values: ['rack-2'] }] }], false],
    ['NotIn a list without it', [{ matchExpressions: [{ key: 'topology.kubernetes.io/rack', operator: 'NotIn', values: ['rack-2'] }] }], true],
    ['Exists on a label the node has', [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'Exists' }] }], true],
    ['DoesNotExist on a label the node has', [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'DoesNotExist' }] }], false],
    ['Gt on a label that is not a number', [{ matchExpressions: [{ key: 'topology.kubernetes.io/rack', operator: 'Gt', values: ['1'] }] }], false],
    ['matchFields on the node\'s name', [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-4'] }] }], true],
    [
      'two expressions of one term, one of them false (ANDed)',
      [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-4'] }, { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-1'] }] }],
      false,
    ],
    [
      'two terms, the second true (ORed)',
      [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-0'] }] }, { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-4'] }] }],
      true,
    ],
    ['an empty term (which matches no node)', [{}], false],
  ])('%s: allowed %s', (_name, terms, allowed) => {
    expect(volumeAllowsNode(term(terms), node4)).toBe(allowed);
  });

  it('a volume without node affinity may be used on any node', () => {
    expect(volumeAllowsNode({ spec: { hostPath: { path: '/x' } } }, node4)).toBe(true);
  });
});

function aPod(volumes: NonNullable<V1Pod['spec']>['volumes']): V1Pod {
  return {
    metadata: { name: 'etcd-1', namespace: 'etcd', uid: 'u1' },
    spec: {
      containers: [{ name: 'etcd', command: ['etcd'], args: ['--data-dir=/var/lib/etcd', '--wal-dir=/var/lib/etcd/wal'], volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }] }],
      volumes,
    },
  };
}

/** A reader over fixed objects that records what it was asked. */
function aReader(claims: Record<string, V1PersistentVolumeClaim>, volumes: Record<string, V1PersistentVolume>): ClaimReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readClaim: (namespace, name) => {
      reads.push(`claim ${namespace}/${name}`);
      return Promise.resolve(claims[name]);
    },
    readVolume: (name) => {
      reads.push(`volume ${name}`);
      return Promise.resolve(volumes[name]);
    },
  };
}

describe('a pod\'s claim volumes', () => {
  const claimPod = aPod([
    { name: 'data', persistentVolumeClaim: { claimName: 'data-etcd-1' } },
    { name: 'certs', hostPath: { path: '/etc/kubernetes/pki/etcd' } },
  ]);

  it('are its persistentVolumeClaim volumes, by volume and claim name', () => {
    expect(claimVolumes(claimPod)).toEqual([DATA]);
  });

  it('a pod without any is ready at once and reads nothing from the API', async () => {
    const reader = aReader({}, {});
    await expect(resolveClaimVolumes(aPod([{ name: 'data', hostPath: { path: '/var/lib/etcd' } }]), 'etcd', node4, reader)).resolves.toEqual({ kind: 'ready', paths: {} });
    expect(reader.reads).toEqual([]);
  });

  it('wait, naming the unmounted volume, while the claim is Pending', async () => {
    await expect(resolveClaimVolumes(claimPod, 'etcd', node4, aReader({ 'data-etcd-1': aClaim() }, {}))).resolves.toEqual({
      kind: 'waiting',
      message: 'unmounted volumes=[data]: persistentvolumeclaim "data-etcd-1" is not bound (phase Pending)',
    });
  });

  it('fail on a volume pinned elsewhere even while another claim still waits', async () => {
    const pod = aPod([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-etcd-1' } },
      { name: 'wal', persistentVolumeClaim: { claimName: 'wal-etcd-1' } },
    ]);
    const reader = aReader({ 'data-etcd-1': bound }, { 'etcd-data-1-node-4': aLocalVolume({ node: 'node-1' }) });
    const result = await resolveClaimVolumes(pod, 'etcd', node4, reader);
    expect(result.kind).toBe('failed');
    expect(reader.reads).toEqual(['claim etcd/data-etcd-1', 'claim etcd/wal-etcd-1', 'volume etcd-data-1-node-4']);
  });

  it('once bound here, mount under the node\'s directory exactly like a hostPath volume', async () => {
    const resolution = await resolveClaimVolumes(claimPod, 'etcd', node4, aReader({ 'data-etcd-1': bound }, { 'etcd-data-1-node-4': aLocalVolume() }));
    if (resolution.kind !== 'ready') throw new Error(`not ready: ${JSON.stringify(resolution)}`);
    const placement: PodPlacement = {
      nodeName: 'node-4',
      hostIP: '127.20.0.5',
      podIP: '127.20.0.5',
      hostPathRoot: '/state/nodes/node-4/hostpath',
      podDir: '/state/nodes/node-4/pods/etcd_etcd-1',
      claimPaths: resolution.paths,
    };
    const command = resolveCommand(aPod([{ name: 'data', persistentVolumeClaim: { claimName: 'data-etcd-1' } }]), placement);
    expect(command.args).toEqual([
      '--data-dir=/state/nodes/node-4/hostpath/var/lib/etcd-guardian/etcd-data-1-node-4',
      '--wal-dir=/state/nodes/node-4/hostpath/var/lib/etcd-guardian/etcd-data-1-node-4/wal',
    ]);
    expect(command.mounts).toEqual([{ mountPath: '/var/lib/etcd', hostDir: '/state/nodes/node-4/hostpath/var/lib/etcd-guardian/etcd-data-1-node-4', create: true }]);
  });

  it('that were never mounted stop the container with a config error naming volume and claim', () => {
    const placement: PodPlacement = { nodeName: 'node-4', hostIP: '127.20.0.5', podIP: '127.20.0.5', hostPathRoot: '/r', podDir: '/p' };
    const pod = aPod([{ name: 'data', persistentVolumeClaim: { claimName: 'data-etcd-1' } }]);
    expect(() => resolveCommand(pod, placement)).toThrow(new ContainerConfigError('volume data: persistentvolumeclaim "data-etcd-1" is not mounted on this node'));
  });
});
