import {
  admit,
  blockingReason,
  describeBudget,
  emptyFleet,
  enqueue,
  freeze,
  freezeOf,
  freezeProblems,
  heldLeases,
  migrationDomains,
  nextFreezeEnd,
  release,
  underFreeze,
  unfreeze,
  type FleetBudget,
  type FleetState,
  type Freeze,
  type Lease,
  type LeaseRequest,
} from '../../../src/domain/fleet';
import type { Decision } from '../../../src/domain/plan';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const at = (offsetMs: number): string => new Date(NOW + offsetMs).toISOString();

function req(id: string, cluster: string, racks: string[] = [], zones: string[] = []): LeaseRequest {
  return { holder: { workflowId: id, runId: `${id}-run` }, cluster, operation: 'migration', description: `move a member of ${cluster}`, racks, zones, requestedAt: at(0) };
}
const lease = (r: LeaseRequest): Lease => ({ ...r, grantedAt: at(0) });
const state = (budget: FleetBudget, leases: LeaseRequest[] = [], freezes: Freeze[] = []): FleetState => ({ ...emptyFleet(budget), leases: leases.map(lease), freezes });
const fleetFreeze: Freeze = { reason: 'incident 12', by: 'alice', since: at(-60_000) };

describe('blockingReason', () => {
  it.each<[string, FleetState, LeaseRequest, string | undefined]>([
    ['no limits, nothing running', state({}), req('a', 'east', ['r1']), undefined],
    ['no limits, many running', state({}, [req('b', 'west', ['r1']), req('c', 'north', ['r1'])]), req('a', 'east', ['r1']), undefined],
    ['fleet limit reached', state({ maxConcurrent: 1 }, [req('b', 'west', ['r2'])]), req('a', 'east', ['r1']), 'fleet budget: 1 of 1 disruptive operations run (b (west: move a member of west))'],
    ['fleet limit not reached', state({ maxConcurrent: 2 }, [req('b', 'west', ['r2'])]), req('a', 'east', ['r1']), undefined],
    ['rack limit reached in a shared rack', state({ perRack: 1 }, [req('b', 'west', ['r1', 'r2'])]), req('a', 'east', ['r3', 'r1']), 'rack budget: 1 of 1 operations run in rack r1 (b (west: move a member of west))'],
    ['rack limit: other racks free', state({ perRack: 1 }, [req('b', 'west', ['r2'])]), req('a', 'east', ['r1']), undefined],
    ['zone limit reached', state({ perZone: 1 }, [req('b', 'west', ['r2'], ['z1'])]), req('a', 'east', ['r1'], ['z1']), 'zone budget: 1 of 1 operations run in zone z1 (b (west: move a member of west))'],
    ['a holder never blocks itself', state({ maxConcurrent: 1, perRack: 1 }, [req('a', 'east', ['r1'])]), req('a', 'east', ['r1']), undefined],
    ['the fleet is frozen', state({}, [], [fleetFreeze]), req('a', 'east'), 'the fleet is frozen by alice since 2026-12-01T11:59:00.000Z: incident 12 (until unfrozen)'],
    ['another cluster is frozen', state({}, [], [{ ...fleetFreeze, cluster: 'west' }]), req('a', 'east'), undefined],
    ['this cluster is frozen', state({}, [], [{ ...fleetFreeze, cluster: 'east', until: at(60_000) }]), req('a', 'east'), 'cluster east is frozen by alice since 2026-12-01T11:59:00.000Z: incident 12 (until 2026-12-01T12:01:00.000Z)'],
    ['a freeze that has lifted', state({}, [], [{ ...fleetFreeze, until: at(-1) }]), req('a', 'east'), undefined],
  ])('%s', (_name, s, r, expected) => {
    expect(blockingReason(s, r, NOW)).toBe(expected);
  });
});

describe('admit', () => {
  it('grants the oldest first and lets a later request for a free rack pass one that waits', () => {
    let s = emptyFleet({ perRack: 1 });
    for (const r of [req('a', 'east', ['r1']), req('b', 'west', ['r1']), req('c', 'north', ['r2'])]) s = enqueue(s, r);
    const first = admit(s, NOW);
    expect(first.granted.map((l) => l.holder.workflowId)).toEqual(['a', 'c']);
    expect(first.blocked.map((b) => [b.request.holder.workflowId, b.reason])).toEqual([['b', 'rack budget: 1 of 1 operations run in rack r1 (a (east: move a member of east))']]);
    expect(first.state.waiting.map((w) => w.holder.workflowId)).toEqual(['b']);
    // a ends: b goes next.
    const second = admit(release(first.state, { workflowId: 'a', runId: 'a-run' }), NOW);
    expect(second.granted.map((l) => l.holder.workflowId)).toEqual(['b']);
    expect(second.state.leases.map((l) => l.holder.workflowId)).toEqual(['c', 'b']);
  });

  it('a request asked twice is queued once; a holder asking again is granted again without counting twice', () => {
    let s = enqueue(enqueue(emptyFleet({ maxConcurrent: 1 }), req('a', 'east')), req('a', 'east'));
    expect(s.waiting).toHaveLength(1);
    s = admit(s, NOW).state;
    expect(s.leases).toHaveLength(1);
    const again = admit(enqueue(s, req('a', 'east')), NOW);
    expect(again.granted.map((l) => l.holder.workflowId)).toEqual(['a']);
    expect(again.state.leases).toHaveLength(1);
  });

  it('a later run of the same workflow id is another holder', () => {
    const s = admit(enqueue(emptyFleet({ maxConcurrent: 1 }), req('a', 'east')), NOW).state;
    const next = admit(enqueue(s, { ...req('a', 'east'), holder: { workflowId: 'a', runId: 'second-run' } }), NOW);
    expect(next.granted).toEqual([]);
    expect(next.blocked[0]?.reason).toContain('fleet budget: 1 of 1');
  });

  it('drops freezes that have lifted', () => {
    const s = { ...emptyFleet(), freezes: [{ ...fleetFreeze, until: at(-1) }, fleetFreeze] };
    expect(admit(s, NOW).state.freezes).toEqual([fleetFreeze]);
  });
});

describe('freezes', () => {
  it.each<[string, Parameters<typeof freezeProblems>[0], string[]]>([
    ['a valid fleet freeze', { reason: 'incident 1', by: 'alice' }, []],
    ['a valid cluster freeze with an end', { cluster: 'east', reason: 'change', by: 'bob', until: at(3_600_000) }, []],
    ['no reason', { reason: '  ', by: 'alice' }, ['reason: expected a sentence saying why (an incident, a change), got "  "']],
    ['no one', { reason: 'x', by: '' }, ['by: expected who freezes, got ""']],
    ['a bad cluster name', { cluster: 'East_1', reason: 'x', by: 'a' }, ['cluster: expected a cluster name such as "main", got "East_1"']],
    ['an end that is not a time', { reason: 'x', by: 'a', until: 'tomorrow' }, ['until: expected a time such as 2026-12-01T18:00:00Z, got "tomorrow"']],
    ['an end in the past', { reason: 'x', by: 'a', until: at(-1000) }, ['until: expected a time in the future, got 2026-12-01T11:59:59.000Z (now is 2026-12-01T12:00:00.000Z)']],
  ])('%s', (_name, request, problems) => {
    expect(freezeProblems(request, NOW)).toEqual(problems);
  });

  it('a freeze of the same scope replaces the earlier one; unfreeze lifts only its scope', () => {
    let s = freeze(emptyFleet(), { reason: 'first', by: 'a' }, NOW);
    s = freeze(s, { reason: 'second', by: 'b', until: at(60_000) }, NOW + 1);
    s = freeze(s, { cluster: 'east', reason: 'east only', by: 'c' }, NOW + 2);
    expect(s.freezes.map((f) => [f.cluster ?? '*', f.reason])).toEqual([['*', 'second'], ['east', 'east only']]);
    const lifted = unfreeze(s, undefined, NOW + 3);
    expect(lifted.lifted?.reason).toBe('second');
    expect(freezeOf(lifted.state.freezes, 'east', NOW)?.reason).toBe('east only');
    expect(freezeOf(lifted.state.freezes, 'west', NOW)).toBeUndefined();
    expect(unfreeze(lifted.state, 'west', NOW).lifted).toBeUndefined();
  });

  it('the fleet freeze is named before a cluster freeze; the next end is the soonest', () => {
    const freezes: Freeze[] = [{ ...fleetFreeze, cluster: 'east', until: at(5_000) }, { ...fleetFreeze, until: at(9_000) }];
    expect(freezeOf(freezes, 'east', NOW)?.cluster).toBeUndefined();
    expect(nextFreezeEnd(freezes, NOW)).toBe(NOW + 5_000);
    expect(nextFreezeEnd([fleetFreeze], NOW)).toBeUndefined();
  });

  it('holds the leases a freeze covers', () => {
    const s = state({}, [req('a', 'east'), req('b', 'west')], [{ ...fleetFreeze, cluster: 'west' }]);
    expect(heldLeases(s, NOW).map((h) => h.lease.holder.workflowId)).toEqual(['b']);
  });
});

describe('underFreeze', () => {
  const migrate = { kind: 'migrate', dryRun: false, summary: 'migrate etcd-1 from node-a to node-d', plan: { triggers: [{ kind: 'node-not-ready' }] } } as unknown as Decision;
  const none: Decision = { kind: 'none', reason: 'healthy', summary: 'healthy' };
  it.each<[string, Decision, Freeze | undefined, Partial<Decision> | 'same']>([
    ['not frozen', migrate, undefined, 'same'],
    ['nothing to do', none, fleetFreeze, 'same'],
    ['a dry run', { ...migrate, dryRun: true } as Decision, fleetFreeze, 'same'],
    ['a migration under a freeze', migrate, fleetFreeze, { kind: 'alert', reason: 'frozen', summary: 'the fleet is frozen by alice since 2026-12-01T11:59:00.000Z: incident 12 (until unfrozen): would migrate etcd-1 from node-a to node-d' }],
  ])('%s', (_name, decision, frozen, expected) => {
    const out = underFreeze(decision, frozen);
    if (expected === 'same') expect(out).toBe(decision);
    else expect(out).toMatchObject(expected);
  });
});

it('a migration disrupts the racks and zones of the member leaving, of those replaced with it, and of the target', () => {
  expect(migrationDomains({ member: { rack: 'r1', domain: 'z1' }, alsoReplaced: [{ rack: 'r2' }], target: { rack: 'r1', domain: 'z2' } })).toEqual({ racks: ['r1', 'r2'], zones: ['z1', 'z2'] });
  expect(migrationDomains({ member: {}, target: {} })).toEqual({ racks: [], zones: [] });
});

it('describes a budget in words', () => {
  expect(describeBudget({})).toBe('no fleet limit, no rack limit, no zone limit');
  expect(describeBudget({ maxConcurrent: 2, perRack: 1 })).toBe('at most 2 at once, 1 per rack, no zone limit');
});
