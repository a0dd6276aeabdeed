import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../test/integration/harness/temporal-dev-server';
import { cycles, eventsPerCycle } from './history';
import { quantile, writeReport } from './stats';

/**
 * What monitoring a fleet costs: one worker process (`bench/fleet-worker.ts`, the real worker, workflow bundle and
 * activities over in-process models of etcd and Kubernetes, three members per cluster) running one monitorCluster per
 * cluster at a 15 s interval against a real Temporal dev server, for 1, 10, 100 and 500 clusters. Measured over a
 * window after a warm-up: the worker's and the server's CPU time (/proc/<pid>/stat) and the worker's largest RSS;
 * from a sample of the monitors' histories, history events per cycle and the cycle's activity time.
 */

jest.setTimeout(3_600_000);

const COUNTS = (process.env['FLEET_BENCH_COUNTS'] ?? '1,10,100,500').split(',').map(Number);
const INTERVAL_MS = 15_000;
const WARM_UP_MS = 35_000;
const WINDOW_MS = 60_000;
const SAMPLE = 5;
const TICKS_PER_SECOND = 100;
const BUNDLE = join(__dirname, '../dist/workflow-bundle.js');
// The worker as deploy/deployment.yaml and deploy/config.yaml run it: a 192 MB old space, every monitor cached.
// FLEET_WORKER_NODE_FLAGS and FLEET_WORKER_MAX_CACHED weigh others ("" for node's and the SDK's defaults).
const NODE_FLAGS = process.env['FLEET_WORKER_NODE_FLAGS'] ?? '--max-old-space-size=192';
const MAX_CACHED = process.env['FLEET_WORKER_MAX_CACHED'] ?? '1000';
// The worker runs as production runs the guardian: compiled JavaScript on plain node, no TypeScript loader.
const WORKER = join(__dirname, '../dist/fleet-bench/bench/fleet-worker.js');

function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ([11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) * 1000) / TICKS_PER_SECOND;
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

let server: DevServer;
let client: Client;
const rows: (string | number)[][] = [];
const results: Record<string, unknown> = {};

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` before the fleet bench`);
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(__dirname, 'tsconfig.fleet-worker.json')], { stdio: 'inherit' });
  server = await startDevServer();
  client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
  writeReport('fleet', {
    title: 'Monitoring a fleet: one worker, 1 to 500 clusters',
    method:
      'Measured by `npm run bench` (`npx jest -c jest.bench.config.js --runInBand bench/fleet.bench.ts`; `FLEET_BENCH_COUNTS=1,10` for fewer). ' +
      'One worker process (bench/fleet-worker.ts compiled by `tsc -p bench/tsconfig.fleet-worker.json`, run by plain node: the real Temporal worker with the built workflow bundle and every activity, over ' +
      'in-process models of etcd and Kubernetes from test/simulation, three members per cluster, all healthy) against a real Temporal dev ' +
      `server; one monitorCluster per cluster at a ${INTERVAL_MS / 1000} s interval. After ${WARM_UP_MS / 1000} s of warm-up, CPU time ` +
      `(utime+stime, /proc/<pid>/stat) of the worker and of the dev server over a ${WINDOW_MS / 1000} s window, and the worker's largest VmRSS in ` +
      `it, and the largest heap of its main thread (activities, models, the SDK's JavaScript side; the rest of the RSS is the workflow thread's heap, the SDK's Rust core and free space). History events per cycle and the cycle's activity time (observeCycle's own measure) from ${SAMPLE} monitors' histories. The models' ` +
      `memory is counted in the worker's. Node flags: ${NODE_FLAGS ? `\`${NODE_FLAGS}\`` : "node's defaults"}; maxCachedWorkflows: ${MAX_CACHED || "the SDK's default"}.`,
    header: ['clusters', 'history events per cycle', 'activity time p50 (ms)', 'p99 (ms)', 'worker CPU (% of one core)', 'worker RSS (MB)', 'of which main-thread heap (MB)', 'Temporal server CPU (% of one core)'],
    rows,
    data: results,
  });
});

it.each(COUNTS)('one worker monitoring %i clusters', async (count) => {
  const taskQueue = `fleet-bench-${count}-${Date.now()}`;
  const flags = NODE_FLAGS.split(' ').filter((flag) => flag !== '');
  const worker: ChildProcess = spawn(process.execPath, [...flags, WORKER, server.address, server.namespace, taskQueue, String(count), BUNDLE], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FLEET_WORKER_MAX_CACHED: MAX_CACHED } });
  const pid = worker.pid ?? 0;
  // The worker reports its main thread's heap every 5 s ("memory {json}"): the largest seen in the window.
  let measuring = false;
  let mainHeap = 0;
  worker.stdout?.on('data', (chunk: Buffer) => {
    for (const [, json] of chunk.toString().matchAll(/^memory (\{.*\})$/gm)) {
      if (measuring) mainHeap = Math.max(mainHeap, (JSON.parse(json ?? '{}') as { heapUsed?: number }).heapUsed ?? 0);
    }
  });
  const ids = Array.from({ length: count }, (_, i) => `fleet-${count}-c${i}`);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.stdout?.on('data', (chunk: Buffer) => (chunk.toString().includes('ready') ? resolve() : undefined));
      worker.once('exit', (code) => reject(new Error(`the fleet worker exited (${code}) before it was ready`)));
    });
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map((workflowId, j) =>
          client.workflow.start('monitorCluster', { workflowId, taskQueue, args: [{ cluster: `c${i + j}`, intervalMs: INTERVAL_MS, continueAsNewEvery: 100 }] }),
        ),
      );
    }
    await sleep(WARM_UP_MS);
    const [workerFrom, serverFrom, from] = [cpuMs(pid), cpuMs(server.pid), Date.now()];
    measuring = true;
    let rss = 0;
    while (Date.now() - from < WINDOW_MS) {
      rss = Math.max(rss, rssBytes(pid));
      await sleep(1_000);
    }
    measuring = false;
    const elapsed = Date.now() - from;
    const workerCpu = ((cpuMs(pid) - workerFrom) / elapsed) * 100;
    const serverCpu = ((cpuMs(server.pid) - serverFrom) / elapsed) * 100;
    const sampled = ids.filter((_, i) => i % Math.max(1, Math.floor(count / SAMPLE)) === 0).slice(0, SAMPLE);
    const times: number[] = [];
    const perCycles: number[] = [];
    let cycleCount = 0;
    for (const id of sampled) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const found = cycles(history.events ?? []);
      times.push(...found.map((c) => c.ms));
      const per = eventsPerCycle(history.events ?? []);
      if (per !== undefined) perCycles.push(per);
      cycleCount += found.length;
    }
    const perCycle = perCycles.reduce((a, b) => a + b, 0) / Math.max(1, perCycles.length);
    results[`${count} clusters`] = { workerCpuPercent: workerCpu, workerRssBytes: rss, workerMainHeapBytes: mainHeap, serverCpuPercent: serverCpu, eventsPerCycle: perCycle, activityP50Ms: quantile(times, 0.5), activityP99Ms: quantile(times, 0.99), sampledCycles: cycleCount };
    rows.push([count, perCycle.toFixed(1), quantile(times, 0.5), quantile(times, 0.99), workerCpu.toFixed(1), Math.round(rss / 1e6), Math.round(mainHeap / 1e6), serverCpu.toFixed(1)]);
  } finally {
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).terminate('bench over').catch(() => undefined)));
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve(undefined) : worker.once('exit', resolve)));
  }
});
