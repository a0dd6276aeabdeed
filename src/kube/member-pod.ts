import type { V1Pod } from '@kubernetes/client-node';

/** A template pod that cannot be copied (no container): the cluster's pods are not what the guardian expects. */
export class MemberPodError extends Error {
  readonly code = 'MEMBER_POD';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'MemberPodError';
  }
}

/** What changes between an existing member's pod and its successor's. */
export interface MemberPodChange {
  oldMemberName: string;
  newMemberName: string;
  /** The old member's node address (host networking), replaced in every flag. */
  oldAddress?: string;
  newAddress?: string;
  nodeName: string;
  /** `name=peerURL` of every member after the new one joins, the new one included. */
  initialCluster: string;
  /** Label carrying the member name on the pod, if the cluster uses one. */
  memberLabel?: string;
  /**
   * The new member's id, when its name may have been used before (a replace behind a headless Service reuses the
   * removed member's name): a host path named after the member gets it appended, so the successor never starts on
   * an earlier incarnation's data directory left on that node (etcd would start as the removed member).
   */
  incarnation?: string;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replace a whole token: `etcd-1` but not `etcd-10`, `127.0.0.2` but not `127.0.0.21`. */
function replaceToken(text: string, from: string | undefined, to: string | undefined): string {
  if (!from || to === undefined || from === to) return text;
  return text.replace(new RegExp(`(?<![\\w.-])${escape(from)}(?![\\w-]|\\.\\d)`, 'g'), to);
}

function hasToken(text: string, token: string): boolean {
  return new RegExp(`(?<![\\w.-])${escape(token)}(?![\\w-]|\\.\\d)`).test(text);
}

function setFlag(args: string[], flag: string, value: string): string[] {
  const prefix = `--${flag}=`;
  const index = args.findIndex((a) => a.startsWith(prefix) || a === `--${flag}`);
  if (index === -1) return [...args, `${prefix}${value}`];
  const copy = [...args];
  // `--flag value` form: drop the separate value.
  if (copy[index] === `--${flag}`) copy.splice(index, 2, `${prefix}${value}`);
  else copy[index] = `${prefix}${value}`;
  return copy;
}

/**
 * The pod of a new member, made from an existing member's pod the way an operator would: same image, flags and
 * volumes; the member's name and address swapped for the new ones wherever they appear (flags, host paths); bound to
 * the chosen node; joining the existing cluster.
 */
export function successorPod(template: V1Pod, change: MemberPodChange): V1Pod {
  const swap = (text: string): string => replaceToken(replaceToken(text, change.oldMemberName, change.newMemberName), change.oldAddress, change.newAddress);
  const spec = template.spec;
  if (!spec?.containers[0]) throw new MemberPodError(`template pod ${template.metadata?.name ?? '?'} has no container`);
  const labels = { ...(template.metadata?.labels ?? {}) };
  if (change.memberLabel && labels[change.memberLabel] !== undefined) labels[change.memberLabel] = change.newMemberName;
  const containers = spec.containers.map((c, i) => {
    let args = (c.args ?? []).map(swap);
    if (i === 0) {
      args = setFlag(args, 'name', change.newMemberName);
      args = setFlag(args, 'initial-cluster', change.initialCluster);
      args = setFlag(args, 'initial-cluster-state', 'existing');
    }
    return { ...c, args, command: c.command?.map(swap), env: c.env?.map((e) => (e.value !== undefined ? { ...e, value: swap(e.value) } : e)) };
  });
  const hostPath = (path: string): string => {
    const swapped = swap(path);
    return change.incarnation !== undefined && hasToken(swapped, change.newMemberName) ? `${swapped}-${change.incarnation}` : swapped;
  };
  const volumes = spec.volumes?.map((v) => (v.hostPath ? { ...v, hostPath: { ...v.hostPath, path: hostPath(v.hostPath.path) } } : v));
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: change.newMemberName,
      ...(template.metadata?.namespace ? { namespace: template.metadata.namespace } : {}),
      labels,
      annotations: { ...(template.metadata?.annotations ?? {}), 'etcd-guardian.io/replaces': change.oldMemberName },
    },
    spec: { ...spec, nodeName: change.nodeName, containers, ...(volumes ? { volumes } : {}) },
  };
  if (pod.spec) {
    delete pod.spec.hostname;
    if (spec.hostname) pod.spec.hostname = change.newMemberName;
  }
  return pod;
}
