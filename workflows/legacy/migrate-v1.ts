/**
 * FROZEN: the migration as it ran before the plan became the program (before patch "plan-is-the-program"). It stays,
 * unchanged, only so that migrations started by an older worker finish on this one with their recorded history.
 * Never edit it; delete it once no run older than the patch can be in flight (the oldest open run's start time says).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  metricMeter,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type QueryDefinition,
} from '@temporalio/workflow';
import type { BackupActivities } from '../../activities/backup';
import type { MigrationActivities } from '../../activities/migration';
import { SA } from '../../src/config/search-attributes';
import { parseMigrateMemberInput, type MigrateMemberInput } from '../../src/config/workflow-inputs';
import type { PlannedMember } from '../../src/domain/plan';
import { migrationSamples, type MigrationOutcome } from '../../src/observability/migration-metrics';
import { recordSamples } from '../../src/observability/record';
import { failureType, invalidInputFailure, rootMessage } from '../failures';
import type { MigrationProgress, MigrationResult } from '../migration-types';
import type { StepRecord, StepStatus } from '../saga';

// Saga steps wait for a cancelled activity to stop before compensating, so that two steps never overlap.
const base = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } as const;

// A few API calls each (well under a second when the cluster is healthy). The timeout is also how long a worker
// that dies mid-call (SIGKILL, node lost) stalls the migration before another worker retries: the game day measured
// 45 s of that per crash with a 45 s timeout.
const quick = proxyActivities<MigrationActivities>({
  ...base,
  startToCloseTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 8 },
});

// Steps that wait for the cluster (a pod to go, leadership to move) heartbeat every second, so a dead worker is
// noticed after the heartbeat timeout however long the wait may rightly be.
const waiting = proxyActivities<MigrationActivities>({
  ...base,
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 8 },
});

// etcd refuses membership changes until every member has been connected for 5 s, and a learner must catch up:
// both are "not yet", retried for a while.
const patient = proxyActivities<MigrationActivities>({
  ...base,
  startToCloseTimeout: '60s',
  // Each attempt is a few calls: this is how long a dead worker holds the step before another retries it.
  heartbeatTimeout: '10s',
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 1.5, maximumInterval: '5s' },
});

// The snapshot heartbeats every second while etcd streams it, however large the database.
const slow = proxyActivities<BackupActivities>({
  ...base,
  startToCloseTimeout: '6m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

/** Attempts at placing the successor: a node that fails is compensated and excluded, and the next is tried. */
const PLACEMENT_ATTEMPTS = 3;

/**
 * Move one etcd member to a better node without losing quorum: a saga whose every step is an idempotent
 * activity with its compensation. `replace` (dead member) removes first; `surge` (live member) adds first.
 */
export async function migrateMemberV1(raw: unknown, progressQuery: QueryDefinition<MigrationProgress>): Promise<MigrationResult> {
  // The query answers from the first moment, even for an input that turns out invalid.
  const asked = (typeof raw === 'object' && raw !== null ? raw : {}) as { cluster?: unknown; member?: unknown };
  const text = (value: unknown): string => (typeof value === 'string' ? value : '?');
  const progress: MigrationProgress = { cluster: text(asked.cluster), member: text(asked.member), phase: 'validating', steps: [] };
  setHandler(progressQuery, () => progress);
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

  const record = (step: string, status: StepStatus, detail?: string): StepRecord => {
    const entry: StepRecord = { step, status, startedAt: new Date().toISOString(), ...(detail ? { detail } : {}) };
    progress.steps.push(entry);
    return entry;
  };
  const finish = (entry: StepRecord, status: StepStatus, detail?: string): void => {
    entry.status = status;
    entry.endedAt = new Date().toISOString();
    entry.durationMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt ?? entry.endedAt);
    if (detail) entry.detail = detail;
    if (progress.currentStep === entry.step) delete progress.currentStep;
  };
  async function step<T>(name: string, run: () => Promise<T>, describe: (value: T) => string): Promise<T> {
    const entry = record(name, 'running');
    progress.currentStep = name;
    try {
      const value = await run();
      finish(entry, 'done', describe(value));
      return value;
    } catch (error) {
      finish(entry, 'failed', rootMessage(error));
      throw error;
    }
  }

  progress.phase = 'planning';
  const plan = await step(
    'plan',
    () =>
      quick.prepareMigration({
        cluster: input.cluster,
        member: input.member,
        strategy: input.strategy,
        reason: input.reason,
        ...(input.targetNode !== undefined ? { targetNode: input.targetNode } : {}),
        ...(input.excludedNodes ? { excludedNodes: input.excludedNodes } : {}),
      }),
    (p) => `${p.strategy} ${p.member.name} from ${p.member.nodeName ?? '?'} to ${p.target.node}: ${p.reasons.join('; ')}`,
  ).catch((error: unknown) => {
    if (!input.dryRun) recordEnd(isCancellation(error) ? 'cancelled' : 'refused', input.strategy);
    throw ApplicationFailure.create({ message: rootMessage(error), type: failureType(error) ?? 'PLAN_FAILED', nonRetryable: true });
  });
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
  const result: MigrationResult = { cluster: input.cluster, member: old.name, dryRun: input.dryRun, plan, strategy: plan.strategy, steps: progress.steps };
  if (old.nodeName) result.from = old.nodeName;
  if (input.dryRun) {
    progress.phase = 'succeeded';
    return result;
  }

  progress.phase = 'migrating';
  const compensations: { name: string; run: () => Promise<string> }[] = [];
  const excluded: Record<string, string> = { ...(input.excludedNodes ?? {}) };
  const usedNames: string[] = [];
  const cluster = input.cluster;

  /**
   * Add the successor of `leaving` as a learner on the best node, start its pod, promote it; try the next node on
   * failure. The member being migrated (`leaving` is `old`) takes the operator's target node and the planned name.
   */
  async function placeSuccessor(leaving: PlannedMember = old): Promise<{ node: string; memberId: string; name: string }> {
    const main = leaving === old;
    for (let attempt = 1; ; attempt++) {
      const target = await step(
        'choose-node',
        () =>
          quick.chooseNode({
            cluster,
            leaving: { memberId: leaving.id, name: leaving.name, ...(leaving.nodeName ? { nodeName: leaving.nodeName } : {}) },
            excludedNodes: excluded,
            usedNames,
            ...(main ? { preferredName: plan.newMemberName } : {}),
            // The node the operator named is honoured on the first attempt; if placing there fails, the next
            // attempts go to the best other node rather than leave the member where it is at risk.
            ...(main && attempt === 1 && input.targetNode !== undefined ? { targetNode: input.targetNode } : {}),
          }),
        (t) => `${main ? '' : `successor of ${leaving.name}, `}attempt ${attempt}: ${t.memberName} on ${t.node} (${t.reason})`,
      );
      const name = target.memberName;
      usedNames.push(name);
      if (main) {
        progress.to = target.node;
        result.to = target.node;
        upsertSearchAttributes([{ key: SA.targetNode, value: target.node }]);
      }
      const attemptCompensations: { name: string; run: () => Promise<string> }[] = [];
      try {
        // Each compensation is registered before its step runs: a step that timed out may still have happened.
        attemptCompensations.push({
          name: `remove learner ${name} on ${target.node}`,
          run: async () => ((await quick.removeAddedMember({ cluster, nodeName: target.node, podName: name })).removed ? 'removed' : 'not a member'),
        });
        const learner = await step('schedule-pod', async () => {
          const added = await patient.addLearner({ cluster, nodeName: target.node, podName: name });
          attemptCompensations.push({
            name: `delete pod ${name}`,
            run: async () => ((await waiting.deletePod({ cluster, podName: name })).deleted ? 'deleted' : 'already gone'),
          });
          await quick.createMemberPod({ cluster, podName: name, nodeName: target.node, learnerPeerURL: added.peerURL, templateMember: old.podName ?? old.name });
          return added;
        }, (a) => `learner ${name} (${a.id}) at ${a.peerURL}, pod on ${target.node}`);
        await step('rejoin', () => patient.promoteLearner({ cluster, memberId: learner.id, podName: name }), (r) => (r.promoted ? 'promoted to voter' : 'already a voter'));
        await step('verify-member', () => patient.verifyMember({ cluster, memberId: learner.id, podName: name }), (m) => `${m.name} is a healthy voter`);
        if (main) result.newMember = name;
        return { node: target.node, memberId: learner.id, name };
      } catch (error) {
        if (isCancellation(error) || failureType(error) === 'QUORUM_GUARD' || attempt >= PLACEMENT_ATTEMPTS) {
          compensations.push(...attemptCompensations);
          throw error;
        }
        log.warn(`placing ${name} on ${target.node} failed (attempt ${attempt}): ${rootMessage(error)}; compensating and trying the next node`);
        await runCompensations(attemptCompensations);
        excluded[target.node] = `attempt ${attempt} failed: ${rootMessage(error)}`;
      }
    }
  }

  async function runCompensations(list: { name: string; run: () => Promise<string> }[]): Promise<void> {
    // Compensations run even when the workflow is cancelled, and in reverse order of the steps they undo.
    await CancellationScope.nonCancellable(async () => {
      for (const compensation of [...list].reverse()) {
        const entry = record(`compensate: ${compensation.name}`, 'running');
        try {
          finish(entry, 'compensated', await compensation.run());
        } catch (error) {
          finish(entry, 'failed', rootMessage(error));
        }
      }
    });
    list.length = 0;
  }

  try {
    // One file per run: the workflow id is the same for every migration of the cluster.
    const backup = await step('backup-snapshot', () => slow.backupSnapshot({ cluster, migrationId: `${workflowInfo().workflowId}-${workflowInfo().runId}` }), (b) => `${b.bytes} bytes at revision ${b.revision}, sha256 ${b.sha256.slice(0, 12)}, ${b.path}`);
    result.backup = backup;
    const moveLeader = (): Promise<unknown> =>
      step('move-leader', () => waiting.moveLeader({ cluster, awayFrom: old.id }), (m) => (m.moved ? `leadership moved to ${m.leader}` : `not the leader (${m.leader} leads)`));
    const removeMember = (member: PlannedMember, onlyIfDown: boolean): Promise<{ removed: boolean; answers?: boolean }> =>
      step(
        'remove-member',
        () => quick.removeMember({ cluster, memberId: member.id, ...(onlyIfDown ? { onlyIfDown } : {}) }),
        (r) => (r.removed ? `removed ${member.name} (${member.id})` : r.answers ? `${member.name} answers again: left in place` : `${member.name} already removed`),
      );
    const deletePodOf = async (member: PlannedMember): Promise<void> => {
      if (!member.podName) return;
      const podName = member.podName;
      // A member that was down when planned has been removed by now: its pod goes at once.
      const memberDown = !member.healthy;
      await step(
        'delete-pod',
        () => waiting.deletePod({ cluster, podName, ...(memberDown ? { memberDown } : {}) }),
        (d) => (d.deleted ? `deleted ${podName}${d.forced ? ` (forced: ${d.why ?? 'node not ready'})` : ''}` : `${podName} already gone`),
      );
    };
    const removeOld = async (): Promise<void> => {
      await removeMember(old, false);
      await deletePodOf(old);
    };
    const voters = plan.steps[0]?.projected.voters ?? 0;
    if (plan.strategy === 'replace') {
      if (old.isLeader) await moveLeader();
      await removeMember(old, false);
      // etcd adds no member while a voter is disconnected: the other down voters leave now and are replaced after.
      const alsoRemoved: PlannedMember[] = [];
      for (const other of plan.alsoReplaced ?? []) {
        if ((await removeMember(other, true)).answers !== true) alsoRemoved.push(other);
      }
      for (const member of [old, ...alsoRemoved]) await deletePodOf(member);
      await placeSuccessor();
      for (const other of alsoRemoved) {
        const placed = await placeSuccessor(other);
        (result.alsoReplaced ??= []).push({ member: other.name, ...(other.nodeName ? { from: other.nodeName } : {}), newMember: placed.name, to: placed.node });
      }
    } else {
      await placeSuccessor();
      await moveLeader();
      await removeOld();
    }
    result.verified = await step('verify-quorum', () => patient.verifyQuorum({ cluster, expectedVoters: voters }), (v) => `${v.voters.length} voters (${v.voters.join(', ')}), leader ${v.leader}, HashKV ${v.hash} at revision ${v.revision} on every member`);
    progress.phase = 'succeeded';
    recordEnd('succeeded', plan.strategy);
    return result;
  } catch (error) {
    progress.phase = 'compensating';
    await runCompensations(compensations);
    progress.phase = 'failed';
    recordEnd(isCancellation(error) ? 'cancelled' : 'failed', plan.strategy);
    if (isCancellation(error)) throw error;
    const now = await CancellationScope.nonCancellable(() => quick.describeClusterNow({ cluster })).catch(() => 'cluster state unknown');
    throw ApplicationFailure.create({
      message: `migration of ${old.name} failed at ${progress.steps.filter((s) => s.status === 'failed')[0]?.step ?? 'an unknown step'}: ${rootMessage(error)}; ${now}`,
      type: failureType(error) ?? 'MIGRATION_FAILED',
      nonRetryable: true,
      details: [progress.steps],
    });
  }
}
