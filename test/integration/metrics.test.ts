import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { startMigration } from '../../src/cli/migrate-command';
import { parsePrometheusText, sampleValue, type Sample } from '../../src/metrics/prometheus';
import { HEALTH_STATES } from '../../src/observability/cluster-metrics';
import type { MigrationResult } from '../../workflows/migrate';
import type { MonitorStatus } from '../../workflows/monitor';
import { metricsIn, monitoringExpressions, PROMETHEUS_OWN } from '../monitoring-assets';
import { startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { aFollower } from './harness/migration';
import { until } from './harness/wait';

/**
 * What an SRE scrapes and reads from `etcd-guardian worker`: the built CLI's worker runs in a process of its own
 * against the sandbox, with its Prometheus endpoint on and its log level from the environment. A monitor samples
 * the cluster and a real migration moves a follower; the guardian's metrics on the worker's endpoint and its JSON
 * log lines must tell the same story as the workflows themselves.
 */

jest.setTimeout(420_000);

const cli = join(__dirname, '../../dist/src/cli/main.js');
const CLUSTER = { cluster: 'main' };
const MONITOR_INTERVAL_MS = 2000;

let h: GuardianHarness;
let worker: ChildProcess | undefined;
let workerExit: Promise<number | null> | undefined;
let logFile: string;
let metricsUrl: string;
let monitor: WorkflowHandle | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function scrape(): Promise<Sample[]> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl}: HTTP ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** The value of a metric with these labels (others may be there too); throws when it is absent. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const value = sampleValue(samples, name, labels);
  if (value === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)} in the scrape`);
  return value;
}

/** The worker's stdout so far, one parsed object a line; a line that is not JSON fails the test here. */
function logLines(): Record<string, unknown>[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`worker stdout line ${index + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

async function monitorStatus(): Promise<MonitorStatus> {
  if (!monitor) throw new Error('no monitor');
  return monitor.query<MonitorStatus>('status');
}

beforeAll(async () => {
  if (!existsSync(cli) || !existsSync(join(__dirname, '../../dist/src/observability/runtime.js'))) {
    throw new Error(`${cli} is missing or predates src/observability: run \`npm run build\` (scripts/test.sh does) before the integration tests`);
  }
  // The monitor records and never acts (dry run): the one migration of this suite is the one it starts by hand.
  // Endpoints get a whole second: on a loaded machine a shorter deadline makes a healthy member look unreachable.
  const tuning = { interval: '2s', endpointTimeout: '1s', hysteresisSamples: 3, dryRun: true };
  h = await startGuardian({ worker: false, tuning });
  const configFile = writeConfigFile(h.sandbox, tuning);
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  logFile = join(h.sandbox.info.stateDir, 'worker-stdout.jsonl');
  const out = openSync(logFile, 'a');
  // The port and the level come from the environment, as in a container.
  worker = spawn(process.execPath, [cli, 'worker', '--config', configFile], {
    detached: true,
    stdio: ['ignore', out, 'inherit'],
    env: { ...process.env, ETCD_GUARDIAN_METRICS_PORT: String(port), ETCD_GUARDIAN_LOG_LEVEL: 'debug' },
  });
  closeSync(out);
  const child = worker;
  workerExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await until('the worker to say it started', () => Promise.resolve(logLines().some((l) => String(l['msg']).startsWith('etcd-guardian worker: task queue')) ? true : undefined), { timeoutMs: 120_000 });
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-metrics',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: MONITOR_INTERVAL_MS, continueAsNewEvery: 100 }],
  });
}, 240_000);

afterAll(async () => {
  await monitor?.terminate('test over').catch(() => undefined);
  if (worker?.exitCode === null) {
    try {
      process.kill(-(worker.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await h?.stop();
});

it("serves the cluster's quorum figures and health next to the SDK's metrics, one count per monitor cycle", async () => {
  await until('three monitor cycles', async () => ((await monitorStatus()).cycles >= 3 ? true : undefined));
  await monitor?.signal('pause');
  // Once paused, the cycles the metrics counted and the cycles the monitor reports settle on the same number.
  const { status, samples } = await until('the cycle count to settle', async () => {
    const current = await monitorStatus();
    const scraped = await scrape();
    return current.paused && sampleValue(scraped, 'etcd_guardian_monitor_cycles_total', { ...CLUSTER, result: 'ok' }) === current.cycles
      ? { status: current, samples: scraped }
      : undefined;
  });
  expect(valueOf(samples, 'etcd_guardian_cluster_voters', CLUSTER)).toBe(3);
  expect(valueOf(samples, 'etcd_guardian_cluster_healthy_voters', CLUSTER)).toBe(3);
  expect(valueOf(samples, 'etcd_guardian_cluster_fault_tolerance', CLUSTER)).toBe(1);
  expect(status.health).toBe('healthy');
  expect(HEALTH_STATES.map((health) => [health, valueOf(samples, 'etcd_guardian_cluster_health', { ...CLUSTER, health })])).toEqual(
    HEALTH_STATES.map((health) => [health, health === status.health ? 1 : 0]),
  );
  const findings = samples.filter((s) => s.name === 'etcd_guardian_cluster_findings' && s.labels['cluster'] === 'main');
  expect(findings.length).toBeGreaterThan(0);
  expect(findings.reduce((sum, s) => sum + s.value, 0)).toBe(status.assessment?.findings.length);
  // One decision a cycle; those of a healthy cluster are "none", for reason "healthy".
  const decisions = samples.filter((s) => s.name === 'etcd_guardian_monitor_decisions_total' && s.labels['cluster'] === 'main');
  expect(decisions.reduce((sum, s) => sum + s.value, 0)).toBe(status.cycles);
  expect(valueOf(samples, 'etcd_guardian_monitor_decisions_total', { ...CLUSTER, decision: 'none', reason: 'healthy' })).toBeGreaterThan(0);
  // A quiet cluster keeps its leader: the counter is there, at 0.
  expect(valueOf(samples, 'etcd_guardian_cluster_leader_changes_total', CLUSTER)).toBe(0);
  // The SDK's own metrics are on the same endpoint.
  expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
});

it('counts a migration by strategy and result, with its duration and every step in histograms', async () => {
  const member = await aFollower(h);
  const handle = await startMigration(h.client, h.config.temporal.taskQueue, { cluster: 'main', member, reason: 'metrics drill' });
  const result = (await handle.result()) as MigrationResult;
  const described = await handle.describe();
  const workflowSeconds = ((described.closeTime?.getTime() ?? Number.NaN) - described.startTime.getTime()) / 1000;
  expect(result).toMatchObject({ member, strategy: 'surge' });

  const migration = { ...CLUSTER, strategy: 'surge', result: 'succeeded' };
  const samples = await until('the migration in the metrics', async () => {
    const scraped = await scrape();
    return sampleValue(scraped, 'etcd_guardian_migrations_total', migration) === undefined ? undefined : scraped;
  });
  expect(valueOf(samples, 'etcd_guardian_migrations_total', migration)).toBe(1);
  expect(valueOf(samples, 'etcd_guardian_migration_duration_seconds_count', migration)).toBe(1);
  const recordedSeconds = valueOf(samples, 'etcd_guardian_migration_duration_seconds_sum', migration);
  // Recorded by the workflow at its last step; the server closes it a moment later.
  expect(recordedSeconds).toBeGreaterThan(workflowSeconds - 2);
  expect(recordedSeconds).toBeLessThanOrEqual(workflowSeconds + 0.5);
  expect(valueOf(samples, 'etcd_guardian_migration_duration_seconds_bucket', { ...migration, le: '+Inf' })).toBe(1);

  // Each step the workflow reports has its count and time in the step histogram.
  const steps = new Map<string, { count: number; seconds: number }>();
  for (const step of result.steps) {
    const entry = steps.get(step.step) ?? { count: 0, seconds: 0 };
    steps.set(step.step, { count: entry.count + 1, seconds: entry.seconds + (step.durationMs ?? 0) / 1000 });
  }
  expect([...steps.keys()].sort()).toEqual(['backup-snapshot', 'choose-node', 'delete-pod', 'move-leader', 'plan', 'rejoin', 'remove-member', 'schedule-pod', 'verify-member', 'verify-quorum']);
  for (const [step, expected] of steps) {
    const labels = { ...CLUSTER, strategy: 'surge', step, status: 'done' };
    expect([step, valueOf(samples, 'etcd_guardian_migration_step_duration_seconds_count', labels)]).toEqual([step, expected.count]);
    expect(valueOf(samples, 'etcd_guardian_migration_step_duration_seconds_sum', labels)).toBeCloseTo(expected.seconds, 3);
  }

  // The monitor, resumed, sees the cluster whole again: three healthy voters, one failure tolerated.
  const before = (await monitorStatus()).cycles;
  await monitor?.signal('resume');
  await until('the cluster figures after the migration', async () => {
    if ((await monitorStatus()).cycles < before + 2) return undefined;
    const scraped = await scrape();
    return valueOf(scraped, 'etcd_guardian_cluster_healthy_voters', CLUSTER) === 3 && valueOf(scraped, 'etcd_guardian_cluster_fault_tolerance', CLUSTER) === 1 ? true : undefined;
  });
});

it('exports every metric deploy/monitoring\'s alerts and dashboard use, with the cluster\'s label', async () => {
  const used = new Map<string, string[]>();
  for (const { where, expr } of monitoringExpressions()) {
    for (const name of metricsIn(expr)) if (!PROMETHEUS_OWN.has(name)) used.set(name, [...(used.get(name) ?? []), where]);
  }
  const scraped = await scrape();
  const exported = new Set(scraped.filter((s) => s.labels['cluster'] === 'main').map((s) => s.name));
  const missing = [...used].filter(([name]) => !exported.has(name)).map(([name, where]) => `${name} (${where.join(', ')})`);
  expect(missing).toEqual([]);
  // The monitor's clock: its last cycle is recent, and its interval is the configured one.
  const last = valueOf(scraped, 'etcd_guardian_monitor_last_cycle_timestamp_seconds', CLUSTER);
  expect(Date.now() / 1000 - last).toBeLessThan(30);
  expect(valueOf(scraped, 'etcd_guardian_monitor_interval_seconds', CLUSTER)).toBe(MONITOR_INTERVAL_MS / 1000);
});

it('writes JSON lines: the SDK (worker, workflows, activities) and the migration steps with cluster, member and node, no secrets', async () => {
  const handle = h.client.workflow.getHandle('migrate-main');
  const migration = (await handle.result()) as MigrationResult;
  const { runId } = await handle.describe();
  // SIGTERM, as Kubernetes stops a pod: the worker drains, says so and exits 0.
  process.kill(-(worker?.pid ?? 0), 'SIGTERM');
  const deadline = new Promise<string>((resolve) => setTimeout(() => resolve('still running 60 s after SIGTERM'), 60_000).unref());
  expect(await Promise.race([workerExit, deadline])).toBe(0);

  const text = readFileSync(logFile, 'utf8');
  const lines = logLines();
  for (const line of lines) {
    expect([typeof line['level'], typeof line['time'], typeof line['msg']]).toEqual(['number', 'number', 'string']);
  }
  expect(text).not.toMatch(/taskToken|-----BEGIN/);

  expect(lines.find((l) => String(l['msg']).startsWith('etcd-guardian worker: task queue'))).toMatchObject({
    level: 30,
    taskQueue: 'etcd-guardian',
    clusters: ['main'],
    metricsAddress: `0.0.0.0:${new URL(metricsUrl).port}`,
  });
  expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'etcd-guardian worker stopped' });
  // The SDK's lines with their attributes, at the debug level ETCD_GUARDIAN_LOG_LEVEL asked for: the worker's, the
  // native core's (forwarded), the activities', and the workflows' (sent out of the workflow sandbox by its sinks).
  const sdk = (component: string, msg: string) => lines.filter((l) => l['sdkComponent'] === component && l['msg'] === msg);
  expect(sdk('worker', 'Worker state changed')[0]).toMatchObject({ level: 30, taskQueue: 'etcd-guardian' });
  expect(lines.some((l) => l['sdkComponent'] === 'core' && l['level'] === 20)).toBe(true);
  expect(sdk('worker', 'Activity completed').some((l) => l['activityType'] === 'observeCycle' && l['workflowType'] === 'monitorCluster' && l['isLocal'] === true)).toBe(true);
  expect(sdk('worker', 'Workflow completed').filter((l) => l['workflowId'] === 'migrate-main')).toEqual([
    expect.objectContaining({ level: 20, workflowType: 'migrateMember', runId, namespace: 'default' }),
  ]);

  // The guardian's own lines at the key moments of the migration, with the activity's attributes.
  const of = (step: string) => lines.filter((l) => l['step'] === step && l['workflowId'] === 'migrate-main');
  expect(of('plan')[0]).toMatchObject({ level: 30, cluster: 'main', member: migration.member, strategy: 'surge', fromNode: migration.from, activityType: 'prepareMigration' });
  // Started, then finished: removed, or found already gone when the request reached the leaving member itself and
  // its answer was lost (the activity's own retry then finds etcd no longer knows it).
  const removal = of('remove-member');
  expect(removal[0]?.['msg']).toMatch(new RegExp(`^remove-member: removing ${migration.member} \\(`));
  expect(removal.at(-1)?.['msg']).toMatch(new RegExp(`^remove-member: (removed|already gone:) ${migration.member} from main$`));
  expect(removal.at(-1)).toMatchObject({ level: 30, cluster: 'main', member: migration.member, node: migration.from, activityType: 'removeMember' });
  expect(of('schedule-pod').some((l) => l['node'] === migration.to && l['member'] === migration.newMember)).toBe(true);
  expect(of('verify-quorum').at(-1)).toMatchObject({ cluster: 'main', voters: migration.verified?.voters });
});
