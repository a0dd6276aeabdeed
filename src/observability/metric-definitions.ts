/**
 * The guardian's own Prometheus metrics, served by the Temporal SDK's exporter next to its `temporal_*` metrics.
 * Pure: workflow code records some of them (replay-safe through the workflow metric meter).
 *
 * The exporter writes a counter's name with `_total` and never adds a unit to a name, so the names below carry
 * their unit (`_seconds`) themselves. Metrics recorded from workflow code also carry the SDK's `namespace`,
 * `taskQueue` and `workflowType` labels.
 */

/** What kind of instrument a metric is. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** One metric: its name as scraped (before the exporter's `_total`), kind, unit, help text and buckets. */
export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  valueType: 'int' | 'float';
  unit?: string;
  description: string;
  /** Histogram bucket bounds, in the metric's unit. */
  buckets?: readonly number[];
}

/** Every metric of the guardian, by a short key used in code. */
export const GUARDIAN_METRICS = {
  voters: {
    name: 'etcd_guardian_cluster_voters',
    kind: 'gauge',
    valueType: 'int',
    description: 'Voting members of the etcd cluster at the last monitor cycle',
  },
  healthyVoters: {
    name: 'etcd_guardian_cluster_healthy_voters',
    kind: 'gauge',
    valueType: 'int',
    description: 'Voting members that answered and knew a leader at the last monitor cycle',
  },
  faultTolerance: {
    name: 'etcd_guardian_cluster_fault_tolerance',
    kind: 'gauge',
    valueType: 'int',
    description: 'Healthy voters that may still fail before quorum is lost (0 also when quorum is already lost: see etcd_guardian_cluster_health)',
  },
  health: {
    name: 'etcd_guardian_cluster_health',
    kind: 'gauge',
    valueType: 'int',
    description: 'The cluster health in one word: 1 for the current state (label health), 0 for the others',
  },
  findings: {
    name: 'etcd_guardian_cluster_findings',
    kind: 'gauge',
    valueType: 'int',
    description: 'Findings of the last monitor cycle by kind; status confirmed (held for the hysteresis samples) or pending',
  },
  leaderChanges: {
    name: 'etcd_guardian_cluster_leader_changes',
    kind: 'counter',
    valueType: 'int',
    description: 'Leader changes the monitor saw between two consecutive cycles that both knew a leader',
  },
  cycles: {
    name: 'etcd_guardian_monitor_cycles',
    kind: 'counter',
    valueType: 'int',
    description: 'Monitor cycles by result (ok, or failed: an observation or the assessment failed)',
  },
  lastCycle: {
    name: 'etcd_guardian_monitor_last_cycle_timestamp_seconds',
    kind: 'gauge',
    valueType: 'float',
    description: 'When the monitor of the cluster last ended a cycle (ok or failed), in seconds since the epoch: a monitor that stops cycling stops moving it',
  },
  interval: {
    name: 'etcd_guardian_monitor_interval_seconds',
    kind: 'gauge',
    valueType: 'float',
    description: 'The monitor\'s configured interval between cycles, for alerts on a monitor that has not cycled for several intervals',
  },
  backupAge: {
    name: 'etcd_guardian_backup_last_verified_age_seconds',
    kind: 'gauge',
    valueType: 'float',
    description: 'Age of the cluster\'s newest backup that a restore drill verified, as its monitor saw at its last cycle (only with backup.schedule)',
  },
  backupBytes: {
    name: 'etcd_guardian_backup_last_verified_bytes',
    kind: 'gauge',
    valueType: 'int',
    description: 'Size of the cluster\'s newest backup that a restore drill verified (only with backup.schedule)',
  },
  operationRunning: {
    name: 'etcd_guardian_cluster_operation_running',
    kind: 'gauge',
    valueType: 'int',
    description: 'Whether a migration, repair or maintenance of the cluster runs (1) or not (0), as its monitor saw at its last cycle',
  },
  decisions: {
    name: 'etcd_guardian_monitor_decisions',
    kind: 'counter',
    valueType: 'int',
    description: 'Monitor decisions by kind (none, alert, migrate) and reason (for migrate: the strategy)',
  },
  migrations: {
    name: 'etcd_guardian_migrations',
    kind: 'counter',
    valueType: 'int',
    description: 'Migrations by strategy and result (succeeded, failed, cancelled, refused); dry runs are not counted',
  },
  migrationDuration: {
    name: 'etcd_guardian_migration_duration_seconds',
    kind: 'histogram',
    valueType: 'float',
    unit: 's',
    description: 'Duration of a migration from its start to its end, by strategy and result',
    buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  },
  stepDuration: {
    name: 'etcd_guardian_migration_step_duration_seconds',
    kind: 'histogram',
    valueType: 'float',
    unit: 's',
    description: 'Duration of each migration step (retries included), by step, strategy and status (done, failed, compensated)',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  },
} as const satisfies Record<string, MetricDefinition>;

/** A short key of `GUARDIAN_METRICS`. */
export type GuardianMetric = keyof typeof GUARDIAN_METRICS;

/** One value to record: a counter increment, a gauge value or a histogram observation, with its labels. */
export interface MetricSample {
  metric: GuardianMetric;
  value: number;
  labels: Readonly<Record<string, string>>;
}

/** The bucket bounds of every histogram, by name: what the exporter's `histogramBucketOverrides` takes. */
export function histogramBuckets(): Record<string, number[]> {
  const buckets: Record<string, number[]> = {};
  for (const definition of Object.values(GUARDIAN_METRICS) as MetricDefinition[]) {
    if (definition.buckets) buckets[definition.name] = [...definition.buckets];
  }
  return buckets;
}
