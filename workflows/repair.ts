import { ApplicationFailure, CancellationScope, defineQuery, isCancellation, patched, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SA } from '../src/config/search-attributes';
import { parseRepairMembershipInput, type RepairMembershipInput } from '../src/config/workflow-inputs';
import type { RepairPlan } from '../src/domain/repair';
import { awaitingApprovalDetails, repairPlanDetails, stepSummary } from '../src/domain/summaries';
import type { Verdict } from '../src/domain/approval';
import { approvedUnderLease, type ApprovalProgress } from './approval';
import { failureType, invalidInputFailure, rootMessage } from './failures';
import { invoke, proxyFor } from './invoke';
import { FLEET_LEASE, withClusterLease, type FleetLease, type LeaseProgress } from './lease';
import { runPlan } from './run-plan';
import { Saga, type StepRecord } from './saga';
import { MIGRATION_TIMING, scaledTiming } from './timing';

/** What the repair's `progress` query answers. */
export interface RepairProgress extends LeaseProgress, ApprovalProgress {
  cluster: string;
  /** `waiting`: for a fleet lease (the budget, a freeze), with why in `waitingFor`; `awaiting-approval`: for a person. */
  phase: 'validating' | 'planning' | 'awaiting-approval' | 'waiting' | 'repairing' | 'compensating' | 'succeeded' | 'failed';
  plan?: RepairPlan;
  currentStep?: string;
  steps: StepRecord[];
}

/** The outcome of a repair that did not fail. */
export interface RepairResult {
  cluster: string;
  dryRun: boolean;
  plan: RepairPlan;
  /** Who approved the plan, when the cluster's approval rules held it for a person. */
  approvedBy?: Verdict & { at: string };
  verified?: { voters: string[]; leader: string; revision: number; hash: string };
  steps: StepRecord[];
}

/** The current step and each step's timing and result. */
export const repairProgressQuery = defineQuery<RepairProgress>('progress');

/**
 * Bring a cluster back to its desired number of voters: learners left over removed, missing voters added one at a
 * time (a learner first, promoted once caught up), or one surplus voter removed. The same step machinery and
 * guards as a migration; started by the monitor for a cluster short of voters, or by an operator. It runs under
 * the cluster's migration id, so it never overlaps a migration.
 */
export async function repairMembership(raw: unknown): Promise<RepairResult> {
  const asked = (typeof raw === 'object' && raw !== null ? raw : {}) as { cluster?: unknown };
  const progress: RepairProgress = { cluster: typeof asked.cluster === 'string' ? asked.cluster : '?', phase: 'validating', steps: [] };
  const saga = new Saga({ now: () => new Date(), nonCancellable: (fn) => CancellationScope.nonCancellable(fn), messageOf: rootMessage }, progress.steps);
  setHandler(repairProgressQuery, () => (saga.current !== undefined ? { ...progress, currentStep: saga.current } : progress));
  let input: RepairMembershipInput;
  try {
    input = parseRepairMembershipInput(raw);
  } catch (error) {
    progress.phase = 'failed';
    throw invalidInputFailure(error) ?? error;
  }
  upsertSearchAttributes([{ key: SA.cluster, value: input.cluster }, { key: SA.strategy, value: 'repair' }]);
  // Runs recorded before fleet leases replay without one; a recovery's growth runs under the recovery's lease.
  const covered = input.underLeaseOf !== undefined && workflowInfo().parent?.workflowId === input.underLeaseOf;
  return withClusterLease(progress, !input.dryRun && !covered && patched(FLEET_LEASE), { cluster: input.cluster, operation: 'repair', description: `repair the membership of ${input.cluster}: ${input.reason}` }, (lease) =>
    repairUnderLease(input, progress, saga, lease),
  );
}

async function repairUnderLease(input: RepairMembershipInput, progress: RepairProgress, saga: Saga, lease: FleetLease | undefined): Promise<RepairResult> {
  progress.phase = 'planning';
  // An approved removal travels to the planner with its approver; both are in this run's input and the plan's result.
  const approval = input.approveRemoval !== undefined ? { approveRemoval: input.approveRemoval, approvedBy: input.requestedBy ?? 'unknown' } : {};
  const planned = (label: string): Promise<RepairPlan> =>
    saga.step('plan', () => proxyFor(MIGRATION_TIMING.quick, stepSummary('plan', label)).prepareRepair({ cluster: input.cluster, ...approval }), (p) => `repair (${p.kind}): ${p.reasons.join('; ')}`).catch((error: unknown) => {
      throw ApplicationFailure.create({ message: rootMessage(error), type: failureType(error) ?? 'PLAN_FAILED', nonRetryable: true });
    });
  let plan = await planned(`observe ${input.cluster} and plan the repair of its membership`);
  progress.plan = plan;
  setCurrentDetails(repairPlanDetails(input.cluster, plan));
  if (!input.dryRun && plan.needsApproval) {
    setCurrentDetails(awaitingApprovalDetails(input.cluster, plan.needsApproval.reasons, repairPlanDetails(input.cluster, plan)));
    plan = await approvedUnderLease({
      plan,
      what: `the repair of ${input.cluster} (${plan.kind})`,
      progress,
      lease,
      replan: () => planned(`observe ${input.cluster} again after the approval, and plan the repair again`),
      shape: (p) => ({ strategy: p.kind, target: p.additions.map((a) => `${a.name} on ${a.plannedNode}`).join(', '), member: p.surplus?.name ?? p.staleLearners.map((l) => l.name).join(', '), steps: p.steps.map((s) => s.step) }),
    });
    progress.plan = plan;
    setCurrentDetails(repairPlanDetails(input.cluster, plan));
  }
  const result: RepairResult = { cluster: input.cluster, dryRun: input.dryRun, plan, steps: progress.steps, ...(progress.approval ? { approvedBy: progress.approval } : {}) };
  if (input.dryRun) {
    progress.phase = 'succeeded';
    return result;
  }
  progress.phase = 'repairing';
  try {
    const run = await runPlan(plan, {
      cluster: input.cluster,
      migrationId: `${workflowInfo().workflowId}-${workflowInfo().runId}`,
      invoke,
      saga,
      timing: scaledTiming(MIGRATION_TIMING, plan.endpointTimeoutMs),
      isCancellation,
      ...(lease ? { betweenSteps: () => lease.betweenSteps() } : {}),
    });
    if (run.verified) result.verified = run.verified;
    progress.phase = 'succeeded';
    return result;
  } catch (error) {
    progress.phase = 'compensating';
    await saga.compensate();
    progress.phase = 'failed';
    if (isCancellation(error)) throw error;
    const now = await CancellationScope.nonCancellable(() => proxyFor(MIGRATION_TIMING.quick, `describe ${input.cluster} after the failure`).describeClusterNow({ cluster: input.cluster })).catch(() => 'cluster state unknown');
    throw ApplicationFailure.create({
      message: `repair of ${input.cluster} failed at ${progress.steps.find((s) => s.status === 'failed')?.step ?? 'an unknown step'}: ${rootMessage(error)}; ${now}`,
      type: failureType(error) ?? 'REPAIR_FAILED',
      nonRetryable: true,
      details: [progress.steps],
    });
  }
}
