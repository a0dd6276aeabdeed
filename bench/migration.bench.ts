import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { finished, migrationHandle } from '../test/integration/harness/migration';
import { until } from '../test/integration/harness/wait';
import { markdownTable, quantile, seconds } from './stats';

/**
 * Time from fault to verified quorum, split into detection (fault to the migration's start) and each step, for
 * `replace` (node down) and `surge` (node pressure), over several runs against one sandbox and the real worker.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const STEPS = ['plan', 'backup-snapshot', 'move-leader', 'remove-member', 'delete-pod', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum'];

interface Run {
  strategy: string;
  totalMs: number;
  detectionMs: number;
  steps: Record<string, number>;
}

const runs: Run[] = [];
let h: GuardianHarness;

async function healthy(): Promise<void> {
  const monitor = h.client.workflow.getHandle('bench-monitor');
  await until('a healthy cluster', async () => ((await monitor.query<{ health: string }>('status')).health === 'healthy' ? true : undefined), { timeoutMs: 180_000 });
}

async function memberOn(kind: 'replace' | 'surge'): Promise<{ node: string }> {
  const status = await h.sandbox.status();
  const members = status.members.filter((m) => !m.terminating && m.healthy).sort((a, b) => (a.name < b.name ? -1 : 1));
  const victim = kind === 'replace' ? members[0] : members[members.length - 1];
  if (!victim) throw new Error('no healthy member');
  return { node: victim.node };
}

async function oneRun(kind: 'replace' | 'surge'): Promise<void> {
  await healthy();
  const previous = await h.client.workflow.getHandle('migrate-main').describe().then((d) => d.runId, () => undefined);
  const { node } = await memberOn(kind);
  const faultAt = Date.now();
  if (kind === 'replace') await h.sandbox.fault('node-down', node);
  else await h.sandbox.fault('node-pressure', node, { cpu: 0.96, memory: 0.5 });
  const handle = await until('the migration', async () => {
    const current = await migrationHandle(h.client, 180_000);
    const d = await current.describe();
    return d.runId !== previous ? current : undefined;
  }, { timeoutMs: 180_000 });
  const { result, from, to } = await finished(handle);
  const steps: Record<string, number> = {};
  for (const s of result.steps) if (s.durationMs !== undefined) steps[s.step] = (steps[s.step] ?? 0) + s.durationMs;
  runs.push({ strategy: result.strategy, totalMs: to - faultAt, detectionMs: from - faultAt, steps });
  await h.sandbox.heal(node);
}

beforeAll(async () => {
  h = await startGuardian({ tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '2s' } });
  await h.client.workflow.start('monitorCluster', { workflowId: 'bench-monitor', taskQueue: h.config.temporal.taskQueue, args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 200 }] });
}, 300_000);

afterAll(async () => {
  await h.client.workflow.getHandle('bench-monitor').terminate('benchmark done').catch(() => undefined);
  await h.stop();
  const rows: (string | number)[][] = [];
  const summary: Record<string, unknown> = {};
  for (const strategy of ['replace', 'surge']) {
    const mine = runs.filter((r) => r.strategy === strategy);
    if (mine.length === 0) continue;
    const column = (pick: (r: Run) => number | undefined): [string, string] => {
      const values = mine.map(pick).filter((v): v is number => v !== undefined);
      return [seconds(quantile(values, 0.5)), seconds(Math.max(...values))];
    };
    rows.push([strategy, mine.length, ...column((r) => r.totalMs), ...column((r) => r.detectionMs), ...STEPS.flatMap((s) => column((r) => r.steps[s]))]);
    summary[strategy] = mine;
  }
  const header = ['strategy', 'runs', 'fault to verified p50 (s)', 'max', 'detection p50', 'max', ...STEPS.flatMap((s) => [`${s} p50`, 'max'])];
  const table = markdownTable(header, rows);
  writeFileSync(join(__dirname, 'results', 'migration.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(__dirname, 'results', 'migration.md'), `# Fault to verified quorum\n\nMeasured by \`npm run bench\` (bench/migration.bench.ts): 1 s monitor interval, 3-sample hysteresis, sandbox node grace period 8 s.\n\n${table}\n`);
  process.stdout.write(`${table}\n`);
});

it(`replace after a node goes down, ${RUNS} runs`, async () => {
  for (let i = 0; i < RUNS; i++) await oneRun('replace');
});

it(`surge after node pressure, ${RUNS} runs`, async () => {
  for (let i = 0; i < RUNS; i++) await oneRun('surge');
});
