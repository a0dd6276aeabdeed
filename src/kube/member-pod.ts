import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import { KUBELET_CONFIG_PREFIX } from '../domain/workload';

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

/** The exit code of a successor's start guard when its data directory is not empty (sysexits' EX_DATAERR). */
export const DATA_DIR_NOT_EMPTY_EXIT = 65;
/** On a successor pod: the data directory its start guard checks, in the container's paths. */
export const DATA_DIR_ANNOTATION = 'etcd-guardian.io/data-dir';
/** On a successor pod whose template's data directory was not named after its member: the host directory it got. */
export const FRESH_DATA_DIR_ANNOTATION = 'etcd-guardian.io/fresh-data-dir';

/** The environment variable carrying the pod's uid (downward API) to the start guard. Not ETCD_*: etcd reads those. */
export const GUARD_UID_ENV = 'GUARDIAN_POD_UID';
/** The file the start guard leaves in the data directory: the uid of the pod whose etcd it let start there. */
export const GUARD_MARKER = '.etcd-guardian-pod';

/**
 * Runs before etcd, in the container: a new member must start from an empty data directory. With an old member's
 * data etcd would ignore --initial-cluster-state=existing and start as that old member. The directory may be
 * non-empty only when this same pod started etcd there before (a container restart): the guard marks the directory
 * with the pod's uid on the first start. `$1` is the directory, the rest is etcd's command line. Needs a shell in the
 * image (the sandbox and shell-bearing etcd images have one).
 */
export const DATA_DIR_GUARD_SCRIPT = [
  `d="$1"; shift; u="$${GUARD_UID_ENV}"; m="$d/${GUARD_MARKER}"`,
  `if [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && { [ -z "$u" ] || [ "$(cat "$m" 2>/dev/null)" != "$u" ]; }; then echo "etcd-guardian: data directory $d is not empty and was not started by this pod; a new member starts from an empty one, so etcd is not started" >&2; exit ${DATA_DIR_NOT_EMPTY_EXIT}; fi`,
  `mkdir -p "$d" && printf %s "$u" > "$m" && exec "$@"`,
].join('; ');

const GUARD_NAME = 'etcd-data-dir-guard';

function flagValue(args: readonly string[], flag: string): string | undefined {
  const prefix = `--${flag}=`;
  const inline = args.find((a) => a.startsWith(prefix));
  if (inline !== undefined) return inline.slice(prefix.length);
  const index = args.indexOf(`--${flag}`);
  return index === -1 ? undefined : args[index + 1];
}

/** The container's data directory: --data-dir, else ETCD_DATA_DIR, else etcd's default `<name>.etcd`. */
function dataDirOf(container: V1Container, memberName: string): string {
  return flagValue([...(container.command ?? []), ...(container.args ?? [])], 'data-dir') ?? container.env?.find((e) => e.name === 'ETCD_DATA_DIR')?.value ?? `${memberName}.etcd`;
}

function hasToken(text: string, token: string): boolean {
  return new RegExp(`(?<![\\w.-])${escape(token)}(?![\\w-]|\\.\\d)`).test(text);
}

/**
 * A data directory on a hostPath volume whose path does not name the member (kubeadm's /var/lib/etcd) would be
 * shared by every member ever placed on that node: the successor gets `<path>/<new member>` instead. Returns the
 * volumes and the new host directory, if one was given.
 */
function freshHostPath(
  volumes: V1Volume[] | undefined,
  container: V1Container,
  dataDir: string,
  newMemberName: string,
  incarnation?: string,
): { volumes?: V1Volume[]; fresh?: string } {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => dataDir === m.mountPath.replace(/\/+$/, '') || dataDir.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const volume = mount ? volumes?.find((v) => v.name === mount.name) : undefined;
  if (!mount || !volume?.hostPath) return volumes ? { volumes } : {};
  const below = dataDir.slice(mount.mountPath.replace(/\/+$/, '').length);
  const base = `${volume.hostPath.path.replace(/\/+$/, '')}${mount.subPath ? `/${mount.subPath}` : ''}`;
  // Named after the member already, or after this incarnation of a reused name.
  const named = hasToken(`${base}${below}`, newMemberName) || (incarnation !== undefined && `${base}${below}`.includes(`${newMemberName}-${incarnation}`));
  if (named) return { volumes: volumes ?? [] };
  const fresh = `${volume.hostPath.path.replace(/\/+$/, '')}/${newMemberName}`;
  return {
    volumes: (volumes ?? []).map((v) => (v === volume ? { ...v, hostPath: { ...v.hostPath, path: fresh, type: 'DirectoryOrCreate' } } : v)),
    fresh: `${fresh}${mount.subPath ? `/${mount.subPath}` : ''}${below}`,
  };
}

/**
 * The pod of a new member, made from an existing member's pod the way an operator would: same image, flags and
 * volumes; the member's name and address swapped for the new ones wherever they appear (flags, host paths); bound to
 * the chosen node; joining the existing cluster. Never the template's owner references or kubelet annotations; its
 * data directory is a fresh one named after the new member, and a start guard refuses to run etcd on a non-empty one.
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
      // A copy of a recovery's seed must never force a new cluster of its own.
      args = withoutForceNewCluster(args);
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
  const swapped = spec.volumes?.map((v) => (v.hostPath ? { ...v, hostPath: { ...v.hostPath, path: hostPath(v.hostPath.path) } } : v));
  // A successor made from an earlier successor: its guard is replaced, not wrapped twice.
  const guarded = containers[0] as V1Container;
  const first = guarded.command?.[3] === GUARD_NAME ? { ...guarded, command: guarded.command.slice(5) } : guarded;
  const dataDir = dataDirOf(first, change.newMemberName);
  const { volumes, fresh } = freshHostPath(swapped, first, dataDir, change.newMemberName, change.incarnation);
  // The start guard runs first: `sh -c <guard> guard <data dir> <etcd command...>`, the args unchanged after it.
  const uidEnv = { name: GUARD_UID_ENV, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } };
  const withGuard: V1Container = {
    ...first,
    command: ['sh', '-c', DATA_DIR_GUARD_SCRIPT, GUARD_NAME, dataDir, ...(first.command ?? ['etcd'])],
    env: [...(first.env ?? []).filter((e) => e.name !== GUARD_UID_ENV), uidEnv],
  };
  // The kubelet's own annotations (config.mirror, config.source, config.hash) describe the template's origin, not
  // this pod's: a copy carrying them would pass for a static pod.
  const annotations = Object.fromEntries(Object.entries(template.metadata?.annotations ?? {}).filter(([key]) => !key.startsWith(KUBELET_CONFIG_PREFIX)));
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: change.newMemberName,
      ...(template.metadata?.namespace ? { namespace: template.metadata.namespace } : {}),
      labels,
      annotations: { ...annotations, 'etcd-guardian.io/replaces': change.oldMemberName, [DATA_DIR_ANNOTATION]: dataDir, ...(fresh ? { [FRESH_DATA_DIR_ANNOTATION]: fresh } : {}) },
    },
    spec: { ...spec, nodeName: change.nodeName, containers: [withGuard, ...containers.slice(1)], ...(volumes ? { volumes } : {}) },
  };
  if (pod.spec) {
    delete pod.spec.hostname;
    if (spec.hostname) pod.spec.hostname = change.newMemberName;
  }
  return pod;
}

/** The args without etcd's --force-new-cluster, in any of its forms. */
function withoutForceNewCluster(args: readonly string[]): string[] {
  return args.filter((a) => a !== '--force-new-cluster' && !a.startsWith('--force-new-cluster='));
}

/** On a recovery's seed pod: how it was started (`force-new-cluster`, then `restarted`). */
export const RECOVERY_SEED_ANNOTATION = 'etcd-guardian.io/recovery-seed';

/**
 * The pod of a quorum-loss recovery's seed, made from the surviving member's own pod: same name, node, volumes (so the
 * same data directory) and flags, with `--force-new-cluster` added (the first start: etcd rewrites the membership to
 * this member alone, keeping its data) or removed (the restart after it, so that no later restart of the pod forces a
 * new cluster again over the members added since). A successor's data-directory guard is taken off: the directory
 * is this member's own, and not empty by design.
 */
export function seedPod(template: V1Pod, forceNewCluster: boolean): V1Pod {
  const spec = template.spec;
  const first = spec?.containers[0];
  if (!spec || !first) throw new MemberPodError(`pod ${template.metadata?.name ?? '?'} has no container`);
  const unguarded: V1Container = first.command?.[3] === GUARD_NAME ? { ...first, command: first.command.slice(5) } : first;
  const env = unguarded.env?.filter((e) => e.name !== GUARD_UID_ENV);
  const args = withoutForceNewCluster(unguarded.args ?? []);
  const container: V1Container = { ...unguarded, args: forceNewCluster ? [...args, '--force-new-cluster'] : args, ...(env ? { env } : {}) };
  if (!env) delete container.env;
  const annotations = Object.fromEntries(Object.entries(template.metadata?.annotations ?? {}).filter(([key]) => !key.startsWith(KUBELET_CONFIG_PREFIX)));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(template.metadata?.name ? { name: template.metadata.name } : {}),
      ...(template.metadata?.namespace ? { namespace: template.metadata.namespace } : {}),
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: { ...annotations, [RECOVERY_SEED_ANNOTATION]: forceNewCluster ? 'force-new-cluster' : 'restarted' },
    },
    spec: { ...spec, containers: [container, ...spec.containers.slice(1)] },
  };
}
