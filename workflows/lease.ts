import { ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { FleetActivities, FleetLeaseAsk } from '../activities/fleet';
import { fleetWorkflowId } from './fleet-ids';
import { leaseGrantedSignal, leaseHoldSignal, leaseWaitingSignal, releaseLeaseSignal } from './fleet';

/** The patch under which disruptive workflows take a fleet lease (runs recorded before it replay without one). */
export const FLEET_LEASE = 'fleet-lease';

/** What a lease holder shows in its progress query while it waits. */
export interface LeaseProgress {
  /** Why the operation waits: the budget in use by whom, or the freeze. Absent while it runs. */
  waitingFor?: string;
}

/**
 * One disruptive operation's side of the fleet lease: ask before the first destructive step, wait (showing why),
 * finish the current step and wait while a freeze covers the cluster, and release at the end whatever the end.
 */
export class FleetLease {
  private granted = false;
  private waitingReason: string | undefined;
  private holdReason: string | undefined;
  private asked = false;
  /** How long the operation waited for its lease, in ms. */
  waitedMs = 0;
  /** Whether the coordinator made it wait (the budget was in use, or a freeze): the cluster may have changed since. */
  waited = false;
  private lastAsk: { request: Omit<FleetLeaseAsk['request'], 'holder' | 'requestedAt'>; where: Omit<FleetLeaseAsk, 'request'> } | undefined;

  constructor(private readonly progress: LeaseProgress) {
    setHandler(leaseGrantedSignal, () => {
      this.granted = true;
      this.waitingReason = undefined;
      this.show();
    });
    setHandler(leaseWaitingSignal, ({ reason }) => {
      if (this.granted) return;
      this.waited = true;
      this.waitingReason = reason;
      this.show();
    });
    setHandler(leaseHoldSignal, ({ reason }) => {
      this.holdReason = reason;
      this.show();
    });
  }

  private show(): void {
    const reason = !this.granted ? this.waitingReason : this.holdReason;
    if (reason !== undefined) this.progress.waitingFor = this.granted ? `frozen after the current step: ${reason}` : `a fleet lease: ${reason}`;
    else delete this.progress.waitingFor;
  }

  /** Ask for the lease and wait for it; a lease not granted in the configured time fails LEASE_TIMEOUT, nothing changed. */
  async acquire(request: Omit<FleetLeaseAsk['request'], 'holder' | 'requestedAt'>, where: Omit<FleetLeaseAsk, 'request'> = {}): Promise<void> {
    this.lastAsk = { request, where };
    const info = workflowInfo();
    const startedMs = Date.now();
    const { requestFleetLease } = proxyActivities<FleetActivities>({
      startToCloseTimeout: '15s',
      retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
      summary: `ask the fleet's coordinator for a lease: ${request.description}`,
    });
    this.asked = true;
    this.progress.waitingFor = 'a fleet lease: asked the coordinator';
    const { waitTimeoutMs } = await requestFleetLease({ request: { ...request, holder: { workflowId: info.workflowId, runId: info.runId }, requestedAt: new Date(startedMs).toISOString() }, ...where });
    const got = await condition(() => this.granted, waitTimeoutMs);
    this.waitedMs = Date.now() - startedMs;
    if (!got) {
      const why = this.waitingReason ?? 'the coordinator did not answer';
      await this.release();
      delete this.progress.waitingFor;
      throw ApplicationFailure.create({ message: `no fleet lease within ${Math.round(waitTimeoutMs / 1000)} s (${why}): nothing was changed`, type: 'LEASE_TIMEOUT', nonRetryable: true });
    }
    if (this.waitedMs > 0) log.info(`waited ${Math.round(this.waitedMs / 1000)} s for a fleet lease`);
    this.show();
  }

  /**
   * Give the lease back while `wait` runs (a plan waiting for a person holds no budget), then ask for it again as
   * before; a lease that is not granted again in time fails LEASE_TIMEOUT like the first.
   */
  async releasedWhile<T>(wait: () => Promise<T>): Promise<T> {
    const ask = this.lastAsk;
    if (ask === undefined) return wait();
    await this.release();
    this.granted = false;
    this.holdReason = undefined;
    this.show();
    const result = await wait();
    await this.acquire(ask.request, ask.where);
    return result;
  }

  /** Between steps: wait while a freeze covers the cluster (the coordinator says when it lifts). */
  async betweenSteps(): Promise<void> {
    if (this.holdReason === undefined) return;
    log.warn(`frozen: waiting before the next step: ${this.holdReason}`);
    await condition(() => this.holdReason === undefined);
  }

  /** Give the lease back (or the place in the queue); a coordinator that cannot be told finds the closed workflow. */
  async release(): Promise<void> {
    if (!this.asked) return;
    this.asked = false;
    const info = workflowInfo();
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(fleetWorkflowId(info.taskQueue)).signal(releaseLeaseSignal, { workflowId: info.workflowId, runId: info.runId }),
    ).catch((error: unknown) => log.warn(`could not release the fleet lease: ${error instanceof Error ? error.message : String(error)}`));
  }
}

/**
 * Run `run` under a fleet lease over the whole cluster, asked before anything is planned (so the plan is made after
 * any wait) and released whatever the end. `enabled` false (a dry run, a run recorded before leases, a child covered
 * by its parent's lease): `run` alone. `run` gets the lease to wait between its steps while frozen.
 */
export async function withClusterLease<T>(
  progress: LeaseProgress & { phase: string },
  enabled: boolean,
  request: { cluster: string; operation: FleetLeaseAsk['request']['operation']; description: string },
  run: (lease: FleetLease | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return run(undefined);
  const lease = new FleetLease(progress);
  try {
    progress.phase = 'waiting';
    await lease.acquire(request, { wholeCluster: true });
    return await run(lease);
  } catch (error) {
    if (progress.phase === 'waiting') progress.phase = 'failed';
    throw error;
  } finally {
    await lease.release();
  }
}
