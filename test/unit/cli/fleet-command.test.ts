import { freezeRequestOf, renderFleet, untilOf } from '../../../src/cli/fleet-command';
import { withFleet, type ClusterStatusReport } from '../../../src/cli/status-command';
import type { FleetStatus } from '../../../workflows/fleet-ids';

const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('freeze arguments', () => {
  it.each<[string, Parameters<typeof freezeRequestOf>[0], ReturnType<typeof freezeRequestOf>]>([
    ['the fleet, until unfrozen', { reason: 'incident 7' }, { reason: 'incident 7', by: 'cli:alice' }],
    ['a cluster for two hours, by someone named', { cluster: 'east', reason: 'change', until: '2h', by: 'bob' }, { cluster: 'east', reason: 'change', by: 'bob', until: '2026-12-01T14:00:00.000Z' }],
    ['until a time', { reason: 'x', until: '2026-12-02T08:00:00Z' }, { reason: 'x', by: 'cli:alice', until: '2026-12-02T08:00:00.000Z' }],
  ])('%s', (_name, options, expected) => {
    expect(freezeRequestOf(options, NOW, 'cli:alice')).toEqual(expected);
  });

  it.each<[string, Parameters<typeof freezeRequestOf>[0], string]>([
    ['an empty reason', { reason: '' }, '--reason: expected a sentence saying why (an incident, a change), got ""'],
    ['an end that is neither a time nor a duration', { reason: 'x', until: 'soon' }, '--until: expected a time such as 2026-12-01T18:00:00Z or a duration such as 2h, got "soon"'],
    ['an end in the past', { reason: 'x', until: '2026-11-30T00:00:00Z' }, '--until: expected a time in the future, got 2026-11-30T00:00:00.000Z (now is 2026-12-01T12:00:00.000Z)'],
    ['a bad cluster name', { reason: 'x', cluster: 'Main' }, '--cluster: expected a cluster name such as "main", got "Main"'],
  ])('refuses %s, naming the option and value', (_name, options, message) => {
    expect(() => freezeRequestOf(options, NOW, 'cli:alice')).toThrow(message);
  });

  it('a duration of zero is not an end', () => {
    expect(() => untilOf('0', NOW)).toThrow('--until: expected a time such as');
    expect(untilOf(undefined, NOW)).toBeUndefined();
  });
});

const fleet: FleetStatus = {
  budget: { perRack: 1 },
  freezes: [{ cluster: 'west', reason: 'incident 9', by: 'bob', since: '2026-12-01T11:00:00.000Z' }],
  leases: [
    { holder: { workflowId: 'migrate-east', runId: 'r1' }, cluster: 'east', operation: 'migration', description: 'surge etcd-0 from node-0 to node-3', racks: ['rack-0'], zones: ['zone-0'], requestedAt: '2026-12-01T11:58:00.000Z', grantedAt: '2026-12-01T11:58:01.000Z' },
    { holder: { workflowId: 'migrate-west', runId: 'r2' }, cluster: 'west', operation: 'repair', description: 'repair west', racks: ['rack-1'], zones: [], requestedAt: '2026-12-01T11:58:00.000Z', grantedAt: '2026-12-01T11:58:01.000Z' },
  ],
  waiting: [{ holder: { workflowId: 'migrate-north', runId: 'r3' }, cluster: 'north', operation: 'migration', description: 'surge etcd-1', racks: ['rack-0'], zones: [], requestedAt: '2026-12-01T11:59:00.000Z' }],
  reasons: { 'migrate-north': 'rack budget: 1 of 1 operations run in rack rack-0 (migrate-east (east: surge etcd-0 from node-0 to node-3))' },
  held: { 'migrate-west': 'cluster west is frozen by bob since 2026-12-01T11:00:00.000Z: incident 9 (until unfrozen)' },
};

it('renders the fleet: budget, freezes, what runs (and is held) and what waits, with why', () => {
  expect(renderFleet(fleet)).toBe(
    [
      'budget: no fleet limit, 1 per rack, no zone limit',
      'frozen:',
      '  cluster west is frozen by bob since 2026-12-01T11:00:00.000Z: incident 9 (until unfrozen)',
      'running:',
      '  migrate-east (east, migration) since 2026-12-01T11:58:01.000Z: surge etcd-0 from node-0 to node-3; racks rack-0, zones zone-0',
      '  migrate-west (west, repair) since 2026-12-01T11:58:01.000Z: repair west; racks rack-1, zones ?; held after its current step: cluster west is frozen by bob since 2026-12-01T11:00:00.000Z: incident 9 (until unfrozen)',
      'waiting:',
      '  migrate-north (north, migration) since 2026-12-01T11:59:00.000Z: rack budget: 1 of 1 operations run in rack rack-0 (migrate-east (east: surge etcd-0 from node-0 to node-3))',
      '',
    ].join('\n'),
  );
  expect(renderFleet(undefined)).toBe('fleet: no coordinator has run yet: nothing frozen, no operation running\n');
});

it('status names each cluster\'s freeze and why its operation waits', () => {
  const reports: ClusterStatusReport[] = ['east', 'west', 'north'].map((cluster) => ({ cluster }));
  const [east, west, north] = withFleet(reports, fleet, NOW);
  expect(east).toEqual({ cluster: 'east' });
  expect(west?.frozen).toBe('cluster west is frozen by bob since 2026-12-01T11:00:00.000Z: incident 9 (until unfrozen)');
  expect(west?.operationWaits).toBe('migrate-west is held after its current step: cluster west is frozen by bob since 2026-12-01T11:00:00.000Z: incident 9 (until unfrozen)');
  expect(north?.operationWaits).toBe('migrate-north waits for a fleet lease: rack budget: 1 of 1 operations run in rack rack-0 (migrate-east (east: surge etcd-0 from node-0 to node-3))');
});
