import { readsAfresh } from '../src/domain/metrics-freshness';
import { Context, log } from '@temporalio/activity';
import { underFreeze, type Freeze } from '../src/domain/fleet';
import { assembleObservation, memberSummaries, type KubeSnapshot, type MemberSummary, type RaftSnapshot } from '../src/domain/assemble';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { afterTracking, decisionIntent, planMigration, type Decision, type MigrationState, type TrackedOperation } from '../src/domain/plan';
import { recoveryDue } from '../src/domain/recovery';
import { assessRisk, withBackupFinding, type Assessment } from '../src/domain/risk';
import type { SampleWindow } from '../src/domain/window';
import { publishClientEndpoints } from './endpoints';
import { withFailureTypes } from './failures';
import { backupFreshnessOf } from './stored-backups';
import { readBoth, readKube, readRaft } from './observe';
import { runtimeOf, type ActivityDeps } from './runtime';
import { runState } from './tracking';

/** Input of the fetch activities: the cluster's name; everything else comes from the worker's config. */
export interface ClusterRef {
  cluster: string;
}

/** Input of evaluateRisk: both halves of the observation and the state the monitor carries. */
export interface EvaluateRiskInput {
  cluster: string;
  raft: RaftSnapshot;
  kube: KubeSnapshot;
  window: SampleWindow;
  migration: MigrationState;
}

/** Input of observeCycle: the state the monitor carries, and the operation in flight to ask about. */
export interface ObserveCycleInput {
  cluster: string;
  window: SampleWindow;
  migration: MigrationState;
  /** The workflow id of the operation in flight. */
  track?: string;
}

/** Output of observeCycle: the assessment, what became of the operation in flight, and how long the cycle took. */
export interface ObserveCycleResult extends EvaluateRiskResult {
  /** The migration state after tracking: the workflow adopts it. */
  migration: MigrationState;
  tracked?: TrackedOperation;
  timing: { observeMs: number; totalMs: number };
}

/** Output of evaluateRisk: what was found, what to do, and the window to carry to the next cycle. */
export interface EvaluateRiskResult {
  members: MemberSummary[];
  assessment: Assessment;
  decision: Decision;
  window: SampleWindow;
  /** The newest verified backup's age and size, when backups are scheduled and one exists. */
  backup?: { lastVerifiedAgeSeconds: number; lastVerifiedBytes: number; name: string };
  /** Quorum has been lost for `recovery.startAfter`: the monitor starts a recovery, which waits for approval. */
  recoveryDue?: { lostForMs: number };
}

/**
 * The monitor's activities. Each makes one attempt with deadlines and returns small JSON; Temporal retries.
 */
export function createMonitorActivities(deps: ActivityDeps, temporal?: Client) {
  return withFailureTypes({
    /** Members, their Raft status and /metrics figures, and alarms. A member that does not answer is reported, not fatal. */
    async fetchRaftMetrics({ cluster }: ClusterRef): Promise<RaftSnapshot> {
      return readRaft(runtimeOf(deps, cluster), deps.now);
    },

    /** Nodes (conditions, taints, allocatable, usage) and the cluster's pods. Missing usage is reported, not fatal. */
    async fetchNodeMetrics({ cluster }: ClusterRef): Promise<KubeSnapshot> {
      return readKube(runtimeOf(deps, cluster), deps.now);
    },

    /**
     * The pure assessment and decision from src/domain, recorded in history. Also keeps the cluster's published
     * client endpoints current (a membership changed by hand, or by a migration whose last step could not publish).
     */
    async evaluateRisk(input: EvaluateRiskInput): Promise<EvaluateRiskResult> {
      return assess(deps, input);
    },

    /**
     * A whole cycle in one call, run as a local activity (one marker in the history, no task of its own): how the
     * operation in flight is doing, both halves of the observation, and the assessment. The observation stays out of
     * the history; the decision is kept as an intent (see decisionIntent).
     */
    async observeCycle(input: ObserveCycleInput): Promise<ObserveCycleResult> {
      const started = Date.now();
      const tracked = input.track !== undefined ? await trackedOperation(temporal, input.track) : undefined;
      const migration = afterTracking(input.migration, tracked, deps.now().toISOString());
      const runtime = runtimeOf(deps, input.cluster);
      // While nothing builds up, a member's last /metrics figures stand for metricsMaxAge and pods and nodes come from
      // the worker's watches; a finding held or building (and every sample, when one sample confirms) is read afresh.
      const fresh = readsAfresh(input.window.streaks, runtime.policy.hysteresisSamples);
      const [raft, kube] = await readBoth(runtime, deps.now, fresh ? {} : { metricsMaxAgeMs: runtime.metricsMaxAgeMs ?? 0, watched: true });
      const observedMs = Date.now() - started;
      const result = await assess(deps, { cluster: input.cluster, raft, kube, window: input.window, migration });
      return { ...result, decision: decisionIntent(result.decision), migration, ...(tracked ? { tracked } : {}), timing: { observeMs: observedMs, totalMs: Date.now() - started } };
    },
  });
}

/** The pure assessment and decision of one observation, with the side duties of a cycle (published endpoints, backup freshness, the recovery clock). */
async function assess(deps: ActivityDeps, input: EvaluateRiskInput): Promise<EvaluateRiskResult> {
  const runtime = runtimeOf(deps, input.cluster);
  const observation = assembleObservation(input.cluster, input.raft, input.kube, runtime.addressing);
  const { assessment, window } = assessRisk(observation, runtime.policy, input.window);
  const frozen = await frozenNow(deps, input.cluster);
  const decision = underFreeze(planMigration(observation, assessment, runtime.policy, input.migration, deps.now()), frozen);
  logDecision(input.cluster, assessment, decision);
  await publishClientEndpoints(runtime, observation, deps.now());
  // After the decision: a stale backup is for a person to see, never a reason to move a member.
  const freshness = await backupFreshnessOf(runtime, deps.now().getTime());
  const newest = freshness?.newestVerified;
  const stale = freshness?.stale === true ? { message: freshness.message, evidence: { everySeconds: (runtime.backup.schedule?.every ?? 0) / 1000, ...(newest ? { newest: newest.name, ageSeconds: Math.round(newest.ageMs / 1000) } : {}) } } : undefined;
  // How long quorum has been lost, as this worker has seen it (a restarted worker starts counting again: later, never sooner).
  const nowMs = deps.now().getTime();
  const lost = assessment.findings.some((f) => f.kind === 'quorum-lost' && f.confirmed);
  if (!lost) delete runtime.quorumLostSince;
  else runtime.quorumLostSince ??= nowMs;
  const due = recoveryDue({
    ...(runtime.quorumLostSince !== undefined ? { quorumLostSinceMs: runtime.quorumLostSince } : {}),
    nowMs,
    ...(runtime.recovery?.startAfter !== undefined ? { startAfterMs: runtime.recovery.startAfter } : {}),
    operationRunning: input.migration.inFlight !== undefined,
    ...(input.migration.lastEndedAt !== undefined ? { lastEndedMs: Date.parse(input.migration.lastEndedAt) } : {}),
    cooldownMs: runtime.policy.cooldownMs,
  });
  return {
    ...(due && !runtime.policy.dryRun && !frozen && runtime.quorumLostSince !== undefined ? { recoveryDue: { lostForMs: nowMs - runtime.quorumLostSince } } : {}),
    members: memberSummaries(observation),
    assessment: withBackupFinding(assessment, stale),
    decision,
    window,
    ...(newest ? { backup: { lastVerifiedAgeSeconds: newest.ageMs / 1000, lastVerifiedBytes: newest.bytes, name: newest.name } } : {}),
  };
}

/** Whether a workflow still runs, and when it closed; a workflow that cannot be found has closed. */
async function trackedOperation(temporal: Client | undefined, workflowId: string): Promise<TrackedOperation> {
  if (!temporal) throw new Error('the worker was built without a Temporal client, which tracking the operation in flight needs');
  try {
    return await runState(temporal, workflowId);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { workflowId, running: false, status: 'NOT_FOUND' };
    throw error;
  }
}

/** The freeze over the cluster, or undefined; a coordinator that cannot be read freezes nothing here (the lease still does). */
async function frozenNow(deps: ActivityDeps, cluster: string): Promise<Freeze | undefined> {
  if (!deps.freezeOf) return undefined;
  try {
    return await deps.freezeOf(Context.current().info.taskQueue, cluster);
  } catch (error) {
    log.warn(`cluster ${cluster}: could not read the fleet's freezes: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** A decision other than "none", with the figures behind it: a migration planned at info, an alert at warn. */
function logDecision(cluster: string, assessment: Assessment, decision: Decision): void {
  if (decision.kind === 'none') return;
  const fields = {
    cluster,
    decision: decision.kind,
    healthyVoters: assessment.quorum.healthyVoters,
    voters: assessment.quorum.voters,
    faultTolerance: assessment.quorum.faultTolerance,
    confirmedFindings: assessment.findings.filter((f) => f.confirmed).map((f) => `${f.kind}${f.member ? `:${f.member}` : f.node ? `:${f.node}` : ''}`),
  };
  if (decision.kind === 'alert') {
    log.warn(`cluster ${cluster}: alert: ${decision.summary}`, { ...fields, reason: decision.reason });
    return;
  }
  if (decision.kind === 'repair') {
    log.warn(`cluster ${cluster}: ${decision.dryRun ? 'would repair (dry run)' : 'repair'}: ${decision.summary}`, { ...fields, dryRun: decision.dryRun, repair: decision.plan.kind });
    return;
  }
  if (decision.kind === 'maintain') {
    log.warn(`cluster ${cluster}: ${decision.dryRun ? 'would maintain (dry run)' : 'maintain'}: ${decision.summary}`, { ...fields, dryRun: decision.dryRun, maintenance: decision.plan.mode });
    return;
  }
  const { plan } = decision;
  log.info(`cluster ${cluster}: ${decision.dryRun ? 'would migrate (dry run)' : 'migrate'}: ${decision.summary}`, {
    ...fields,
    dryRun: decision.dryRun,
    strategy: plan.strategy,
    member: plan.member.name,
    ...(plan.member.nodeName ? { fromNode: plan.member.nodeName } : {}),
    toNode: plan.target.node,
  });
}

/** The monitor's activity functions, for `proxyActivities<MonitorActivities>()` in workflow code. */
export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
