import type { V1PersistentVolume } from '@kubernetes/client-node';

/**
 * The local PersistentVolume of a StatefulSet member, as the contract in README "What the guardian supports" has it:
 * pinned to one node by its node affinity, under `/var/lib/etcd-guardian/<volume name>` there, and reserved for the
 * ordinal's claim by name (a claimRef without a uid): the claim the StatefulSet controller creates next, whatever
 * its uid, binds to it and to no other, and the scheduler then places the pod on that node. The sandbox makes the
 * first volumes with it; the guardian the ones it moves a member onto.
 */

/** Labels on every member volume: which cluster and which ordinal (the member's pod name). */
export const VOLUME_CLUSTER_LABEL = 'etcd-guardian.io/cluster';
export const VOLUME_MEMBER_LABEL = 'etcd-guardian.io/member';
/** The storage class of the members' local volumes when the claim names none. */
export const LOCAL_STORAGE_CLASS = 'etcd-guardian-local';
/** Where a local volume lives on its node: `/var/lib/etcd-guardian/<volume name>`. */
export const LOCAL_VOLUME_ROOT = '/var/lib/etcd-guardian';
/** The label that names a node; local volumes are pinned with it. */
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** What a member volume is made of; the claim's own request fills what it names, else these defaults. */
export interface LocalVolumeParams {
  name: string;
  cluster: string;
  namespace: string;
  /** The member's pod name (its ordinal), for the member label. */
  podName: string;
  node: string;
  claimName: string;
  storage?: string;
  accessModes?: string[];
  volumeMode?: string;
  storageClassName?: string;
}

/** The volume reserved for an ordinal's claim on a node. */
export function localVolume(params: LocalVolumeParams): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: params.name, labels: { [VOLUME_CLUSTER_LABEL]: params.cluster, [VOLUME_MEMBER_LABEL]: params.podName } },
    spec: {
      capacity: { storage: params.storage ?? '1Gi' },
      accessModes: params.accessModes ?? ['ReadWriteOnce'],
      volumeMode: params.volumeMode ?? 'Filesystem',
      storageClassName: params.storageClassName ?? LOCAL_STORAGE_CLASS,
      persistentVolumeReclaimPolicy: 'Retain',
      local: { path: `${LOCAL_VOLUME_ROOT}/${params.name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [params.node] }] }] } },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: params.namespace, name: params.claimName },
    },
  };
}

/** The node a local volume is pinned to by its node affinity. */
export function volumeNode(volume: V1PersistentVolume): string | undefined {
  for (const term of volume.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const expr of term.matchExpressions ?? []) {
      if (expr.key === HOSTNAME_LABEL && expr.operator === 'In' && expr.values?.[0]) return expr.values[0];
    }
  }
  return undefined;
}
