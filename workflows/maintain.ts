import { ApplicationFailure, CancellationScope, defineQuery, isCancellation, patched, setCurrentDetails, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { SA } from '../src/config/search-attributes';
import { parseMaintainClusterInput, type MaintainClusterInput } from '../src/config/workflow-inputs';
import type { MaintenancePlan } from '../src/domain/maintenance';
import { awaitingApprovalDetails, maintenancePlanDetails, stepSummary } from '../src/domain/summaries';
import type { Verdict } from '../src/domain/approval';
import { approvedUnderLease, type ApprovalProgress } from './approval';
import { failureType, invalidInputFailure, rootMessage } from './failures';
import { invokerOf } from './invoke';
import { FLEET_LEASE, withClusterLease, type FleetLease, type LeaseProgress } from './lease';
import { MAINTENANCE_ACTIVITY_CLASS, runMaintenance, type MaintenanceInvoke, type MaintenanceRun, type MaintenanceStepActivities } from './run-maintenance';
import { Saga, type StepRecord } from './saga';
import { MIGRATION_TIMING, scaledTiming } from './timing';

/** What the maintenance's `progress` query answers. */
export interface MaintenanceProgress extends LeaseProgress, ApprovalProgress {
  cluster: string;
  /** `waiting`: for a fleet lease (the budget, a freeze), with why in `waitingFor`; `awaiting-approval`: for a person. */
  phase: 'validating' | 'planning' | 'awaiting-approval' | 'waiting' | 'maintaining' | 'succeeded' | 'failed';
  plan?: MaintenancePlan;
  currentStep?: string;
  steps: StepRecord[];
}

/** The outcome of a maintenance that did not fail. */
export interface MaintenanceResult extends Partial<MaintenanceRun> {
  cluster: string;
  dryRun: boolean;
  requestedBy?: string;
  /** Who approved the plan, when the cluster's approval rules held it for a person. */
  approvedBy?: Verdict & { at: string };
  plan: MaintenancePlan;
  steps: StepRecord[];
}

/** The current step and each step's timing and result. */
export const maintenanceProgressQuery = defineQuery<MaintenanceProgress>('progress');

const invoke = invokerOf<MaintenanceStepActivities>() as MaintenanceInvoke;

/**
 * Maintenance of a cluster's space: defragment members one at a time (the leader last, leadership moved off it
 * first), or recover from NOSPACE (compact, defragment every member, disarm, prove a write). Started by the monitor
 * for a confirmed space finding, or by an operator (`etcd-guardian maintain`, the Temporal UI), under the cluster's
 * migration id: one disruptive operation per cluster at a time. A voter that goes down stops it (nothing is undone:
 * no step weakens the cluster) and the migration path takes over.
 */
export async function maintainCluster(raw: unknown): Promise<MaintenanceResult> {
  const asked = (typeof raw === 'object' && raw !== null ? raw : {}) as { cluster?: unknown };
  const progress: MaintenanceProgress = { cluster: typeof asked.cluster === 'string' ? asked.cluster : '?', phase: 'validating', steps: [] };
  const saga = new Saga({ now: () => new Date(), nonCancellable: (fn) => CancellationScope.nonCancellable(fn), messageOf: rootMessage }, progress.steps);
  setHandler(maintenanceProgressQuery, () => (saga.current !== undefined ? { ...progress, currentStep: saga.current } : progress));
  let input: MaintainClusterInput;
  try {
    input = parseMaintainClusterInput(raw);
  } catch (error) {
    progress.phase = 'failed';
    throw invalidInputFailure(error) ?? error;
  }
  upsertSearchAttributes([{ key: SA.cluster, value: input.cluster }, { key: SA.strategy, value: 'maintenance' }]);
  // Runs recorded before fleet leases replay without one.
  return withClusterLease(progress, !input.dryRun && patched(FLEET_LEASE), { cluster: input.cluster, operation: 'maintenance', description: `${input.mode} maintenance of ${input.cluster}${input.reason ? `: ${input.reason}` : ''}` }, (lease) =>
    maintainUnderLease(input, progress, saga, lease),
  );
}

async function maintainUnderLease(input: MaintainClusterInput, progress: MaintenanceProgress, saga: Saga, lease: FleetLease | undefined): Promise<MaintenanceResult> {
  progress.phase = 'planning';
  const quick = MIGRATION_TIMING.quick;
  const planned = (label: string): Promise<MaintenancePlan> =>
    saga
      .step(
        'plan',
        () =>
          invoke('prepareMaintenance', quick, {
            cluster: input.cluster,
            mode: input.mode,
            ...(input.members ? { members: input.members } : {}),
            ...(input.all ? { all: true } : {}),
            ...(input.reason ? { reason: input.reason } : {}),
          }, stepSummary('plan', label)),
        (p) => `${p.mode}: ${p.reasons.join('; ')}${p.skipped.length > 0 ? `; skipped: ${p.skipped.map((s) => `${s.member} (${s.reason})`).join(', ')}` : ''}`,
      )
      .catch((error: unknown) => {
        progress.phase = 'failed';
        throw ApplicationFailure.create({ message: rootMessage(error), type: failureType(error) ?? 'PLAN_FAILED', nonRetryable: true });
      });
  let plan = await planned(`observe ${input.cluster} and plan its ${input.mode} maintenance`);
  progress.plan = plan;
  setCurrentDetails(maintenancePlanDetails(plan));
  if (!input.dryRun && plan.needsApproval) {
    setCurrentDetails(awaitingApprovalDetails(input.cluster, plan.needsApproval.reasons, maintenancePlanDetails(plan)));
    plan = await approvedUnderLease({
      plan,
      what: `the ${plan.mode} maintenance of ${input.cluster}`,
      progress,
      lease,
      replan: () => planned(`observe ${input.cluster} again after the approval, and plan its ${input.mode} maintenance again`),
      shape: (p) => ({ strategy: p.mode, steps: p.steps.map((s) => ('member' in s.args ? `${s.step} ${s.args.member.name}` : s.step)) }),
    });
    progress.plan = plan;
    setCurrentDetails(maintenancePlanDetails(plan));
  }
  const result: MaintenanceResult = {
    cluster: input.cluster,
    dryRun: input.dryRun,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    ...(progress.approval ? { approvedBy: progress.approval } : {}),
    plan,
    steps: progress.steps,
  };
  if (input.dryRun) {
    progress.phase = 'succeeded';
    return result;
  }
  progress.phase = 'maintaining';
  const timing = scaledTiming(MIGRATION_TIMING, plan.endpointTimeoutMs);
  try {
    const run = await runMaintenance(plan, { cluster: input.cluster, invoke, saga, timing, sleep: (ms) => sleep(ms), ...(lease ? { betweenSteps: () => lease.betweenSteps() } : {}) });
    progress.phase = 'succeeded';
    return { ...result, ...run };
  } catch (error) {
    progress.phase = 'failed';
    if (isCancellation(error)) throw error;
    const now = await CancellationScope.nonCancellable(() => invoke('describeClusterNow', timing[MAINTENANCE_ACTIVITY_CLASS.describeClusterNow], { cluster: input.cluster }, `describe ${input.cluster} after the failure`)).catch(() => 'cluster state unknown');
    throw ApplicationFailure.create({
      message: `maintenance of ${input.cluster} stopped at ${progress.steps.find((s) => s.status === 'failed')?.step ?? 'an unknown step'}: ${rootMessage(error)}; ${now}`,
      type: failureType(error) ?? 'MAINTENANCE_FAILED',
      nonRetryable: true,
      details: [progress.steps],
    });
  }
}
