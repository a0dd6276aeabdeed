import { kubeTime, toDate } from '../kube';

/**
 * A pod's status as a kubelet writes it, built from what the runner knows about the pod's process. Pure: the
 * time is passed in, and previous conditions keep their transition times when their status did not change.
 */

/** How a container ended. */
export interface Termination {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerID?: string;
}

/** A container's current state, in the API's three shapes. */
export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | ({ kind: 'terminated' } & Termination);

/** What the runner knows of a pod. */
export interface PodRuntime {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** When the node accepted the pod. */
  startTime: Date;
  hostIP: string;
  podIP: string;
  containerName: string;
  image: string;
  state: ContainerState;
  lastTermination?: Termination;
  restartCount: number;
  /** Running, and its startup probe passed (or it has none). */
  started: boolean;
  ready: boolean;
  /** A container id, `sandbox://<pid>`, while a process exists. */
  containerID?: string;
}

/** A pod condition as read from the API. */
export interface PodConditionRead {
  type: string;
  status: string;
  lastTransitionTime?: Date | string;
}

function stateJson(state: ContainerState): Record<string, unknown> {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.message === undefined ? {} : { message: state.message }) } };
    case 'running':
      return { running: { startedAt: kubeTime(state.startedAt) } };
    case 'terminated':
      return { terminated: terminationJson(state) };
  }
}

function terminationJson(t: Termination): Record<string, unknown> {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    ...(t.message === undefined ? {} : { message: t.message }),
    startedAt: kubeTime(t.startedAt),
    finishedAt: kubeTime(t.finishedAt),
    ...(t.containerID === undefined ? {} : { containerID: t.containerID }),
  };
}

function condition(
  type: string,
  ok: boolean,
  previous: readonly PodConditionRead[],
  now: Date,
  notReady?: { reason: string; message: string },
): Record<string, unknown> {
  const status = ok ? 'True' : 'False';
  const old = previous.find((c) => c.type === type);
  const since = old !== undefined && old.status === status ? toDate(old.lastTransitionTime) : undefined;
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: kubeTime(since ?? now),
    ...(ok || notReady === undefined ? {} : notReady),
  };
}

/** The `status` object to write for a pod. */
export function podStatusJson(runtime: PodRuntime, previous: readonly PodConditionRead[], now: Date): Record<string, unknown> {
  const notReady = { reason: 'ContainersNotReady', message: `containers with unready status: [${runtime.containerName}]` };
  return {
    phase: runtime.phase,
    startTime: kubeTime(runtime.startTime),
    hostIP: runtime.hostIP,
    hostIPs: [{ ip: runtime.hostIP }],
    podIP: runtime.podIP,
    podIPs: [{ ip: runtime.podIP }],
    conditions: [
      condition('PodReadyToStartContainers', true, previous, now),
      condition('Initialized', true, previous, now),
      condition('ContainersReady', runtime.ready, previous, now, notReady),
      condition('Ready', runtime.ready, previous, now, notReady),
      condition('PodScheduled', true, previous, now),
    ],
    containerStatuses: [
      {
        name: runtime.containerName,
        image: runtime.image,
        imageID: '',
        ...(runtime.containerID === undefined ? {} : { containerID: runtime.containerID }),
        ready: runtime.ready,
        started: runtime.started,
        restartCount: runtime.restartCount,
        state: stateJson(runtime.state),
        lastState: runtime.lastTermination === undefined ? {} : { terminated: terminationJson(runtime.lastTermination) },
      },
    ],
  };
}
