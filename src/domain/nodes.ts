import type { NodeObservation, Taint, Toleration } from './observation';

/** Node conditions that mean the kubelet is shedding load; a member must not move onto such a node. */
export const PRESSURE_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

/** Ready=True, as the node lifecycle controller reads it. Anything else (False, Unknown, absent) is not ready. */
export function isNodeReady(node: NodeObservation): boolean {
  return node.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The Ready condition's status and reason, for evidence. */
export function readyCondition(node: NodeObservation): { status: string; reason: string } {
  const ready = node.conditions.find((c) => c.type === 'Ready');
  return { status: ready?.status ?? 'absent', reason: ready?.reason ?? '' };
}

/** Pressure conditions that are on. */
export function activePressures(node: NodeObservation): string[] {
  return PRESSURE_CONDITIONS.filter((type) => node.conditions.some((c) => c.type === type && c.status === 'True'));
}

/** CPU and memory usage as fractions of allocatable; undefined when usage is unknown. */
export function utilization(node: NodeObservation): { cpu: number; memory: number } | undefined {
  if (!node.usage) return undefined;
  const fraction = (used: number, allocatable: number): number => (allocatable > 0 ? used / allocatable : 1);
  return {
    cpu: fraction(node.usage.cpuMillis, node.allocatable.cpuMillis),
    memory: fraction(node.usage.memoryBytes, node.allocatable.memoryBytes),
  };
}

function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if (toleration.key === undefined) return toleration.operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  return toleration.operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '');
}

/** Taints with NoSchedule or NoExecute that none of the pod's tolerations match. */
export function repellingTaints(node: NodeObservation, tolerations: readonly Toleration[]): Taint[] {
  return node.taints.filter(
    (taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)),
  );
}

/** `key=value:effect`, the way kubectl prints a taint. */
export function formatTaint(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}

/** A percentage with no decimals, for messages. */
export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
