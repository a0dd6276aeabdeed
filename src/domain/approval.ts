/**
 * Which plans wait for a person. Each cluster has its own rules (the config's `approval` section); a plan that
 * meets one waits, before it takes a fleet lease or touches anything, until someone approves or rejects it, or until
 * the timeout, when it is abandoned having changed nothing. Pure: the planning activities ask it, the workflows act
 * on its answer, the CLI lists what waits.
 */

/** A cluster's approval rules; every rule off by default (the guardian heals on its own unless told otherwise). */
export interface ApprovalRules {
  /** Every plan on this cluster waits: a migration, a repair, a maintenance. */
  critical: boolean;
  /** A plan with a step after which the cluster has no failure to spare (fault tolerance 0) waits. */
  faultToleranceZero: boolean;
  /** A migration to a node named by hand waits (the placement was a person's, not the guardian's). */
  manualTarget: boolean;
  /** How long a plan waits for an answer (milliseconds). */
  timeoutMs: number;
}

/** The rules when the config says nothing: nothing waits; a plan that is made to wait waits an hour. */
export const DEFAULT_APPROVAL_RULES: ApprovalRules = { critical: false, faultToleranceZero: false, manualTarget: false, timeoutMs: 3_600_000 };

/** What a plan that waits carries: why (one sentence per rule met) and how long it waits (milliseconds). */
export interface ApprovalRequirement {
  reasons: string[];
  timeoutMs: number;
}

/** What the rules look at in a plan. */
export interface PlanForApproval {
  cluster: string;
  operation: 'migration' | 'repair' | 'maintenance';
  /** The plan's steps with the cluster projected after each (maintenance steps carry no projection). */
  steps: readonly { step: string; projected?: { faultTolerance: number; healthyVoters: number; voters: number } }[];
  /** A migration to a node an operator named. */
  targetNode?: string;
}

/** The rules a plan meets, as sentences; empty when it may run without a person. */
export function approvalReasons(rules: ApprovalRules, plan: PlanForApproval): string[] {
  const reasons: string[] = [];
  if (rules.critical) reasons.push(`${plan.cluster} is critical (approval.critical): every plan on it waits for a person`);
  if (rules.faultToleranceZero) {
    const exposed = plan.steps.filter((s) => s.projected !== undefined && s.projected.faultTolerance <= 0);
    if (exposed.length > 0) {
      const first = exposed[0]?.projected;
      const names = exposed.map((s) => s.step).join(', ');
      reasons.push(
        `step${exposed.length === 1 ? '' : 's'} ${names} leave${exposed.length === 1 ? 's' : ''} ${plan.cluster} with no failure to spare (${first?.healthyVoters ?? '?'}/${first?.voters ?? '?'} healthy voters; approval.faultToleranceZero)`,
      );
    }
  }
  if (rules.manualTarget && plan.operation === 'migration' && plan.targetNode !== undefined) {
    reasons.push(`the target node ${plan.targetNode} was named by hand (approval.manualTarget)`);
  }
  return reasons;
}

/** The requirement a plan carries, or undefined when no rule holds it. */
export function approvalRequirement(rules: ApprovalRules, plan: PlanForApproval): ApprovalRequirement | undefined {
  const reasons = approvalReasons(rules, plan);
  return reasons.length === 0 ? undefined : { reasons, timeoutMs: rules.timeoutMs };
}

/** Who answered and why: recorded with the signal in the history, and in the run's progress and result. */
export interface Verdict {
  by: string;
  reason?: string;
}

/**
 * A verdict as the workflow accepts it: `by` names a person or a system (the Temporal UI sends whatever JSON the
 * operator types, so it is checked); returns the problem, or undefined when it is fine.
 */
export function verdictProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `expected {"by": "<who>", "reason": "<why>"}, got ${JSON.stringify(raw) ?? String(raw)}`;
  const { by, reason } = raw as { by?: unknown; reason?: unknown };
  if (typeof by !== 'string' || by.trim() === '') return `by: expected who answers, such as "alice" or "cli:alice", got ${JSON.stringify(by) ?? 'nothing'}`;
  if (reason !== undefined && typeof reason !== 'string') return `reason: expected a sentence, got ${JSON.stringify(reason)}`;
  return undefined;
}

/**
 * Whether the plan made after the approval is the plan that was approved: the same member, strategy and target for
 * a migration (another target node is another plan), the same steps in the same order for any plan. A plan that
 * changed while it waited is not run: a person approved something else.
 */
export function samePlanAsApproved(approved: ApprovedShape, now: ApprovedShape): { same: true } | { same: false; why: string } {
  if (approved.member !== now.member) return { same: false, why: `it now moves ${now.member ?? '?'}, not ${approved.member ?? '?'}` };
  if (approved.strategy !== now.strategy) return { same: false, why: `it is now a ${now.strategy ?? '?'}, not a ${approved.strategy ?? '?'}` };
  if (approved.target !== now.target) return { same: false, why: `its target is now ${now.target ?? '?'}, not ${approved.target ?? '?'}` };
  const a = approved.steps.join(', ');
  const b = now.steps.join(', ');
  if (a !== b) return { same: false, why: `its steps are now ${b}, not ${a}` };
  return { same: true };
}

/** What is compared between the approved plan and the plan made after the approval. */
export interface ApprovedShape {
  member?: string;
  strategy?: string;
  target?: string;
  steps: readonly string[];
}
