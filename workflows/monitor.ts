import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor';
import type { Decision, MigrationState } from '../src/domain/plan';
import type { Assessment } from '../src/domain/risk';
import { emptyWindow, type SampleWindow } from '../src/domain/window';
import { SA } from '../src/config/search-attributes';

/** How a cluster is doing, in one word, for the search attribute and the status table. */
export type Health = 'healthy' | 'degraded' | 'at-risk' | 'quorum-lost' | 'unknown';

/** State carried from one run of the monitor to the next (continue-as-new). */
export interface MonitorCarried {
  /** Cycles completed across every run of this monitor. */
  cycles: number;
  window: SampleWindow;
  migration: MigrationState;
}

/** Input of monitorCluster; the schedule passes the first three, continue-as-new adds `carried`. */
export interface MonitorInput {
  cluster: string;
  intervalMs: number;
  continueAsNewEvery: number;
  carried?: MonitorCarried;
}

/** What the `status` query answers. */
export interface MonitorStatus {
  cluster: string;
  paused: boolean;
  health: Health;
  cycles: number;
  cyclesThisRun: number;
  lastCycleAt?: string;
  assessment?: Assessment;
  decision?: Decision;
  migration: MigrationState;
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

const { fetchRaftMetrics, fetchNodeMetrics, evaluateRisk } = proxyActivities<MonitorActivities>({
  // Every gateway call has its own deadline; this only bounds a stuck worker.
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
});

/** The `type` of the ApplicationFailure behind an activity failure, if there is one. */
export function failureType(error: unknown): string | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    current = current.cause;
  }
  return undefined;
}

/** Health in one word, from the last decision. */
export function healthOf(assessment: Assessment, decision: Decision): Health {
  if (!assessment.quorum.hasQuorum) return 'quorum-lost';
  if (decision.kind === 'migrate' || decision.kind === 'alert') return 'at-risk';
  return assessment.healthy && assessment.findings.every((f) => f.severity === 'info') ? 'healthy' : 'degraded';
}

/**
 * The durable monitor of one etcd cluster: every interval, fetch Raft and node metrics, evaluate risk and record
 * the decision in history. Carries its hysteresis window across continue-as-new.
 */
export async function monitorCluster(input: MonitorInput): Promise<void> {
  const carried = input.carried ?? { cycles: 0, window: emptyWindow(), migration: {} };
  let window = carried.window;
  let paused = false;
  let checkNow = false;
  const status: MonitorStatus = {
    cluster: input.cluster,
    paused,
    health: 'unknown',
    cycles: carried.cycles,
    cyclesThisRun: 0,
    migration: carried.migration,
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
  setHandler(statusQuery, () => status);
  upsertSearchAttributes([{ key: SA.cluster, value: input.cluster }]);

  for (;;) {
    await condition(() => !paused);
    checkNow = false;
    try {
      const [raft, kube] = await Promise.all([fetchRaftMetrics({ cluster: input.cluster }), fetchNodeMetrics({ cluster: input.cluster })]);
      const result = await evaluateRisk({ cluster: input.cluster, raft, kube, window, migration: status.migration });
      window = result.window;
      status.assessment = result.assessment;
      status.decision = result.decision;
      delete status.lastError;
      const health = healthOf(result.assessment, result.decision);
      if (health !== status.health) upsertSearchAttributes([{ key: SA.health, value: health }]);
      status.health = health;
      if (result.decision.kind !== 'none') log.warn(`cluster ${input.cluster}: ${result.decision.summary}`);
    } catch (error) {
      // A failed cycle is reported and the loop goes on: the monitor must outlive a flaky API.
      status.lastError = error instanceof Error ? error.message : String(error);
      if (status.health !== 'unknown') upsertSearchAttributes([{ key: SA.health, value: 'unknown' }]);
      status.health = 'unknown';
      log.error(`cluster ${input.cluster}: cycle failed: ${status.lastError}`);
      // A worker that does not know the cluster is a configuration mismatch: fail loudly, the schedule retries later.
      if (failureType(error) === 'UNKNOWN_CLUSTER') throw ApplicationFailure.nonRetryable(status.lastError, 'UNKNOWN_CLUSTER');
    }
    status.cycles += 1;
    status.cyclesThisRun += 1;
    status.lastCycleAt = new Date().toISOString();

    if (status.cyclesThisRun >= input.continueAsNewEvery || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof monitorCluster>({
        ...input,
        carried: { cycles: status.cycles, window, migration: status.migration },
      });
    }
    await condition(() => checkNow, input.intervalMs);
  }
}
