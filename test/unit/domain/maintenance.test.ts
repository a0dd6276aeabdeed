import { buildMaintenancePlan, defragBudgetMs, type MaintenancePlan, type MaintenanceRequest } from '../../../src/domain/maintenance';
import { describeWindow, inMaintenanceWindow, nextWindowOpening, type MaintenanceWindow } from '../../../src/domain/maintenance-window';
import type { ClusterObservation } from '../../../src/domain/observation';
import { maintenanceDecision, planMigration } from '../../../src/domain/plan';
import { DEFAULT_SPACE_POLICY } from '../../../src/domain/space';
import { assessRisk } from '../../../src/domain/risk';
import { emptyWindow } from '../../../src/domain/window';
import { DEFAULT_MAINTENANCE_POLICY } from '../../../src/domain/maintenance-window';
import { aCluster, aDeadStatus, aMember, aPolicy, aStatus, withMember } from '../../builders';

const MiB = 1024 * 1024;
const QUOTA = 64 * MiB;
const NOW = new Date('2026-11-24T12:00:00.000Z');

/** Three members (etcd-0 leads) of `total`/`inUse` each, against a 64 MiB quota. */
function cluster(total = 40 * MiB, inUse = 10 * MiB, members = 3): ClusterObservation {
  const obs = aCluster(members);
  return { ...obs, members: obs.members.map((m) => ({ ...m, status: aStatus({ dbSizeBytes: total, dbSizeInUseBytes: inUse, quotaBytes: QUOTA }) })) };
}

const policy = aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 8 * MiB }, maintenance: { auto: true, windows: [], pauseBetweenMembersMs: 3_000 } });

function plan(obs: ClusterObservation, request: MaintenanceRequest): MaintenancePlan {
  const built = buildMaintenancePlan(obs, policy, request, NOW);
  if ('refusal' in built) throw new Error(`refused: ${built.refusal.message}`);
  return built.plan;
}

const steps = (p: MaintenancePlan): string[] => p.steps.map((s) => (s.step === 'defragment' || s.step === 'move-leader' ? `${s.step} ${s.args.member.name}` : s.step));

describe('a maintenance plan: one member at a time, followers first, the leader last', () => {
  it.each<[string, ClusterObservation, MaintenanceRequest, string[]]>([
    [
      'defragment the fragmented members: followers by name, leadership moved off the leader, then the leader',
      cluster(),
      { mode: 'defragment' },
      ['defragment etcd-1', 'defragment etcd-2', 'move-leader etcd-0', 'defragment etcd-0'],
    ],
    ['only the fragmented ones (etcd-0, the leader, is compact)', withMember(cluster(), 0, { status: aStatus({ dbSizeBytes: 12 * MiB, dbSizeInUseBytes: 11 * MiB }) }), { mode: 'defragment' }, ['defragment etcd-1', 'defragment etcd-2']],
    ['the members an operator names', cluster(4 * MiB, 3 * MiB), { mode: 'defragment', members: ['etcd-2'] }, ['defragment etcd-2']],
    ['every member, fragmented or not', cluster(4 * MiB, 3 * MiB), { mode: 'defragment', all: true }, ['defragment etcd-1', 'defragment etcd-2', 'move-leader etcd-0', 'defragment etcd-0']],
    [
      'NOSPACE: compact, every member, disarm, prove a write',
      withMember(cluster(QUOTA, QUOTA - MiB), 1, { status: aStatus({ dbSizeBytes: QUOTA, alarms: ['NOSPACE'] }) }),
      { mode: 'auto' },
      ['compact', 'defragment etcd-1', 'defragment etcd-2', 'move-leader etcd-0', 'defragment etcd-0', 'disarm-alarm', 'verify-write'],
    ],
    [
      'a learner goes first: it does not vote',
      { ...cluster(), members: [...cluster().members, aMember(3, { isLearner: true, status: aStatus({ dbSizeBytes: 40 * MiB, dbSizeInUseBytes: 10 * MiB }) })] },
      { mode: 'defragment' },
      ['defragment etcd-3', 'defragment etcd-1', 'defragment etcd-2', 'move-leader etcd-0', 'defragment etcd-0'],
    ],
  ])('%s', (_name, obs, request, expected) => {
    expect(steps(plan(obs, request))).toEqual(expected);
  });

  it('pauses between members, not after the last, and budgets each defragmentation by the size of its database', () => {
    const p = plan(cluster(), { mode: 'defragment' });
    const defrags = p.steps.filter((s) => s.step === 'defragment');
    expect(defrags.map((s) => s.step === 'defragment' && s.args.pauseAfterMs)).toEqual([3_000, 3_000, 0]);
    expect(defrags.map((s) => s.step === 'defragment' && s.args.budgetMs)).toEqual([34_000, 34_000, 34_000]);
    expect(defragBudgetMs(200 * MiB)).toBe(50_000);
  });

  it('a NOSPACE recovery does not pause between members: writes are refused until the last one is done', () => {
    const nospace = withMember(cluster(QUOTA, QUOTA - MiB), 1, { status: aStatus({ dbSizeBytes: QUOTA, alarms: ['NOSPACE'] }) });
    expect(plan(nospace, { mode: 'auto' }).steps.filter((s) => s.step === 'defragment').map((s) => s.step === 'defragment' && s.args.pauseAfterMs)).toEqual([0, 0, 0]);
  });

  it('says why and records every member\'s sizes before', () => {
    const p = plan(withMember(cluster(), 2, { status: aStatus({ dbSizeBytes: 12 * MiB, dbSizeInUseBytes: 11 * MiB, quotaBytes: QUOTA }) }), { mode: 'defragment' });
    expect(p.reasons).toEqual(['fragmented: etcd-1, etcd-0', 'defragment etcd-1, etcd-0 one at a time, leader etcd-0 last']);
    expect(p.skipped).toEqual([{ member: 'etcd-2', reason: 'not fragmented: 11.0 MiB of 12.0 MiB in use (91.7%; threshold 55% of at least 8.00 MiB)' }]);
    expect(p.before).toContainEqual({ member: 'etcd-0', dbSizeBytes: 40 * MiB, dbSizeInUseBytes: 10 * MiB, quotaBytes: QUOTA });
  });
});

describe('a maintenance is refused before any side effect, with the reason', () => {
  it.each<[string, ClusterObservation, MaintenanceRequest, string, RegExp]>([
    ['a voter down: it is replaced first', withMember(cluster(), 2, { status: aDeadStatus('connection refused') }), { mode: 'defragment' }, 'voter-unhealthy', /^etcd-2 is not healthy: defragmenting another member/],
    ['no fault tolerance (one member)', cluster(40 * MiB, 10 * MiB, 1), { mode: 'defragment' }, 'no-fault-tolerance', /has no fault tolerance/],
    ['quorum lost', withMember(withMember(cluster(), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() }), { mode: 'defragment' }, 'quorum-lost', /has lost quorum \(1\/3 healthy voters\)/],
    ['membership unknown', { ...cluster(), membershipUnknown: 'no endpoint answered' }, { mode: 'auto' }, 'membership-unknown', /cannot be read \(no endpoint answered\)/],
    ['mode nospace without an alarm', cluster(), { mode: 'nospace' }, 'no-alarm', /no NOSPACE alarm is raised on main/],
    ['the alarm list unread: NOSPACE is unknown, not absent', { ...cluster(), missingSignals: ['alarms'] }, { mode: 'auto' }, 'alarms-unknown', /the alarm list of main could not be read/],
    ['an unknown member named', cluster(), { mode: 'defragment', members: ['etcd-9'] }, 'unknown-member', /no member named "etcd-9" in main; members: etcd-0, etcd-1, etcd-2/],
    ['nothing fragmented', cluster(4 * MiB, 3 * MiB), { mode: 'defragment' }, 'nothing-to-do', /^nothing to defragment in main: etcd-0 not fragmented/],
  ])('%s', (_name, obs, request, code, message) => {
    const built = buildMaintenancePlan(obs, policy, request, NOW);
    expect('refusal' in built && built.refusal.code).toBe(code);
    expect('refusal' in built ? built.refusal.message : '').toMatch(message);
  });
});

describe('maintenance windows (UTC)', () => {
  const weekend: MaintenanceWindow = { days: ['sat', 'sun'], start: '02:00', end: '04:00' };
  const overnight: MaintenanceWindow = { start: '22:00', end: '02:00' };
  it.each<[string, MaintenanceWindow[], string, boolean]>([
    ['no window: any time', [], '2026-11-24T12:00:00Z', true],
    ['a Saturday 03:00 in sat,sun 02:00-04:00', [weekend], '2026-11-28T03:00:00Z', true],
    ['the end is exclusive', [weekend], '2026-11-28T04:00:00Z', false],
    ['a Tuesday 03:00 is not', [weekend], '2026-11-24T03:00:00Z', false],
    ['23:30 in daily 22:00-02:00', [overnight], '2026-11-24T23:30:00Z', true],
    ['01:30 the next morning too', [overnight], '2026-11-25T01:30:00Z', true],
    ['12:00 is not', [overnight], '2026-11-24T12:00:00Z', false],
    ['a window past midnight belongs to the day it starts: Monday 01:00 after sun 22:00-02:00', [{ days: ['sun'], start: '22:00', end: '02:00' }], '2026-11-30T01:00:00Z', true],
  ])('%s', (_name, windows, at, open) => {
    expect(inMaintenanceWindow(windows, new Date(at))).toBe(open);
  });

  it('names the next opening and reads back as written', () => {
    expect(nextWindowOpening([weekend], new Date('2026-11-24T12:00:00Z'))?.toISOString()).toBe('2026-11-28T02:00:00.000Z');
    expect(describeWindow(weekend)).toBe('sat,sun 02:00-04:00 UTC');
    expect(describeWindow(overnight)).toBe('daily 22:00-02:00 UTC');
  });
});

describe('what the monitor decides for space', () => {
  /** Three confirmed samples of `obs`, then the decision. */
  function decide(obs: ClusterObservation, p = policy, state = {}, now = NOW) {
    let window = emptyWindow();
    let assessment = assessRisk(obs, p, window).assessment;
    for (let i = 0; i < 3; i++) {
      const r = assessRisk(obs, p, window);
      window = r.window;
      assessment = r.assessment;
    }
    return planMigration(obs, assessment, p, state, now);
  }
  const nospace = withMember(cluster(QUOTA, QUOTA - MiB), 1, { status: aStatus({ dbSizeBytes: QUOTA, dbSizeInUseBytes: QUOTA - MiB, quotaBytes: QUOTA, alarms: ['NOSPACE'] }) });

  it('NOSPACE: a recovery at once, whatever the windows', () => {
    const d = decide(nospace, aPolicy({ ...policy, maintenance: { ...DEFAULT_MAINTENANCE_POLICY, windows: [{ days: ['sun'], start: '02:00', end: '03:00' }] } }));
    expect(d.kind === 'maintain' && d.plan.mode).toBe('nospace');
    expect(d.summary).toMatch(/^recover from NOSPACE main: NOSPACE alarm raised by etcd-1/);
  });

  it('fragmentation: a defragmentation of the fragmented members inside the window', () => {
    const d = decide(cluster());
    expect(d.kind === 'maintain' && d.plan.mode).toBe('defragment');
  });

  it('fragmentation outside the window waits, and says until when', () => {
    const d = decide(cluster(), aPolicy({ ...policy, maintenance: { ...DEFAULT_MAINTENANCE_POLICY, windows: [{ days: ['sat'], start: '02:00', end: '04:00' }] } }));
    expect(d).toEqual({
      kind: 'none',
      reason: 'outside-window',
      summary: 'etcd-0, etcd-1, etcd-2 fragmented; defragmentation waits for a maintenance window (sat 02:00-04:00 UTC, next at 2026-11-28T02:00:00.000Z)',
    });
  });

  it('one disruptive operation at a time: nothing while a migration runs', () => {
    expect(decide(nospace, policy, { inFlight: { workflowId: 'migrate-main', member: 'etcd-2' } })).toMatchObject({ kind: 'none', reason: 'migration-in-flight' });
  });

  it('automatic maintenance off: NOSPACE pages a person with the runbook; fragmentation is only reported', () => {
    const off = aPolicy({ ...policy, maintenance: { ...DEFAULT_MAINTENANCE_POLICY, auto: false } });
    const d = decide(nospace, off);
    expect(d).toMatchObject({ kind: 'alert', reason: 'nospace' });
    expect(d.kind === 'alert' && d.runbook?.join('\n')).toMatch(/etcdctl alarm disarm/);
    expect(decide(cluster(), off)).toMatchObject({ kind: 'none', reason: 'not-actionable' });
  });

  it('a member down comes first: its migration, not a maintenance', () => {
    const d = decide(withMember(nospace, 2, { status: aDeadStatus() }));
    expect(d.kind).toBe('migrate');
  });

  it('NOSPACE that cannot be recovered now (no fault tolerance) pages a person, saying why', () => {
    const single = { ...nospace, members: nospace.members.slice(1, 2).map((m) => ({ ...m, status: { ...m.status, leaderId: m.id } })) };
    const d = maintenanceDecision(single, assessRisk(single, aPolicy({ ...policy, desiredVoters: 1, hysteresisSamples: 1 }), emptyWindow()).assessment, aPolicy({ ...policy, desiredVoters: 1 }), {}, NOW);
    expect(d).toMatchObject({ kind: 'alert', reason: 'nospace' });
    expect(d?.summary).toMatch(/the guardian cannot recover it now: main has no fault tolerance/);
  });
});
