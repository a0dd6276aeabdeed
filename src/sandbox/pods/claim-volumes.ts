import {
  type V1NodeSelectorRequirement,
  type V1NodeSelectorTerm,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from '@kubernetes/client-node';

/**
 * What the kubelet's volume manager decides for a pod's persistentVolumeClaim volumes, as pure functions: wait while
 * a claim is missing or not Bound, refuse a volume whose node affinity excludes the node, and otherwise give the
 * volume's path on the node (a `local` or `hostPath` PersistentVolume), which the runner maps under the node's
 * directory exactly like a hostPath volume.
 */

/** A persistentVolumeClaim volume of a pod. */
export interface ClaimVolume {
  /** The volume's name in the pod (what volumeMounts refer to). */
  volume: string;
  claim: string;
}

/** The pod's persistentVolumeClaim volumes, in spec order. */
export function claimVolumes(pod: V1Pod): ClaimVolume[] {
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim === undefined ? [] : [{ volume: v.name, claim: v.persistentVolumeClaim.claimName }],
  );
}

/** A claim's volume on this node: its path, or why the pod waits, or why it cannot run here. */
export type ClaimMount =
  | { kind: 'ready'; volume: string; persistentVolume: string; path: string }
  | { kind: 'waiting'; volume: string; message: string }
  | { kind: 'failed'; volume: string; message: string };

/** The node as a volume's node affinity sees it. */
export interface NodeView {
  name: string;
  labels: Readonly<Record<string, string>>;
}

function requirementHolds(requirement: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const [bound] = values;
      if (value === undefined || bound === undefined || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(bound)) return false;
      return requirement.operator === 'Gt' ? Number(value) > Number(bound) : Number(value) < Number(bound);
    }
    default:
      return false;
  }
}

/** A term holds when every expression on labels and every field (only metadata.name exists) holds; an empty term holds nothing. */
function termHolds(term: V1NodeSelectorTerm, node: NodeView): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((r) => requirementHolds(r, node.labels[r.key])) &&
    fields.every((r) => requirementHolds(r, r.key === 'metadata.name' ? node.name : undefined))
  );
}

/** Whether a PersistentVolume may be used on the node: no required affinity, or one of its terms holds (terms are ORed). */
export function volumeAllowsNode(pv: V1PersistentVolume, node: NodeView): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (terms === undefined) return true;
  return terms.some((term) => termHolds(term, node));
}

/**
 * The mount of one claim volume on `node`, from the claim and the PersistentVolume it is bound to as read from the API
 * (undefined: not found). A claim that is missing, being deleted, Pending or bound to a volume not found yet makes the pod wait
 * (ContainerCreating), as the kubelet's volume manager does; a volume pinned to other nodes, or of a kind the sandbox
 * cannot place on a node's disk, fails.
 */
export function claimMount(
  volume: ClaimVolume,
  claim: V1PersistentVolumeClaim | undefined,
  pv: V1PersistentVolume | undefined,
  node: NodeView,
): ClaimMount {
  const waiting = (message: string): ClaimMount => ({ kind: 'waiting', volume: volume.volume, message });
  if (claim === undefined) return waiting(`persistentvolumeclaim "${volume.claim}" not found`);
  // The kubelet does not start a pod on a claim that is going away (a move deletes the old claim, then its pod).
  if (claim.metadata?.deletionTimestamp !== undefined && claim.metadata.deletionTimestamp !== null) {
    return waiting(`persistentvolumeclaim "${volume.claim}" is being deleted`);
  }
  const volumeName = claim.spec?.volumeName;
  if (claim.status?.phase !== 'Bound' || volumeName === undefined || volumeName === '') {
    return waiting(`persistentvolumeclaim "${volume.claim}" is not bound (phase ${claim.status?.phase ?? 'Pending'})`);
  }
  if (pv === undefined) return waiting(`persistentvolume "${volumeName}" of claim "${volume.claim}" not found`);
  const failed = (message: string): ClaimMount => ({ kind: 'failed', volume: volume.volume, message });
  if (!volumeAllowsNode(pv, node)) {
    return failed(`MountVolume.NodeAffinity check failed for volume "${volumeName}" (claim "${volume.claim}"): its node affinity does not allow node ${node.name}`);
  }
  const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
  if (path === undefined || path === '') {
    return failed(`persistentvolume "${volumeName}" of claim "${volume.claim}" is neither local nor hostPath: the sandbox's nodes have only local disks`);
  }
  return { kind: 'ready', volume: volume.volume, persistentVolume: volumeName, path };
}

/** The API reads the volume manager makes. */
export interface ClaimReader {
  /** A claim, or undefined when it does not exist. */
  readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined>;
  /** A PersistentVolume, or undefined when it does not exist. */
  readVolume(name: string): Promise<V1PersistentVolume | undefined>;
}

/** Every claim volume's path on the node, or the first reason to wait or fail (failures first: they do not heal by waiting). */
export type ClaimResolution =
  | { kind: 'ready'; paths: Record<string, string> }
  | { kind: 'waiting'; message: string }
  | { kind: 'failed'; message: string };

/** Reads the pod's claims and their volumes and decides, for the whole pod, whether its container can start. */
export async function resolveClaimVolumes(pod: V1Pod, namespace: string, node: NodeView, reader: ClaimReader): Promise<ClaimResolution> {
  const mounts = await Promise.all(
    claimVolumes(pod).map(async (volume) => {
      const claim = await reader.readClaim(namespace, volume.claim);
      const volumeName = claim?.spec?.volumeName;
      const pv = volumeName === undefined || volumeName === '' ? undefined : await reader.readVolume(volumeName);
      return claimMount(volume, claim, pv, node);
    }),
  );
  const failed = mounts.find((m) => m.kind === 'failed');
  if (failed !== undefined) return { kind: 'failed', message: failed.message };
  const waiting = mounts.find((m) => m.kind === 'waiting');
  if (waiting !== undefined) return { kind: 'waiting', message: `unmounted volumes=[${waiting.volume}]: ${waiting.message}` };
  return { kind: 'ready', paths: Object.fromEntries(mounts.flatMap((m) => (m.kind === 'ready' ? [[m.volume, m.path]] : []))) };
}
