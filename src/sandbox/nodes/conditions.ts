import { kubeTime, toDate } from '../kube';

/**
 * Node conditions as the kubelet posts them (the real node lifecycle controller overwrites them with Unknown when
 * the kubelet goes silent). Pure: the time is passed in.
 */

/** A node condition as written to the API (times as RFC 3339 strings). */
export interface NodeConditionJson {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/** A node condition as read from the API (typed calls give Dates, watches give strings). */
export interface NodeConditionRead {
  type: string;
  status: string;
  reason?: string;
  lastHeartbeatTime?: Date | string;
  lastTransitionTime?: Date | string;
}

/** The conditions the kubelet owns, in the order it writes them. */
export const KUBELET_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'] as const;

/** What the simulated kubelet knows about its node. */
export interface KubeletView {
  memoryPressure: boolean;
}

const KUBELET_TEXT: Record<(typeof KUBELET_CONDITIONS)[number], { ok: [string, string]; bad: [string, string] }> = {
  MemoryPressure: {
    ok: ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    bad: ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'],
  },
  DiskPressure: {
    ok: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    bad: ['KubeletHasDiskPressure', 'kubelet has disk pressure'],
  },
  PIDPressure: {
    ok: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    bad: ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available'],
  },
  Ready: {
    ok: ['KubeletReady', 'kubelet is posting ready status'],
    bad: ['KubeletNotReady', 'kubelet is not ready'],
  },
};

function transitionTime(previous: NodeConditionRead | undefined, status: string, now: Date): string {
  const since = previous !== undefined && previous.status === status ? toDate(previous.lastTransitionTime) : undefined;
  return kubeTime(since ?? now);
}

/** The conditions a live kubelet posts: pressure conditions from `view`, Ready=True. */
export function kubeletConditions(view: KubeletView, previous: readonly NodeConditionRead[], now: Date): NodeConditionJson[] {
  return KUBELET_CONDITIONS.map((type) => {
    const bad = type === 'MemoryPressure' && view.memoryPressure;
    const status = type === 'Ready' ? 'True' : bad ? 'True' : 'False';
    const [reason, message] = bad ? KUBELET_TEXT[type].bad : KUBELET_TEXT[type].ok;
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: kubeTime(now),
      lastTransitionTime: transitionTime(previous.find((c) => c.type === type), status, now),
    };
  });
}

/** The status of one condition type, if present. */
export function conditionStatus(conditions: readonly NodeConditionRead[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}

/** True when two condition lists say the same (types, statuses, reasons), ignoring heartbeat times. */
export function sameConditions(a: readonly NodeConditionRead[], b: readonly NodeConditionRead[]): boolean {
  const key = (list: readonly NodeConditionRead[]): string =>
    list
      .map((c) => `${c.type}=${c.status}/${c.reason ?? ''}`)
      .sort()
      .join(';');
  return key(a) === key(b);
}
