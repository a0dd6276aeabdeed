import type { MemberSummary } from '../../../src/domain/assemble';
import type { Finding } from '../../../src/domain/risk';
import {
  changes,
  findingAbout,
  formatClock,
  observeDetection,
  renderPanel,
  snapshotOf,
  stepLine,
  stepSentence,
  type DemoSnapshot,
  type Detection,
  type MigrationView,
  type PanelContext,
} from '../../../src/cli/demo/view';
import type { MigrationProgress, StepRecord } from '../../../workflows/migrate';
import type { Health, MonitorStatus } from '../../../workflows/monitor';

/** What the demo shows, from the answers of the monitor's `status` and the migration's `progress` queries. */

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function aMember(name: string, over: Partial<MemberSummary> = {}): MemberSummary {
  const n = name.split('-')[1] ?? '0';
  return { id: `id-${n}`, name, node: `node-${n}`, rack: `rack-${n}`, domain: 'zone-0', healthy: true, isLearner: false, isLeader: false, ...over };
}

function aFinding(over: Partial<Finding> = {}): Finding {
  return { kind: 'member-unreachable', severity: 'critical', member: 'etcd-1', message: 'member etcd-1 does not answer', evidence: {}, samples: 1, confirmed: false, ...over };
}

function aStatus(over: { health?: Health; members?: MemberSummary[]; findings?: Finding[]; cycles?: number; healthyVoters?: number; decision?: MonitorStatus['decision'] } = {}): MonitorStatus {
  const members = over.members ?? [aMember('etcd-0', { isLeader: true }), aMember('etcd-1'), aMember('etcd-2')];
  const voters = members.filter((m) => !m.isLearner).length;
  const healthyVoters = over.healthyVoters ?? members.filter((m) => !m.isLearner && m.healthy).length;
  const leader = members.find((m) => m.isLeader);
  return {
    cluster: 'main',
    paused: false,
    health: over.health ?? 'healthy',
    cycles: over.cycles ?? 5,
    cyclesThisRun: over.cycles ?? 5,
    members,
    assessment: {
      cluster: 'main',
      observedAt: at(0),
      quorum: { voters, healthyVoters, learners: 0, quorum: Math.floor(voters / 2) + 1, faultTolerance: healthyVoters - (Math.floor(voters / 2) + 1), hasQuorum: true },
      ...(leader ? { leader: { id: leader.id, name: leader.name } } : {}),
      findings: over.findings ?? [],
      missingSignals: [],
      healthy: true,
      summary: '',
    },
    ...(over.decision ? { decision: over.decision } : {}),
    migration: {},
  };
}

function aStep(step: string, status: StepRecord['status'], over: Partial<StepRecord> = {}): StepRecord {
  return { step, status, startedAt: at(0), ...(status === 'running' ? {} : { endedAt: at(1500), durationMs: 1500 }), ...over };
}

function aMigration(steps: StepRecord[], over: Partial<MigrationProgress> = {}, closed?: string): MigrationView {
  return {
    workflowId: 'migrate-main',
    runId: 'run-1',
    progress: { cluster: 'main', member: 'etcd-1', phase: 'migrating', strategy: 'replace', from: 'node-1', to: 'node-4', steps, ...over },
    ...(closed ? { closed } : {}),
  };
}

const snap = (status?: MonitorStatus, migration?: MigrationView, problem?: string): DemoSnapshot => snapshotOf('main', status, migration, problem);

describe('a snapshot from the monitor status', () => {
  it('keeps the members with node, rack, health and leader, and names each finding by its subject', () => {
    const s = snap(aStatus({ findings: [aFinding(), aFinding({ kind: 'node-not-ready', member: undefined, node: 'node-1', severity: 'warning' })] }));
    expect(s.members.map((m) => [m.name, m.node, m.rack, m.healthy, m.leader])).toEqual([
      ['etcd-0', 'node-0', 'rack-0', true, true],
      ['etcd-1', 'node-1', 'rack-1', true, false],
      ['etcd-2', 'node-2', 'rack-2', true, false],
    ]);
    expect(s.findings.map((f) => [f.key, f.subject])).toEqual([
      ['member-unreachable:etcd-1', 'etcd-1'],
      ['node-not-ready:node-1', 'node-1'],
    ]);
    expect([s.leader, s.quorum]).toEqual(['etcd-0', { healthyVoters: 3, voters: 3, faultTolerance: 1 }]);
  });

  it('is empty but named before the monitor has answered', () => {
    expect(snap(undefined, undefined, 'not started yet')).toEqual({ cluster: 'main', members: [], findings: [], problem: 'not started yet' });
  });
});

describe('the lines that say what changed', () => {
  const healthy = snap(aStatus());
  const etcd1Down = aStatus({ health: 'degraded', members: [aMember('etcd-0', { isLeader: true }), aMember('etcd-1', { healthy: false }), aMember('etcd-2')], findings: [aFinding()] });

  it.each<[string, DemoSnapshot | undefined, DemoSnapshot, string[]]>([
    [
      'the first answer names the health and every member',
      undefined,
      healthy,
      ['cluster main: healthy (3/3 healthy voters, fault tolerance 1)', 'members: etcd-0 on node-0 (rack-0, zone-0) healthy, leader; etcd-1 on node-1 (rack-1, zone-0) healthy; etcd-2 on node-2 (rack-2, zone-0) healthy'],
    ],
    ['the same answer again says nothing', healthy, snap(aStatus({ cycles: 6 })), []],
    [
      'a member going down and its pending finding are one line each',
      healthy,
      snap(etcd1Down),
      ['cluster main: healthy → degraded (2/3 healthy voters, fault tolerance 0)', 'member etcd-1 on node-1: healthy → DOWN', 'finding: critical member-unreachable etcd-1: member etcd-1 does not answer (pending, 1 sample)'],
    ],
    ['another sample of a pending finding says nothing', snap(etcd1Down), snap({ ...etcd1Down, assessment: { ...etcd1Down.assessment!, findings: [aFinding({ samples: 2 })] } }), []],
    [
      'a finding that holds long enough is confirmed, and the decision follows',
      snap(etcd1Down),
      snap({
        ...etcd1Down,
        health: 'at-risk',
        assessment: { ...etcd1Down.assessment!, findings: [aFinding({ samples: 3, confirmed: true })] },
        decision: { kind: 'migrate', summary: 'migrate etcd-1 from node-1 to node-4 with replace', plan: {} as never, dryRun: false },
      }),
      [
        'cluster main: degraded → at-risk (2/3 healthy voters, fault tolerance 0)',
        'finding confirmed after 3 samples: critical member-unreachable etcd-1',
        'decision: migrate etcd-1 from node-1 to node-4 with replace',
      ],
    ],
    [
      'a member that left, one that joined as a learner, and a new leader',
      healthy,
      snap(aStatus({ members: [aMember('etcd-0'), aMember('etcd-2', { isLeader: true }), aMember('etcd-3', { node: 'node-4', rack: 'rack-1', isLearner: true })] })),
      ['member etcd-3 joined on node-4 (rack-1, zone-0): healthy, learner', 'member etcd-1 left (was on node-1)', 'leader: etcd-0 → etcd-2'],
    ],
    ['a finding that is gone is cleared', snap(etcd1Down), snap(aStatus({ health: 'degraded', members: etcd1Down.members })), ['finding cleared: member-unreachable etcd-1']],
    ['a monitor that stops answering keeps the last picture and says why', healthy, snap(aStatus(), undefined, 'status query timed out after 5000 ms'), ['monitor: status query timed out after 5000 ms']],
  ])('%s', (_name, prev, next, expected) => {
    expect(changes(prev, next)).toEqual(expected);
  });

  it.each<[string, MigrationView | undefined, MigrationView, string[]]>([
    [
      'a migration that appears with its plan done and a step running',
      undefined,
      aMigration([aStep('plan', 'done', { detail: 'replace etcd-1' }), aStep('backup-snapshot', 'running')]),
      ['migration migrate-main started for etcd-1', 'migration plan: replace etcd-1 from node-1 to node-4', '✔ plan (1.5 s): replace etcd-1', '… backup-snapshot started'],
    ],
    [
      'a step that ends, and one that ran and ended between two looks',
      aMigration([aStep('plan', 'done'), aStep('backup-snapshot', 'running')]),
      aMigration([aStep('plan', 'done'), aStep('backup-snapshot', 'done'), aStep('remove-member', 'done', { detail: 'removed etcd-1' })]),
      ['✔ backup-snapshot (1.5 s)', '✔ remove-member (1.5 s): removed etcd-1'],
    ],
    [
      'the last step and the success',
      aMigration([aStep('verify-quorum', 'running')]),
      aMigration([aStep('verify-quorum', 'done')], { phase: 'succeeded' }, 'completed'),
      ['✔ verify-quorum (1.5 s)', 'migration succeeded: replace etcd-1 from node-1 to node-4'],
    ],
    [
      'a failure, its compensation, and the failed phase',
      aMigration([aStep('schedule-pod', 'running')]),
      aMigration([aStep('schedule-pod', 'failed', { detail: 'no node answered' }), aStep('compensate: remove learner etcd-3 on node-4', 'compensated', { detail: 'removed' })], { phase: 'failed' }, 'failed'),
      ['✖ schedule-pod (1.5 s): no node answered', '↺ compensate: remove learner etcd-3 on node-4 (1.5 s): removed', 'migration failed: no node answered'],
    ],
    ['a migration terminated from outside says so', aMigration([aStep('rejoin', 'running')]), aMigration([aStep('rejoin', 'running')], {}, 'terminated'), ['migration terminated']],
  ])('%s', (_name, prev, next, expected) => {
    expect(changes(snap(aStatus(), prev), snap(aStatus(), next))).toEqual(expected);
  });
});

describe('step lines', () => {
  it.each<[string, StepRecord, string]>([
    ['a finished step with its duration and detail', aStep('backup-snapshot', 'done', { detail: '32800 bytes' }), '✔ backup-snapshot (1.5 s): 32800 bytes'],
    ['a failed step', aStep('rejoin', 'failed', { durationMs: 61_000, detail: 'learner did not catch up' }), '✖ rejoin (61.0 s): learner did not catch up'],
    ['a compensation', aStep('compensate: delete pod etcd-3', 'compensated'), '↺ compensate: delete pod etcd-3 (1.5 s)'],
  ])('%s', (_name, step, expected) => {
    expect(stepSentence(step)).toBe(expected);
  });

  it('shows how long a running step has run so far', () => {
    expect(stepLine(aStep('delete-pod', 'running'), T0 + 3200, 12)).toBe('… delete-pod      3.2 s (running)');
  });
});

describe('the panel', () => {
  const context: PanelContext = { title: 'etcd-guardian demo · node-down', activity: 'the guardian is moving the member', elapsedMs: 83_000, now: T0 + 2000, recent: ['0:21 FAULT node-down on node-1'], width: 100, height: 40 };

  it('shows the cluster, the members, the findings, the steps with durations, what happens now and the recent events', () => {
    const status = aStatus({ health: 'at-risk', members: [aMember('etcd-0', { isLeader: true }), aMember('etcd-1', { healthy: false }), aMember('etcd-2')], findings: [aFinding({ samples: 3, confirmed: true })] });
    const migration = aMigration([aStep('plan', 'done', { durationMs: 100 }), aStep('remove-member', 'running')]);
    expect(renderPanel(snap(status, migration), context)).toEqual([
      'etcd-guardian demo · node-down · 1:23',
      'cluster main: AT-RISK · 2/3 healthy voters, fault tolerance 0 · leader etcd-0 · cycle 5',
      '',
      '  MEMBER  NODE    RACK    ZONE    HEALTH',
      '  etcd-0  node-0  rack-0  zone-0  healthy  leader',
      '  etcd-1  node-1  rack-1  zone-0  DOWN',
      '  etcd-2  node-2  rack-2  zone-0  healthy',
      '',
      'findings:',
      '  ✖ critical member-unreachable etcd-1: member etcd-1 does not answer (confirmed after 3 samples)',
      '',
      'migration migrate-main: replace etcd-1 from node-1 to node-4 · migrating',
      '  ✔ plan             0.1 s',
      '  … remove-member    2.0 s (running)',
      '',
      '▸ the guardian is moving the member',
      '',
      'recent:',
      '  0:21 FAULT node-down on node-1',
    ]);
  });

  it('before the sandbox is up shows only the title and what happens now', () => {
    expect(renderPanel(undefined, { ...context, recent: [] })).toEqual(['etcd-guardian demo · node-down · 1:23', '', '▸ the guardian is moving the member']);
  });

  it('cuts lines to the terminal width and leaves out old events that do not fit its height', () => {
    const recent = Array.from({ length: 30 }, (_, i) => `event ${i}`);
    const lines = renderPanel(snap(aStatus()), { ...context, width: 30, height: 20, recent });
    expect(lines).toHaveLength(20);
    expect(lines.every((line) => [...line].length <= 30)).toBe(true);
    expect(lines[1]).toBe('cluster main: HEALTHY · 3/3 h…');
    expect(lines.at(-1)).toBe('  event 29');
  });
});

describe('detection', () => {
  const start: Detection = { faultAt: T0, subjects: ['etcd-1', 'node-1'] };

  it.each<[string, DemoSnapshot, Partial<Detection>]>([
    ['nothing about the member yet', snap(aStatus()), {}],
    ['an info finding does not count', snap(aStatus({ findings: [aFinding({ severity: 'info' })] })), {}],
    ['a finding about another member does not count', snap(aStatus({ findings: [aFinding({ member: 'etcd-2' })] })), {}],
    ['a pending finding about the member is noticed', snap(aStatus({ findings: [aFinding()] })), { noticed: { at: T0 + 1000, finding: expect.objectContaining({ kind: 'member-unreachable' }) as never } }],
    [
      'a confirmed finding about its node is detected',
      snap(aStatus({ findings: [aFinding({ kind: 'node-not-ready', member: undefined, node: 'node-1', confirmed: true, samples: 3 })] })),
      { noticed: { at: T0 + 1000, finding: expect.objectContaining({ subject: 'node-1' }) as never }, confirmed: { at: T0 + 1000, finding: expect.objectContaining({ subject: 'node-1' }) as never } },
    ],
    ['a migration that has started proves detection', snap(aStatus(), aMigration([aStep('plan', 'running', { startedAt: at(400) })])), { confirmed: { at: T0 + 1000 }, migrationStartedAt: T0 + 400 }],
  ])('%s', (_name, snapshot, expected) => {
    const next = observeDetection(start, snapshot, T0 + 1000);
    expect({ noticed: next.noticed, confirmed: next.confirmed, migrationStartedAt: next.migrationStartedAt }).toEqual({ noticed: undefined, confirmed: undefined, migrationStartedAt: undefined, ...expected });
  });

  it('keeps the first moment of each, not the latest', () => {
    const first = observeDetection(start, snap(aStatus({ findings: [aFinding({ confirmed: true })] })), T0 + 1000);
    const later = observeDetection(first, snap(aStatus({ findings: [aFinding({ confirmed: true })] })), T0 + 5000);
    expect([later.noticed?.at, later.confirmed?.at]).toEqual([T0 + 1000, T0 + 1000]);
  });

  it('prefers the confirmed and then the critical finding', () => {
    const s = snap(aStatus({ findings: [aFinding({ kind: 'pod-not-ready', severity: 'warning' }), aFinding({ kind: 'node-cpu-high', severity: 'warning', confirmed: true })] }));
    expect(findingAbout(s, ['etcd-1'])?.kind).toBe('node-cpu-high');
  });
});

describe('the clock', () => {
  it.each([
    [0, '0:00'],
    [59_999, '0:59'],
    [83_000, '1:23'],
    [3_600_000, '60:00'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatClock(ms)).toBe(text);
  });
});
