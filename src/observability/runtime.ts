import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { DestinationStream, Logger } from 'pino';
import type { WorkerConfig } from '../config/schema';
import { coreLogFilter, createGuardianLogger, PinoTemporalLogger } from './logger';
import { histogramBuckets } from './metric-definitions';

/**
 * The Temporal runtime of the worker process, installed once before any connection: its logger forwards every
 * log line (SDK, workflows, activities, native core) to the guardian's JSON logger, and its Prometheus exporter
 * serves the SDK's metrics and the guardian's own (etcd_guardian_*) on worker.metricsPort.
 */

/** The installed runtime's logger, and where metrics are served (absent when metricsPort is 0). */
export interface GuardianRuntime {
  logger: Logger;
  metricsAddress?: string;
}

/** The runtime's options for the worker's settings; pure, so that tests can read them. */
export function guardianRuntimeOptions(worker: Pick<WorkerConfig, 'logLevel' | 'metricsPort'>, logger: Logger): RuntimeOptions {
  const port = worker.metricsPort;
  return {
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: {
      logging: { filter: coreLogFilter(worker.logLevel), forward: {} },
      ...(port > 0
        ? {
            metrics: {
              prometheus: {
                bindAddress: `0.0.0.0:${port}`,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
                histogramBucketOverrides: histogramBuckets(),
              },
            },
          }
        : {}),
    },
  };
}

/**
 * Installs the runtime; throws if one is already installed in this process (Runtime.install's own check). The
 * destination defaults to stdout.
 */
export function installGuardianRuntime(worker: Pick<WorkerConfig, 'logLevel' | 'metricsPort'>, destination?: DestinationStream): GuardianRuntime {
  const logger = createGuardianLogger({ level: worker.logLevel, ...(destination ? { destination } : {}) });
  Runtime.install(guardianRuntimeOptions(worker, logger));
  return { logger, ...(worker.metricsPort > 0 ? { metricsAddress: `0.0.0.0:${worker.metricsPort}` } : {}) };
}
