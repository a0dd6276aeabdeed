import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { loadReport } from '../../src/report/report';
import type { MonitorStatus } from '../../workflows/monitor';
import { startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { finished, migrationHandle } from './harness/migration';
import { until } from './harness/wait';
import { buildCli, runCli, type BuiltCli } from './support/cli';

/**
 * The post-mortem of a real migration: the monitor replaces the member of a node that goes down, and
 * `etcd-guardian report migrate-main` names every step with durations that add up to the workflow's duration,
 * the findings that triggered it, and the final membership with racks.
 */

jest.setTimeout(400_000);

let h: GuardianHarness;
let monitor: WorkflowHandleWithFirstExecutionRunId;
let built: BuiltCli | undefined;

beforeAll(async () => {
  built = buildCli();
  h = await startGuardian({ tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '3s' } });
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-report',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 100 }],
  });
}, 240_000);

afterAll(async () => {
  await monitor?.terminate('test over').catch(() => undefined);
  await h?.stop();
  if (built) rmSync(built.outDir, { recursive: true, force: true });
});

it('reports a migration the monitor started: every step, durations adding up, evidence and racks', async () => {
  const victim = 'etcd-1';
  const status = await h.sandbox.status();
  const node = status.members.find((m) => m.name === victim && !m.terminating)?.node ?? '?';
  await h.sandbox.fault('node-down', node);
  const handle = await migrationHandle(h.client);
  await finished(handle);
  // The first monitor cycle after the migration is where the report finds the racks of the members that stayed.
  const cyclesAtEnd = (await monitor.query<MonitorStatus>('status')).cycles;
  await until('a monitor cycle after the migration', async () => ((await monitor.query<MonitorStatus>('status')).cycles > cyclesAtEnd + 1 ? true : undefined));

  const report = await loadReport(h.client, 'migrate-main');
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const ms = (i: number): number => {
    const t = events[i]?.eventTime;
    return Number(String(t?.seconds ?? 0)) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  };
  expect(report.status).toBe('completed');
  expect(report.durationMs).toBe(ms(events.length - 1) - ms(0));
  expect(report.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(report.durationMs);
  expect([...new Set(report.activities.filter((a) => !a.compensation).map((a) => a.step))]).toEqual([
    'plan', 'backup-snapshot', 'remove-member', 'delete-pod', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum',
  ]);
  expect(report.migration?.evidence).toMatchObject({ startedBy: 'monitor', requestedBy: 'monitor-main-report', decision: { monitor: 'monitor-main-report' } });
  expect(report.migration?.evidence.triggers.map((f) => f.member)).toContain(victim);
  const voters = report.migration?.finalMembership?.voters ?? [];
  expect(voters).toHaveLength(3);
  expect(voters.map((v) => v.name)).not.toContain(victim);
  expect(voters.every((v) => v.rack !== undefined)).toBe(true);
  expect(new Set(voters.map((v) => v.rack)).size).toBe(3);
  expect(voters.filter((v) => v.added).map((v) => v.node)).not.toContain(node);

  // The monitor's own report: the decision to migrate and the migration it started, while it keeps running.
  const monitorReport = await loadReport(h.client, 'monitor-main-report');
  expect(monitorReport.status).toBe('running');
  expect(monitorReport.monitor?.migrations.map((m) => [m.workflowId, m.outcome])).toEqual([['migrate-main', 'completed']]);
  expect(monitorReport.monitor?.decisions.filter((d) => d.decision.kind === 'migrate').map((d) => d.cycle)).toEqual([report.migration?.evidence.decision?.cycle]);
  expect(monitorReport.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(monitorReport.durationMs);

  // The same, from the compiled CLI as an operator runs it.
  const config = writeConfigFile(h.sandbox);
  const output = join(h.sandbox.info.stateDir, 'report.md');
  const written = await runCli(built?.main ?? '', ['report', 'migrate-main', '--config', config, '--output', output], h.sandbox.info.stateDir);
  expect(written).toMatchObject({ code: 0, stdout: '' });
  const markdown = readFileSync(output, 'utf8');
  expect(markdown).toContain(`| **total** |  |  |  | **${(report.durationMs / 1000).toFixed(3)} s** |  | = the workflow's duration (${(report.durationMs / 1000).toFixed(3)} s) |`);
  expect(markdown).toContain('Started by the monitor `monitor-main-report`');
  const json = await runCli(built?.main ?? '', ['report', 'migrate-main', '--config', config, '--json'], h.sandbox.info.stateDir);
  expect(JSON.parse(json.stdout)).toMatchObject({ workflowId: 'migrate-main', status: 'completed', durationMs: report.durationMs });
});

it('an unknown workflow id is one line naming it, with exit code 1', async () => {
  const config = writeConfigFile(h.sandbox);
  const result = await runCli(built?.main ?? '', ['report', 'migrate-nowhere', '--config', config], h.sandbox.info.stateDir);
  expect(result).toEqual({
    code: 1,
    stdout: '',
    stderr: `etcd-guardian: no workflow "migrate-nowhere" in namespace ${h.config.temporal.namespace}: check the id (etcd-guardian status shows the running ones; temporal workflow list lists them all)\n`,
  });
});
