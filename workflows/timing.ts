/**
 * The migration's activity timeouts and retry policies, as data: the workflow builds its activity proxies from
 * them, and the simulation applies the same retry rules on its virtual clock.
 */

/** A Temporal retry policy, in milliseconds. */
export interface RetryClass {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** Absent: unlimited (bounded by scheduleToCloseMs). */
  maximumAttempts?: number;
}

/** Timeouts and retries of one class of steps. */
export interface ActivityClass {
  startToCloseMs: number;
  heartbeatMs?: number;
  /** Absent: bounded by the attempts only. */
  scheduleToCloseMs?: number;
  retry: RetryClass;
}

/** The classes of migration steps. */
export interface MigrationTiming {
  /** A few API calls each; the timeout is also how long a worker that dies mid-call stalls the step. */
  quick: ActivityClass;
  /** Steps that wait for the cluster (a pod to go, leadership to move), heartbeating every second. */
  waiting: ActivityClass;
  /** etcd's "not yet" (members connected for 5 s, a learner catching up), retried for a while. */
  patient: ActivityClass;
  /** The snapshot, heartbeating while etcd streams it. */
  slow: ActivityClass;
}

/** Production timing, measured on the game day (a dead worker holds a step for 10–15 s, not 45 s). */
export const MIGRATION_TIMING: MigrationTiming = {
  quick: { startToCloseMs: 15_000, retry: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 10_000, maximumAttempts: 8 } },
  waiting: { startToCloseMs: 120_000, heartbeatMs: 10_000, retry: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 10_000, maximumAttempts: 8 } },
  patient: { startToCloseMs: 60_000, heartbeatMs: 10_000, scheduleToCloseMs: 120_000, retry: { initialIntervalMs: 1_000, backoffCoefficient: 1.5, maximumIntervalMs: 5_000 } },
  slow: { startToCloseMs: 360_000, heartbeatMs: 10_000, retry: { initialIntervalMs: 5_000, backoffCoefficient: 2, maximumIntervalMs: 20_000, maximumAttempts: 3 } },
};

/** The same class with a longer overall budget (a learner catching up on a large database). */
export function withBudget(cls: ActivityClass, scheduleToCloseMs: number): ActivityClass {
  return { ...cls, scheduleToCloseMs: Math.max(scheduleToCloseMs, cls.scheduleToCloseMs ?? 0) };
}

/**
 * The timing for a cluster whose calls may each take up to `endpointTimeoutMs`: one observation is a few rounds of
 * calls (statuses, the member list through the leader, metrics), so a step's attempt and its heartbeat must outlast
 * several deadlines, or every attempt times out when the endpoint timeout is close to the monitor's interval.
 */
export function scaledTiming(base: MigrationTiming, endpointTimeoutMs: number | undefined): MigrationTiming {
  if (endpointTimeoutMs === undefined) return base;
  const floor = 4 * endpointTimeoutMs + 5_000;
  // Waiting steps heartbeat between observations: room for three deadlines (the default 2 s keeps the measured 10 s).
  const heartbeatFloor = 3 * endpointTimeoutMs + 4_000;
  const scale = (cls: ActivityClass): ActivityClass => ({
    ...cls,
    startToCloseMs: Math.max(cls.startToCloseMs, floor),
    ...(cls.heartbeatMs !== undefined ? { heartbeatMs: Math.max(cls.heartbeatMs, heartbeatFloor) } : {}),
    ...(cls.scheduleToCloseMs !== undefined ? { scheduleToCloseMs: Math.max(cls.scheduleToCloseMs, 2 * floor) } : {}),
  });
  return { quick: scale(base.quick), waiting: scale(base.waiting), patient: scale(base.patient), slow: scale(base.slow) };
}

/** The start-to-close timeout of the monitor's observing activities, for the same reason. */
export function monitorActivityTimeoutMs(endpointTimeoutMs: number | undefined): number {
  return Math.max(30_000, 6 * (endpointTimeoutMs ?? 0) + 5_000);
}

/** The class each migration activity runs under. */
export const ACTIVITY_CLASS = {
  prepareMigration: 'quick',
  prepareRepair: 'quick',
  backupSnapshot: 'slow',
  moveLeader: 'waiting',
  removeMember: 'quick',
  deletePod: 'waiting',
  chooseNode: 'quick',
  addLearner: 'patient',
  createMemberPod: 'quick',
  promoteLearner: 'patient',
  verifyMember: 'patient',
  verifyQuorum: 'patient',
  retireSuccessor: 'quick',
  reserveVolume: 'quick',
  recreateStatefulPod: 'waiting',
  releaseReservedVolume: 'quick',
  releaseVolumes: 'quick',
  describeClusterNow: 'quick',
} as const satisfies Record<string, keyof MigrationTiming>;
