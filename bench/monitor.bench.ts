import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGuardian } from '../test/integration/harness/guardian';
import { until } from '../test/integration/harness/wait';
import { cycleTimes, eventsPerCycle } from './history';
import { markdownTable, quantile } from './stats';

/**
 * Monitoring cost: activity time per cycle (from the first activity scheduled to evaluateRisk completed, read from
 * the workflow history) and history events per cycle, for 3 and 5 members.
 */

const CYCLES = 40;
const rows: (string | number)[][] = [];
const results: Record<string, unknown> = {};

it.each([3, 5])('monitoring a cluster of %i members', async (members) => {
  const h = await startGuardian({ sandbox: { members, nodes: members + 3, racks: members }, tuning: { interval: '1s', endpointTimeout: '500ms' } });
  try {
    const handle = await h.client.workflow.start('monitorCluster', {
      workflowId: `bench-monitor-${members}`,
      taskQueue: h.config.temporal.taskQueue,
      args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 1000 }],
    });
    await until(`${CYCLES} cycles`, async () => ((await handle.query<{ cycles: number }>('status')).cycles >= CYCLES ? true : undefined), { timeoutMs: CYCLES * 5000 });
    await handle.terminate('benchmark done');
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const times = cycleTimes(events);
    const perCycle = eventsPerCycle(events) ?? Number.NaN;
    results[`${members} members`] = { cycles: times.length, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), maxMs: Math.max(...times), eventsPerCycle: perCycle };
    rows.push([members, times.length, quantile(times, 0.5), quantile(times, 0.99), Math.max(...times), perCycle.toFixed(1)]);
  } finally {
    await h.stop();
  }
});

afterAll(() => {
  const table = markdownTable(['members', 'cycles', 'activity time p50 (ms)', 'p99 (ms)', 'max (ms)', 'history events per cycle'], rows);
  writeFileSync(join(__dirname, 'results', 'monitor.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(__dirname, 'results', 'monitor.md'), `# Monitoring cost\n\nMeasured by \`npm run bench\` (bench/monitor.bench.ts) on the sandbox, 1 s interval.\n\n${table}\n`);
  process.stdout.write(`${table}\n`);
});
