import type { MaintenancePlan } from './maintenance';
import type { MigrationPlan } from './plan';
import type { RepairPlan } from './repair';
import type { Assessment } from './risk';
import { describeSteps } from './steps';

/**
 * What the Temporal UI shows beside a workflow and its activities: a workflow's static summary (one line: what
 * moves where and why) and details (the plan, in Temporal's markdown), and each activity's summary (its step and
 * target). Pure: the starters (the CLI, the monitor) and the step runners compose them from what they already hold.
 */

/** Temporal shows a summary as one line; longer ones are cut here, visibly, rather than by the server. */
export const SUMMARY_MAX_CHARS = 200;

/** `text` on one line (whitespace collapsed), at most `max` characters, an ellipsis marking a cut. */
export function oneLineSummary(text: string, max: number = SUMMARY_MAX_CHARS): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** An activity's summary: the plan step it carries out, and the step's own description of its target. */
export function stepSummary(step: string, description: string): string {
  return oneLineSummary(`${step}: ${description}`);
}

/** Who asked, and why, as the end of a summary. */
function because(reason: string | undefined, requestedBy: string | undefined): string {
  const parts = [reason?.trim(), requestedBy ? `by ${requestedBy}` : undefined].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? ` — ${parts.join(', ')}` : '';
}

/** What a migration's starter knows: the request, and the plan when it made one (the monitor does). */
export interface MigrationStart {
  cluster: string;
  member: string;
  strategy: string;
  reason?: string;
  requestedBy?: string;
  targetNode?: string;
  dryRun?: boolean;
  plan?: Pick<MigrationPlan, 'strategy' | 'member' | 'target'>;
}

/** "surge etcd-1: node-1 → node-4 — disk replacement on node-1", or, before a plan, "migrate etcd-1 of demo (auto) …". */
export function migrationSummary(start: MigrationStart): string {
  const { plan } = start;
  const head = plan
    ? `${plan.strategy} ${plan.member.name}: ${plan.member.nodeName ?? '?'} → ${plan.target.node}`
    : `migrate ${start.member} of ${start.cluster} (${start.strategy}${start.targetNode ? ` to ${start.targetNode}` : ''})`;
  return oneLineSummary(`${start.dryRun ? 'dry run: ' : ''}${head}${because(start.reason, start.requestedBy)}`);
}

/** The request as markdown, for a start whose plan the workflow has yet to make. */
export function requestDetails(title: string, fields: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>): string {
  const rows = Object.entries(fields)
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `- **${k}**: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return [`**${title}**`, '', ...rows].join('\n');
}

/** A migration plan in markdown: what moves where, why, and every step with the fault tolerance after it. */
export function migrationPlanDetails(plan: MigrationPlan): string {
  const refused = plan.placement.refused.map((r) => `- ${r.node}: ${r.reasons.join('; ')}`);
  return [
    `**${plan.strategy} ${plan.member.name}** of cluster ${plan.cluster}: ${plan.member.nodeName ?? '?'} → **${plan.target.node}**` +
      `${plan.target.rack !== undefined ? ` (rack ${plan.target.rack}${plan.target.domain !== undefined ? `, domain ${plan.target.domain}` : ''})` : ''}, as ${plan.newMemberName}`,
    '',
    ...plan.reasons.map((r) => `- ${r}`),
    '',
    '**Steps**',
    '',
    ...describeSteps(plan.steps),
    ...(refused.length > 0 ? ['', '**Nodes refused**', '', ...refused] : []),
  ].join('\n');
}

/** "defragment demo: etcd-0, etcd-1, etcd-2 — fragmented: …", "recover demo from NOSPACE — …". */
export function maintenanceSummary(start: { cluster: string; mode: string; reason?: string; requestedBy?: string; plan?: Pick<MaintenancePlan, 'mode' | 'steps'> }): string {
  const members = start.plan?.steps.filter((s) => s.step === 'defragment').map((s) => (s.step === 'defragment' ? s.args.member.name : ''));
  const mode = start.plan?.mode ?? start.mode;
  const head = mode === 'nospace' ? `recover ${start.cluster} from NOSPACE` : `defragment ${start.cluster}${members && members.length > 0 ? `: ${members.join(', ')}` : ` (${mode})`}`;
  return oneLineSummary(`${head}${because(start.reason, start.requestedBy)}`);
}

/** A maintenance plan in markdown: its steps and the members it leaves alone, with why. */
export function maintenancePlanDetails(plan: MaintenancePlan): string {
  return [
    `**${plan.mode === 'nospace' ? 'NOSPACE recovery' : 'defragmentation'}** of cluster ${plan.cluster}`,
    '',
    ...plan.reasons.map((r) => `- ${r}`),
    '',
    '**Steps**',
    '',
    ...plan.steps.map((s, i) => `${i + 1}. ${s.step}: ${s.description}`),
    ...(plan.skipped.length > 0 ? ['', '**Left alone**', '', ...plan.skipped.map((s) => `- ${s.member}: ${s.reason}`)] : []),
  ].join('\n');
}

/** "repair the membership of demo — 2 voters of 3 …", "remove dead member etcd-2 of demo — approved by …". */
export function repairSummary(start: { cluster: string; reason?: string; requestedBy?: string; approveRemoval?: string }): string {
  const head = start.approveRemoval !== undefined ? `remove dead member ${start.approveRemoval} of ${start.cluster} (approved)` : `repair the membership of ${start.cluster}`;
  return oneLineSummary(`${head}${because(start.reason, start.requestedBy)}`);
}

/** A repair plan in markdown: what it repairs, why, and every step with the fault tolerance after it. */
export function repairPlanDetails(cluster: string, plan: Pick<RepairPlan, 'kind' | 'reasons' | 'steps'>): string {
  return [`**repair (${plan.kind})** of cluster ${cluster}`, '', ...plan.reasons.map((r) => `- ${r}`), '', '**Steps**', '', ...describeSteps(plan.steps)].join('\n');
}

/** A monitor's summary, as its schedule starts it: "monitor demo every 5 s". */
export function monitorSummary(cluster: string, intervalMs: number): string {
  return oneLineSummary(`monitor ${cluster} every ${intervalMs % 1000 === 0 ? `${intervalMs / 1000} s` : `${intervalMs} ms`}`);
}

/** What a monitor shows as its current details: health, the last cycle's findings and what it decided. */
export function monitorDetails(state: {
  cluster: string;
  health: string;
  cycles: number;
  lastCycleAt?: string;
  assessment?: Pick<Assessment, 'summary' | 'findings'>;
  decision?: { summary: string };
  lastError?: string;
}): string {
  const findings = (state.assessment?.findings ?? []).map((f) => `- ${f.severity}${f.confirmed ? '' : ` (pending, ${f.samples} sample${f.samples === 1 ? '' : 's'})`}: ${f.message}`);
  return [
    `**${state.cluster}: ${state.health}** after ${state.cycles} cycle${state.cycles === 1 ? '' : 's'}${state.lastCycleAt ? `, the last at ${state.lastCycleAt}` : ''}`,
    '',
    ...(state.lastError ? [`The last cycle failed: ${state.lastError}`, ''] : []),
    ...(state.assessment ? [state.assessment.summary, ''] : []),
    ...(findings.length > 0 ? ['**Findings**', '', ...findings, ''] : []),
    ...(state.decision ? [`**Decision**: ${state.decision.summary}`] : []),
  ]
    .join('\n')
    .trimEnd();
}

/** A plan waiting for a person, in markdown for the UI's current details: how to answer, why it waits, the plan. */
export function awaitingApprovalDetails(cluster: string, reasons: readonly string[], planDetails: string, headline?: string): string {
  return `**awaiting approval** (\`etcd-guardian approve ${cluster}\` or the approve signal)${headline ? `: ${headline}` : ''}\n\n${reasons.map((r) => `- ${r}`).join('\n')}\n\n${planDetails}`;
}
