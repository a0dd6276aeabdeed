import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  metricMeter,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SA } from '../src/config/search-attributes';
import { parseMigrateMemberInput, type MigrateMemberInput } from '../src/config/workflow-inputs';
import { migrationDomains } from '../src/domain/fleet';
import type { MigrationPlan } from '../src/domain/plan';
import { awaitingApprovalDetails, migrationPlanDetails, stepSummary } from '../src/domain/summaries';
import { migrationSamples, type MigrationOutcome } from '../src/observability/migration-metrics';
import { recordSamples } from '../src/observability/record';
import { samePlanAsApproved } from '../src/domain/approval';
import { ApprovalGate, planChangedFailure } from './approval';
import { failureType, invalidInputFailure, rootMessage } from './failures';
import { migrateMemberV1 } from './legacy/migrate-v1';
import { invoke, proxyFor } from './invoke';
import { FLEET_LEASE, FleetLease } from './lease';
import { runPlan } from './run-plan';
import { Saga, type StepRecord, type StepStatus } from './saga';
import { MIGRATION_TIMING, scaledTiming } from './timing';

export type { StepRecord, StepStatus };
import type { MigrationProgress, MigrationResult } from './migration-types';

export type { MigrationProgress, MigrationResult };

/** The patch that made the domain's step list the program. */
export const PLAN_IS_THE_PROGRAM = 'plan-is-the-program';

/** The current step and each step's timing and result. */
export const progressQuery = defineQuery<MigrationProgress>('progress');

/**
 * Move one etcd member to a better node without losing quorum: a saga whose every step is an idempotent
 * activity with its compensation. `replace` (dead member) removes first; `surge` (live member) adds first.
 */
export async function migrateMember(raw: unknown): Promise<MigrationResult> {
  // Runs started before the plan became the program replay their own code (see workflows/legacy and the README's
  // rule for changing workflow code).
  if (!patched(PLAN_IS_THE_PROGRAM)) return migrateMemberV1(raw, progressQuery);
  // The query answers from the first moment, even for an input that turns out invalid.
  const asked = (typeof raw === 'object' && raw !== null ? raw : {}) as { cluster?: unknown; member?: unknown };
  const text = (value: unknown): string => (typeof value === 'string' ? value : '?');
  const progress: MigrationProgress = { cluster: text(asked.cluster), member: text(asked.member), phase: 'validating', steps: [] };
  const saga = new Saga({ now: () => new Date(), nonCancellable: (fn) => CancellationScope.nonCancellable(fn), messageOf: rootMessage }, progress.steps);
  setHandler(progressQuery, () => (saga.current !== undefined ? { ...progress, currentStep: saga.current } : progress));
  const gate = new ApprovalGate(progress);
  let input: MigrateMemberInput;
  try {
    input = parseMigrateMemberInput(raw);
  } catch (error) {
    progress.phase = 'failed';
    throw invalidInputFailure(error) ?? error;
  }
  upsertSearchAttributes([
    { key: SA.cluster, value: input.cluster },
    { key: SA.member, value: input.member },
  ]);
  // Once, at the end, from the step records: a worker restarted mid-way replays the first steps without
  // recording anything (the workflow meter is replay-safe), and still reports them here.
  const recordEnd = (outcome: MigrationOutcome, strategy: string): void =>
    recordSamples(
      metricMeter,
      migrationSamples({ cluster: input.cluster, strategy, outcome, durationMs: Date.now() - workflowInfo().runStartTime.getTime(), steps: progress.steps }),
    );

  const request = {
    cluster: input.cluster,
    member: input.member,
    strategy: input.strategy,
    reason: input.reason,
    ...(input.targetNode !== undefined ? { targetNode: input.targetNode } : {}),
    ...(input.excludedNodes ? { excludedNodes: input.excludedNodes } : {}),
  };

  progress.phase = 'planning';
  const planned = (label: string): Promise<MigrationPlan> =>
    saga.step(
      'plan',
      () => proxyFor(MIGRATION_TIMING.quick, stepSummary('plan', label)).prepareMigration(request),
      (p) => `${p.strategy} ${p.member.name} from ${p.member.nodeName ?? '?'} to ${p.target.node}: ${p.reasons.join('; ')}`,
    ).catch((error: unknown) => {
      if (!input.dryRun) recordEnd(isCancellation(error) ? 'cancelled' : 'refused', input.strategy);
      throw ApplicationFailure.create({ message: rootMessage(error), type: failureType(error) ?? 'PLAN_FAILED', nonRetryable: true });
    });
  let plan = await planned(`observe ${input.cluster} and plan the ${input.strategy} migration of ${input.member}`);
  const describe = (p: MigrationPlan): string => `${p.strategy} ${p.member.name} from ${p.member.nodeName ?? '?'} to ${p.target.node}`;
  // A plan the cluster's approval rules hold waits for a person before it asks for a lease: it holds no budget.
  const approved = !input.dryRun && plan.needsApproval !== undefined ? plan : undefined;
  if (approved?.needsApproval) {
    progress.phase = 'awaiting-approval';
    progress.member = approved.member.name;
    progress.strategy = approved.strategy;
    if (approved.member.nodeName) progress.from = approved.member.nodeName;
    progress.to = approved.target.node;
    setCurrentDetails(awaitingApprovalDetails(input.cluster, approved.needsApproval.reasons, migrationPlanDetails(approved), describe(approved)));
    try {
      await gate.wait(approved.needsApproval, `the migration of ${approved.member.name} (${describe(approved)})`);
    } catch (error) {
      recordEnd('refused', approved.strategy);
      progress.phase = 'failed';
      throw error;
    }
  }
  // Runs recorded before fleet leases replay without one.
  const lease = !input.dryRun && patched(FLEET_LEASE) ? new FleetLease(progress) : undefined;
  if (lease) {
    progress.phase = 'waiting';
    try {
      await lease.acquire({ cluster: input.cluster, operation: 'migration', description: describe(plan), ...migrationDomains(plan) });
    } catch (error) {
      await lease.release();
      if (failureType(error) === 'LEASE_TIMEOUT') recordEnd('refused', input.strategy);
      progress.phase = 'failed';
      throw error;
    }
  }
  // The cluster may have changed while the operation waited for a person or a lease: plan from a fresh observation,
  // and run only what was approved.
  if (approved || lease?.waited) {
    try {
      plan = await planned(`observe ${input.cluster} again after waiting for ${approved ? 'approval' : 'the fleet lease'}, and plan the migration of ${input.member} again`);
      const check = approved ? samePlanAsApproved(shapeOf(approved), shapeOf(plan)) : ({ same: true } as const);
      if (!check.same) {
        recordEnd('refused', plan.strategy);
        throw planChangedFailure(progress.approval?.by, check.why);
      }
    } catch (error) {
      await lease?.release();
      progress.phase = 'failed';
      throw error;
    }
  }
  // The UI's "current details": the plan, for a run started from anywhere (the UI's own start carries no summary).
  setCurrentDetails(migrationPlanDetails(plan));
  const old = plan.member;
  progress.member = old.name;
  progress.strategy = plan.strategy;
  if (old.nodeName) progress.from = old.nodeName;
  progress.to = plan.target.node;
  upsertSearchAttributes([
    { key: SA.member, value: old.name },
    { key: SA.strategy, value: plan.strategy },
    { key: SA.targetNode, value: plan.target.node },
    ...(old.nodeName ? [{ key: SA.sourceNode, value: old.nodeName }] : []),
  ]);
  const result: MigrationResult = {
    cluster: input.cluster,
    member: old.name,
    dryRun: input.dryRun,
    ...(input.requestedBy !== undefined ? { requestedBy: input.requestedBy } : {}),
    ...(progress.approval ? { approvedBy: progress.approval } : {}),
    plan,
    strategy: plan.strategy,
    steps: progress.steps,
  };
  if (old.nodeName) result.from = old.nodeName;
  if (input.dryRun) {
    progress.phase = 'succeeded';
    return result;
  }

  progress.phase = 'migrating';
  try {
    const run = await runPlan(plan, {
      cluster: input.cluster,
      request,
      // One backup per run: the workflow id is the same for every migration of the cluster.
      migrationId: `${workflowInfo().workflowId}-${workflowInfo().runId}`,
      invoke,
      saga,
      timing: scaledTiming(MIGRATION_TIMING, plan.endpointTimeoutMs),
      isCancellation,
      ...(lease ? { betweenSteps: () => lease.betweenSteps() } : {}),
      onTarget: (node) => {
        progress.to = node;
        result.to = node;
        upsertSearchAttributes([{ key: SA.targetNode, value: node }]);
      },
      onPlan: (next) => {
        setCurrentDetails(migrationPlanDetails(next));
        result.plan = next;
        result.strategy = next.strategy;
        progress.strategy = next.strategy;
        upsertSearchAttributes([{ key: SA.strategy, value: next.strategy }]);
      },
    });
    if (run.backup) result.backup = run.backup;
    if (run.newMember) result.newMember = run.newMember;
    if (run.alsoReplaced.length > 0) result.alsoReplaced = run.alsoReplaced;
    if (run.verified) result.verified = run.verified;
    progress.phase = 'succeeded';
    recordEnd('succeeded', result.strategy);
    return result;
  } catch (error) {
    progress.phase = 'compensating';
    await saga.compensate();
    progress.phase = 'failed';
    recordEnd(isCancellation(error) ? 'cancelled' : 'failed', result.strategy);
    if (isCancellation(error)) throw error;
    const now = await CancellationScope.nonCancellable(() => proxyFor(MIGRATION_TIMING.quick, `describe ${input.cluster} after the failure`).describeClusterNow({ cluster: input.cluster })).catch(() => 'cluster state unknown');
    throw ApplicationFailure.create({
      message: `migration of ${old.name} failed at ${progress.steps.filter((s) => s.status === 'failed')[0]?.step ?? 'an unknown step'}: ${rootMessage(error)}; ${now}`,
      type: failureType(error) ?? 'MIGRATION_FAILED',
      nonRetryable: true,
      details: [progress.steps],
    });
  } finally {
    await lease?.release();
  }
}

/** What an approval is about in a migration plan. */
function shapeOf(plan: MigrationPlan): { member: string; strategy: string; target: string; steps: string[] } {
  return { member: plan.member.name, strategy: plan.strategy, target: plan.target.node, steps: plan.steps.map((s) => s.step) };
}
