import { type V1Container, type V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { expandVars } from './expansion';

/**
 * Turns a pod's first container into a command line for a local process: environment from values and field
 * references, `$(VAR)` expansion, and volume mount paths rewritten to directories on the host (there is no mount
 * namespace, so `/var/lib/etcd` in an argument must name the node's hostPath directory instead). Pure.
 */

/** Where the pod runs. */
export interface PodPlacement {
  nodeName: string;
  hostIP: string;
  podIP: string;
  /** Root of the node's hostPath volumes: hostPath /x/y lives at <root>/x/y. */
  hostPathRoot: string;
  /** The pod's own scratch directory (emptyDir volumes go below it). */
  podDir: string;
  /**
   * The node path of each persistentVolumeClaim volume, by volume name, once its claim is bound (the PersistentVolume's
   * `local.path` or `hostPath.path`): it lives under `hostPathRoot` like a hostPath volume.
   */
  claimPaths?: Readonly<Record<string, string>>;
}

/** A volume mount as a host directory. */
export interface MountedDir {
  mountPath: string;
  hostDir: string;
  /** hostPath type DirectoryOrCreate (or unset): create it; Directory: it must exist. */
  create: boolean;
}

/** What to run. */
export interface ResolvedCommand {
  /** The executable as written (resolved on PATH later). */
  executable: string;
  args: string[];
  /** The container's own environment (PATH and the like are added by the runner). */
  env: Record<string, string>;
  mounts: MountedDir[];
}

/** Why a container cannot be run; the runner reports it as a waiting reason, as the kubelet would. */
export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

function fieldValue(pod: V1Pod, placement: PodPlacement, fieldPath: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation !== null) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[labelOrAnnotation[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return placement.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return placement.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return placement.podIP;
    default:
      throw new ContainerConfigError(`fieldRef ${fieldPath} is not supported by the sandbox's node simulator`);
  }
}

function containerEnv(pod: V1Pod, container: V1Container, placement: PodPlacement): Record<string, string> {
  if ((container.envFrom ?? []).length > 0) {
    throw new ContainerConfigError('envFrom is not supported by the sandbox\'s node simulator');
  }
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (entry.valueFrom === undefined) {
      // Later variables may refer to earlier ones, as in Kubernetes.
      env[entry.name] = expandVars(entry.value ?? '', (name) => env[name]);
    } else if (entry.valueFrom.fieldRef !== undefined) {
      env[entry.name] = fieldValue(pod, placement, entry.valueFrom.fieldRef.fieldPath);
    } else {
      throw new ContainerConfigError(`env ${entry.name}: only value and fieldRef are supported by the sandbox's node simulator`);
    }
  }
  return env;
}

function mountedDirs(pod: V1Pod, container: V1Container, placement: PodPlacement): MountedDir[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((volume) => [volume.name, volume]));
  const mounts: MountedDir[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    let base: string | undefined;
    let create = true;
    if (volume?.hostPath !== undefined) {
      base = join(placement.hostPathRoot, volume.hostPath.path);
      create = volume.hostPath.type === undefined || volume.hostPath.type === '' || volume.hostPath.type === 'DirectoryOrCreate';
    } else if (volume?.emptyDir !== undefined) {
      base = join(placement.podDir, 'volumes', mount.name);
    } else if (volume?.persistentVolumeClaim !== undefined) {
      const path = placement.claimPaths?.[volume.name];
      if (path === undefined) {
        throw new ContainerConfigError(`volume ${volume.name}: persistentvolumeclaim "${volume.persistentVolumeClaim.claimName}" is not mounted on this node`);
      }
      // A local volume's directory is the node's disk: made on first use, as an administrator would have made it.
      base = join(placement.hostPathRoot, path);
    }
    // Other volume kinds (the service-account token, config maps) have no host directory: leave their paths alone.
    if (base === undefined || mount.mountPath === '/') continue;
    mounts.push({ mountPath: mount.mountPath.replace(/\/+$/, ''), hostDir: mount.subPath ? join(base, mount.subPath) : base, create });
  }
  // Longest mount path first, so /var/lib/etcd/wal wins over /var/lib/etcd.
  return mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rewrites mount paths inside a value (`--data-dir=/var/lib/etcd` → `--data-dir=<host dir>`). */
export function mapMountPaths(value: string, mounts: readonly MountedDir[]): string {
  let out = value;
  for (const mount of mounts) {
    const pattern = new RegExp(`(^|[=:,\\s])${escapeRegExp(mount.mountPath)}(?=$|[/:,\\s])`, 'g');
    out = out.replace(pattern, (_match, lead: string) => `${lead}${mount.hostDir}`);
  }
  return out;
}

/** A command line in the first container's context: its environment, `$(VAR)` expansion and mount paths. */
function resolveInContainer(pod: V1Pod, placement: PodPlacement, commandLine: (container: V1Container) => readonly string[]): ResolvedCommand {
  const container = pod.spec?.containers[0];
  if (container === undefined) throw new ContainerConfigError('the pod has no container');
  const raw = commandLine(container);
  const env = containerEnv(pod, container, placement);
  const mounts = mountedDirs(pod, container, placement);
  const expand = (value: string): string => mapMountPaths(expandVars(value, (name) => env[name]), mounts);
  const line = raw.map(expand);
  const mappedEnv = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, mapMountPaths(value, mounts)]));
  return { executable: line[0] ?? '', args: line.slice(1), env: mappedEnv, mounts };
}

/** The command line, environment and mounts of a pod's first container. */
export function resolveCommand(pod: V1Pod, placement: PodPlacement): ResolvedCommand {
  return resolveInContainer(pod, placement, (container) => {
    const command = container.command ?? [];
    if (command.length === 0) {
      throw new ContainerConfigError('the container has no command; the sandbox runs commands, it has no images to take an entrypoint from');
    }
    return [...command, ...(container.args ?? [])];
  });
}

/**
 * An exec probe's command, run as if inside the first container: with its environment (an exec probe runs in the
 * container, so it sees the same variables and files) and the same mount paths rewritten to host directories.
 */
export function resolveExecProbe(pod: V1Pod, placement: PodPlacement, command: readonly string[]): ResolvedCommand {
  if (command.length === 0) throw new ContainerConfigError('the exec probe has no command');
  return resolveInContainer(pod, placement, () => command);
}
