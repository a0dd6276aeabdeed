import type { ClusterObservation } from '../../../src/domain/observation';
import { planMigration, type Decision } from '../../../src/domain/plan';
import { assessRisk, type Finding } from '../../../src/domain/risk';
import {
  awaitingApprovalDetails,
  maintenanceSummary,
  migrationPlanDetails,
  migrationSummary,
  monitorDetails,
  monitorSummary,
  oneLineSummary,
  repairSummary,
  requestDetails,
  stepSummary,
  SUMMARY_MAX_CHARS,
} from '../../../src/domain/summaries';
import { emptyWindow } from '../../../src/domain/window';
import { aCluster, aDeadStatus, aDownNode, aPolicy, withMember, withNode } from '../../builders';

const NOW = new Date('2026-12-01T08:00:00.000Z');

/** The plan the monitor makes when etcd-2's node goes down (confirmed over the policy's samples). */
function nodeDownPlan() {
  const obs: ClusterObservation = withMember(withNode(aCluster(3), aDownNode(2)), 2, { status: aDeadStatus() });
  const policy = aPolicy();
  let window = emptyWindow();
  for (let i = 1; i < policy.hysteresisSamples; i++) window = assessRisk(obs, policy, window).window;
  const decision: Decision = planMigration(obs, assessRisk(obs, policy, window).assessment, policy, {}, NOW);
  if (decision.kind !== 'migrate') throw new Error(`expected a migration, got ${decision.kind}: ${decision.summary}`);
  return decision.plan;
}

describe('oneLineSummary', () => {
  it.each([
    ['collapses line breaks and runs of spaces', 'remove etcd-1\n  because   its node is down', 'remove etcd-1 because its node is down'],
    ['keeps a short line as it is', 'verify-quorum', 'verify-quorum'],
    ['trims the ends', '  plan  ', 'plan'],
  ])('%s', (_name, input, expected) => {
    expect(oneLineSummary(input)).toBe(expected);
  });

  it('cuts a long line at the limit and marks the cut', () => {
    const cut = oneLineSummary('x'.repeat(500));
    expect(cut).toHaveLength(SUMMARY_MAX_CHARS);
    expect(cut.endsWith('…')).toBe(true);
    expect(oneLineSummary('abcdef', 4)).toBe('abc…');
  });
});

describe('stepSummary', () => {
  it('names the step, then what it does to whom', () => {
    expect(stepSummary('remove-member', 'remove member etcd-1 (b23d0a4c)\nits node is down')).toBe('remove-member: remove member etcd-1 (b23d0a4c) its node is down');
  });
});

describe('migrationSummary', () => {
  it.each([
    [
      'a plan: strategy, member, from and to, why, who',
      { cluster: 'demo', member: 'etcd-1', strategy: 'auto', reason: 'disk replacement on node-1', requestedBy: 'cli:alice', plan: { strategy: 'surge' as const, member: { id: 'b23d', name: 'etcd-1', nodeName: 'node-1' }, target: { node: 'node-4' } } },
      'surge etcd-1: node-1 → node-4 — disk replacement on node-1, by cli:alice',
    ],
    ['a request before its plan', { cluster: 'demo', member: 'etcd-1', strategy: 'auto', reason: 'manual migration' }, 'migrate etcd-1 of demo (auto) — manual migration'],
    ['a request for a named node', { cluster: 'demo', member: 'etcd-2', strategy: 'replace', targetNode: 'node-5' }, 'migrate etcd-2 of demo (replace to node-5)'],
    ['a dry run says so', { cluster: 'demo', member: 'etcd-2', strategy: 'auto', dryRun: true }, 'dry run: migrate etcd-2 of demo (auto)'],
  ])('%s', (_name, start, expected) => {
    expect(migrationSummary(start as Parameters<typeof migrationSummary>[0])).toBe(expected);
  });
});

describe('migrationPlanDetails', () => {
  it('shows what moves where, why, each step with its fault tolerance, and the nodes refused', () => {
    const plan = nodeDownPlan();
    const details = migrationPlanDetails(plan);
    expect(details.split('\n')[0]).toBe(`**${plan.strategy} etcd-2** of cluster ${plan.cluster}: node-2 → **${plan.target.node}** (rack ${plan.target.rack}, domain ${plan.target.domain}), as ${plan.newMemberName}`);
    for (const reason of plan.reasons) expect(details).toContain(`- ${reason}`);
    expect(details).toContain('1. backup-snapshot: save an etcd snapshot');
    expect(details).toMatch(/remove-member: remove member etcd-2 .*fault tolerance \d/);
    expect(plan.placement.refused.length).toBeGreaterThan(0);
    for (const refused of plan.placement.refused) expect(details).toContain(`- ${refused.node}: `);
  });
});

describe('maintenanceSummary and repairSummary', () => {
  it.each([
    ['a NOSPACE recovery', maintenanceSummary({ cluster: 'demo', mode: 'nospace', reason: 'NOSPACE raised by etcd-0' }), 'recover demo from NOSPACE — NOSPACE raised by etcd-0'],
    ['a defragmentation before its plan', maintenanceSummary({ cluster: 'demo', mode: 'auto', requestedBy: 'cli:bob' }), 'defragment demo (auto) — by cli:bob'],
    ['a repair', repairSummary({ cluster: 'demo', reason: '2 voters of 3' }), 'repair the membership of demo — 2 voters of 3'],
    ['an approved removal', repairSummary({ cluster: 'demo', approveRemoval: 'etcd-2', requestedBy: 'cli:carol' }), 'remove dead member etcd-2 of demo (approved) — by cli:carol'],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe('requestDetails', () => {
  it('lists the fields given, and leaves out the absent and the empty', () => {
    expect(requestDetails('migration requested', { cluster: 'demo', member: 'etcd-1', targetNode: undefined, members: [], dryRun: false, only: ['etcd-0', 'etcd-1'] })).toBe(
      ['**migration requested**', '', '- **cluster**: demo', '- **member**: etcd-1', '- **dryRun**: false', '- **only**: etcd-0, etcd-1'].join('\n'),
    );
  });
});

describe('monitorSummary and monitorDetails', () => {
  it('says how often', () => {
    expect(monitorSummary('demo', 5000)).toBe('monitor demo every 5 s');
    expect(monitorSummary('demo', 1500)).toBe('monitor demo every 1500 ms');
  });

  it('puts the health first, then the findings (pending ones marked) and the decision', () => {
    const finding = (message: string, confirmed: boolean, samples: number): Finding =>
      ({ kind: 'node-not-ready', severity: 'critical', member: 'etcd-2', message, evidence: {}, samples, confirmed });
    const details = monitorDetails({
      cluster: 'demo',
      health: 'at-risk',
      cycles: 12,
      lastCycleAt: '2026-12-01T08:00:00.000Z',
      assessment: { summary: '3 voters, 2 healthy, fault tolerance 0', findings: [finding('node-2 is not Ready', true, 3), finding('etcd-2 does not answer', false, 1)] },
      decision: { summary: 'migrate etcd-2 to node-4' },
    });
    expect(details).toBe(
      [
        '**demo: at-risk** after 12 cycles, the last at 2026-12-01T08:00:00.000Z',
        '',
        '3 voters, 2 healthy, fault tolerance 0',
        '',
        '**Findings**',
        '',
        '- critical: node-2 is not Ready',
        '- critical (pending, 1 sample): etcd-2 does not answer',
        '',
        '**Decision**: migrate etcd-2 to node-4',
      ].join('\n'),
    );
  });

  it('says when the last cycle failed', () => {
    expect(monitorDetails({ cluster: 'demo', health: 'unknown', cycles: 1, lastError: 'kube-apiserver does not answer' })).toBe(
      '**demo: unknown** after 1 cycle\n\nThe last cycle failed: kube-apiserver does not answer',
    );
  });
});

describe('awaitingApprovalDetails', () => {
  it('says how to answer, why the plan waits, then the plan', () => {
    expect(awaitingApprovalDetails('main', ['main is critical', 'manual target'], '## plan', 'surge etcd-0 from node-0 to node-3')).toBe(
      '**awaiting approval** (`etcd-guardian approve main` or the approve signal): surge etcd-0 from node-0 to node-3\n\n- main is critical\n- manual target\n\n## plan',
    );
    expect(awaitingApprovalDetails('main', ['main is critical'], '## plan')).toBe('**awaiting approval** (`etcd-guardian approve main` or the approve signal)\n\n- main is critical\n\n## plan');
  });
});
