import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { BUNDLE_PATH } from '../../worker/bundle';
import { createGuardianWorker, sourceWorkflows, type WorkflowSource } from '../../worker/worker';
import { installGuardianRuntime } from '../observability/runtime';
import { reloadSummary } from '../../worker/config-reload';
import { cliConfig, cliConfigPath } from './context';

/** `etcd-guardian worker`: run the worker until SIGINT or SIGTERM, then drain for the configured grace time. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the guardian worker: monitors and migrations for every configured cluster')
    .option('-c, --config <file>', 'config file (default: $ETCD_GUARDIAN_CONFIG, ./etcd-guardian.yaml, ./.sandbox/guardian.yaml)')
    .option('--bundle <file>', 'prebuilt workflow bundle (default: the one `npm run build` writes, else bundle at start)')
    .action(async (options: { config?: string; bundle?: string }) => {
      const configFile = cliConfigPath(options.config);
      const config = cliConfig(configFile);
      // Must come before any connection is made. Logs go to stdout as JSON lines at worker.logLevel; the SDK's
      // Prometheus exporter serves its metrics and the guardian's on worker.metricsPort (0 turns it off).
      const { logger, metricsAddress } = installGuardianRuntime(config.worker);
      const bundle = options.bundle ?? (existsSync(BUNDLE_PATH) ? BUNDLE_PATH : undefined);
      const source: WorkflowSource = bundle ? { workflowBundlePath: bundle } : sourceWorkflows();
      const { worker, connection, client, stopWatching } = await createGuardianWorker(config, {
        source,
        configFile,
        onReload: {
          applied: (outcome) =>
            logger.warn(
              { added: outcome.added, removed: outcome.removed, changed: outcome.changed, needsRestart: outcome.needsRestart },
              `etcd-guardian worker: ${configFile} changed: ${reloadSummary(outcome)}`,
            ),
          invalid: (error) => logger.error({ configFile }, `etcd-guardian worker: ${configFile} changed but is not valid; the running config stays: ${error}`),
        },
      });
      const port = config.worker.metricsPort;
      logger.info(
        {
          taskQueue: config.temporal.taskQueue,
          temporalAddress: config.temporal.address,
          namespace: config.temporal.namespace,
          clusters: config.clusters.map((c) => c.name),
          ...(metricsAddress ? { metricsAddress } : {}),
        },
        `etcd-guardian worker: task queue ${config.temporal.taskQueue} on ${config.temporal.address} (${config.temporal.namespace}), clusters ${config.clusters.map((c) => c.name).join(', ')}${port > 0 ? `, metrics on :${port}/metrics` : ''}`,
      );
      try {
        // Worker.run handles SIGINT/SIGTERM: it stops polling, lets running activities finish within shutdownGraceTime.
        await worker.run();
        logger.info('etcd-guardian worker stopped');
      } finally {
        stopWatching();
        // Both connections, so that nothing keeps the process alive once the worker has drained.
        await connection.close();
        await client.connection.close();
      }
    });
}
