import type { MigrationPlan } from '../../../src/domain/plan';
import type { Finding } from '../../../src/domain/risk';
import { migrationEvidence } from '../../../src/report/monitor';
import { buildReport, renderMarkdown } from '../../../src/report/report';
import { anEvent, attributesOf, decoded, eventById, insertAfter, later, payload, recorded, recordedJson, toHistory, type JsonHistory } from './histories';

/**
 * The report of a monitor run: test/fixtures/histories/monitor-cluster.json, recorded from the first run of a
 * monitor (6 cycles, then continue-as-new) while node-1 came under pressure.
 */

const json = recordedJson('monitor-cluster');
const report = buildReport(recorded('monitor-cluster'));
const markdown = renderMarkdown(report);

describe('a recorded monitor run', () => {
  it('reports its cycles, each with its fetches and evaluation, numbered over the chain', () => {
    const monitor = report.monitor;
    expect(monitor?.cycles.map((c) => c.number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(monitor?.cycles.map((c) => c.activities.map((id) => report.activities.find((a) => a.scheduledEventId === id)?.type))).toEqual(
      Array.from({ length: 6 }, () => ['fetchRaftMetrics', 'fetchNodeMetrics', 'evaluateRisk']),
    );
    expect(monitor?.cycles.map((c) => c.quorum && `${c.quorum.healthyVoters}/${c.quorum.voters}`)).toEqual(['3/3', '3/3', '3/3', '3/3', '3/3', '3/3']);
    expect(report.activities[0]?.step).toBe('startup: latestMigration');
    expect(report.activities[1]?.step).toBe('cycle 1: fetchRaftMetrics');
  });

  it('has no decision other than none, and says so', () => {
    expect(report.monitor?.decisions).toEqual([]);
    expect(markdown).toContain('## Decisions other than none\n\nNone: every cycle decided there was nothing to do.');
  });

  it('gathers the findings over the cycles they were seen in', () => {
    expect(report.monitor?.findings.map((f) => [f.kind, f.subject, f.firstCycle, f.lastCycle, f.confirmed])).toEqual([
      ['node-cpu-high', 'etcd-1', 5, 6, false],
      ['node-memory-high', 'etcd-1', 5, 6, false],
      ['node-pressure', 'etcd-1', 5, 6, false],
    ]);
    expect(markdown).toContain('| warning | node-cpu-high | etcd-1 | 5–6 (2) | no | node node-1 of member etcd-1 CPU at 95% of allocatable (threshold 90%) |');
    // Quiet cycles fold into one row; the cycles with findings have their own.
    expect(markdown).toMatch(/\| 1–4 \| 23:00:12\.487 \| [\d.]+ s \| 3\/3, tolerance 1 \| etcd-0 \| none \| none \|/);
    expect(markdown).toContain('| 5 | 23:00:17.094 |');
  });

  it('reports the continue-as-new with the new run and the cycles carried', () => {
    const can = json.events[json.events.length - 1];
    expect(report.status).toBe('continued-as-new');
    expect(report.monitor?.continuedAsNew).toEqual({ at: report.closedAt, newRunId: '0dab382f-f3ff-4b7b-b73b-aae4333c86a8', cyclesCarried: 6 });
    expect(can && attributesOf(can).newExecutionRunId).toBe('0dab382f-f3ff-4b7b-b73b-aae4333c86a8');
    expect(markdown).toContain('Continued as new at 2026-11-24T23:00:18.359Z as run `0dab382f-f3ff-4b7b-b73b-aae4333c86a8`, carrying 6 cycles');
    expect(report.monitor?.healthChanges.map((h) => h.health)).toEqual(['healthy', 'degraded']);
  });

  it("accounts for all of the run's time: cycles, the interval timers and the workflow", () => {
    const first = json.events[0];
    const last = json.events[json.events.length - 1];
    const duration = first && last ? Date.parse(last.eventTime) - Date.parse(first.eventTime) : NaN;
    expect(report.durationMs).toBe(duration);
    expect(report.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(duration);
    const { activityMs, timerMs, workflowMs, totalMs } = report.accounting;
    expect(activityMs + timerMs + workflowMs).toBe(totalMs);
    // Five one-second interval timers fired between the six cycles.
    expect(report.timeline.filter((s) => s.kind === 'timer').map((s) => s.label)).toEqual(Array.from({ length: 5 }, () => 'waiting for the next cycle (1 s)'));
    expect(timerMs).toBeGreaterThanOrEqual(5000);
    // The two fetches run in parallel: the timeline says so.
    expect(report.timeline.some((s) => s.kind === 'parallel' && s.label === 'cycle 1: fetchRaftMetrics ∥ cycle 1: fetchNodeMetrics')).toBe(true);
    expect(markdown).toContain(`= ${(duration / 1000).toFixed(3)} s, the workflow's duration from start to close.`);
  });
});

/** The plan the recorded migration made, to put in a monitor's decision. */
function recordedPlan(): MigrationPlan {
  const migration = recordedJson('migrate-member');
  return decoded(attributesOf(eventById(migration, 8)).result) as MigrationPlan;
}

const MONITOR_RUN = '01a20fc9-c97e-73f3-ae15-4a861969e529';
const MIGRATION_RUN = '01a20fc8-d53b-7484-82c4-a373b18d0278';

/**
 * CONSTRUCTED from the recorded monitor run: in cycle 6 the pending findings about node-1 are confirmed, the
 * decision is to migrate etcd-1, and the monitor starts migrate-main as its child (events 147 and 148 inserted).
 */
function monitorThatMigrates(): { json: JsonHistory; triggers: Finding[] } {
  const m = recordedJson('monitor-cluster');
  const evaluated = eventById(m, 143);
  const result = decoded(attributesOf(evaluated).result) as { assessment: { findings: Finding[] }; decision: unknown };
  const triggers = result.assessment.findings.map((f) => ({ ...f, samples: 3, confirmed: true }));
  result.assessment.findings = triggers;
  const summary = 'migrate etcd-1 from node-1 to node-4 with surge: node-cpu-high, node-memory-high, node-pressure';
  // The child gets the policy's preference (auto), not the plan's surge: it decides again from its own observation.
  result.decision = { kind: 'migrate', dryRun: false, summary, strategyPreference: 'auto', plan: { ...recordedPlan(), triggers } };
  attributesOf(evaluated).result = payload(result);
  const completed = eventById(m, 146);
  insertAfter(m, 146, [
    anEvent(
      'startChildWorkflowExecutionInitiatedEventAttributes',
      {
        workflowId: 'migrate-main',
        workflowType: { name: 'migrateMember' },
        input: payload({ cluster: 'main', member: 'etcd-1', reason: triggers.map((f) => f.message).join('; '), strategy: 'auto', requestedBy: 'monitor-main-test' }),
        workflowTaskCompletedEventId: '146',
      },
      later(completed, 1),
    ),
    anEvent(
      'childWorkflowExecutionStartedEventAttributes',
      { initiatedEventId: '147', workflowExecution: { workflowId: 'migrate-main', runId: MIGRATION_RUN }, workflowType: { name: 'migrateMember' } },
      later(completed, 9),
    ),
  ]);
  return { json: m, triggers };
}

/** CONSTRUCTED from the recorded migration: started by that monitor's event 147, with the monitor's reason. */
function migrationStartedByMonitor(reason: string): JsonHistory {
  const mig = recordedJson('migrate-member');
  const started = attributesOf(eventById(mig, 1));
  started.parentWorkflowExecution = { workflowId: 'monitor-main-test', runId: MONITOR_RUN };
  started.parentWorkflowNamespace = 'default';
  started.parentInitiatedEventId = '147';
  started.input = payload({ cluster: 'main', member: 'etcd-1', reason, strategy: 'auto', requestedBy: 'monitor-main-test' });
  return mig;
}

describe('a monitor run that starts a migration (CONSTRUCTED history)', () => {
  const { json: monitorJson, triggers } = monitorThatMigrates();
  const monitorReport = buildReport(toHistory(monitorJson));
  const monitorMarkdown = renderMarkdown(monitorReport);

  it('reports the decision to migrate and the child migration it started, in its cycle', () => {
    expect(monitorReport.monitor?.decisions.map((d) => [d.cycle, d.decision.kind])).toEqual([[6, 'migrate']]);
    expect(monitorReport.monitor?.migrations).toEqual([
      expect.objectContaining({ workflowId: 'migrate-main', workflowType: 'migrateMember', initiatedEventId: 147, runId: MIGRATION_RUN, outcome: 'started' }),
    ]);
    expect(monitorReport.monitor?.cycles[5]?.migration?.workflowId).toBe('migrate-main');
    expect(monitorReport.monitor?.summary).toContain('1 decision(s) other than none');
    expect(monitorReport.monitor?.summary).toContain('1 migration(s) started');
    expect(monitorMarkdown).toContain('| 6 | migrate | surge | migrate etcd-1 from node-1 to node-4 with surge: node-cpu-high, node-memory-high, node-pressure |');
    expect(monitorMarkdown).toMatch(/\| `migrate-main` run `01a20fc8-d53b-7484-82c4-a373b18d0278` \| [\d:.]+ \| etcd-1 \| started \| node node-1 of member etcd-1 CPU at 95%/);
    expect(monitorReport.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(monitorReport.durationMs);
  });

  it("gives the migration's report the findings that triggered it, with their evidence", () => {
    const evidence = monitorReport.monitor && migrationEvidence(monitorReport.monitor, 'monitor-main-test', 147);
    expect(evidence?.trigger).toMatchObject({ monitor: 'monitor-main-test', cycle: 6, observedAt: '2026-11-24T23:00:18.306Z' });
    expect(evidence?.trigger.findings).toEqual(triggers);
    const migration = buildReport(toHistory(migrationStartedByMonitor(triggers.map((f) => f.message).join('; '))), {
      ...(evidence ? { trigger: evidence.trigger } : {}),
      ...(evidence?.observation ? { observations: [evidence.observation] } : {}),
    });
    const md = renderMarkdown(migration);
    expect(migration.parent).toEqual({ workflowId: 'monitor-main-test', runId: MONITOR_RUN });
    expect(migration.migration?.evidence).toMatchObject({ startedBy: 'monitor', requestedBy: 'monitor-main-test', decision: { cycle: 6 } });
    // The monitor asked for the policy's preference; the migration chose surge from its own look at the cluster.
    expect([migration.migration?.requestedStrategy, migration.migration?.plan?.strategy]).toEqual(['auto', 'surge']);
    expect(md).toContain('Started by the monitor `monitor-main-test` in cycle 6 (observed 2026-11-24T23:00:18.306Z): migrate etcd-1 from node-1 to node-4 with surge');
    expect(md).toContain('| warning | node-cpu-high | etcd-1 | node node-1 of member etcd-1 CPU at 95% of allocatable (threshold 90%) | cpuUsage=0.95, threshold=0.9, usedMillis=3800, allocatableMillis=4000 | 3 (confirmed) |');
    // The members that stayed get their racks from what the monitor saw when it decided.
    expect(migration.migration?.finalMembership?.voters.map((v) => [v.name, v.rack, v.domain])).toEqual([
      ['etcd-0', 'rack-0', 'zone-0'],
      ['etcd-2', 'rack-2', 'zone-1'],
      ['etcd-3', 'rack-1', 'zone-0'],
    ]);
    expect(migration.migration?.finalMembership?.voters[0]?.source).toBe('monitor monitor-main-test cycle 6 (when it decided), observed 2026-11-24T23:00:18.306Z');
  });

  it('has no evidence to give for a child it did not start', () => {
    expect(monitorReport.monitor && migrationEvidence(monitorReport.monitor, 'monitor-main-test', 12)).toBeUndefined();
  });
});
