import type { DefragResult, MaintenanceActivities } from '../activities/maintenance';
import type { MigrationActivities } from '../activities/migration';
import type { MaintenancePlan, MaintenanceStep } from '../src/domain/maintenance';
import { formatBytes } from '../src/domain/space';
import { stepSummary } from '../src/domain/summaries';
import type { Saga } from './saga';
import type { ActivityClass, MigrationTiming } from './timing';

/**
 * The maintenance plan is the program: this loop executes the domain's steps in order, and nothing else. No
 * Temporal import: the workflow passes its activity proxy and timer, and a test can pass its own.
 */

/** Every activity a maintenance step calls. */
export type MaintenanceStepActivities = MaintenanceActivities & Pick<MigrationActivities, 'moveLeader' | 'describeClusterNow'>;

/** The activity each step calls, with its class of timeouts. */
export const MAINTENANCE_ACTIVITY_CLASS = {
  prepareMaintenance: 'quick',
  compactCluster: 'waiting',
  moveLeader: 'waiting',
  defragmentMember: 'waiting',
  disarmNospace: 'quick',
  verifyWrite: 'patient',
  describeClusterNow: 'quick',
} as const satisfies Record<keyof MaintenanceStepActivities, keyof MigrationTiming>;

/** Call one activity under a class of timeouts and retries. */
export type MaintenanceInvoke = <K extends keyof MaintenanceStepActivities>(
  name: K,
  cls: ActivityClass,
  input: Parameters<MaintenanceStepActivities[K]>[0],
  /** The step's description in a line, for the Temporal UI. */
  summary?: string,
) => ReturnType<MaintenanceStepActivities[K]>;

/** What the runner needs besides the plan. */
export interface MaintenanceContext {
  cluster: string;
  invoke: MaintenanceInvoke;
  saga: Saga;
  timing: MigrationTiming;
  /** A durable timer (the pause between members). */
  sleep(ms: number): Promise<void>;
  /** Awaited before each step: a freeze over the cluster holds the run here, between two steps. */
  betweenSteps?(): Promise<void>;
}

/** What a maintenance did, filled as its steps complete (also when one fails). */
export interface MaintenanceRun {
  compactedTo?: number;
  defragmented: DefragResult[];
  disarmed?: string[];
  wroteAt?: number;
}

/** A defragmentation may take its budget, twice over for a retry, and heartbeats while it runs. */
function defragClass(timing: MigrationTiming, budgetMs: number): ActivityClass {
  const waiting = timing.waiting;
  return { ...waiting, startToCloseMs: Math.max(waiting.startToCloseMs, 2 * budgetMs), retry: { ...waiting.retry, maximumAttempts: 3 } };
}

function sizes(r: DefragResult): string {
  if (r.gone) return `${r.member} is no longer a member: nothing to do`;
  const before = r.beforeBytes !== undefined ? formatBytes(r.beforeBytes) : '?';
  const after = r.afterBytes !== undefined ? formatBytes(r.afterBytes) : '?';
  return `${r.member}: ${before} -> ${after} in ${((r.defragMs ?? 0) / 1000).toFixed(1)} s, caught up ${((r.catchUpMs ?? 0) / 1000).toFixed(1)} s later`;
}

/** Run the plan's steps; throws the failure that stopped them (there is nothing to undo: no step weakens the cluster). */
export async function runMaintenance(plan: MaintenancePlan, ctx: MaintenanceContext): Promise<MaintenanceRun> {
  const { cluster, saga, timing } = ctx;
  const run: MaintenanceRun = { defragmented: [] };
  let summary: string | undefined;
  const call = <K extends keyof MaintenanceStepActivities>(name: K, input: Parameters<MaintenanceStepActivities[K]>[0], cls: ActivityClass = timing[MAINTENANCE_ACTIVITY_CLASS[name]]) =>
    ctx.invoke(name, cls, input, summary);

  async function execute(step: MaintenanceStep): Promise<void> {
    summary = stepSummary(step.step, step.description);
    switch (step.step) {
      case 'compact': {
        const c = await saga.step('compact', () => call('compactCluster', { cluster }), (r) => (r.alreadyCompacted ? `already compacted at revision ${r.revision}` : `compacted up to revision ${r.revision}`));
        run.compactedTo = c.revision;
        return;
      }
      case 'move-leader': {
        await saga.step('move-leader', () => call('moveLeader', { cluster, awayFrom: step.args.member.id }), (m) => (m.moved ? `leadership moved to ${m.leader}` : `${step.args.member.name} does not lead (${m.leader} does)`));
        return;
      }
      case 'defragment': {
        const { member, budgetMs, pauseAfterMs } = step.args;
        const r = await saga.step(`defragment ${member.name}`, () => call('defragmentMember', { cluster, memberId: member.id, budgetMs }, defragClass(timing, budgetMs)), sizes);
        run.defragmented.push(r);
        if (pauseAfterMs > 0) await ctx.sleep(pauseAfterMs);
        return;
      }
      case 'disarm-alarm': {
        const d = await saga.step('disarm-alarm', () => call('disarmNospace', { cluster, belowRatio: step.args.belowRatio }), (r) => (r.disarmed.length > 0 ? `NOSPACE disarmed for ${r.disarmed.join(', ')}` : 'no NOSPACE alarm was left'));
        run.disarmed = d.disarmed;
        return;
      }
      case 'verify-write': {
        const w = await saga.step('verify-write', () => call('verifyWrite', { cluster }), (r) => `wrote ${r.key} at revision ${r.revision}`);
        run.wroteAt = w.revision;
        return;
      }
    }
  }

  for (const step of plan.steps) {
    if (ctx.betweenSteps) await ctx.betweenSteps();
    await execute(step);
  }
  return run;
}
