import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { MonitorStatus } from '../workflows/monitor';
import { CliWorker } from '../test/integration/harness/cli-worker';
import { configDocumentFor, startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { until } from '../test/integration/harness/wait';
import { cycles } from './history';
import { quantile, writeReport } from './stats';

/**
 * Monitoring cost of one worker as the number of clusters grows: the worker runs as its own process
 * (`etcd-guardian worker`), watching N clusters at a 5 s interval, and we read its CPU time and memory from /proc
 * and each cycle's activity time from the monitors' histories.
 */

jest.setTimeout(3_600_000);

const CLUSTER_COUNTS = [1, 10, 25];
const INTERVAL_MS = 5000;
const WARM_UP_MS = 15_000;
const WINDOW_MS = 60_000;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** CPU time of a process and of its waited-for children (utime, stime, cutime, cstime), in milliseconds. */
function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

/** The sandbox's cluster entry repeated `count` times as c01, c02, ...: every copy watches the same 3 members. */
function writeConfig(h: GuardianHarness, count: number): { path: string; names: string[] } {
  const document = configDocumentFor(h.sandbox, { interval: '5s' });
  const [cluster] = document.clusters as Record<string, unknown>[];
  const names = Array.from({ length: count }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  const path = join(h.sandbox.info.stateDir, `guardian-${count}.yaml`);
  writeFileSync(path, stringify({ ...document, clusters: names.map((name) => ({ ...cluster, name })) }));
  return { path, names };
}

const rows: (string | number)[][] = [];
const results: Record<string, unknown> = {};
let h: GuardianHarness;

beforeAll(async () => {
  h = await startGuardian({ worker: false });
}, 300_000);

afterAll(async () => {
  await h?.stop();
  writeReport('cost', {
    title: 'Monitoring cost per number of clusters',
    method:
      'Measured by `npm run bench` (`npx jest -c jest.bench.config.js --runInBand bench/cost.bench.ts`). The sandbox runs one 3-member etcd ' +
      'cluster; the guardian config lists its cluster entry N times under distinct names (c01..cNN), all pointing at the same 3 members, so N ' +
      'clusters cost N times the gateway calls but the etcd and Kubernetes side is shared. One worker runs as its own process ' +
      `(\`node dist/src/cli/main.js worker --config <file>\`, JSON logs to a file) with one monitorCluster per cluster at a ${INTERVAL_MS / 1000} s interval. ` +
      `After ${WARM_UP_MS / 1000} s of warm-up, its CPU time (utime+stime of the process and its children, /proc/<pid>/stat) is read over a ` +
      `${WINDOW_MS / 1000} s window; RSS is the largest VmRSS sampled during that window. Cycles are those whose evaluateRisk completed inside the ` +
      'window; activity time per cycle is fetchRaftMetrics scheduled to evaluateRisk completed, from the histories; history events per cycle is all ' +
      "events of the monitors' histories over all their cycles. The sandbox (node simulator, metrics API) and Temporal run in other processes and are not counted.",
    header: ['clusters', 'cycles in window', 'activity time p50 (ms)', 'p99 (ms)', 'history events per cycle', 'worker CPU (% of one core)', 'CPU ms per cluster-cycle', 'worker RSS (MB)'],
    rows,
    data: results,
  });
});

it.each(CLUSTER_COUNTS)('one worker watching %i clusters', async (count) => {
  const { path, names } = writeConfig(h, count);
  const worker = CliWorker.start(path, { logFile: join(h.sandbox.info.stateDir, `worker-${count}.log`) });
  const pid = worker.pid;
  const monitors = await Promise.all(
    names.map((cluster) =>
      h.client.workflow.start('monitorCluster', {
        workflowId: `bench-cost-${count}-${cluster}`,
        taskQueue: h.config.temporal.taskQueue,
        args: [{ cluster, intervalMs: INTERVAL_MS, continueAsNewEvery: 1000 }],
      }),
    ),
  );
  try {
    await until('every monitor to run a cycle', async () => {
      const done = await Promise.all(monitors.map(async (m) => (await m.query<MonitorStatus>('status')).cycles >= 1));
      return done.every(Boolean) ? true : undefined;
    }, { timeoutMs: 120_000, everyMs: 1000 });
    await sleep(WARM_UP_MS);
    const from = Date.now();
    const cpuBefore = cpuMs(pid);
    let rss = 0;
    while (Date.now() - from < WINDOW_MS) {
      rss = Math.max(rss, rssBytes(pid));
      await sleep(2000);
    }
    const cpu = cpuMs(pid) - cpuBefore;
    const to = Date.now();
    await Promise.all(monitors.map((m) => m.terminate('benchmark done')));
    const histories = await Promise.all(monitors.map(async (m) => (await m.fetchHistory()).events ?? []));
    const all = histories.flatMap((events) => cycles(events));
    const inWindow = all.filter((c) => c.endedAt >= from && c.endedAt <= to).map((c) => c.ms);
    const eventsPerCycle = histories.reduce((n, events) => n + events.length, 0) / all.length;
    const cpuPercent = (cpu / (to - from)) * 100;
    const perCycle = cpu / inWindow.length;
    results[`${count} clusters`] = { cycles: inWindow.length, p50Ms: quantile(inWindow, 0.5), p99Ms: quantile(inWindow, 0.99), eventsPerCycle, cpuMs: cpu, windowMs: to - from, cpuPercent, cpuMsPerClusterCycle: perCycle, rssBytes: rss };
    rows.push([count, inWindow.length, quantile(inWindow, 0.5), quantile(inWindow, 0.99), eventsPerCycle.toFixed(1), cpuPercent.toFixed(1), perCycle.toFixed(1), (rss / 2 ** 20).toFixed(0)]);
  } finally {
    await Promise.all(monitors.map((m) => m.terminate('benchmark done').catch(() => undefined)));
    await worker.stop();
  }
});
