import {
  ApplicationFailure,
  condition,
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RecoveryActivities, RecoveryAssessment } from '../activities/recovery';
import { SA } from '../src/config/search-attributes';
import { parseRecoverClusterInput, type RecoverClusterInput } from '../src/config/workflow-inputs';
import type { RepairPlan } from '../src/domain/repair';
import { formatDurationMs } from '../src/domain/space';
import type { Verdict } from '../src/domain/approval';
import { approveSignal, rejectSignal, type ApprovalProgress } from './approval';
import { failureType, invalidInputFailure, rootMessage } from './failures';
import { FLEET_LEASE, FleetLease, type LeaseProgress } from './lease';
import { repairMembership } from './repair';

/** Who approved or rejected a recovery, and why: recorded in the history with the signal. */
export type RecoveryVerdict = Verdict;

/** Approve the recovery a `recoverCluster` run is waiting on (the same signal approves any plan that waits). */
export const approveRecoverySignal = approveSignal;
/** Reject it: nothing is touched, the run ends. */
export const rejectRecoverySignal = rejectSignal;

/** One step of the recovery, as it ran. */
export interface RecoveryStepRecord {
  step: string;
  startedAt: string;
  endedAt?: string;
  detail?: string;
}

/** What `progress` answers and the run returns: the post-mortem of the recovery. */
export interface RecoveryProgress extends LeaseProgress, Pick<ApprovalProgress, 'approvalNeeded'> {
  cluster: string;
  /** `waiting`: approved, and waiting for a fleet lease (the budget, a freeze), with why in `waitingFor`. */
  phase: 'validating' | 'planning' | 'awaiting-approval' | 'planned' | 'rejected' | 'timed-out' | 'waiting' | 'recovering' | 'growing' | 'succeeded' | 'failed';
  assessment?: RecoveryAssessment;
  approval?: RecoveryVerdict & { at: string; auto?: boolean };
  rejection?: RecoveryVerdict & { at: string };
  steps: RecoveryStepRecord[];
  /** The revision of the first write the recovered cluster took, and when. */
  writable?: { revision: number; at: string };
  repair?: { kind: RepairPlan['kind']; additions: RepairPlan['additions']; verified?: unknown };
  error?: string;
}

/** The recovery's phase, plan, approval and steps. */
export const recoveryProgressQuery = defineQuery<RecoveryProgress>('progress');

function recovery(summary: string, startToCloseTimeout: '2m' | '5m') {
  return proxyActivities<RecoveryActivities>({
    startToCloseTimeout,
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', maximumInterval: '15s', maximumAttempts: 6, nonRetryableErrorTypes: ['QUORUM_HELD', 'NO_SOURCE', 'RECOVERY_UNSUPPORTED', 'POD_CONFLICT', 'RESTORE_FAILED', 'UNKNOWN_CLUSTER'] },
    summary,
  });
}

/** What a plan recovers from, as a key: the same seed member or the same backup. */
function sourceOf(plan: RecoveryAssessment['plan']): string {
  return plan.source === 'survivor' ? `survivor ${plan.seed.id}` : `backup ${plan.backup.name}`;
}

function planDetails(p: RecoveryProgress): string {
  const a = p.assessment;
  const lines = [`**recovery of ${p.cluster}**: ${p.phase}`];
  if (a) {
    const plan = a.plan;
    lines.push(
      '',
      plan.source === 'survivor'
        ? `- seed: **${plan.seed.member}**${plan.seed.node ? ` on ${plan.seed.node}` : ''} (applied index ${plan.seed.appliedIndex}, revision ${plan.seed.revision}), restarted with --force-new-cluster`
        : `- from backup **${plan.backup.name}** (revision ${plan.backup.revision}, ${plan.backup.keys} keys, taken ${plan.backup.takenAt}), restored into a new member ${a.seedPod?.podName ?? '?'} on ${a.restore?.node ?? '?'}${a.restore ? ` (${a.restore.nodeReason})` : ''}, new cluster token`,
    );
    lines.push(`- data loss: ${plan.window.summary}`);
    for (const reason of plan.reasons) lines.push(`- ${reason}`);
    lines.push(`- then: stop ${a.otherPods.map((o) => o.podName).join(', ') || 'no other pod'}, prove a write, grow back to ${a.desiredVoters} voters on healthy nodes in distinct racks (learners, promoted one at a time), verify quorum and HashKV`);
    lines.push(`- approval: ${a.approval.autoApprove ? 'automatic (recovery.autoApprove)' : `\`etcd-guardian approve ${p.cluster}\` or the approve signal, within ${formatDurationMs(a.approval.timeoutMs)}`}`);
  }
  if (p.approval) lines.push(`- approved by ${p.approval.by} at ${p.approval.at}`);
  if (p.rejection) lines.push(`- rejected by ${p.rejection.by} at ${p.rejection.at}${p.rejection.reason ? `: ${p.rejection.reason}` : ''}`);
  for (const s of p.steps) lines.push(`- ${s.step}: ${s.endedAt ? 'done' : 'running'}${s.detail ? ` (${s.detail})` : ''}`);
  if (p.error) lines.push('', `**failed**: ${p.error}`);
  return lines.join('\n');
}

/**
 * Recovery from lost quorum, with a person's approval in the middle. Plans where the cluster comes back from (the
 * survivor that applied the most, else the newest verified backup whose bytes still match), shows the data-loss
 * window, then waits for `approve` or `reject` (the Temporal UI, or `etcd-guardian approve|reject <cluster>`) until
 * `recovery.approvalTimeout`; without an answer it gives up having touched nothing. Approved: a fresh look (the same
 * seed or backup), the other members' pods stopped, the seed restarted with --force-new-cluster (or a new member
 * restored from the backup) and then restarted plainly, a write proven, and the membership grown back to the
 * desired voters by the repair workflow (learners on healthy nodes in distinct racks, promoted one at a time, quorum and
 * HashKV verified). None of it can be undone; each step is idempotent and retried, and a worker killed mid-way resumes.
 * Runs under the cluster's migration id: no migration, repair or maintenance runs beside it.
 */
export async function recoverCluster(raw: unknown): Promise<RecoveryProgress> {
  const asked = (typeof raw === 'object' && raw !== null ? raw : {}) as { cluster?: unknown };
  const progress: RecoveryProgress = { cluster: typeof asked.cluster === 'string' ? asked.cluster : '?', phase: 'validating', steps: [] };
  setHandler(recoveryProgressQuery, () => progress);
  let verdict: { approved: boolean; verdict: RecoveryVerdict } | undefined;
  setHandler(approveRecoverySignal, (v) => {
    verdict ??= { approved: true, verdict: v };
  });
  setHandler(rejectRecoverySignal, (v) => {
    verdict ??= { approved: false, verdict: v };
  });
  let input: RecoverClusterInput;
  try {
    input = parseRecoverClusterInput(raw);
  } catch (error) {
    progress.phase = 'failed';
    throw invalidInputFailure(error) ?? error;
  }
  const { cluster } = input;
  upsertSearchAttributes([{ key: SA.cluster, value: cluster }, { key: SA.strategy, value: 'recovery' }]);
  const show = (): void => setCurrentDetails(planDetails(progress));
  const fail = (error: unknown, fallback: string): ApplicationFailure => {
    progress.phase = 'failed';
    progress.error = rootMessage(error);
    show();
    return ApplicationFailure.create({ message: `recovery of ${cluster}: ${progress.error}`, type: failureType(error) ?? fallback, nonRetryable: true, details: [progress] });
  };
  const step = async <T>(name: string, run: () => Promise<T>, detail?: (result: T) => string): Promise<T> => {
    if (lease) await lease.betweenSteps();
    const record: RecoveryStepRecord = { step: name, startedAt: new Date().toISOString() };
    progress.steps.push(record);
    show();
    const result = await run();
    record.endedAt = new Date().toISOString();
    if (detail) record.detail = detail(result);
    show();
    return result;
  };

  progress.phase = 'planning';
  const plan = (): Promise<RecoveryAssessment> => recovery(`observe every member of ${cluster} and the backups; plan the recovery (${input.from})`, '2m').planClusterRecovery({ cluster, from: input.from });
  try {
    progress.assessment = await plan();
  } catch (error) {
    throw fail(error, 'RECOVERY_REFUSED');
  }
  const assessment = progress.assessment;
  if (input.dryRun) {
    progress.phase = 'planned';
    show();
    return progress;
  }

  if (assessment.approval.autoApprove) {
    progress.approval = { by: 'recovery.autoApprove', at: new Date().toISOString(), auto: true };
  } else {
    progress.phase = 'awaiting-approval';
    const since = new Date();
    progress.approvalNeeded = {
      reasons: ['a recovery from lost quorum always waits for a person (recovery.autoApprove is off)'],
      timeoutMs: assessment.approval.timeoutMs,
      since: since.toISOString(),
      deadline: new Date(since.getTime() + assessment.approval.timeoutMs).toISOString(),
    };
    show();
    const answered = await condition(() => verdict !== undefined, assessment.approval.timeoutMs);
    if (!answered || verdict === undefined) {
      progress.phase = 'timed-out';
      show();
      throw ApplicationFailure.create({
        message: `recovery of ${cluster} was not approved within ${formatDurationMs(assessment.approval.timeoutMs)} (recovery.approvalTimeout): nothing was touched`,
        type: 'RECOVERY_NOT_APPROVED',
        nonRetryable: true,
        details: [progress],
      });
    }
    if (!verdict.approved) {
      progress.phase = 'rejected';
      progress.rejection = { ...verdict.verdict, at: new Date().toISOString() };
      show();
      throw ApplicationFailure.create({
        message: `recovery of ${cluster} was rejected by ${verdict.verdict.by}${verdict.verdict.reason ? `: ${verdict.verdict.reason}` : ''}; nothing was touched`,
        type: 'RECOVERY_REJECTED',
        nonRetryable: true,
        details: [progress],
      });
    }
    progress.approval = { ...verdict.verdict, at: new Date().toISOString() };
  }

  // Runs recorded before fleet leases replay without one. The lease is asked after the approval: a plan waiting for a
  // person holds no budget.
  const lease = patched(FLEET_LEASE) ? new FleetLease(progress) : undefined;
  try {
    if (lease) {
      progress.phase = 'waiting';
      show();
      await lease.acquire({ cluster, operation: 'recovery', description: `recover ${cluster} from lost quorum (${input.from}), approved by ${progress.approval?.by ?? '?'}` }, { wholeCluster: true });
    }
  } catch (error) {
    await lease?.release();
    throw fail(error, 'LEASE_TIMEOUT');
  }
  progress.phase = 'recovering';
  try {
    // What was approved may have changed while it waited: quorum back, another survivor ahead, a newer backup. Act
    // only on the same source.
    const fresh = await step('re-plan', plan, (a) => (a.plan.source === 'survivor' ? `seed ${a.plan.seed.member}` : `backup ${a.plan.backup.name}`));
    const approved = sourceOf(assessment.plan);
    const now = sourceOf(fresh.plan);
    const seed = fresh.seedPod;
    const restore = fresh.restore;
    if (now !== approved || seed === undefined || (fresh.plan.source === 'backup' && restore === undefined)) {
      throw ApplicationFailure.create({
        message: `the cluster changed since the approval: the plan now is ${fresh.plan.reasons.join('; ')}; nothing was touched: start the recovery again`,
        type: 'RECOVERY_PLAN_STALE',
        nonRetryable: true,
      });
    }
    for (const other of fresh.otherPods) {
      await step(`stop ${other.podName}`, () =>
        recovery(`delete pod ${other.podName} of ${other.member}, so that it never rejoins the lost membership`, '2m').stopMemberPod({ cluster, podName: other.podName, memberDown: other.memberDown }),
      );
    }
    if (restore === undefined) {
      await step(`seed ${seed.podName}`, () => recovery(`restart ${seed.podName} with --force-new-cluster: it keeps its data, alone in a new membership`, '5m').restartSeed({ cluster, podName: seed.podName, endpoint: seed.endpoint, forceNewCluster: true, ...(seed.manifest ? { manifest: seed.manifest } : {}) }), (r) => `member ${r.memberId}`);
    } else {
      await step(
        `restore ${restore.backup} into ${seed.podName}`,
        () => recovery(`create ${seed.podName} on ${restore.node}: it fetches backup ${restore.backup}, checks its sha256 and restores it as a one-member cluster (token ${restore.token})`, '5m').restoreSeed({ cluster, restore, endpoint: seed.endpoint }),
        (r) => `member ${r.memberId}, revision ${r.revision}`,
      );
    }
    await step(`restart ${seed.podName}`, () =>
      recovery(`restart ${seed.podName} without ${restore === undefined ? '--force-new-cluster, so that no later restart forces a new cluster again' : 'its restore script, on its restored data'}`, '5m').restartSeed({ cluster, podName: seed.podName, endpoint: seed.endpoint, forceNewCluster: false, ...(seed.manifest ? { manifest: seed.manifest } : {}) }),
    );
    const writable = await step('prove-write', () => recovery(`write a key through ${seed.podName} and read it back`, '2m').proveWritable({ cluster, endpoint: seed.endpoint, key: `etcd-guardian/recovery/${workflowInfo().runId}` }), (w) => `revision ${w.revision}`);
    progress.writable = { revision: writable.revision, at: new Date().toISOString() };
    progress.phase = 'growing';
    const repaired = await step(`grow to ${fresh.desiredVoters} voters`, () =>
      executeChild(repairMembership, {
        workflowId: `${workflowInfo().workflowId}-grow`,
        args: [{ cluster, requestedBy: `recovery ${workflowInfo().workflowId}`, ...(lease ? { underLeaseOf: workflowInfo().workflowId } : {}) }],
        staticSummary: `grow ${cluster} back to ${fresh.desiredVoters} voters after its recovery from ${seed.podName}`,
      }),
      (r) => `${r.plan.kind}: ${r.plan.additions.map((a) => a.name).join(', ') || 'nothing to add'}`,
    );
    progress.repair = { kind: repaired.plan.kind, additions: repaired.plan.additions, ...(repaired.verified !== undefined ? { verified: repaired.verified } : {}) };
    progress.phase = 'succeeded';
    show();
    return progress;
  } catch (error) {
    throw fail(error, 'RECOVERY_FAILED');
  } finally {
    await lease?.release();
  }
}
