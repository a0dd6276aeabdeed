import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createBackupActivities } from '../activities/backup';
import { createRecoveryActivities } from '../activities/recovery';
import { createStoredBackupActivities } from '../activities/stored-backups';
import { createMaintenanceActivities } from '../activities/maintenance';
import { createMigrationActivities } from '../activities/migration';
import { createFleetActivities, freezeReader } from '../activities/fleet';
import { createMonitorActivities } from '../activities/monitor';
import { createStatefulSetActivities } from '../activities/statefulset';
import type { ActivityDeps } from '../activities/runtime';
import { createTrackingActivities } from '../activities/tracking';
import type { GuardianConfig } from '../src/config/schema';
import { BUNDLER_OPTIONS, WORKFLOWS_PATH } from './bundle-options';
import { watchConfig, type ConfigWatchEvents } from './config-reload';
import { KubeGateway, loadKubeConfig } from '../src/kube/gateway';
import { buildClusterRuntimes } from './runtimes';

const silentReload: ConfigWatchEvents = { applied: () => {}, invalid: () => {} };
import { explainTemporalConnectError, temporalTls } from './temporal-connection';

/** Where the worker finds its workflow code: a prebuilt bundle (production) or the source path (tests, dev). */
export type WorkflowSource = { workflowBundlePath: string } | { workflowsPath: string };

/** The default source: the source tree's workflows, bundled at start. */
export function sourceWorkflows(): WorkflowSource {
  return { workflowsPath: WORKFLOWS_PATH };
}

/** Every activity of the guardian, built from its dependencies. */
export function createActivities(deps: ActivityDeps, temporal?: Client) {
  return { ...createMonitorActivities(deps, temporal), ...createBackupActivities(deps), ...createStoredBackupActivities(deps), ...createRecoveryActivities(deps), ...createMigrationActivities(deps), ...createMaintenanceActivities(deps), ...createStatefulSetActivities(deps), ...createTrackingActivities(temporal ? { temporal } : {}), ...createFleetActivities({
      clusters: deps.clusters,
      ...(temporal ? { temporal } : {}),
      // A getter: a reloaded config replaces deps.fleet.
      get fleet() {
        return deps.fleet;
      },
    }) };
}

/**
 * How long a workflow task waits on the sticky queue of the worker that ran the workflow last before any worker of the
 * task queue may take it (the SDK's default is 10 s). A worker that dies without a word (SIGKILL, a lost machine)
 * keeps its sticky queue looking alive to the server for a while: this bounds how late its monitors' next cycle is.
 * A worker too busy to take its own task in 2 s loses only its cache of that workflow (another replays the history).
 */
export const STICKY_QUEUE_TIMEOUT_MS = 2_000;

/** The worker of the guardian: the one place where config becomes clients, gateways and a Temporal worker. */
export async function createGuardianWorker(
  config: GuardianConfig,
  options: { source?: WorkflowSource; connection?: NativeConnection; deps?: Partial<ActivityDeps>; configFile?: string; onReload?: ConfigWatchEvents } = {},
): Promise<{ worker: Worker; connection: NativeConnection; client: Client; deps: ActivityDeps; stopWatching: () => void }> {
  const tls = temporalTls(config.temporal);
  const explained = async (error: unknown): Promise<never> => {
    throw await explainTemporalConnectError(error, config.temporal);
  };
  const connection = options.connection ?? (await NativeConnection.connect({ address: config.temporal.address, ...(tls ? { tls } : {}) }).catch(explained));
  // The tracking activities read visibility through a plain client of their own.
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address, ...(tls ? { tls } : {}) }).catch(explained), namespace: config.temporal.namespace });
  // One Kubernetes gateway for the worker, kept across config reloads (its section needs a restart anyway).
  const kube = new KubeGateway(loadKubeConfig(config.kubernetes));
  const runtimes = buildClusterRuntimes(config, kube);
  const deps: ActivityDeps = {
    clusters: runtimes,
    now: () => new Date(),
    fleet: { budget: { ...config.fleet.budget }, leaseTimeoutMs: config.fleet.leaseTimeout },
    freezeOf: freezeReader(client),
    ...options.deps,
  };
  const source = options.source ?? sourceWorkflows();
  const workerOptions: WorkerOptions = {
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities(deps, client),
    shutdownGraceTime: config.worker.shutdownGraceTime,
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT_MS,
    ...(config.worker.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.worker.maxCachedWorkflows } : {}),
    ...('workflowBundlePath' in source ? { workflowBundle: { codePath: source.workflowBundlePath } } : { workflowsPath: source.workflowsPath, bundlerOptions: BUNDLER_OPTIONS }),
  };
  const worker = await Worker.create(workerOptions);
  // The config file is read again when it changes: clusters added, removed and changed take effect at their next activity.
  const stopConfig = options.configFile && deps.clusters === runtimes ? watchConfig(options.configFile, deps, runtimes, config, options.onReload ?? silentReload, { build: (next) => buildClusterRuntimes(next, kube) }) : () => {};
  // Stops watching the config file and the Kubernetes objects, so that nothing keeps the process alive.
  const stopWatching = (): void => {
    stopConfig();
    kube.close();
  };
  return { worker, connection, client, deps, stopWatching };
}
