import { afterTracking, decisionIntent, type Decision, type MigrationState, type TrackedOperation } from '../../../src/domain/plan';

const NOW = '2026-12-01T12:00:00.000Z';
const migrating: MigrationState = { inFlight: { workflowId: 'migrate-main', member: 'etcd-1' }, lastEndedAt: '2026-11-30T00:00:00.000Z' };
const maintaining: MigrationState = { inFlight: { workflowId: 'migrate-main', member: '(maintenance: defragment)', operation: 'maintenance' }, lastEndedAt: '2026-11-30T00:00:00.000Z' };
const closed = (closedAt?: string): TrackedOperation => ({ workflowId: 'migrate-main', running: false, status: 'COMPLETED', ...(closedAt ? { closedAt } : {}) });

describe('afterTracking', () => {
  it.each<[string, MigrationState, TrackedOperation | undefined, MigrationState]>([
    ['nothing in flight', { lastEndedAt: 'x' }, undefined, { lastEndedAt: 'x' }],
    ['not asked', migrating, undefined, migrating],
    ['still running', migrating, { workflowId: 'migrate-main', running: true, status: 'RUNNING' }, migrating],
    ['another workflow answered', migrating, { ...closed(), workflowId: 'other' }, migrating],
    ['a migration closed: the cooldown starts when it closed', migrating, closed('2026-12-01T11:59:00.000Z'), { lastEndedAt: '2026-12-01T11:59:00.000Z' }],
    ['a migration gone without a close time: the cooldown starts now', migrating, closed(), { lastEndedAt: NOW }],
    ['a maintenance closed: no cooldown of its own, the last one stands', maintaining, closed('2026-12-01T11:59:00.000Z'), { lastEndedAt: '2026-11-30T00:00:00.000Z' }],
  ])('%s', (_name, state, tracked, expected) => {
    expect(afterTracking(state, tracked, NOW)).toEqual(expected);
  });
});

describe('decisionIntent', () => {
  const chosen = { node: 'node-4', rack: 'rack-1', score: 1100, rackFree: true, membersInDomain: 0, utilization: 0.2, reason: 'free rack' };
  const migrate = {
    kind: 'migrate',
    dryRun: false,
    summary: 'replace etcd-1',
    plan: { member: { name: 'etcd-1' }, target: chosen, placement: { chosen, candidates: [chosen, { ...chosen, node: 'node-5' }], refused: [{ node: 'node-0', reasons: ['already hosts member etcd-0'] }], summary: '2 candidates' } },
  } as unknown as Decision;

  it('keeps the chosen node of a migration, not every candidate and refusal', () => {
    const intent = decisionIntent(migrate);
    expect(intent.kind === 'migrate' && intent.plan.placement).toEqual({ chosen, candidates: [chosen], refused: [], summary: '2 candidates' });
    expect(intent.kind === 'migrate' && intent.plan.target).toEqual(chosen);
    expect(JSON.stringify(intent).length).toBeLessThan(JSON.stringify(migrate).length);
  });

  it('leaves other decisions as they are', () => {
    const none: Decision = { kind: 'none', reason: 'healthy', summary: 'healthy' };
    expect(decisionIntent(none)).toBe(none);
  });
});
