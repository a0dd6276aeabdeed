import { SandboxArgumentError, unknownChoice } from './errors';

/** The faults the sandbox can inject, and the checks on a fault request. Pure. */

/** Every fault kind. */
export const FAULT_KINDS = ['node-down', 'node-pressure', 'pod-freeze', 'pod-crash'] as const;

/** A fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Usage figures of a node-pressure fault, as fractions of allocatable; a missing one keeps the node's baseline. */
export interface PressureLevels {
  cpu?: number;
  memory?: number;
}

/** True for faults aimed at a node (the others aim at a pod). */
export function isNodeFault(kind: FaultKind): boolean {
  return kind === 'node-down' || kind === 'node-pressure';
}

/** The fault kind named by `value`, or the one-line error listing the kinds. */
export function parseFaultKind(value: string): FaultKind {
  const kind = FAULT_KINDS.find((k) => k === value);
  if (kind === undefined) throw unknownChoice('fault kind', value, FAULT_KINDS);
  return kind;
}

/** A usage fraction from a flag such as `--cpu 0.95`. */
export function parseFraction(flag: string, value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(number) || number < 0 || number > 1) {
    throw new SandboxArgumentError(`invalid ${flag} ${String(value)}: choose a fraction from 0 to 1, such as 0.95`);
  }
  return number;
}

/** Checks the levels of a node-pressure fault: at least one, each a fraction. */
export function checkPressure(levels: PressureLevels): PressureLevels {
  if (levels.cpu === undefined && levels.memory === undefined) {
    throw new SandboxArgumentError('node-pressure needs --cpu or --memory (fractions from 0 to 1, such as --cpu 0.95 --memory 0.92)');
  }
  return {
    ...(levels.cpu === undefined ? {} : { cpu: parseFraction('--cpu', levels.cpu) }),
    ...(levels.memory === undefined ? {} : { memory: parseFraction('--memory', levels.memory) }),
  };
}
