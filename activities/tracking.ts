import type { Client } from '@temporalio/client';
import type { TrackedOperation } from '../src/domain/plan';
import { withFailureTypes } from './failures';

/** What the monitor learns about a migration workflow. */
export type MigrationWorkflowStatus = TrackedOperation;

/** Whether a workflow run still runs, and when it closed; throws WorkflowNotFoundError for one the server does not know. */
export async function runState(client: Client, workflowId: string, runId?: string): Promise<TrackedOperation> {
  const description = await client.workflow.getHandle(workflowId, runId).describe();
  return {
    workflowId,
    running: description.status.name === 'RUNNING',
    status: description.status.name,
    ...(description.closeTime ? { closedAt: description.closeTime.toISOString() } : {}),
  };
}

/** Activities that read Temporal itself, so that the monitor knows of every migration, its own or an operator's. */
export function createTrackingActivities(deps: { temporal?: Client }) {
  const client = (): Client => {
    if (!deps.temporal) throw new Error('the worker was built without a Temporal client, which migration tracking needs');
    return deps.temporal;
  };
  return withFailureTypes({
    /** Whether a migration workflow still runs, and when it closed. */
    async migrationStatus({ workflowId }: { workflowId: string }): Promise<MigrationWorkflowStatus> {
      return runState(client(), workflowId);
    },

    /** The running migration of a cluster and the end of the latest one, from visibility. */
    async latestMigration({ cluster }: { cluster: string }): Promise<{ inFlight?: { workflowId: string; member: string }; lastEndedAt?: string }> {
      const query = `WorkflowType IN ('migrateMember', 'repairMembership') AND EtcdCluster = '${cluster.replace(/'/g, '')}'`;
      let lastEndedAt: string | undefined;
      let inFlight: { workflowId: string; member: string } | undefined;
      let seen = 0;
      for await (const info of client().workflow.list({ query })) {
        if (info.status.name === 'RUNNING') {
          const member = info.typedSearchAttributes.getAll().find((p) => p.key.name === 'EtcdMember')?.value;
          inFlight = { workflowId: info.workflowId, member: typeof member === 'string' ? member : '?' };
        } else if (info.closeTime) {
          const closed = info.closeTime.toISOString();
          if (!lastEndedAt || closed > lastEndedAt) lastEndedAt = closed;
        }
        if (++seen >= 100) break;
      }
      return { ...(inFlight ? { inFlight } : {}), ...(lastEndedAt ? { lastEndedAt } : {}) };
    },
  });
}

/** The tracking activity functions, for `proxyActivities<TrackingActivities>()` in workflow code. */
export type TrackingActivities = ReturnType<typeof createTrackingActivities>;
