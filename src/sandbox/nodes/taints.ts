import { kubeTime } from '../kube';
import { conditionStatus, type NodeConditionRead } from './conditions';

/**
 * The taints the node lifecycle controller manages (TaintNodesByCondition and taint-based eviction), computed from
 * a node's conditions. Taints anyone else put on the node are kept as they are. Pure: the time is passed in.
 */

/** A taint as written to the API. */
export interface TaintJson {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** A taint as read from the API. */
export interface TaintRead {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: Date | string;
}

/** Taint keys of the node lifecycle controller. */
export const CONTROLLER_TAINT_KEYS = [
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.kubernetes.io/memory-pressure',
  'node.kubernetes.io/disk-pressure',
  'node.kubernetes.io/pid-pressure',
  'node.kubernetes.io/unschedulable',
] as const;

/** The controller's taints for a node in this state, as key:effect pairs. */
/** Pressure condition → the NoSchedule taint the controller puts on for it. */
const PRESSURE_TAINTS = [
  ['MemoryPressure', 'node.kubernetes.io/memory-pressure'],
  ['DiskPressure', 'node.kubernetes.io/disk-pressure'],
  ['PIDPressure', 'node.kubernetes.io/pid-pressure'],
] as const;

/** A taint's key and effect. */
export interface TaintKey {
  key: string;
  effect: string;
}

/** The controller's taints for a node in this state. */
export function wantedControllerTaints(conditions: readonly NodeConditionRead[], unschedulable: boolean): TaintKey[] {
  const wanted: TaintKey[] = [];
  const both = (key: string): TaintKey[] => [
    { key, effect: 'NoSchedule' },
    { key, effect: 'NoExecute' },
  ];
  const ready = conditionStatus(conditions, 'Ready');
  if (ready === 'False' || ready === undefined) wanted.push(...both('node.kubernetes.io/not-ready'));
  else if (ready === 'Unknown') wanted.push(...both('node.kubernetes.io/unreachable'));
  for (const [type, key] of PRESSURE_TAINTS) {
    if (conditionStatus(conditions, type) === 'True') wanted.push({ key, effect: 'NoSchedule' });
  }
  if (unschedulable) wanted.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
  return wanted;
}

const isControllerKey = (key: string): boolean => (CONTROLLER_TAINT_KEYS as readonly string[]).includes(key);

function toJson(taint: TaintRead): TaintJson {
  const json: TaintJson = { key: taint.key, effect: taint.effect };
  if (taint.value !== undefined && taint.value !== '') json.value = taint.value;
  if (taint.timeAdded !== undefined) json.timeAdded = kubeTime(new Date(taint.timeAdded));
  return json;
}

/**
 * The node's full taint list after the controller's pass: foreign taints unchanged, controller taints as wanted
 * (an existing one keeps its timeAdded; a new NoExecute taint gets `now`, as the controller stamps it).
 */
export function reconcileTaints(
  existing: readonly TaintRead[],
  conditions: readonly NodeConditionRead[],
  unschedulable: boolean,
  now: Date,
): TaintJson[] {
  const kept = existing.filter((taint) => !isControllerKey(taint.key)).map(toJson);
  const managed = wantedControllerTaints(conditions, unschedulable).map((want): TaintJson => {
    if (want.effect !== 'NoExecute') return want;
    const old = existing.find((taint) => taint.key === want.key && taint.effect === want.effect);
    return { ...want, timeAdded: kubeTime(old?.timeAdded === undefined ? now : new Date(old.timeAdded)) };
  });
  return [...kept, ...managed];
}

/** True when two taint lists hold the same key:effect pairs. */
export function sameTaints(a: readonly TaintRead[], b: readonly TaintRead[]): boolean {
  const key = (list: readonly TaintRead[]): string =>
    list
      .map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`)
      .sort()
      .join(';');
  return key(a) === key(b);
}
