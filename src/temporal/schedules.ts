import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { SA } from '../config/search-attributes';
import { formatDurationMs } from '../domain/space';
import { monitorSummary } from '../domain/summaries';

/** What one cluster's schedule should look like. */
export interface MonitorScheduleSpec {
  cluster: string;
  taskQueue: string;
  /** The monitor's sampling interval. */
  intervalMs: number;
  continueAsNewEvery: number;
  /** The cluster's per-call deadline, so the monitor's activity timeouts outlast it. */
  endpointTimeoutMs?: number;
  /** How often the schedule checks that a monitor runs (and starts one if not). */
  everyMs: number;
  /** How late a missed check may still run, for example after the server was down. */
  catchupWindowMs: number;
}

/** What `schedule apply` did for one cluster. */
export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/** The schedule id of a cluster's monitor. */
export function scheduleIdFor(cluster: string): string {
  return `etcd-guardian-monitor-${cluster}`;
}

/** The workflow id prefix of a cluster's monitor (the schedule appends a timestamp). */
export function monitorWorkflowIdFor(cluster: string): string {
  return `monitor-${cluster}`;
}

function monitorArgs(spec: MonitorScheduleSpec) {
  return { cluster: spec.cluster, intervalMs: spec.intervalMs, continueAsNewEvery: spec.continueAsNewEvery, ...(spec.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: spec.endpointTimeoutMs } : {}) };
}

function scheduleOptions(spec: MonitorScheduleSpec): ScheduleOptions {
  return {
    scheduleId: scheduleIdFor(spec.cluster),
    spec: { intervals: [{ every: spec.everyMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'monitorCluster',
      workflowId: monitorWorkflowIdFor(spec.cluster),
      taskQueue: spec.taskQueue,
      args: [monitorArgs(spec)],
      typedSearchAttributes: [{ key: SA.cluster, value: spec.cluster }],
      staticSummary: monitorSummary(spec.cluster, spec.intervalMs),
      workflowTaskTimeout: monitorTaskTimeoutMs(spec.intervalMs),
    },
    // SKIP: while a monitor runs every tick is skipped; once it ends for any reason, the next tick starts one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: spec.catchupWindowMs },
    // Not triggerImmediately: its start is not counted by SKIP, so the first tick would start a second monitor.
    state: { note: `etcd-guardian monitor of cluster ${spec.cluster}` },
  };
}

/**
 * The monitor's workflow task timeout: a quarter of its interval, from 2 s to Temporal's default 10 s. A worker that
 * dies in the middle of a cycle's task holds the monitor this long, and its sticky queue 2 s more (worker/worker.ts),
 * before another worker takes the task and replays the history: a cycle comes about 4-5 s late (2.4-5.1 s measured
 * by the three-worker drill in test/integration/gameday-drills.test.ts), within one interval at the default 10 s.
 */
export function monitorTaskTimeoutMs(intervalMs: number): number {
  return Math.min(10_000, Math.max(2_000, Math.round(intervalMs / 4)));
}

/** True when the existing schedule already does what the spec asks. */
function matches(description: ScheduleDescription, spec: MonitorScheduleSpec): boolean {
  const action = description.action;
  const interval = description.spec.intervals?.[0];
  return (
    action.type === 'startWorkflow' &&
    action.workflowType === 'monitorCluster' &&
    action.taskQueue === spec.taskQueue &&
    action.staticSummary === monitorSummary(spec.cluster, spec.intervalMs) &&
    Number(action.workflowTaskTimeout) === monitorTaskTimeoutMs(spec.intervalMs) &&
    JSON.stringify(action.args ?? []) === JSON.stringify([monitorArgs(spec)]) &&
    description.spec.intervals?.length === 1 &&
    Number(interval?.every) === spec.everyMs &&
    description.policies.overlap === ScheduleOverlapPolicy.SKIP &&
    Number(description.policies.catchupWindow) === spec.catchupWindowMs
  );
}

/** Create the cluster's schedule, or update it when it differs; applying twice changes nothing. */
export async function applyMonitorSchedule(client: Client, spec: MonitorScheduleSpec): Promise<ApplyOutcome> {
  const handle = client.schedule.getHandle(scheduleIdFor(spec.cluster));
  let description: ScheduleDescription;
  try {
    description = await handle.describe();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    await client.schedule.create(scheduleOptions(spec));
    // The first monitor now, as an action SKIP counts (see scheduleOptions).
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    return 'created';
  }
  if (matches(description, spec)) return 'unchanged';
  const desired = scheduleOptions(spec);
  await handle.update((previous) => ({ ...previous, spec: desired.spec, action: desired.action, policies: desired.policies }));
  return 'updated';
}

/**
 * The workflow id of the monitor the schedule is running now, if any. The schedule's list of running actions follows
 * its runs some seconds late (up to half a minute here: a run it just started is missing, one just terminated still
 * there), while its newest action is known at once: that one, when its workflow runs, else the list.
 */
export async function runningMonitor(client: Client, cluster: string): Promise<string | undefined> {
  const description = await client.schedule.getHandle(scheduleIdFor(cluster)).describe();
  const newest = description.info.recentActions.at(-1)?.action.workflow.workflowId;
  if (newest !== undefined) {
    // The latest run of that id: a monitor that continued as new is the same monitor.
    const execution = await client.workflow
      .getHandle(newest)
      .describe()
      .catch(() => undefined);
    if (execution?.status.name === 'RUNNING') return newest;
  }
  return description.info.runningActions[0]?.workflow.workflowId;
}

/** Start a monitor now, unless one runs (overlap SKIP, not the ALLOW_ALL default of trigger()). */
export async function triggerMonitor(client: Client, cluster: string): Promise<void> {
  await client.schedule.getHandle(scheduleIdFor(cluster)).trigger(ScheduleOverlapPolicy.SKIP);
}

/** The schedule id of a cluster's backups. */
export function backupScheduleIdFor(cluster: string): string {
  return `etcd-guardian-backup-${cluster}`;
}

/** What one cluster's backup schedule should look like; `everyMs` undefined: no scheduled backups. */
export interface BackupScheduleSpec {
  cluster: string;
  taskQueue: string;
  everyMs: number | undefined;
}

function backupScheduleOptions(spec: BackupScheduleSpec & { everyMs: number }): ScheduleOptions {
  return {
    scheduleId: backupScheduleIdFor(spec.cluster),
    spec: { intervals: [{ every: spec.everyMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'backupCluster',
      workflowId: `backup-${spec.cluster}-scheduled`,
      taskQueue: spec.taskQueue,
      args: [{ cluster: spec.cluster, reason: 'scheduled' }],
      typedSearchAttributes: [{ key: SA.cluster, value: spec.cluster }],
      staticSummary: `back up ${spec.cluster} every ${formatDurationMs(spec.everyMs)}, each backup proven by a restore drill`,
    },
    // A backup still running when the next is due: that one is skipped, never run beside it.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.min(spec.everyMs, 3_600_000) },
    // The first one is triggered at creation (applyBackupSchedule): triggerImmediately's start is not counted by SKIP.
    state: { note: `etcd-guardian backups of cluster ${spec.cluster}` },
  };
}

/**
 * Create, update or delete the cluster's backup schedule to match `backup.schedule`: a cluster whose config no
 * longer schedules backups loses its schedule ('deleted'), one that never had any reports 'none'.
 */
export async function applyBackupSchedule(client: Client, spec: BackupScheduleSpec): Promise<ApplyOutcome | 'deleted' | 'none'> {
  const handle = client.schedule.getHandle(backupScheduleIdFor(spec.cluster));
  let description: ScheduleDescription | undefined;
  try {
    description = await handle.describe();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  if (spec.everyMs === undefined) {
    if (description === undefined) return 'none';
    await handle.delete();
    return 'deleted';
  }
  const desired = backupScheduleOptions({ ...spec, everyMs: spec.everyMs });
  if (description === undefined) {
    await client.schedule.create(desired);
    // The first one now: a cluster with backups configured should not wait an interval for its first.
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    return 'created';
  }
  const action = description.action;
  const same =
    action.type === 'startWorkflow' &&
    action.workflowType === 'backupCluster' &&
    action.taskQueue === spec.taskQueue &&
    Number(description.spec.intervals?.[0]?.every) === spec.everyMs &&
    description.spec.intervals?.length === 1;
  if (same) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec: desired.spec, action: desired.action, policies: desired.policies }));
  return 'updated';
}

/** What `schedule pause|resume|delete` does to a cluster's schedules. */
export type ScheduleChange = 'pause' | 'resume' | 'delete';

/**
 * Pause, resume or delete a cluster's schedules together: the monitor's (which must exist: ScheduleNotFoundError
 * otherwise) and the backup schedule, when the cluster has one. One switch for everything the guardian schedules on a
 * cluster; a running monitor keeps running either way.
 */
export async function changeSchedules(client: Client, cluster: string, change: ScheduleChange): Promise<void> {
  const act = async (id: string): Promise<void> => {
    const handle = client.schedule.getHandle(id);
    if (change === 'pause') await handle.pause('paused by etcd-guardian schedule pause');
    else if (change === 'resume') await handle.unpause('resumed by etcd-guardian schedule resume');
    else await handle.delete();
  };
  await act(scheduleIdFor(cluster));
  await act(backupScheduleIdFor(cluster)).catch((error: unknown) => {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  });
}

/**
 * Tell the cluster's running monitor its new settings (signal `reconfigure`): applied from its next cycle, which runs
 * at once. Returns the monitor's workflow id, or undefined when none runs (the schedule's next start has them).
 */
export async function reconfigureMonitor(client: Client, spec: MonitorScheduleSpec): Promise<string | undefined> {
  const workflowId = await runningMonitor(client, spec.cluster);
  if (workflowId === undefined) return undefined;
  const { cluster: _cluster, ...settings } = monitorArgs(spec);
  await client.workflow.getHandle(workflowId).signal('reconfigure', settings);
  return workflowId;
}

/** The clusters whose monitor schedules start work on `taskQueue`, by cluster name. */
export async function scheduledClusters(client: Client, taskQueue: string): Promise<string[]> {
  const prefix = scheduleIdFor('');
  const clusters: string[] = [];
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(prefix)) continue;
    const description = await client.schedule
      .getHandle(summary.scheduleId)
      .describe()
      .catch(() => undefined);
    if (description?.action.type === 'startWorkflow' && description.action.taskQueue === taskQueue) clusters.push(summary.scheduleId.slice(prefix.length));
  }
  return clusters.sort();
}

/**
 * Stop watching a cluster that left the config: its schedules deleted, its running monitor cancelled (an operation it
 * started runs on: it was started to outlive the monitor). Returns the monitor cancelled, if one ran.
 */
export async function retireCluster(client: Client, cluster: string): Promise<string | undefined> {
  const monitor = await runningMonitor(client, cluster).catch(() => undefined);
  await changeSchedules(client, cluster, 'delete');
  if (monitor !== undefined) await client.workflow.getHandle(monitor).cancel();
  return monitor;
}

/**
 * Retire every cluster scheduled on `taskQueue` that is not in `configured`: schedules deleted, monitors cancelled.
 * Returns what was done, by schedule id.
 */
export async function pruneSchedules(client: Client, taskQueue: string, configured: readonly string[]): Promise<Record<string, string>> {
  const keep = new Set(configured);
  const done: Record<string, string> = {};
  for (const gone of (await scheduledClusters(client, taskQueue)).filter((name) => !keep.has(name))) {
    const monitor = await retireCluster(client, gone);
    done[scheduleIdFor(gone)] = `deleted (no longer in the config)${monitor ? `; monitor ${monitor} cancelled` : ''}`;
  }
  return done;
}
