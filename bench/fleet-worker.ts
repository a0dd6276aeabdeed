/**
 * A guardian worker over N in-process model clusters (test/simulation's etcd and Kubernetes models, three members
 * each), for the fleet bench: the real Temporal worker, workflow bundle and activities, only the clusters are
 * models. Usage: node dist/fleet-bench/bench/fleet-worker.js (compiled by `npx tsc -p bench/tsconfig.fleet-worker.json`) <address> <namespace> <task queue> <clusters> <workflow bundle>
 * Prints "ready" once it polls.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { ActivityDeps, ClusterRuntime } from '../activities/runtime';
import { simRuntime } from '../test/simulation/deps';
import { aWorld } from '../test/simulation/model/builders';
import { createActivities } from '../worker/worker';

async function main(): Promise<void> {
  const [address, namespace, taskQueue, countText, bundlePath] = process.argv.slice(2);
  const count = Number(countText);
  if (!address || !namespace || !taskQueue || !Number.isInteger(count) || count < 1 || !bundlePath) {
    throw new Error('usage: node dist/fleet-bench/bench/fleet-worker.js <address> <namespace> <task queue> <clusters> <workflow bundle>');
  }
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGTERM', 'SIGINT'] });
  const clusters = new Map<string, ClusterRuntime>();
  for (let i = 0; i < count; i++) {
    const name = `c${i}`;
    const world = aWorld({ seed: i + 1, members: 3, nodes: 6, racks: 3, keys: 5 });
    // A bench runs for minutes and never prints the model's schedule: keep no trace of its calls.
    world.calls.tracing = false;
    clusters.set(name, { ...simRuntime(world), name });
  }
  const deps: ActivityDeps = { clusters, now: () => new Date() };
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const connection = await NativeConnection.connect({ address });
  // FLEET_WORKER_MAX_CACHED: the sticky workflow cache's size (the SDK's default when unset or empty).
  const maxCached = process.env['FLEET_WORKER_MAX_CACHED'] || undefined;
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: { codePath: bundlePath },
    activities: createActivities(deps, client),
    ...(maxCached !== undefined ? { maxCachedWorkflows: Number(maxCached) } : {}),
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  // Where the memory is: the main thread's heap (activities, models, the SDK) apart from the process's RSS (which
  // adds the workflow thread's heap, the SDK's Rust core and the free space both keep).
  const report = setInterval(() => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    process.stdout.write(`memory ${JSON.stringify({ rss, heapUsed, heapTotal, external })}\n`);
  }, 5_000);
  report.unref();
  await running;
  await connection.close();
  await client.connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
