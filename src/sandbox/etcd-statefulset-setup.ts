import { type EtcdMemberLayout } from './etcd-cluster';
import {
  CLAIM_TEMPLATE_NAME,
  HEADLESS_SERVICE_NAME,
  headlessServiceManifest,
  localVolumeManifest,
  localVolumeName,
  STATEFULSET_NAME,
  statefulSetManifest,
  STORAGE_CLASS_NAME,
  storageClassManifest,
  type StatefulSetParams,
} from './etcd-statefulset';
import { type KubeClients } from './kube';
import { type SandboxInfo } from './types';

/**
 * Creates the `statefulset` workload in a fresh sandbox: the StorageClass, one local PersistentVolume per member on
 * the node the sandbox chose for it (as placeMembers spreads them over racks), the headless Service, then the
 * StatefulSet. The volumes exist, each reserved for its member's claim, before the controller makes the claims, so
 * the scheduler places every pod on its volume's node.
 */
export async function createEtcdStatefulSet(kube: KubeClients, params: StatefulSetParams): Promise<void> {
  await kube.storage.createStorageClass({ body: storageClassManifest() });
  for (const [ordinal, member] of params.members.entries()) {
    await kube.core.createPersistentVolume({ body: localVolumeManifest({ ordinal, node: member.node.name }) });
  }
  const namespace = headlessServiceManifest().metadata?.namespace ?? '';
  await kube.core.createNamespacedService({ namespace, body: headlessServiceManifest() });
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSetManifest(params) });
}

/** What SandboxInfo says about the StatefulSet workload. */
export function statefulSetInfo(): NonNullable<SandboxInfo['etcd']['statefulSet']> {
  return { name: STATEFULSET_NAME, serviceName: HEADLESS_SERVICE_NAME, claimTemplate: CLAIM_TEMPLATE_NAME, storageClassName: STORAGE_CLASS_NAME };
}

/** The local volume of each initial member, by member name. */
export function initialVolumes(members: readonly EtcdMemberLayout[]): Record<string, string> {
  return Object.fromEntries(members.map((m, ordinal) => [m.name, localVolumeName(ordinal, m.node.name)]));
}
