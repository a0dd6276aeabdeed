import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { GuardianConfig } from '../config/schema';
import { requestDetails } from '../domain/summaries';
import { temporalClient } from './context';
import { migrationIdFor } from './migrate-command';

/**
 * Start one of a cluster's disruptive workflows (a repair, a maintenance) under the cluster's migration id, so that it
 * never overlaps a migration, say so on stderr, and wait for its result. `what` names it in the errors: "a repair".
 */
export async function runClusterWorkflow<R>(
  config: GuardianConfig,
  cluster: string,
  workflowType: string,
  request: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>,
  what: string,
  staticSummary: string,
): Promise<R> {
  const client = await temporalClient(config);
  const workflowId = migrationIdFor(cluster);
  try {
    const handle = await client.workflow
      .start(workflowType, { workflowId, taskQueue: config.temporal.taskQueue, args: [request], staticSummary, staticDetails: requestDetails(`${what} requested`, request) })
      .catch((error: unknown) => {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw new Error(`a migration, repair or maintenance of cluster ${cluster} is already running (${workflowId}); wait for it (etcd-guardian status)`, { cause: error });
      }
      throw error;
    });
    process.stderr.write(`started ${handle.workflowId} (run ${handle.firstExecutionRunId})\n`);
    return (await handle.result().catch((error: unknown) => {
      if (error instanceof WorkflowFailedError) throw new Error(`${what} failed: ${error.cause?.message ?? error.message}`, { cause: error });
      throw error;
    })) as R;
  } finally {
    await client.connection.close();
  }
}
