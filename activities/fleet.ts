import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { freezeOf, type FleetBudget, type Freeze, type LeaseHolder, type LeaseRequest } from '../src/domain/fleet';
import { FLEET, fleetWorkflowId, type FleetStatus, type LeaseAsk } from '../workflows/fleet-ids';
import { withFailureTypes } from './failures';
import type { ActivityDeps } from './runtime';
import { runState } from './tracking';

/** The fleet section of the config as the activities read it (durations in milliseconds). */
export interface FleetSettings {
  budget: FleetBudget;
  /** How long an operation waits for a lease before it gives up, having changed nothing. */
  leaseTimeoutMs: number;
  /** How long the worker trusts what it last read of the freezes, for the monitor's decisions. */
  freezeCacheMs?: number;
}

/** No limits, an hour's wait: what a worker without a fleet section does. */
export const DEFAULT_FLEET: FleetSettings = { budget: {}, leaseTimeoutMs: 3_600_000 };

/** What the fleet activities need: the clusters, to find the racks and zones of an operation's nodes. */
export interface FleetDeps {
  clusters?: ActivityDeps['clusters'];
  temporal?: Client;
  fleet?: FleetSettings;
}

/** What an operation asks for: the racks and zones it names, and those of the nodes it names or of its whole cluster. */
export interface FleetLeaseAsk {
  request: Omit<LeaseRequest, 'racks' | 'zones'> & { racks?: string[]; zones?: string[] };
  /** Nodes the operation takes members from or places them on: their racks and zones count. */
  nodes?: string[];
  /** Every node holding one of the cluster's pods (a maintenance, a recovery). */
  wholeCluster?: boolean;
}

/**
 * Activities that talk to the fleet's coordinator: ask for a lease (starting the coordinator when none runs), find
 * holders whose workflows closed, and read the freezes for the monitor (cached, so that a fleet of monitors costs
 * the coordinator one query per worker every few seconds, not one per cycle).
 */
export function createFleetActivities(deps: FleetDeps) {
  const client = (): Client => {
    if (!deps.temporal) throw new Error('the worker was built without a Temporal client, which the fleet coordinator needs');
    return deps.temporal;
  };

  return withFailureTypes({
    /** Ask the coordinator of this task queue for a lease; answers how long to wait for it. */
    async requestFleetLease({ request, nodes, wholeCluster }: FleetLeaseAsk): Promise<{ waitTimeoutMs: number; coordinator: string; racks: string[]; zones: string[] }> {
      // Read at each call: a worker that reloads its config changes deps.fleet.
      const settings = deps.fleet ?? DEFAULT_FLEET;
      const taskQueue = Context.current().info.taskQueue;
      const workflowId = fleetWorkflowId(taskQueue);
      const racks = new Set(request.racks ?? []);
      const zones = new Set(request.zones ?? []);
      if ((nodes && nodes.length > 0) || wholeCluster) {
        const runtime = deps.clusters?.get(request.cluster);
        if (!runtime) throw new Error(`cluster "${request.cluster}" is not configured on this worker: cannot find the racks of its nodes`);
        const named = new Set(nodes ?? []);
        if (wholeCluster) for (const pod of await runtime.kube.listPods(runtime.namespace, runtime.podSelector)) if (pod.nodeName) named.add(pod.nodeName);
        for (const node of await runtime.kube.listNodes(runtime.topology)) {
          if (!named.has(node.name)) continue;
          if (node.rack !== undefined) racks.add(node.rack);
          if (node.domain !== undefined) zones.add(node.domain);
        }
      }
      const ask: LeaseAsk = { ...request, racks: [...racks], zones: [...zones], budget: settings.budget };
      await client().workflow.signalWithStart(FLEET.workflowType, {
        workflowId,
        taskQueue,
        args: [{}],
        signal: FLEET.requestLease,
        signalArgs: [ask],
        staticSummary: `the fleet's coordinator for task queue ${taskQueue}: leases for disruptive operations within the budget, and freezes`,
      });
      return { waitTimeoutMs: settings.leaseTimeoutMs, coordinator: workflowId, racks: ask.racks, zones: ask.zones };
    },

    /** The holders whose workflow run is no longer running. */
    async closedHolders({ holders }: { holders: LeaseHolder[] }): Promise<LeaseHolder[]> {
      const closed: LeaseHolder[] = [];
      for (const holder of holders) {
        try {
          if (!(await runState(client(), holder.workflowId, holder.runId)).running) closed.push(holder);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) closed.push(holder);
          else throw error;
        }
      }
      return closed;
    },
  });
}

/**
 * The freeze over a cluster as the worker last read it from the coordinator of `taskQueue`, read again when older
 * than `maxAgeMs`. No coordinator: nothing is frozen. A coordinator that does not answer: the last answer stands.
 */
export function freezeReader(temporal: Client | undefined, maxAgeMs = 5_000, now: () => Date = () => new Date()) {
  let cached: { atMs: number; taskQueue: string; freezes: Freeze[] } | undefined;
  return async (taskQueue: string, cluster: string): Promise<Freeze | undefined> => {
    const nowMs = now().getTime();
    if (temporal && (cached === undefined || cached.taskQueue !== taskQueue || nowMs - cached.atMs >= maxAgeMs)) {
      try {
        const status: FleetStatus = await temporal.workflow.getHandle(fleetWorkflowId(taskQueue)).query<FleetStatus>(FLEET.query);
        cached = { atMs: nowMs, taskQueue, freezes: status.freezes };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) cached = { atMs: nowMs, taskQueue, freezes: [] };
        else if (cached === undefined) throw error;
      }
    }
    return cached ? freezeOf(cached.freezes, cluster, nowMs) : undefined;
  };
}

/** The fleet activity functions, for `proxyActivities<FleetActivities>()` in workflow code. */
export type FleetActivities = ReturnType<typeof createFleetActivities>;
