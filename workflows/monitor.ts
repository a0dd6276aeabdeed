import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { EvaluateRiskResult, MonitorActivities } from '../activities/monitor';
import type { TrackingActivities } from '../activities/tracking';
import { parseMonitorClusterInput, type MonitorCarried, type MonitorClusterInput } from '../src/config/workflow-inputs';
import type { MemberSummary } from '../src/domain/assemble';
import { afterTracking, type Decision, type MigrationState } from '../src/domain/plan';
import type { Assessment } from '../src/domain/risk';
import { maintenancePlanDetails, maintenanceSummary, migrationPlanDetails, migrationSummary, monitorDetails, repairPlanDetails, repairSummary } from '../src/domain/summaries';
import { emptyWindow } from '../src/domain/window';
import { SA } from '../src/config/search-attributes';
import { cycleSamples, failedCycleSamples } from '../src/observability/cluster-metrics';
import { recordSamples } from '../src/observability/record';
import { failureType, invalidInputFailure, rootMessage } from './failures';
import { maintainCluster } from './maintain';
import { migrateMember } from './migrate';
import { monitorActivityTimeoutMs } from './timing';
import { recoverCluster } from './recover';
import { repairMembership } from './repair';

/** How a cluster is doing, in one word, for the search attribute and the status table. */
export type Health = 'healthy' | 'degraded' | 'at-risk' | 'quorum-lost' | 'unknown';

/** What the `status` query answers. */
export interface MonitorStatus {
  cluster: string;
  paused: boolean;
  health: Health;
  cycles: number;
  cyclesThisRun: number;
  /** The sampling interval in force (ms); absent from monitors started before it was reported. */
  intervalMs?: number;
  lastCycleAt?: string;
  members: MemberSummary[];
  assessment?: Assessment;
  decision?: Decision;
  migration: MigrationState;
  lastMigration?: { workflowId: string; member: string; status: string };
  lastError?: string;
}

/** Stop taking samples until `resume`. */
export const pauseSignal = defineSignal('pause');
/** Take samples again. */
export const resumeSignal = defineSignal('resume');
/** Run a cycle now instead of waiting for the interval. */
export const checkNowSignal = defineSignal('checkNow');
/** The last assessment, findings, decision, cycle count and migration in flight. */
export const statusQuery = defineQuery<MonitorStatus>('status');
/** New settings from `schedule apply` (interval, continue-as-new, endpoint deadline): applied from the next cycle, which runs now. */
export const reconfigureSignal = defineSignal<[MonitorSettings]>('reconfigure');

/** The monitor's settings a running monitor takes from `schedule apply`. */
export interface MonitorSettings {
  intervalMs: number;
  continueAsNewEvery: number;
  endpointTimeoutMs?: number;
}

/** The tracking activities, with what the call is about for the Temporal UI. */
function tracking(summary: string) {
  return proxyActivities<TrackingActivities>({
    startToCloseTimeout: '15s',
    retry: { initialInterval: '1s', maximumAttempts: 3 },
    summary,
  });
}

/** The workflow id of a cluster's migration: one per cluster, so that a second one is refused while one runs. */
export function migrationWorkflowId(cluster: string): string {
  return `migrate-${cluster}`;
}

/** The observing activities, with a timeout that outlasts several of the cluster's per-call deadlines. */
function monitorActivities(endpointTimeoutMs: number | undefined, summary: string) {
  return proxyActivities<MonitorActivities>({
    // Every gateway call has its own deadline; this only bounds a stuck worker.
    startToCloseTimeout: monitorActivityTimeoutMs(endpointTimeoutMs),
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
    summary,
  });
}

/** The patch under which a cycle is one local activity (observeCycle) instead of three activities. */
export const ONE_CALL_PER_CYCLE = 'one-call-per-cycle';

/**
 * The whole cycle as a local activity: one marker in the history and no task of its own, retried by the worker. The
 * timeout outlasts several of the cluster's per-call deadlines, as the three activities' did.
 */
function observeOnce(endpointTimeoutMs: number | undefined) {
  return proxyLocalActivities<MonitorActivities>({
    startToCloseTimeout: monitorActivityTimeoutMs(endpointTimeoutMs),
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
  });
}

/** Health in one word, from the last decision. */
export function healthOf(assessment: Assessment, decision: Decision): Health {
  if (!assessment.quorum.hasQuorum) return 'quorum-lost';
  if (decision.kind === 'migrate' || decision.kind === 'alert' || decision.kind === 'repair') return 'at-risk';
  // A NOSPACE cluster refuses writes; a fragmented one only wastes disk.
  if (decision.kind === 'maintain' && decision.plan.mode === 'nospace') return 'at-risk';
  return assessment.healthy && assessment.findings.every((f) => f.severity === 'info') ? 'healthy' : 'degraded';
}

/**
 * The durable monitor of one etcd cluster: every interval, fetch Raft and node metrics, evaluate risk and record
 * the decision in history. Carries its hysteresis window across continue-as-new.
 */
export async function monitorCluster(raw: MonitorClusterInput): Promise<void> {
  let input: MonitorClusterInput;
  try {
    input = parseMonitorClusterInput(raw);
  } catch (error) {
    throw invalidInputFailure(error) ?? error;
  }
  // Built again when `schedule apply` changes the endpoint deadline: the activities' timeouts follow it.
  const activitiesFor = (endpointTimeoutMs: number | undefined) => ({
    // One proxy per summary (the UI shows it beside each call); a proxy has no own keys to spread.
    fetchRaftMetrics: monitorActivities(endpointTimeoutMs, `observe the etcd members of ${input.cluster}: status, alarms, Raft metrics`).fetchRaftMetrics,
    fetchNodeMetrics: monitorActivities(endpointTimeoutMs, `observe the nodes and pods under ${input.cluster}'s members`).fetchNodeMetrics,
    evaluateRisk: monitorActivities(endpointTimeoutMs, `assess ${input.cluster}: findings, hysteresis, decision`).evaluateRisk,
  });
  let { fetchRaftMetrics, fetchNodeMetrics, evaluateRisk } = activitiesFor(input.endpointTimeoutMs);
  const carried: MonitorCarried = input.carried ?? { cycles: 0, window: emptyWindow(), migration: {} };
  let window = carried.window;
  let paused = false;
  let checkNow = false;
  const last = carried.last;
  const status: MonitorStatus = {
    cluster: input.cluster,
    paused,
    health: (last?.health as Health | undefined) ?? 'unknown',
    cycles: carried.cycles,
    cyclesThisRun: 0,
    intervalMs: input.intervalMs,
    members: last?.members ?? [],
    migration: carried.migration,
    ...(last?.assessment ? { assessment: last.assessment } : {}),
    ...(last?.decision ? { decision: last.decision } : {}),
    ...(last?.lastCycleAt ? { lastCycleAt: last.lastCycleAt } : {}),
  };

  setHandler(pauseSignal, () => {
    paused = true;
    status.paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
    status.paused = false;
  });
  setHandler(checkNowSignal, () => {
    checkNow = true;
  });
  setHandler(reconfigureSignal, (settings) => {
    let next: MonitorClusterInput;
    try {
      next = parseMonitorClusterInput({ cluster: input.cluster, intervalMs: settings.intervalMs, continueAsNewEvery: settings.continueAsNewEvery, ...(settings.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: settings.endpointTimeoutMs } : {}) });
    } catch (error) {
      log.error(`cluster ${input.cluster}: reconfigure refused: ${rootMessage(error)}`);
      return;
    }
    const { carried: _carried, ...settled } = next;
    input = { ...input, ...settled };
    if (next.endpointTimeoutMs === undefined) delete input.endpointTimeoutMs;
    ({ fetchRaftMetrics, fetchNodeMetrics, evaluateRisk } = activitiesFor(input.endpointTimeoutMs));
    status.intervalMs = input.intervalMs;
    log.warn(`cluster ${input.cluster}: reconfigured: interval ${input.intervalMs} ms, continue-as-new every ${input.continueAsNewEvery} cycles${input.endpointTimeoutMs !== undefined ? `, endpoint timeout ${input.endpointTimeoutMs} ms` : ''}`);
    checkNow = true;
  });
  setHandler(statusQuery, () => status);
  // Runs recorded before it replay three activities a cycle; new runs make one local activity call.
  const oneCallPerCycle = patched(ONE_CALL_PER_CYCLE);
  upsertSearchAttributes([{ key: SA.cluster, value: input.cluster }]);
  if (!input.carried) {
    // A fresh monitor (first start, or restarted by the schedule) learns of running and recent migrations, so
    // that neither the one-at-a-time rule nor the cooldown is lost with the previous run.
    try {
      status.migration = await tracking(`find ${input.cluster}'s running and recent migrations (cooldown)`).latestMigration({ cluster: input.cluster });
    } catch (error) {
      log.warn(`cluster ${input.cluster}: could not read past migrations: ${rootMessage(error)}`);
    }
  }

  /** Refresh what is known of the migration in flight; a finished one starts the cooldown. */
  async function trackMigration(): Promise<void> {
    const inFlight = status.migration.inFlight;
    if (!inFlight) return;
    const state = await tracking(`is ${inFlight.workflowId} (${inFlight.member}) still running?`).migrationStatus({ workflowId: inFlight.workflowId });
    if (state.running) return;
    status.migration = afterTracking(status.migration, state, new Date().toISOString());
    status.lastMigration = { workflowId: inFlight.workflowId, member: inFlight.member, status: state.status };
  }

  /** Start the migration as a child that outlives this run (continue-as-new, or the monitor's own end). */
  async function startMigration(decision: Extract<Decision, { kind: 'migrate' }>): Promise<void> {
    const workflowId = migrationWorkflowId(input.cluster);
    const plan = decision.plan;
    const reason = plan.triggers.map((f) => f.message).join('; ') || decision.summary;
    try {
      await startChild(migrateMember, {
        workflowId,
        staticSummary: migrationSummary({ cluster: input.cluster, member: plan.member.name, strategy: plan.strategy, reason, requestedBy: workflowInfo().workflowId, plan }),
        staticDetails: migrationPlanDetails(plan),
        // The policy's preference, not this plan's strategy: the child observes afresh, and a member that answers
        // again by then is surged rather than replaced while healthy. A decision recorded by an older worker has no
        // preference: 'auto' lets the child decide all the same.
        args: [{ cluster: input.cluster, member: plan.member.name, reason, strategy: decision.strategyPreference ?? 'auto', requestedBy: workflowInfo().workflowId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      status.migration = { ...status.migration, inFlight: { workflowId, member: plan.member.name } };
      log.warn(`cluster ${input.cluster}: started ${workflowId}: ${decision.summary}`);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // Someone else's migration (an operator's) runs: it counts as the one in flight.
      status.migration = { ...status.migration, inFlight: { workflowId, member: '(started by an operator)' } };
    }
  }

  /**
   * Start a repair of the voter count, under the same workflow id as a migration: the two never overlap. Only new
   * decisions are of this kind, so histories recorded before it replay unchanged.
   */
  async function startRepair(decision: Extract<Decision, { kind: 'repair' }>): Promise<void> {
    const workflowId = migrationWorkflowId(input.cluster);
    try {
      await startChild(repairMembership, {
        workflowId,
        staticSummary: repairSummary({ cluster: input.cluster, reason: decision.summary, requestedBy: workflowInfo().workflowId }),
        staticDetails: repairPlanDetails(input.cluster, decision.plan),
        args: [{ cluster: input.cluster, reason: decision.summary, requestedBy: workflowInfo().workflowId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      status.migration = { ...status.migration, inFlight: { workflowId, member: `(repair: ${decision.plan.kind})` } };
      log.warn(`cluster ${input.cluster}: started ${workflowId}: ${decision.summary}`);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      status.migration = { ...status.migration, inFlight: { workflowId, member: '(started by an operator)' } };
    }
  }

  /**
   * Start a maintenance (defragmentation, NOSPACE recovery) under the cluster's migration id: it never overlaps a
   * migration or a repair. Only new decisions are of this kind, so histories recorded before it replay unchanged.
   */
  async function startMaintenance(decision: Extract<Decision, { kind: 'maintain' }>): Promise<void> {
    const workflowId = migrationWorkflowId(input.cluster);
    try {
      await startChild(maintainCluster, {
        workflowId,
        staticSummary: maintenanceSummary({ cluster: input.cluster, mode: decision.plan.mode, reason: decision.plan.reasons[0] ?? decision.summary, requestedBy: workflowInfo().workflowId, plan: decision.plan }),
        staticDetails: maintenancePlanDetails(decision.plan),
        args: [{ cluster: input.cluster, mode: decision.plan.mode, reason: decision.plan.reasons[0] ?? decision.summary, requestedBy: workflowInfo().workflowId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      status.migration = { ...status.migration, inFlight: { workflowId, member: `(maintenance: ${decision.plan.mode})`, operation: 'maintenance' } };
      log.warn(`cluster ${input.cluster}: started ${workflowId}: ${decision.summary}`);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      status.migration = { ...status.migration, inFlight: { workflowId, member: '(started by an operator)' } };
    }
  }

  /**
   * Start the recovery of a cluster whose quorum has been lost for `recovery.startAfter`: it plans, then waits for a
   * person's approval (unless the cluster auto-approves), under the cluster's migration id.
   */
  async function startRecovery(lostForMs: number): Promise<void> {
    const workflowId = migrationWorkflowId(input.cluster);
    const reason = `quorum lost for ${Math.round(lostForMs / 1000)} s`;
    try {
      await startChild(recoverCluster, {
        workflowId,
        staticSummary: `recover ${input.cluster} from lost quorum (${reason}): plans, then waits for approval — by ${workflowInfo().workflowId}`,
        args: [{ cluster: input.cluster, reason, requestedBy: workflowInfo().workflowId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      status.migration = { ...status.migration, inFlight: { workflowId, member: '(recovery)' } };
      log.warn(`cluster ${input.cluster}: started ${workflowId}: recovery, ${reason}`);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      status.migration = { ...status.migration, inFlight: { workflowId, member: '(started by an operator)' } };
    }
  }

  for (;;) {
    await condition(() => !paused);
    checkNow = false;
    try {
      let result: EvaluateRiskResult;
      if (oneCallPerCycle) {
        const inFlight = status.migration.inFlight;
        const cycle = await observeOnce(input.endpointTimeoutMs).observeCycle({ cluster: input.cluster, window, migration: status.migration, ...(inFlight ? { track: inFlight.workflowId } : {}) });
        if (inFlight && cycle.tracked && !cycle.tracked.running && cycle.tracked.workflowId === inFlight.workflowId) {
          status.lastMigration = { workflowId: inFlight.workflowId, member: inFlight.member, status: cycle.tracked.status };
        }
        status.migration = cycle.migration;
        result = cycle;
      } else {
        await trackMigration();
        const [raft, kube] = await Promise.all([fetchRaftMetrics({ cluster: input.cluster }), fetchNodeMetrics({ cluster: input.cluster })]);
        result = await evaluateRisk({ cluster: input.cluster, raft, kube, window, migration: status.migration });
      }
      const previousLeaderId = status.assessment?.leader?.id;
      window = result.window;
      status.members = result.members;
      status.assessment = result.assessment;
      status.decision = result.decision;
      delete status.lastError;
      const health = healthOf(result.assessment, result.decision);
      if (health !== status.health) upsertSearchAttributes([{ key: SA.health, value: health }]);
      status.health = health;
      // Replay-safe: the workflow meter records nothing while replaying, and adds no event to the history.
      recordSamples(
        metricMeter,
        cycleSamples({
          cluster: input.cluster,
          assessment: result.assessment,
          decision: result.decision,
          health,
          ...(previousLeaderId ? { previousLeaderId } : {}),
          cycle: { atMs: Date.now(), intervalMs: input.intervalMs },
          // Before this cycle starts one: an operation the decision starts counts from the next cycle.
          operationRunning: status.migration.inFlight !== undefined,
          ...(result.backup ? { backup: result.backup } : {}),
        }),
      );
      if (result.decision.kind === 'migrate' && !result.decision.dryRun) await startMigration(result.decision);
      else if (result.decision.kind === 'repair' && !result.decision.dryRun) await startRepair(result.decision);
      else if (result.decision.kind === 'maintain' && !result.decision.dryRun) await startMaintenance(result.decision);
      else if (result.decision.kind !== 'none') log.warn(`cluster ${input.cluster}: ${result.decision.summary}`);
      // Only results of workers that know recoveries carry this: histories recorded before replay unchanged.
      if (result.recoveryDue !== undefined && status.migration.inFlight === undefined) await startRecovery(result.recoveryDue.lostForMs);
    } catch (error) {
      // A failed cycle is reported and the loop goes on: the monitor must outlive a flaky API.
      status.lastError = rootMessage(error);
      if (status.health !== 'unknown') upsertSearchAttributes([{ key: SA.health, value: 'unknown' }]);
      status.health = 'unknown';
      recordSamples(metricMeter, failedCycleSamples(input.cluster, { atMs: Date.now(), intervalMs: input.intervalMs }));
      log.error(`cluster ${input.cluster}: cycle failed: ${status.lastError}`);
      // A worker that does not know the cluster is a configuration mismatch: fail loudly, the schedule retries later.
      if (failureType(error) === 'UNKNOWN_CLUSTER') throw ApplicationFailure.nonRetryable(status.lastError, 'UNKNOWN_CLUSTER');
    }
    status.cycles += 1;
    status.cyclesThisRun += 1;
    status.lastCycleAt = new Date().toISOString();
    // The UI's "current details": what an operator opening the monitor wants first (no event in the history).
    setCurrentDetails(monitorDetails(status));

    if (status.cyclesThisRun >= input.continueAsNewEvery || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof monitorCluster>({
        ...input,
        carried: {
          cycles: status.cycles,
          window,
          migration: status.migration,
          last: {
            health: status.health,
            members: status.members,
            ...(status.lastCycleAt ? { lastCycleAt: status.lastCycleAt } : {}),
            ...(status.assessment ? { assessment: status.assessment } : {}),
            ...(status.decision ? { decision: status.decision } : {}),
          },
        },
      });
    }
    await condition(() => checkNow, input.intervalMs);
  }
}
