import type { MetricSample } from './metric-definitions';

/**
 * What one finished migration says, as metric samples. Pure: the migrate workflow records them once, at its end,
 * from its step records, so that a worker restarted mid-way (whose replay records nothing) still reports every step.
 */

/** How a migration ended. `refused`: it never started moving (invalid request, no feasible node, quorum guard). */
export type MigrationOutcome = 'succeeded' | 'failed' | 'cancelled' | 'refused';

/** A step as the workflow recorded it (`StepRecord` in workflows/migrate.ts). */
export interface RecordedStep {
  step: string;
  status: string;
  durationMs?: number;
}

/** A migration that ended. */
export interface EndedMigration {
  cluster: string;
  /** The strategy it ran with; for a refused one, the strategy asked for (auto, replace, surge). */
  strategy: string;
  outcome: MigrationOutcome;
  durationMs: number;
  steps: readonly RecordedStep[];
}

/** Compensation steps are named after what they undo ("compensate: delete pod etcd-3"): one label for all of them. */
export function stepLabel(step: string): string {
  return step.startsWith('compensate:') ? 'compensation' : step;
}

/** Statuses a step ends with; a step still running or pending when the migration ended has no duration. */
const ENDED_STATUSES: ReadonlySet<string> = new Set(['done', 'failed', 'compensated', 'skipped']);

/** The counter, the migration's duration and each ended step's duration. */
export function migrationSamples(migration: EndedMigration): MetricSample[] {
  const { cluster, strategy, outcome } = migration;
  const samples: MetricSample[] = [
    { metric: 'migrations', value: 1, labels: { cluster, strategy, result: outcome } },
    { metric: 'migrationDuration', value: Math.max(0, migration.durationMs) / 1000, labels: { cluster, strategy, result: outcome } },
  ];
  for (const step of migration.steps) {
    if (!ENDED_STATUSES.has(step.status) || step.durationMs === undefined) continue;
    samples.push({
      metric: 'stepDuration',
      value: Math.max(0, step.durationMs) / 1000,
      labels: { cluster, strategy, step: stepLabel(step.step), status: step.status },
    });
  }
  return samples;
}
