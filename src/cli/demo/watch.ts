import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { errorText, withTimeout } from '../../errors';
import { runningMonitor } from '../../temporal/schedules';
import type { MigrationProgress } from '../../../workflows/migrate';
import type { MonitorStatus } from '../../../workflows/monitor';
import { migrationIdFor } from '../migrate-command';
import { abortReason } from './abort';
import { snapshotOf, type DemoSnapshot, type MigrationView } from './view';

/**
 * Asks the monitor for its `status` and the cluster's migration for its `progress` about once a second, and hands
 * each snapshot to the display. Errors become the snapshot's `problem`; the loop itself never fails.
 */
export class ClusterWatch {
  private status: MonitorStatus | undefined;
  private monitorId: string | undefined;
  private migration: MigrationView | undefined;
  private problem: string | undefined;
  private followMigrations = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  /** The last snapshot. */
  latest: DemoSnapshot;

  constructor(
    private readonly client: Client,
    readonly cluster: string,
    private readonly onSnapshot: (snapshot: DemoSnapshot) => void,
    private readonly everyMs = 1000,
  ) {
    this.latest = snapshotOf(cluster, undefined);
  }

  /** Starts polling. */
  start(): void {
    this.loop ??= this.run();
  }

  /** From now on, look for the cluster's migration too. */
  followMigration(): void {
    this.followMigrations = true;
  }

  /** The migration seen so far, if any. */
  get migrationSeen(): MigrationView | undefined {
    return this.migration;
  }

  /** Resolves once a snapshot satisfies `ready`, or rejects after `timeoutMs` (or when `signal` aborts). */
  async until<T>(what: string, ready: (snapshot: DemoSnapshot) => T | undefined, timeoutMs: number, signal: AbortSignal): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready(this.latest);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${this.problem ? ` (last problem: ${this.problem})` : ''}`);
      await new Promise<void>((resolve, reject) => {
        const settle = (): void => {
          this.listeners.delete(done);
          signal.removeEventListener('abort', aborted);
          clearTimeout(timer);
        };
        const done = (): void => {
          settle();
          resolve();
        };
        const aborted = (): void => {
          settle();
          reject(abortReason(signal));
        };
        const timer = setTimeout(done, 1000);
        this.listeners.add(done);
        if (signal.aborted) aborted();
        else signal.addEventListener('abort', aborted, { once: true });
      });
    }
  }

  /** Stops polling; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Polls once now (also used for the final picture). */
  async refresh(): Promise<DemoSnapshot> {
    this.problem = undefined;
    await this.readMonitor();
    if (this.followMigrations) await this.readMigration();
    this.latest = snapshotOf(this.cluster, this.status, this.migration, this.problem);
    this.onSnapshot(this.latest);
    for (const listener of [...this.listeners]) listener();
    return this.latest;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.refresh().catch(() => undefined);
      if (!this.stopped) await sleep(this.everyMs);
    }
  }

  private async readMonitor(): Promise<void> {
    try {
      // A monitor continues as new under the same id; a schedule starts a new id only when the chain ended.
      this.monitorId ??= await withTimeout(runningMonitor(this.client, this.cluster), 3000, 'schedule describe');
      if (this.monitorId === undefined) {
        this.problem = 'not started yet (the schedule starts it)';
        return;
      }
      this.status = await withTimeout(this.client.workflow.getHandle(this.monitorId).query<MonitorStatus>('status'), 5000, 'status query');
    } catch (error) {
      this.problem = errorText(error);
      this.monitorId = undefined;
    }
  }

  private async readMigration(): Promise<void> {
    const workflowId = migrationIdFor(this.cluster);
    try {
      // The latest run: a later migration of the cluster (another fault while the demo keeps watching) shows too.
      const description = await withTimeout(this.client.workflow.getHandle(workflowId).describe(), 3000, 'migration describe');
      if (description.runId === this.migration?.runId && this.migration.closed !== undefined) return;
      const handle = this.client.workflow.getHandle(workflowId, description.runId);
      const progress = await withTimeout(handle.query<MigrationProgress>('progress'), 5000, 'progress query');
      const status = description.status.name;
      this.migration = { workflowId, runId: description.runId, progress, ...(status === 'RUNNING' ? {} : { closed: status.toLowerCase() }) };
    } catch (error) {
      // Not started yet is the normal state before the fault is confirmed.
      if (error instanceof WorkflowNotFoundError || /not found/i.test(errorText(error))) return;
      this.problem = `migration: ${errorText(error)}`;
    }
  }
}
