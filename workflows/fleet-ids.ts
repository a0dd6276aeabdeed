/**
 * The fleet coordinator's names and shapes, without Temporal's workflow runtime: the activities and the CLI import
 * these to reach the coordinator by name.
 */
import type { FleetBudget, FleetState, LeaseRequest } from '../src/domain/fleet';

/** The coordinator's workflow id for a task queue: one fleet per task queue. */
export function fleetWorkflowId(taskQueue: string): string {
  return `etcd-guardian-fleet-${taskQueue}`;
}

/** A request, with the budget the asking worker is configured with (the newest one wins). */
export type LeaseAsk = LeaseRequest & { budget?: FleetBudget };

/** What the `fleet` query answers. */
export interface FleetStatus extends FleetState {
  /** Why each waiting operation waits, by workflow id. */
  reasons: Record<string, string>;
  /** Leases whose holders a freeze keeps between steps, by workflow id. */
  held: Record<string, string>;
}

/** The coordinator's signal, update and query names. */
export const FLEET = {
  workflowType: 'fleetCoordinator',
  requestLease: 'requestLease',
  releaseLease: 'releaseLease',
  freeze: 'freeze',
  unfreeze: 'unfreeze',
  query: 'fleet',
} as const;
