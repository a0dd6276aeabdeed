import { ApplicationFailure, condition, defineSignal, log, setHandler } from '@temporalio/workflow';
import { samePlanAsApproved, verdictProblem, type ApprovalRequirement, type ApprovedShape, type Verdict } from '../src/domain/approval';
import { formatDurationMs } from '../src/domain/space';
import type { FleetLease } from './lease';

/**
 * A plan that waits for a person: the `approve` and `reject` signals (the Temporal UI's "Send a Signal", or
 * `etcd-guardian approve|reject <cluster>`) answer it; without an answer it is abandoned, having touched nothing.
 * The same signals answer a recovery's approval.
 */

/** Approve the plan a run waits on: `{"by": "<who>", "reason": "<why>"}`. */
export const approveSignal = defineSignal<[Verdict]>('approve');
/** Reject it: nothing is touched, the run ends. */
export const rejectSignal = defineSignal<[Verdict]>('reject');

/** What a run waiting for a person shows in its progress query and keeps in its result. */
export interface ApprovalProgress {
  /** Set while (and after) the plan waited: why, since when and until when. */
  approvalNeeded?: ApprovalRequirement & { since: string; deadline: string };
  approval?: Verdict & { at: string };
  rejection?: Verdict & { at: string };
}

/** The failure types of a plan that did not get its approval. */
export const NOT_APPROVED = 'NOT_APPROVED';
export const REJECTED = 'REJECTED';

/**
 * Listens for the verdict from the moment it is made (a signal sent before the wait starts is kept), and waits for
 * it when the plan needs it. A verdict without `by` is logged and ignored: the plan keeps waiting for a valid one.
 */
export class ApprovalGate {
  private verdict: { approved: boolean; verdict: Verdict } | undefined;

  constructor(private readonly progress: ApprovalProgress) {
    const answer = (approved: boolean) => (raw: unknown) => {
      const problem = verdictProblem(raw);
      if (problem !== undefined) {
        log.warn(`${approved ? 'approve' : 'reject'} signal ignored: ${problem}`);
        return;
      }
      this.verdict ??= { approved, verdict: raw as Verdict };
    };
    setHandler(approveSignal, answer(true));
    setHandler(rejectSignal, answer(false));
  }

  /** Whether a verdict came, valid, before or during the wait. */
  get answered(): boolean {
    return this.verdict !== undefined;
  }

  /**
   * Waits for the verdict; returns the approval, or throws NOT_APPROVED (the timeout) or REJECTED, both
   * non-retryable, saying that nothing was touched. `what` names the plan in those messages ("migration of etcd-0").
   */
  async wait(requirement: ApprovalRequirement, what: string): Promise<Verdict> {
    const since = new Date();
    this.progress.approvalNeeded = { ...requirement, since: since.toISOString(), deadline: new Date(since.getTime() + requirement.timeoutMs).toISOString() };
    const answered = await condition(() => this.verdict !== undefined, requirement.timeoutMs);
    const verdict = this.verdict;
    if (!answered || verdict === undefined) {
      throw ApplicationFailure.create({
        message: `${what} was not approved within ${formatDurationMs(requirement.timeoutMs)} (approval.timeout): nothing was touched; it waited because ${requirement.reasons.join('; ')}`,
        type: NOT_APPROVED,
        nonRetryable: true,
      });
    }
    const at = new Date().toISOString();
    if (!verdict.approved) {
      this.progress.rejection = { ...verdict.verdict, at };
      throw ApplicationFailure.create({
        message: `${what} was rejected by ${verdict.verdict.by}${verdict.verdict.reason ? `: ${verdict.verdict.reason}` : ''}; nothing was touched`,
        type: REJECTED,
        nonRetryable: true,
      });
    }
    this.progress.approval = { ...verdict.verdict, at };
    return verdict.verdict;
  }
}

/** The failure of a plan that changed between its approval and its run: nothing was touched. */
export function planChangedFailure(approvedBy: string | undefined, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `the plan changed after ${approvedBy ?? '?'} approved it: ${why}; nothing was touched: the monitor (or a new request) plans it afresh`,
    type: 'PLAN_CHANGED',
    nonRetryable: true,
  });
}

/**
 * For an operation that plans under its lease (a repair, a maintenance): a plan the approval rules hold waits for a
 * person with the lease given back, takes the lease again, and is planned again from a fresh look; it runs only if it
 * is still the plan that was approved. Returns the plan to run (`plan` itself when no rule holds it).
 */
export async function approvedUnderLease<P extends { needsApproval?: ApprovalRequirement }>(options: {
  plan: P;
  what: string;
  progress: ApprovalProgress & { phase: string };
  /** Given back while the plan waits, asked for again once approved. */
  lease: FleetLease | undefined;
  replan: () => Promise<P>;
  shape: (plan: P) => ApprovedShape;
}): Promise<P> {
  const { plan, progress, lease } = options;
  const requirement = plan.needsApproval;
  if (requirement === undefined) return plan;
  const gate = new ApprovalGate(progress);
  const phase = progress.phase;
  progress.phase = 'awaiting-approval';
  try {
    const wait = (): Promise<Verdict> => gate.wait(requirement, options.what);
    const verdict = await (lease ? lease.releasedWhile(wait) : wait());
    progress.phase = phase;
    const fresh = await options.replan();
    const check = samePlanAsApproved(options.shape(plan), options.shape(fresh));
    if (!check.same) throw planChangedFailure(verdict.by, check.why);
    return fresh;
  } catch (error) {
    progress.phase = 'failed';
    throw error;
  }
}
