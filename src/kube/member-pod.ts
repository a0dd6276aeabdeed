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
const RESTORE_NAME = 'etcd-guardian-restore';

/** The environment of the restore script: where the snapshot is, its sha256 and the backup's name. */
export const RESTORE_ENV = { source: 'GUARDIAN_RESTORE_SOURCE', sha256: 'GUARDIAN_RESTORE_SHA256', backup: 'GUARDIAN_RESTORE_BACKUP' } as const;
const RESTORE_ENV_NAMES: readonly string[] = Object.values(RESTORE_ENV);

/** The container's own command, without a start guard or a restore script the guardian put in front of it. */
function unwrapped(container: V1Container): V1Container {
  const command = container.command;
  if (command?.[3] === GUARD_NAME) return { ...container, command: command.slice(5) };
  if (command?.[3] === RESTORE_NAME) return { ...container, command: command.slice(9) };
  return container;
}

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
  const first = unwrapped(guarded);
  const dataDir = dataDirOf(first, change.newMemberName);
  const { volumes, fresh } = freshHostPath(swapped, first, dataDir, change.newMemberName, change.incarnation);
  // The start guard runs first: `sh -c <guard> guard <data dir> <etcd command...>`, the args unchanged after it.
  const uidEnv = { name: GUARD_UID_ENV, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } };
  const withGuard: V1Container = {
    ...first,
    command: ['sh', '-c', DATA_DIR_GUARD_SCRIPT, GUARD_NAME, dataDir, ...(first.command ?? ['etcd'])],
    env: [...(first.env ?? []).filter((e) => e.name !== GUARD_UID_ENV && !RESTORE_ENV_NAMES.includes(e.name)), uidEnv],
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

/** On a recovery's seed pod: how it was started (`force-new-cluster` or `restored`, then `restarted`). */
export const RECOVERY_SEED_ANNOTATION = 'etcd-guardian.io/recovery-seed';
/** On a seed restored from a backup: the backup's name. */
export const RESTORED_FROM_ANNOTATION = 'etcd-guardian.io/restored-from';

/** The file the restore script leaves in the data directory: the name of the backup it restored there. */
export const RESTORE_MARKER = '.etcd-guardian-restored';
/** The exit code of the restore script when the snapshot cannot be fetched, does not match or does not restore. */
export const RESTORE_FAILED_EXIT = 66;

/**
 * Runs before etcd on a seed restored from a backup: fetch the snapshot (a presigned URL with curl or wget, or a
 * path), check its sha256 against the backup's record, restore it with etcdutl (etcdctl on 3.4) as a one-member
 * cluster under a new token, and start etcd on it. A restart of the same pod finds the marker naming the backup and
 * only starts etcd. Whatever was in the data directory's `member/` is kept aside, never deleted. Positional: the data
 * directory, the member's name, its `--initial-cluster`, the new token, its peer URL, then etcd's command line.
 */
export const RESTORE_SCRIPT = [
  `d="$1"; n="$2"; c="$3"; t="$4"; p="$5"; shift 5; b="$${RESTORE_ENV.backup}"; m="$d/${RESTORE_MARKER}"; w="$d/.etcd-guardian-restore"`,
  `fail() { echo "etcd-guardian: backup $b not restored: $*" >&2; exit ${RESTORE_FAILED_EXIT}; }`,
  `mkdir -p "$d" || fail "cannot create $d"`,
  `if [ -d "$d/member" ] && [ "$(cat "$m" 2>/dev/null)" = "$b" ]; then exec "$@"; fi`,
  `if [ -e "$d/member" ]; then a="$d/member.before-restore-$(date +%s)"; mv "$d/member" "$a" || fail "cannot move $d/member aside"; echo "etcd-guardian: the data directory's earlier member/ is kept as $a" >&2; fi`,
  `rm -rf "$w" && mkdir -p "$w" || fail "cannot create $w"`,
  `s="$${RESTORE_ENV.source}"`,
  `case "$s" in /*) cp "$s" "$w/snapshot.db" ;; *) if command -v curl >/dev/null 2>&1; then curl -fsS -o "$w/snapshot.db" "$s"; else wget -q -O "$w/snapshot.db" "$s"; fi ;; esac || fail "the snapshot could not be fetched"`,
  `h="$(sha256sum "$w/snapshot.db" | cut -d' ' -f1)"; [ "$h" = "$${RESTORE_ENV.sha256}" ] || fail "its snapshot has sha256 $h, its record says $${RESTORE_ENV.sha256}"`,
  `if command -v etcdutl >/dev/null 2>&1; then r=etcdutl; else r=etcdctl; export ETCDCTL_API=3; fi`,
  `"$r" snapshot restore "$w/snapshot.db" --data-dir "$w/data" --name "$n" --initial-cluster "$c" --initial-cluster-token "$t" --initial-advertise-peer-urls "$p" >&2 || fail "$r snapshot restore failed"`,
  `mv "$w/data/member" "$d/member" && rm -rf "$w" && printf %s "$b" > "$m" || fail "cannot move the restored data into $d"`,
  `exec "$@"`,
].join('\n');

/** What a seed restored from a backup is made of. */
export interface RestoredSeed extends MemberPodChange {
  /** The new cluster's token: a restored cluster never shares one with the lost membership. */
  token: string;
  peerURL: string;
  backup: { name: string; sha256: string; source: string };
}

/**
 * The pod of a quorum-loss recovery's seed restored from a backup: a new member (as a successor is made from a
 * member's pod: its name, node and address, a data directory of its own), bootstrapping a one-member cluster under a
 * new token from the snapshot the restore script fetches and checks. `seedPod` later restarts it without the script.
 */
export function restoredSeedPod(template: V1Pod, seed: RestoredSeed): V1Pod {
  const successor = successorPod(template, seed);
  const guarded = successor.spec?.containers[0];
  if (!successor.spec || !guarded?.command) throw new MemberPodError(`template pod ${template.metadata?.name ?? '?'} has no container`);
  const dataDir = successor.metadata?.annotations?.[DATA_DIR_ANNOTATION] ?? dataDirOf(guarded, seed.newMemberName);
  const etcd = guarded.command.slice(5);
  let args = setFlag(guarded.args ?? [], 'initial-cluster-state', 'new');
  args = setFlag(args, 'initial-cluster-token', seed.token);
  const env = [
    ...(guarded.env ?? []).filter((e) => e.name !== GUARD_UID_ENV && !RESTORE_ENV_NAMES.includes(e.name)),
    { name: RESTORE_ENV.source, value: seed.backup.source },
    { name: RESTORE_ENV.sha256, value: seed.backup.sha256 },
    { name: RESTORE_ENV.backup, value: seed.backup.name },
  ];
  const container: V1Container = { ...guarded, command: ['sh', '-c', RESTORE_SCRIPT, RESTORE_NAME, dataDir, seed.newMemberName, seed.initialCluster, seed.token, seed.peerURL, ...etcd], args, env };
  const annotations: Record<string, string> = { ...(successor.metadata?.annotations ?? {}), [RECOVERY_SEED_ANNOTATION]: 'restored', [RESTORED_FROM_ANNOTATION]: seed.backup.name };
  delete annotations['etcd-guardian.io/replaces'];
  return { ...successor, metadata: { ...successor.metadata, annotations }, spec: { ...successor.spec, containers: [container, ...successor.spec.containers.slice(1)] } };
}

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
  const unguarded = unwrapped(first);
  const env = unguarded.env?.filter((e) => e.name !== GUARD_UID_ENV && !RESTORE_ENV_NAMES.includes(e.name));
  const args = withoutForceNewCluster(unguarded.args ?? []);
  const container: V1Container = { ...unguarded, args: forceNewCluster ? [...args, '--force-new-cluster'] : args, ...(env ? { env } : {}) };
  if (!env || env.length === 0) delete container.env;
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
