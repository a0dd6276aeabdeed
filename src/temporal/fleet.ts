import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Freeze, FreezeRequest } from '../domain/fleet';
import { FLEET, fleetWorkflowId, type FleetStatus } from '../../workflows/fleet-ids';

/**
 * The fleet coordinator seen from a client (the CLI, tests): start it when none runs, freeze and unfreeze by update
 * (the answer, or the coordinator's refusal naming the bad field), and read its state.
 */

/** Start the coordinator of `taskQueue` unless it runs; returns its workflow id. */
export async function ensureCoordinator(client: Client, taskQueue: string): Promise<string> {
  const workflowId = fleetWorkflowId(taskQueue);
  await client.workflow.start(FLEET.workflowType, {
    workflowId,
    taskQueue,
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `the fleet's coordinator for task queue ${taskQueue}: leases for disruptive operations within the budget, and freezes`,
  });
  return workflowId;
}

/** Freeze the fleet or a cluster; answers the freeze in force. */
export async function freezeFleet(client: Client, taskQueue: string, request: FreezeRequest): Promise<Freeze> {
  const workflowId = await ensureCoordinator(client, taskQueue);
  return client.workflow.getHandle(workflowId).executeUpdate<Freeze, [FreezeRequest]>(FLEET.freeze, { args: [request] });
}

/** Lift the freeze of the fleet (no cluster) or of a cluster; answers the one lifted, if there was one. */
export async function unfreezeFleet(client: Client, taskQueue: string, request: { cluster?: string; by: string }): Promise<Freeze | undefined> {
  const workflowId = await ensureCoordinator(client, taskQueue);
  const answer = await client.workflow.getHandle(workflowId).executeUpdate<{ lifted?: Freeze }, [{ cluster?: string; by: string }]>(FLEET.unfreeze, { args: [request] });
  return answer.lifted;
}

/** The coordinator's state, or undefined when none has run yet (nothing frozen, no lease out). */
export async function readFleet(client: Client, taskQueue: string): Promise<FleetStatus | undefined> {
  try {
    return await client.workflow.getHandle(fleetWorkflowId(taskQueue)).query<FleetStatus>(FLEET.query);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}
