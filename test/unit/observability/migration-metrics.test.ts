import { GUARDIAN_METRICS, histogramBuckets } from '../../../src/observability/metric-definitions';
import { migrationSamples, stepLabel, type EndedMigration } from '../../../src/observability/migration-metrics';

const SURGE: EndedMigration = {
  cluster: 'main',
  strategy: 'surge',
  outcome: 'succeeded',
  durationMs: 95_500,
  steps: [
    { step: 'plan', status: 'done', durationMs: 120 },
    { step: 'backup-snapshot', status: 'done', durationMs: 800 },
    { step: 'choose-node', status: 'done', durationMs: 90 },
    { step: 'schedule-pod', status: 'done', durationMs: 7_000 },
    { step: 'rejoin', status: 'done', durationMs: 12_500 },
    { step: 'verify-member', status: 'done', durationMs: 1_000 },
    { step: 'move-leader', status: 'done', durationMs: 50 },
    { step: 'remove-member', status: 'done', durationMs: 300 },
    { step: 'delete-pod', status: 'done', durationMs: 30_000 },
    { step: 'verify-quorum', status: 'done', durationMs: 2_000 },
  ],
};

describe('the metrics of a finished migration', () => {
  it('counts it once by strategy and result, and records its duration in seconds', () => {
    const samples = migrationSamples(SURGE);
    expect(samples.filter((s) => s.metric !== 'stepDuration')).toEqual([
      { metric: 'migrations', value: 1, labels: { cluster: 'main', strategy: 'surge', result: 'succeeded' } },
      { metric: 'migrationDuration', value: 95.5, labels: { cluster: 'main', strategy: 'surge', result: 'succeeded' } },
    ]);
  });

  it('records every ended step with its duration in seconds, its strategy and status', () => {
    const steps = migrationSamples(SURGE).filter((s) => s.metric === 'stepDuration');
    expect(steps.map((s) => [s.labels['step'], s.value])).toEqual(SURGE.steps.map((s) => [s.step, (s.durationMs ?? 0) / 1000]));
    expect(new Set(steps.map((s) => `${s.labels['cluster']} ${s.labels['strategy']} ${s.labels['status']}`))).toEqual(new Set(['main surge done']));
  });

  it('of a failed migration records the failed step and its compensations under one label, and skips the step still running', () => {
    const samples = migrationSamples({
      cluster: 'main',
      strategy: 'replace',
      outcome: 'failed',
      durationMs: 40_000,
      steps: [
        { step: 'schedule-pod', status: 'failed', durationMs: 20_000 },
        { step: 'compensate: delete pod etcd-3', status: 'compensated', durationMs: 3_000 },
        { step: 'compensate: remove learner etcd-3 on node-4', status: 'failed', durationMs: 1_000 },
        { step: 'verify-quorum', status: 'running' },
      ],
    });
    expect(samples.filter((s) => s.metric === 'stepDuration').map((s) => [s.labels['step'], s.labels['status'], s.value])).toEqual([
      ['schedule-pod', 'failed', 20],
      ['compensation', 'compensated', 3],
      ['compensation', 'failed', 1],
    ]);
    expect(samples[0]).toEqual({ metric: 'migrations', value: 1, labels: { cluster: 'main', strategy: 'replace', result: 'failed' } });
  });

  it('never records a negative duration (a clock that went back)', () => {
    const samples = migrationSamples({ ...SURGE, durationMs: -5, steps: [{ step: 'plan', status: 'done', durationMs: -1 }] });
    expect(samples.map((s) => s.value)).toEqual([1, 0, 0]);
  });

  it.each([
    ['plan', 'plan'],
    ['verify-quorum', 'verify-quorum'],
    ['compensate: delete pod etcd-3', 'compensation'],
  ])('labels the step %s as %s', (step, label) => {
    expect(stepLabel(step)).toBe(label);
  });
});

describe('metric definitions', () => {
  it('name every metric etcd_guardian_*, histograms with their unit in seconds', () => {
    for (const definition of Object.values(GUARDIAN_METRICS)) {
      expect(definition.name).toMatch(/^etcd_guardian_[a-z_]+$/);
      if (definition.kind === 'histogram') expect(definition.name).toMatch(/_seconds$/);
      if (definition.kind === 'counter') expect(definition.name).not.toMatch(/_total$/);
    }
  });

  it('give the exporter increasing bucket bounds for both histograms', () => {
    const buckets = histogramBuckets();
    expect(Object.keys(buckets).sort()).toEqual(['etcd_guardian_migration_duration_seconds', 'etcd_guardian_migration_step_duration_seconds']);
    for (const bounds of Object.values(buckets)) expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
  });
});
