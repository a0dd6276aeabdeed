import { BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../../worker/bundle-options';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startDevServer, type DevServer } from './temporal-dev-server';

/** What the suites that run the real workflows over the in-memory models share: a dev server, its clients, the bundle. */
export interface OverModel {
  server: DevServer;
  /** The workers' connection. */
  connection: NativeConnection;
  client: Client;
  bundle: WorkflowBundleWithSourceMap;
  /** A directory for the backups the migrations take. */
  backupRoot: string;
  stop(): Promise<void>;
}

/** Start a Temporal dev server and bundle the workflows side by side; quiet the SDK's logs (retries would bury the output). */
export async function startOverModel(name: string): Promise<OverModel> {
  try {
    // Before any connection.
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // Installed already by another suite in this process: keep it.
  }
  const [server, bundle] = await Promise.all([startDevServer(), bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...BUNDLER_OPTIONS, logger: new DefaultLogger('WARN') })]);
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
  const backupRoot = mkdtempSync(join(tmpdir(), `guardian-${name}-backups-`));
  return {
    server,
    connection,
    client,
    bundle,
    backupRoot,
    stop: async () => {
      await client.connection.close();
      await connection.close();
      await server.stop();
      rmSync(backupRoot, { recursive: true, force: true });
    },
  };
}
