import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ETCD_FIGURE_METRICS, extractEtcdFigures, type HistogramMemory } from '../../../src/metrics/etcd-metrics';
import {
  bucketDelta,
  histogramBuckets,
  histogramQuantile,
  MetricsParseError,
  parsePrometheusText,
  sampleValue,
  type Buckets,
} from '../../../src/metrics/prometheus';

/** Real output of etcd 3.4.23's /metrics after 30 writes, captured from a throwaway member. */
const realEtcd = readFileSync(join(__dirname, '../../fixtures/metrics/etcd-3.4.23-single-member.txt'), 'utf8');

function histogram(name: string, counts: [string, number][], labels = ''): string {
  return counts.map(([le, n]) => `${name}_bucket{${labels}${labels ? ',' : ''}le="${le}"} ${n}`).join('\n');
}

describe('the Prometheus text parser', () => {
  it('reads every sample of a real etcd exposition', () => {
    const samples = parsePrometheusText(realEtcd);
    expect(samples.length).toBeGreaterThan(500);
    expect(sampleValue(samples, 'etcd_server_has_leader')).toBe(1);
    expect(sampleValue(samples, 'etcd_disk_wal_fsync_duration_seconds_count')).toBe(36);
  });

  it.each([
    ['a bare sample', 'up 1', { name: 'up', labels: {}, value: 1 }],
    ['labels and a timestamp', 'http_requests_total{method="post",code="200"} 1027 1395066363000', { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027 }],
    ['escaped quotes, backslashes and newlines', 'm{path="C:\\\\dir \\"x\\"\\n"} 2', { name: 'm', labels: { path: 'C:\\dir "x"\n' }, value: 2 }],
    ['a trailing comma in the labels', 'm{a="1",} 3', { name: 'm', labels: { a: '1' }, value: 3 }],
    ['+Inf', 'm +Inf', { name: 'm', labels: {}, value: Number.POSITIVE_INFINITY }],
    ['scientific notation', 'm 1.5e-3', { name: 'm', labels: {}, value: 0.0015 }],
  ])('parses %s', (_name, line, sample) => {
    expect(parsePrometheusText(`# HELP m help\n# TYPE m gauge\n${line}\n`)).toEqual([sample]);
  });

  it('parses NaN as NaN', () => {
    expect(parsePrometheusText('m NaN')[0]?.value).toBeNaN();
  });

  it.each([
    ['a line with no name', '{a="1"} 2', 'metrics line 1: expected a metric name: {a="1"} 2'],
    ['an unterminated label value', 'm{a="1} 2', 'metrics line 1: unterminated value of label a: m{a="1} 2'],
    ['a missing value', 'm{a="1"}', 'metrics line 1: expected a value: m{a="1"}'],
    ['a value that is not a number', 'm abc', 'metrics line 1: expected a value: m abc'],
    ['a label without =', 'm{a 1} 2', 'metrics line 1: expected =" after label a: m{a 1} 2'],
  ])('rejects %s, naming the line', (_name, line, message) => {
    expect(() => parsePrometheusText(line)).toThrow(MetricsParseError);
    expect(() => parsePrometheusText(line)).toThrow(message);
  });
});

describe('histogram quantiles, as histogram_quantile computes them', () => {
  const buckets: Buckets = [
    { le: 0.001, count: 50 },
    { le: 0.01, count: 90 },
    { le: 0.1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  it.each([
    [0.5, 0.001 * (50 / 50)],
    [0.7, 0.001 + 0.009 * (20 / 40)],
    [0.99, 0.01 + 0.09 * (9 / 10)],
  ])('q=%f', (q, expected) => {
    expect(histogramQuantile(q, buckets)).toBeCloseTo(expected, 9);
  });

  it('an empty histogram has no quantile', () => {
    expect(histogramQuantile(0.99, [{ le: 1, count: 0 }])).toBeUndefined();
    expect(histogramQuantile(0.99, [])).toBeUndefined();
  });

  it('a rank in the +Inf bucket gives the largest finite bound', () => {
    expect(histogramQuantile(0.99, [{ le: 0.5, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }])).toBe(0.5);
  });

  it('the delta of two snapshots holds only the new observations, and a reset keeps the current one', () => {
    const before: Buckets = [{ le: 1, count: 5 }, { le: Number.POSITIVE_INFINITY, count: 6 }];
    const after: Buckets = [{ le: 1, count: 7 }, { le: Number.POSITIVE_INFINITY, count: 10 }];
    expect(bucketDelta(after, before)).toEqual([{ le: 1, count: 2 }, { le: Number.POSITIVE_INFINITY, count: 4 }]);
    expect(bucketDelta(before, after)).toBe(before);
  });
});

describe('etcd figures from /metrics', () => {
  it('reads leader, counters, WAL fsync p99 and the space quota (etcd\'s 2 GiB default) from a real member', () => {
    expect(extractEtcdFigures(parsePrometheusText(realEtcd))).toEqual({
      hasLeader: true,
      leaderChangesSeen: 1,
      proposalsFailed: 0,
      proposalsPending: 0,
      quotaBytes: 2 * 1024 ** 3,
      walFsyncP99Seconds: expect.any(Number) as number,
    });
  });

  it('takes the slowest peer as the round-trip figure', () => {
    const text = [
      histogram('etcd_network_peer_round_trip_time_seconds', [['0.001', 90], ['0.002', 100], ['+Inf', 100]], 'To="a"'),
      histogram('etcd_network_peer_round_trip_time_seconds', [['0.1', 0], ['0.2', 100], ['+Inf', 100]], 'To="b"'),
    ].join('\n');
    expect(extractEtcdFigures(parsePrometheusText(text)).peerRoundTripP99Seconds).toBeCloseTo(0.199, 6);
  });

  it('reports p99 over recent windows, so that an old incident stops counting', () => {
    const memory: HistogramMemory = new Map();
    const read = (fast: number, slow: number): number | undefined =>
      extractEtcdFigures(parsePrometheusText(histogram('etcd_disk_wal_fsync_duration_seconds', [['0.001', fast], ['1.024', fast + slow], ['+Inf', fast + slow]])), memory)
        .walFsyncP99Seconds;
    // An incident in the past: 100 slow fsyncs among 1000.
    expect(read(900, 100)).toBeUndefined(); // the first read only sets the baseline
    expect(read(1000, 100)).toBeLessThan(0.001); // 100 fast ones since: the window is fast
    expect(read(1005, 100)).toBeLessThan(0.001); // too few new observations: the last window stands
    expect(read(1005, 200)).toBeGreaterThan(1); // 100 slow ones since: the window is slow
  });

  it('without memory, reports the lifetime p99', () => {
    const text = histogram('etcd_disk_wal_fsync_duration_seconds', [['0.001', 90], ['1.024', 100], ['+Inf', 100]]);
    expect(extractEtcdFigures(parsePrometheusText(text)).walFsyncP99Seconds).toBeGreaterThan(0.9);
  });

  it('groups buckets by a label', () => {
    const text = histogram('h', [['1', 1]], 'To="x"') + '\n' + histogram('h', [['1', 2]], 'To="y"');
    expect([...histogramBuckets(parsePrometheusText(text), 'h', 'To').keys()]).toEqual(['x', 'y']);
  });

  it('parsing only the metrics it reads gives the same figures, from a real member and from peers', () => {
    const peers = [
      histogram('etcd_network_peer_round_trip_time_seconds', [['0.001', 90], ['0.002', 100], ['+Inf', 100]], 'To="a"'),
      histogram('etcd_network_peer_round_trip_time_seconds', [['0.1', 0], ['0.2', 100], ['+Inf', 100]], 'To="b"'),
      'etcd_network_peer_round_trip_time_seconds_sum{To="b"} 15',
    ].join('\n');
    for (const text of [realEtcd, `${realEtcd}\n${peers}`]) {
      const kept = parsePrometheusText(text, ETCD_FIGURE_METRICS);
      expect(kept.length).toBeLessThan(parsePrometheusText(text).length / 10);
      expect(extractEtcdFigures(kept)).toEqual(extractEtcdFigures(parsePrometheusText(text)));
    }
    expect(extractEtcdFigures(parsePrometheusText(`${realEtcd}\n${peers}`, ETCD_FIGURE_METRICS)).peerRoundTripP99Seconds).toBeCloseTo(0.199, 6);
  });

  it('a bad line is still reported when it is not among the metrics kept', () => {
    expect(() => parsePrometheusText('etcd_server_has_leader 1\n{broken} 2', ETCD_FIGURE_METRICS)).toThrow(MetricsParseError);
  });

  it('a member with no metrics yields no figures', () => {
    expect(extractEtcdFigures([])).toEqual({});
  });
});
