import type { MaintenancePlan } from '../domain/maintenance';
import type { StepLabel } from './activities';
import type { ActivitySpan } from './history';

/** The activity a maintenance step calls, named as the plan and the progress query name the step. */
const STEP_OF: Readonly<Record<string, string>> = {
  prepareMaintenance: 'plan',
  compactCluster: 'compact',
  disarmNospace: 'disarm-alarm',
  verifyWrite: 'verify-write',
  describeClusterNow: 'describe the cluster',
};

function field(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Names a maintenance's activities as its steps: `defragment etcd-1`, `move-leader off etcd-0`, with the members
 * named from the plan the first activity returned (the activities take member ids).
 */
export function maintenanceStepLabeller(spans: readonly ActivitySpan[]): (span: ActivitySpan) => StepLabel {
  const plan = spans.find((s) => s.type === 'prepareMaintenance')?.result as Partial<MaintenancePlan> | undefined;
  const names = new Map<string, string>();
  for (const step of plan?.steps ?? []) if (step.step === 'defragment' || step.step === 'move-leader') names.set(step.args.member.id, step.args.member.name);
  const nameOf = (id: string | undefined): string => (id === undefined ? '?' : (names.get(id) ?? id));
  return (span) => {
    if (span.type === 'defragmentMember') return { step: `defragment ${nameOf(field(span.input, 'memberId'))}`, compensation: false };
    if (span.type === 'moveLeader') return { step: `move-leader off ${nameOf(field(span.input, 'awayFrom'))}`, compensation: false };
    return { step: STEP_OF[span.type] ?? span.type, compensation: false };
  };
}
