import { findingsBuilding, metricsReadReason, type MetricsNow, type MetricsReading } from '../../../src/domain/metrics-freshness';

const last: MetricsReading = { readAtMs: 10_000, endpoint: 'http://10.0.0.1:2379', raftTerm: 4, leaderId: 'a' };
const at = (changes: Partial<MetricsNow>): MetricsNow => ({ atMs: 12_000, endpoint: last.endpoint, raftTerm: 4, leaderId: 'a', ...changes });

describe('when a member\'s /metrics is read again', () => {
  it.each<[string, MetricsReading | undefined, MetricsNow, number, string | undefined]>([
    ['never read', undefined, at({}), 5_000, 'not read before'],
    ['a maximum age of 0', last, at({}), 0, 'read every cycle'],
    ['younger than the maximum age, nothing changed', last, at({}), 5_000, undefined],
    ['a clock stepped back', last, at({ atMs: 9_999 }), 5_000, 'clock stepped back'],
    ['exactly the maximum age', last, at({ atMs: 15_000 }), 5_000, 'older than 5000 ms'],
    ['a new endpoint', last, at({ endpoint: 'http://10.0.0.9:2379' }), 5_000, 'new endpoint http://10.0.0.9:2379'],
    ['a new term', last, at({ raftTerm: 5 }), 5_000, 'new term 5'],
    ['a new leader', last, at({ leaderId: 'b' }), 5_000, 'new leader b'],
    ['no leader now', last, at({ leaderId: '0' }), 5_000, 'new leader 0'],
    ['term and leader not known yet (asked before the status)', last, at({ raftTerm: undefined, leaderId: undefined }), 5_000, undefined],
  ])('%s', (_case, reading, now, maxAgeMs, reason) => {
    expect(metricsReadReason(reading, now, maxAgeMs)).toBe(reason);
  });

  it.each<[Record<string, number>, boolean]>([
    [{}, false],
    [{ 'slow-fsync/etcd-1': 0 }, false],
    [{ 'slow-fsync/etcd-1': 1 }, true],
    [{ 'member-unreachable/etcd-0': 0, 'leader-churn/cluster': 2 }, true],
  ])('findings building up in %j: %s', (streaks, building) => {
    expect(findingsBuilding(streaks)).toBe(building);
  });
});
