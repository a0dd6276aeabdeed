import { existsSync } from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { BUNDLE_PATH } from '../../worker/bundle';
import { createGuardianWorker, sourceWorkflows, type WorkflowSource } from '../../worker/worker';
import { cliConfig } from './context';

/** `etcd-guardian worker`: run the worker until SIGINT or SIGTERM, then drain for the configured grace time. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the guardian worker: monitors and migrations for every configured cluster')
    .option('-c, --config <file>', 'config file (default: $ETCD_GUARDIAN_CONFIG, ./etcd-guardian.yaml, ./.sandbox/guardian.yaml)')
    .option('--bundle <file>', 'prebuilt workflow bundle (default: the one `npm run build` writes, else bundle at start)')
    .action(async (options: { config?: string; bundle?: string }) => {
      const config = cliConfig(options.config);
      // Must come before any connection is made. The SDK's Prometheus exporter serves /metrics on the configured
      // port (0 turns it off); the guardian's own per-cluster metrics are to join it there.
      const port = config.worker.metricsPort;
      Runtime.install({
        logger: new DefaultLogger('WARN'),
        ...(port > 0 ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${port}`, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
      });
      const bundle = options.bundle ?? (existsSync(BUNDLE_PATH) ? BUNDLE_PATH : undefined);
      const source: WorkflowSource = bundle ? { workflowBundlePath: bundle } : sourceWorkflows();
      const { worker, connection } = await createGuardianWorker(config, { source });
      process.stdout.write(
        `etcd-guardian worker: task queue ${config.temporal.taskQueue} on ${config.temporal.address} (${config.temporal.namespace}), clusters ${config.clusters.map((c) => c.name).join(', ')}${port > 0 ? `, metrics on :${port}/metrics` : ''}\n`,
      );
      try {
        // Worker.run handles SIGINT/SIGTERM: it stops polling, lets running activities finish within shutdownGraceTime.
        await worker.run();
      } finally {
        await connection.close();
      }
    });
}
