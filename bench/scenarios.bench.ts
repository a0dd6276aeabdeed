import type { FaultKind, PressureLevels } from '../src/sandbox';
import { GameDay, settled } from '../test/integration/harness/gameday';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { followerPod } from './cluster';
import { benchRuns, quantile, seconds, stepTotals, times, writeReport } from './stats';

/**
 * Time from fault to verified quorum for each kind of fault, against one 3-member sandbox watched by the real
 * worker and monitor: detection (fault to the migration's start), each step, and the total (fault to the migration
 * closed with a verified quorum), next to what Kubernetes alone would do.
 */

jest.setTimeout(3_600_000);

const RUNS = benchRuns();
const STEPS = ['plan', 'backup-snapshot', 'move-leader', 'remove-member', 'delete-pod', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum'];
/** Taint-based eviction with default settings: ~50 s node-monitor grace period, then the 300 s default toleration. */
const EVICTION_MS = 350_000;

interface FaultCase {
  name: string;
  kind: FaultKind;
  levels?: PressureLevels;
  /** What Kubernetes alone does: evicts after EVICTION_MS, or never moves the pod. */
  baselineMs: number;
}

const CASES: FaultCase[] = [
  { name: 'node-down', kind: 'node-down', baselineMs: EVICTION_MS },
  { name: 'node CPU pressure (0.97)', kind: 'node-pressure', levels: { cpu: 0.97 }, baselineMs: Number.POSITIVE_INFINITY },
  { name: 'node memory pressure (0.95)', kind: 'node-pressure', levels: { memory: 0.95 }, baselineMs: Number.POSITIVE_INFINITY },
  { name: 'pod-freeze', kind: 'pod-freeze', baselineMs: Number.POSITIVE_INFINITY },
  { name: 'pod-crash', kind: 'pod-crash', baselineMs: Number.POSITIVE_INFINITY },
];

interface Run {
  fault: string;
  member: string;
  strategy: string;
  detectionMs: number;
  totalMs: number;
  steps: Record<string, number>;
}

const runs: Run[] = [];
let h: GuardianHarness;
let day: GameDay;

async function oneRun(c: FaultCase): Promise<void> {
  await day.healthyAgain(Date.now());
  await settled(h);
  const previous = await day.latestMigrationRun();
  const victim = await followerPod(h);
  const target = c.kind === 'pod-freeze' || c.kind === 'pod-crash' ? victim.pod : victim.node;
  const faultAt = Date.now();
  await h.sandbox.fault(c.kind, target, c.levels);
  try {
    const { outcome } = await day.migrationAfter(previous);
    const { result, from, to } = outcome;
    runs.push({ fault: c.name, member: result.member, strategy: result.strategy, detectionMs: from - faultAt, totalMs: to - faultAt, steps: stepTotals(result.steps) });
  } finally {
    // A pod the migration deleted took its fault with it.
    await day.healAll([target]);
  }
}

beforeAll(async () => {
  h = await startGuardian({ tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '2s' } });
  day = await GameDay.start(h, { size: 3, intervalMs: 1000, workflowId: 'bench-monitor' });
}, 300_000);

afterAll(async () => {
  await day?.monitor.terminate('benchmark done').catch(() => undefined);
  await h?.stop();
  const rows = CASES.flatMap((c) => {
    const mine = runs.filter((r) => r.fault === c.name);
    if (mine.length === 0) return [];
    const column = (pick: (r: Run) => number | undefined): string[] => {
      const values = mine.map(pick).filter((v): v is number => v !== undefined);
      return [seconds(quantile(values, 0.5)), seconds(Math.max(...values))];
    };
    const total = quantile(mine.map((r) => r.totalMs), 0.5);
    const baseline = Number.isFinite(c.baselineMs) ? String(c.baselineMs / 1000) : 'never';
    const strategies = [...new Set(mine.map((r) => r.strategy))].join(', ');
    return [[c.name, mine.length, strategies, ...column((r) => r.detectionMs), ...STEPS.flatMap((s) => column((r) => r.steps[s])), ...column((r) => r.totalMs), baseline, times(c.baselineMs, total)]];
  });
  writeReport('scenarios', {
    title: 'Fault to verified quorum, per kind of fault',
    method:
      `Measured by \`npm run bench\` (\`npx jest -c jest.bench.config.js --runInBand bench/scenarios.bench.ts\`; BENCH_RUNS=${RUNS} runs per fault) against one 3-member sandbox ` +
      'with the real worker and monitorCluster (1 s interval, 500 ms endpoint timeout, 3-sample hysteresis, 2 s cooldown; sandbox node grace period 8 s). ' +
      'Each run faults the node or the pod of a follower, then times detection (fault to the start of the migration the monitor starts), each step ' +
      '(summed per step name, from the migration result) and the total (fault to the migration closed after verify-quorum); then it heals and waits for the ' +
      'monitor to report a healthy cluster (3 healthy voters, no migration in flight) before the next run. Columns are p50 and max in seconds; "-" is a ' +
      'step the strategy does not run. The baseline is what Kubernetes alone does with default settings: for a node that goes down, taint-based eviction ' +
      'evicts the pod after ~350 s (~50 s node-monitor grace period plus the 300 s default toleration for not-ready/unreachable); that is a lower ' +
      "bound, since a StatefulSet's pod on an unreachable node then stays Terminating until someone force-deletes it, and nothing removes the dead " +
      'etcd member or adds its successor; for node pressure, a frozen pod or a crash-looping pod, Kubernetes never moves the pod to another node ("never", no ratio: ' +
      'a liveness probe at most restarts it in place, and the kubelet evicts only past its own hard thresholds, such as memory.available < 100Mi). Ratio = baseline / p50 total.',
    header: ['fault', 'runs', 'strategy', 'detection p50 (s)', 'max', ...STEPS.flatMap((s) => [`${s} p50`, 'max']), 'fault to verified p50 (s)', 'max', 'Kubernetes baseline (s)', 'ratio'],
    rows,
    data: runs,
  });
});

it.each(CASES)(`$name: ${RUNS} runs`, async (c) => {
  for (let i = 0; i < RUNS; i++) await oneRun(c);
});
