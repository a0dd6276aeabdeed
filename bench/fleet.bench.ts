import { spawn, type ChildProcess } from 'node:child_process';
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
      'One worker process (`node --import tsx bench/fleet-worker.ts`: the real Temporal worker with the built workflow bundle and every activity, over ' +
      'in-process models of etcd and Kubernetes from test/simulation, three members per cluster, all healthy) against a real Temporal dev ' +
      `server; one monitorCluster per cluster at a ${INTERVAL_MS / 1000} s interval. After ${WARM_UP_MS / 1000} s of warm-up, CPU time ` +
      `(utime+stime, /proc/<pid>/stat) of the worker and of the dev server over a ${WINDOW_MS / 1000} s window, and the worker's largest VmRSS in ` +
      `it. History events per cycle and the cycle's activity time (observeCycle's own measure) from ${SAMPLE} monitors' histories. The models' ` +
      'memory is counted in the worker\'s; tsx compiles the worker at start (part of its RSS).',
    header: ['clusters', 'history events per cycle', 'activity time p50 (ms)', 'p99 (ms)', 'worker CPU (% of one core)', 'worker RSS (MB)', 'Temporal server CPU (% of one core)'],
    rows,
    data: results,
  });
});

it.each(COUNTS)('one worker monitoring %i clusters', async (count) => {
  const taskQueue = `fleet-bench-${count}-${Date.now()}`;
  // Node itself with tsx as a loader: the measured pid is the worker's own (the tsx command runs it as a child).
  const worker: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fleet-worker.ts'), server.address, server.namespace, taskQueue, String(count), BUNDLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = worker.pid ?? 0;
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
    let rss = 0;
    while (Date.now() - from < WINDOW_MS) {
      rss = Math.max(rss, rssBytes(pid));
      await sleep(1_000);
    }
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
    results[`${count} clusters`] = { workerCpuPercent: workerCpu, workerRssBytes: rss, serverCpuPercent: serverCpu, eventsPerCycle: perCycle, activityP50Ms: quantile(times, 0.5), activityP99Ms: quantile(times, 0.99), sampledCycles: cycleCount };
    rows.push([count, perCycle.toFixed(1), quantile(times, 0.5), quantile(times, 0.99), workerCpu.toFixed(1), Math.round(rss / 1e6), serverCpu.toFixed(1)]);
  } finally {
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).terminate('bench over').catch(() => undefined)));
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve(undefined) : worker.once('exit', resolve)));
  }
});
