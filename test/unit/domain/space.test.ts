import type { ClusterObservation } from '../../../src/domain/observation';
import { assessRisk, type Finding } from '../../../src/domain/risk';
import { DEFAULT_SPACE_POLICY, ETCD_DEFAULT_QUOTA_BYTES, formatBytes, formatDurationMs, growthRate, memberQuotaBytes, type SpacePolicy } from '../../../src/domain/space';
import { emptyWindow, type SampleWindow } from '../../../src/domain/window';
import { aCluster, aMember, aPolicy, aStatus, withMember } from '../../builders';

const MiB = 1024 * 1024;
const QUOTA = 64 * MiB;

/** A cluster whose members report `total` and `inUse` bytes against a 64 MiB quota (member 0's sizes overridden). */
function sized(total: number, inUse: number, extra: Partial<ReturnType<typeof aStatus>> = {}): ClusterObservation {
  const obs = aCluster(3);
  return {
    ...obs,
    members: obs.members.map((m, i) => ({ ...m, status: aStatus({ dbSizeBytes: i === 0 ? total : 2 * MiB, dbSizeInUseBytes: i === 0 ? inUse : 2 * MiB, quotaBytes: QUOTA, ...(i === 0 ? extra : {}) }) })),
  };
}

const SPACE = aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 8 * MiB } });

function spaceFindings(observations: ClusterObservation[], policy = SPACE): Finding[] {
  let window: SampleWindow = emptyWindow();
  let findings: Finding[] = [];
  for (const obs of observations) {
    const result = assessRisk(obs, policy, window);
    window = result.window;
    findings = result.assessment.findings;
  }
  return findings.filter((f) => ['nospace-alarm', 'db-near-quota', 'db-growth', 'db-fragmented', 'db-alarm'].includes(f.kind));
}

const at = (obs: ClusterObservation, minute: number): ClusterObservation => ({ ...obs, observedAt: new Date(Date.parse('2026-11-24T12:00:00Z') + minute * 60_000).toISOString() });

describe('space findings: each with its figures and the threshold it crossed', () => {
  it.each<[string, ClusterObservation, Array<[string, string | undefined]>]>([
    ['a small, compact database', sized(4 * MiB, 3 * MiB), []],
    ['free pages in a database under the minimum size are not worth a defragmentation', sized(6 * MiB, 1 * MiB), []],
    ['in use / total just above the ratio', sized(20 * MiB, 11.2 * MiB), []],
    ['in use / total below 0.55 with at least the minimum size', sized(20 * MiB, 10 * MiB), [['db-fragmented', 'warning']]],
    ['79 % of the quota', sized(0.79 * QUOTA, 0.78 * QUOTA), []],
    ['80 % of the quota: a warning', sized(0.8 * QUOTA, 0.79 * QUOTA), [['db-near-quota', 'warning']]],
    ['95 % of the quota: critical', sized(0.95 * QUOTA, 0.94 * QUOTA), [['db-near-quota', 'critical']]],
    ['a NOSPACE alarm: critical, for the cluster', sized(QUOTA, 0.99 * QUOTA, { alarms: ['NOSPACE'] }), [['nospace-alarm', 'critical'], ['db-near-quota', 'critical']]],
    ['a CORRUPT alarm stays a member alarm for a person', sized(4 * MiB, 3 * MiB, { alarms: ['CORRUPT'] }), [['db-alarm', 'critical']]],
  ])('%s', (_name, obs, expected) => {
    const found = spaceFindings([obs, obs, obs]);
    expect(found.map((f) => [f.kind, f.severity])).toEqual(expected);
    expect(found.every((f) => f.confirmed)).toBe(true);
  });

  it('fragmentation names the sizes, the ratio and what a defragmentation returns', () => {
    const [f] = spaceFindings([sized(40 * MiB, 10 * MiB)]);
    expect(f).toMatchObject({
      kind: 'db-fragmented',
      member: 'etcd-0',
      message: 'member etcd-0 database is 40.0 MiB with 10.0 MiB in use (25.0%, below 55%): defragmenting would return 30.0 MiB',
      evidence: { dbSizeBytes: 40 * MiB, dbSizeInUseBytes: 10 * MiB, inUseRatio: 0.25, threshold: 0.55, minBytes: 8 * MiB },
      confirmed: false,
    });
  });

  it('NOSPACE names the members that raised it, the largest database and the quota', () => {
    const obs = withMember(sized(QUOTA, QUOTA, { alarms: ['NOSPACE'] }), 1, { status: aStatus({ dbSizeBytes: QUOTA - MiB, quotaBytes: QUOTA, alarms: ['NOSPACE'] }) });
    const f = spaceFindings([obs]).find((x) => x.kind === 'nospace-alarm');
    expect(f?.message).toBe(
      'NOSPACE alarm raised by etcd-0, etcd-1: etcd refuses every write until the database is below its quota and the alarm is disarmed (largest database 64.0 MiB, quota 64.0 MiB)',
    );
    expect(f?.evidence).toEqual({ members: 'etcd-0,etcd-1', dbSizeBytes: QUOTA, quotaBytes: QUOTA });
  });

  it('a member that does not report its quota is judged against the configured one, else etcd\'s 2 GiB', () => {
    const member = aMember(0, { status: aStatus({ dbSizeBytes: 10 * MiB }) });
    expect(memberQuotaBytes(member, DEFAULT_SPACE_POLICY)).toBe(ETCD_DEFAULT_QUOTA_BYTES);
    expect(memberQuotaBytes(member, { ...DEFAULT_SPACE_POLICY, quotaBytes: 8 * 1024 ** 3 })).toBe(8 * 1024 ** 3);
    expect(memberQuotaBytes({ ...member, status: { ...member.status, quotaBytes: QUOTA } }, { ...DEFAULT_SPACE_POLICY, quotaBytes: 8 * 1024 ** 3 })).toBe(QUOTA);
  });
});

describe('growth towards the quota', () => {
  const growing = (minute: number, inUseMiB: number): ClusterObservation => at(sized(40 * MiB, inUseMiB * MiB), minute);

  it.each<[string, Array<[number, number]>, boolean]>([
    ['steady in use: no growth', [[0, 10], [1, 10], [2, 10], [3, 10]], false],
    ['1 MiB a minute, 54 MiB to go: the quota in 54 min, within 4 h (a rate from the third sample, confirmed three samples later)', [[0, 10], [1, 11], [2, 12], [3, 13], [4, 14]], true],
    ['1 MiB an hour: the quota in days', [[0, 10], [60, 11], [120, 12], [180, 13]], false],
    ['shrinking (a compaction): no growth', [[0, 20], [1, 15], [2, 12], [3, 10]], false],
  ])('%s', (_name, points, expected) => {
    const found = spaceFindings(points.map(([m, mib]) => growing(m, mib)), aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 1024 * MiB } }));
    expect(found.some((f) => f.kind === 'db-growth' && f.confirmed)).toBe(expected);
  });

  it('a follower filling up from the leader\'s snapshot (a member that just joined) is no growth: only the leader\'s data counts', () => {
    const joining = (minute: number, inUseMiB: number): ClusterObservation => at(withMember(sized(40 * MiB, 10 * MiB), 2, { status: aStatus({ dbSizeBytes: inUseMiB * MiB, dbSizeInUseBytes: inUseMiB * MiB, quotaBytes: QUOTA }) }), minute);
    const found = spaceFindings([joining(0, 1), joining(0.1, 20), joining(0.2, 40), joining(0.3, 40)], aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 1024 * MiB } }));
    expect(found.filter((f) => f.kind === 'db-growth')).toEqual([]);
  });

  it('two samples are not a rate: a burst between them is no trend', () => {
    const found = spaceFindings([growing(0, 10), growing(1, 30)], aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 1024 * MiB }, hysteresisSamples: 1 }));
    expect(found.filter((f) => f.kind === 'db-growth')).toEqual([]);
  });

  it('says the rate and when the quota is reached', () => {
    const found = spaceFindings([growing(0, 10), growing(1, 11), growing(2, 12)], aPolicy({ space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 1024 * MiB } }));
    expect(found.find((f) => f.kind === 'db-growth')?.message).toBe(
      'member etcd-0 database grows 60.0 MiB/h (12.0 MiB in use): at that rate it reaches its 64.0 MiB quota in 52m (horizon 4h)',
    );
  });

  it.each<[string, Array<[number, number]>, number | undefined]>([
    ['one point', [[0, 1]], undefined],
    ['two points a second apart', [[0, 1], [1000, 2]], 0.001],
    ['after a shrink only the points since the smallest count', [[0, 50], [1000, 10], [2000, 12]], 0.002],
    ['no time between the points', [[5, 1], [5, 9]], undefined],
  ])('growthRate: %s', (_name, points, expected) => {
    expect(growthRate(points)).toBe(expected);
  });
});

describe('figures an operator reads', () => {
  it.each<[number, string]>([
    [512, '512 B'],
    [1536, '1.50 KiB'],
    [64 * MiB, '64.0 MiB'],
    [2 * 1024 ** 3, '2.00 GiB'],
    [150 * MiB, '150 MiB'],
  ])('%i bytes read %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each<[number, string]>([
    [30_000, '30s'],
    [90_000, '1m30s'],
    [45 * 60_000, '45m'],
    [4 * 3_600_000, '4h'],
    [3 * 3_600_000 + 20 * 60_000, '3h20m'],
  ])('%i ms reads %s', (ms, text) => expect(formatDurationMs(ms)).toBe(text));
});

const defaults: SpacePolicy = DEFAULT_SPACE_POLICY;
it('the defaults are OpenShift\'s defrag thresholds and etcd\'s quota warnings', () => {
  expect(defaults).toEqual({ fragmentedRatio: 0.55, fragmentedMinBytes: 100 * MiB, quotaWarning: 0.8, quotaCritical: 0.95, growthHorizonMs: 4 * 3_600_000 });
});
