import type { MetricMeter, MetricTags } from '@temporalio/common';
import { noopMetricMeter } from '@temporalio/common';
import { recordSamples } from '../../../src/observability/record';

/** A meter that writes down what it is asked to record, as `kind name value {labels}`. */
function aRecordingMeter(failOn?: string): { meter: MetricMeter; recorded: string[] } {
  const recorded: string[] = [];
  const note = (kind: string, name: string) => (value: number, tags?: MetricTags) => {
    if (name === failOn) throw new Error(`${name} refused`);
    recorded.push(`${kind} ${name} ${value} ${JSON.stringify(tags ?? {})}`);
  };
  const meter: MetricMeter = {
    createCounter: (name) => ({ ...noopMetricMeter.createCounter(name), add: note('counter', name) }),
    createGauge: (name, valueType) => ({ ...noopMetricMeter.createGauge(name, valueType), set: note('gauge', name) }),
    createHistogram: (name, valueType) => ({ ...noopMetricMeter.createHistogram(name, valueType), record: note('histogram', name) }),
    withTags: () => meter,
  };
  return { meter, recorded };
}

describe('recordSamples', () => {
  it('adds to counters, sets gauges and observes histograms under their exported names', () => {
    const { meter, recorded } = aRecordingMeter();
    recordSamples(meter, [
      { metric: 'migrations', value: 1, labels: { cluster: 'main', strategy: 'surge', result: 'succeeded' } },
      { metric: 'healthyVoters', value: 3, labels: { cluster: 'main' } },
      { metric: 'migrationDuration', value: 42.5, labels: { cluster: 'main' } },
    ]);
    expect(recorded).toEqual([
      'counter etcd_guardian_migrations 1 {"cluster":"main","strategy":"surge","result":"succeeded"}',
      'gauge etcd_guardian_cluster_healthy_voters 3 {"cluster":"main"}',
      'histogram etcd_guardian_migration_duration_seconds 42.5 {"cluster":"main"}',
    ]);
  });

  it('never throws: a sample the meter refuses is dropped and the others are still recorded', () => {
    const { meter, recorded } = aRecordingMeter('etcd_guardian_cluster_voters');
    expect(() =>
      recordSamples(meter, [
        { metric: 'voters', value: 3, labels: { cluster: 'main' } },
        { metric: 'faultTolerance', value: 1, labels: { cluster: 'main' } },
      ]),
    ).not.toThrow();
    expect(recorded).toEqual(['gauge etcd_guardian_cluster_fault_tolerance 1 {"cluster":"main"}']);
  });
});
