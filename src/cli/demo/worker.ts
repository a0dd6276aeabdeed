import { existsSync } from 'node:fs';
import { Runtime } from '@temporalio/worker';
import pino from 'pino';
import type { GuardianConfig } from '../../config/schema';
import { createGuardianLogger } from '../../observability/logger';
import { guardianRuntimeOptions } from '../../observability/runtime';
import { BUNDLE_PATH } from '../../../worker/bundle';
import { createGuardianWorker, sourceWorkflows } from '../../../worker/worker';

/**
 * The guardian's worker, in the demo's own process. It logs as `etcd-guardian worker` does (JSON lines, the SDK's,
 * the workflows' and activities' and the native core's), but to a file: the terminal belongs to the demo's display.
 */

let installed = false;

/**
 * Installs the Temporal runtime once per process with the worker's logging sent to `logPath`, and leaves SIGINT and
 * SIGTERM to the demo (the SDK would otherwise shut the worker down by itself on them, racing the demo's clean-up).
 */
export function installDemoRuntime(config: GuardianConfig, logPath: string): void {
  if (installed) return;
  installed = true;
  // Synchronous, like the worker's own: nothing to flush or close when the demo ends.
  const logger = createGuardianLogger({ level: config.worker.logLevel, destination: pino.destination({ dest: logPath, sync: true, mkdir: true }) });
  Runtime.install({ ...guardianRuntimeOptions(config.worker, logger), shutdownSignals: [] });
}

/** A running worker and how to stop it. */
export interface DemoWorker {
  /** Resolves when the worker has stopped; rejects if it stops on its own with an error. */
  running: Promise<void>;
  /** Stops polling, lets running activities finish within the configured grace time, stops its watches, closes connections. */
  stop(): Promise<void>;
}

/** Starts the guardian's worker for the config: the prebuilt bundle when `npm run build` made one. */
export async function startDemoWorker(config: GuardianConfig): Promise<DemoWorker> {
  const source = existsSync(BUNDLE_PATH) ? { workflowBundlePath: BUNDLE_PATH } : sourceWorkflows();
  const { worker, connection, client, stopWatching } = await createGuardianWorker(config, { source });
  const running = worker.run();
  let stopping: Promise<void> | undefined;
  return {
    running,
    stop() {
      stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        stopWatching();
        await client.connection.close().catch(() => undefined);
        await connection.close().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
