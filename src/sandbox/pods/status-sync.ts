/**
 * Keeping the API's copy of a pod's status true, as the kubelet's status manager does. Pure.
 *
 * The agent writes a status when it changes; but others write too: the node lifecycle controller sets Ready=False
 * on every pod of a node it cannot reach, and the taint-eviction controller adds a DisruptionTarget condition. So
 * the kubelet (1) compares, now and then, what the API holds with what it knows and writes again when they differ,
 * even though its own last write did not change, and (2) keeps the conditions it does not own when it writes.
 */

/** The pod conditions the kubelet owns (it writes them all; any other type belongs to someone else). */
export const KUBELET_POD_CONDITIONS: ReadonlySet<string> = new Set([
  'PodScheduled',
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
]);

/** A pod condition as the API holds it (times as the client library gives them: Date or string). */
export interface ConditionLike {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: Date | string | null;
  lastTransitionTime?: Date | string | null;
}

/** A container status, as much of it as tells whether the API is behind. */
export interface ContainerStatusLike {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  containerID?: string;
  state?: Record<string, unknown>;
}

/** A pod status, written or read. */
export interface StatusLike {
  phase?: string;
  conditions?: readonly ConditionLike[];
  containerStatuses?: readonly ContainerStatusLike[];
}

function apiTime(value: Date | string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The conditions someone else wrote (DisruptionTarget and the like), as JSON to write back unchanged. */
export function foreignConditions(current: readonly ConditionLike[] | undefined): Record<string, unknown>[] {
  return (current ?? [])
    .filter((c) => !KUBELET_POD_CONDITIONS.has(c.type))
    .map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.message === undefined ? {} : { message: c.message }),
      lastProbeTime: apiTime(c.lastProbeTime),
      lastTransitionTime: apiTime(c.lastTransitionTime),
    }));
}

function stateKind(state: Record<string, unknown> | undefined): string {
  return Object.keys(state ?? {}).find((key) => state?.[key] !== undefined && state[key] !== null) ?? 'none';
}

/** What must match between the kubelet's status and the API's: phase, its own conditions, and each container's state. */
function summary(status: StatusLike | undefined): string {
  const conditions = (status?.conditions ?? [])
    .filter((c) => KUBELET_POD_CONDITIONS.has(c.type))
    .map((c) => `${c.type}=${c.status}`)
    .sort();
  const containers = (status?.containerStatuses ?? []).map((c) =>
    [c.name, c.ready, c.started ?? false, c.restartCount, c.containerID ?? '', stateKind(c.state)].join('|'),
  );
  return JSON.stringify([status?.phase ?? '', conditions, containers]);
}

/** Whether the API's status says something other than what the kubelet would write. */
export function statusDrifted(intended: StatusLike, current: StatusLike | undefined): boolean {
  return summary(intended) !== summary(current);
}
