import type { ClusterObservation } from '../../../src/domain/observation';
import { planMigration, type Decision } from '../../../src/domain/plan';
import { assessRisk, FINDING_KINDS, type Assessment } from '../../../src/domain/risk';
import { emptyWindow, type SampleWindow } from '../../../src/domain/window';
import { cycleSamples, failedCycleSamples, HEALTH_STATES, type HealthState } from '../../../src/observability/cluster-metrics';
import { GUARDIAN_METRICS, type MetricSample } from '../../../src/observability/metric-definitions';
import { aCluster, aDeadStatus, aPolicy, aStatus, withMember } from '../../builders';

const NOW = new Date('2026-11-24T12:00:00.000Z');
/** The cycle ended at NOW, 5 s after the previous one should have; no operation runs. */
const CYCLE = { cycle: { atMs: NOW.getTime(), intervalMs: 5000 }, operationRunning: false };

/** `samples` identical observations assessed in a row, as the monitor would, and the decision after the last. */
function cycleOf(obs: ClusterObservation, samples = 1): { assessment: Assessment; decision: Decision } {
  const policy = aPolicy();
  let window: SampleWindow = emptyWindow();
  let assessment: Assessment | undefined;
  for (let i = 0; i < samples; i++) ({ assessment, window } = assessRisk(obs, policy, window));
  if (!assessment) throw new Error('no sample');
  return { assessment, decision: planMigration(obs, assessment, policy, {}, NOW) };
}

/** Samples as `name{label="value",...}` → value, the way a scrape reads them. */
function scraped(samples: readonly MetricSample[]): Map<string, number> {
  return new Map(
    samples.map((s) => {
      const labels = Object.entries(s.labels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      return [`${GUARDIAN_METRICS[s.metric].name}{${labels}}`, s.value];
    }),
  );
}

function nonZeroFindings(samples: readonly MetricSample[]): string[] {
  return samples.filter((s) => s.metric === 'findings' && s.value > 0).map((s) => `${s.labels['kind']}/${s.labels['status']}=${s.value}`);
}

function healthOne(samples: readonly MetricSample[]): string[] {
  return samples.filter((s) => s.metric === 'health' && s.value === 1).map((s) => s.labels['health'] ?? '?');
}

const oneDown = (): ClusterObservation => withMember(aCluster(3), 2, { status: aDeadStatus() });
// Two of three voters down: no quorum; the survivor still believes in its old leader.
const twoDown = (): ClusterObservation => withMember(withMember(aCluster(3), 1, { status: aDeadStatus() }), 2, { status: aDeadStatus() });

describe('the gauges of one monitor cycle', () => {
  it.each<[string, () => ClusterObservation, number, HealthState, { voters: number; healthy: number; tolerance: number }]>([
    ['a healthy cluster of three', () => aCluster(3), 3, 'healthy', { voters: 3, healthy: 3, tolerance: 1 }],
    ['a cluster of five', () => aCluster(5), 3, 'healthy', { voters: 5, healthy: 5, tolerance: 2 }],
    ['a cluster of three with one member down', oneDown, 3, 'at-risk', { voters: 3, healthy: 2, tolerance: 0 }],
    ['a cluster that lost quorum, whose fault tolerance reads 0 rather than negative', twoDown, 3, 'quorum-lost', { voters: 3, healthy: 1, tolerance: 0 }],
  ])('%s: voters, healthy voters and fault tolerance as gauges', (_case, obs, samples, health, expected) => {
    const { assessment, decision } = cycleOf(obs(), samples);
    const metrics = scraped(cycleSamples({ cluster: 'main', assessment, decision, health, ...CYCLE }));
    expect([
      metrics.get('etcd_guardian_cluster_voters{cluster="main"}'),
      metrics.get('etcd_guardian_cluster_healthy_voters{cluster="main"}'),
      metrics.get('etcd_guardian_cluster_fault_tolerance{cluster="main"}'),
    ]).toEqual([expected.voters, expected.healthy, expected.tolerance]);
  });

  it('writes every health state, 1 for the current one and 0 for the others, so that a past state reads 0', () => {
    const { assessment, decision } = cycleOf(oneDown(), 3);
    const samples = cycleSamples({ cluster: 'main', assessment, decision, health: 'at-risk', ...CYCLE });
    expect(samples.filter((s) => s.metric === 'health').map((s) => [s.labels['health'], s.value])).toEqual(
      HEALTH_STATES.map((state) => [state, state === 'at-risk' ? 1 : 0]),
    );
  });

  it('writes every finding kind, confirmed and pending, with 0 for a healthy cluster', () => {
    const { assessment, decision } = cycleOf(aCluster(3), 3);
    const samples = cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', ...CYCLE });
    expect(samples.filter((s) => s.metric === 'findings')).toHaveLength(FINDING_KINDS.length * 2);
    expect(nonZeroFindings(samples)).toEqual([]);
  });

  it.each([
    ['after one sample a down member is a pending finding', 1, ['member-unreachable/pending=1', 'quorum-at-risk/pending=1']],
    ['after three samples it is confirmed', 3, ['quorum-at-risk/confirmed=1', 'member-unreachable/confirmed=1']],
  ])('%s', (_case, samples, expected) => {
    const { assessment, decision } = cycleOf(oneDown(), samples);
    expect(nonZeroFindings(cycleSamples({ cluster: 'main', assessment, decision, health: 'at-risk', ...CYCLE })).sort()).toEqual([...expected].sort());
  });

  it.each<[string, () => ClusterObservation, number, string]>([
    ['a healthy cluster counts a "none" decision with its reason', () => aCluster(3), 3, 'etcd_guardian_monitor_decisions{cluster="main",decision="none",reason="healthy"}'],
    ['a confirmed dead member counts a "migrate" decision with its strategy', oneDown, 3, 'etcd_guardian_monitor_decisions{cluster="main",decision="migrate",reason="replace"}'],
    ['a lost quorum counts an "alert" decision with its reason', twoDown, 3, 'etcd_guardian_monitor_decisions{cluster="main",decision="alert",reason="quorum-lost"}'],
  ])('%s', (_case, obs, samples, key) => {
    const { assessment, decision } = cycleOf(obs(), samples);
    const metrics = scraped(cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', ...CYCLE }));
    expect(metrics.get(key)).toBe(1);
    expect(metrics.get('etcd_guardian_monitor_cycles{cluster="main",result="ok"}')).toBe(1);
  });
});

describe('leader changes', () => {
  const ledBy = (leaderId: string): ClusterObservation => {
    const obs = aCluster(3);
    return { ...obs, members: obs.members.map((m) => ({ ...m, status: aStatus({ leaderId }) })) };
  };

  it.each<[string, ClusterObservation, string | undefined, number]>([
    ['counts one when the leader differs from the previous cycle', ledBy('2'), '1', 1],
    ['counts none when the leader is the same', ledBy('1'), '1', 0],
    ['counts none on the first cycle, when no previous leader is known', ledBy('2'), undefined, 0],
    ['counts none while no leader is known', ledBy('0'), '1', 0],
  ])('%s', (_case, obs, previousLeaderId, expected) => {
    const { assessment, decision } = cycleOf(obs);
    const samples = cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', ...(previousLeaderId ? { previousLeaderId } : {}), ...CYCLE });
    expect(samples.filter((s) => s.metric === 'leaderChanges').reduce((sum, s) => sum + s.value, 0)).toBe(expected);
  });
});

describe('a failed cycle', () => {
  it('reads health unknown and counts a failed cycle, leaving the quorum figures as they were', () => {
    const samples = failedCycleSamples('main', CYCLE.cycle);
    expect(healthOne(samples)).toEqual(['unknown']);
    expect(scraped(samples).get('etcd_guardian_monitor_cycles{cluster="main",result="failed"}')).toBe(1);
    expect(samples.filter((s) => ['voters', 'healthyVoters', 'faultTolerance'].includes(s.metric))).toEqual([]);
  });

  it('still moves the last-cycle time: a monitor whose cycles fail is alive, and says so through its health', () => {
    const metrics = scraped(failedCycleSamples('main', CYCLE.cycle));
    expect(metrics.get('etcd_guardian_monitor_last_cycle_timestamp_seconds{cluster="main"}')).toBe(NOW.getTime() / 1000);
  });
});

describe('the monitor\'s clock and the operation in flight', () => {
  it.each([
    ['no operation runs', false, 0],
    ['a migration, repair or maintenance runs', true, 1],
  ])('%s: the time of the cycle, the interval, and whether an operation runs', (_case, operationRunning, running) => {
    const { assessment, decision } = cycleOf(aCluster(3), 3);
    const metrics = scraped(cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', cycle: { atMs: NOW.getTime(), intervalMs: 15_000 }, operationRunning }));
    expect([
      metrics.get('etcd_guardian_monitor_last_cycle_timestamp_seconds{cluster="main"}'),
      metrics.get('etcd_guardian_monitor_interval_seconds{cluster="main"}'),
      metrics.get('etcd_guardian_cluster_operation_running{cluster="main"}'),
    ]).toEqual([NOW.getTime() / 1000, 15, running]);
  });
});

describe('the newest verified backup', () => {
  it('exports its age and size when the monitor knows one, and no series before', () => {
    const { assessment, decision } = cycleOf(aCluster(3), 3);
    const without = scraped(cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', ...CYCLE }));
    expect(without.get('etcd_guardian_backup_last_verified_age_seconds{cluster="main"}')).toBeUndefined();
    const withBackup = scraped(cycleSamples({ cluster: 'main', assessment, decision, health: 'healthy', ...CYCLE, backup: { lastVerifiedAgeSeconds: 125.5, lastVerifiedBytes: 4096 } }));
    expect([
      withBackup.get('etcd_guardian_backup_last_verified_age_seconds{cluster="main"}'),
      withBackup.get('etcd_guardian_backup_last_verified_bytes{cluster="main"}'),
    ]).toEqual([125.5, 4096]);
  });
});
