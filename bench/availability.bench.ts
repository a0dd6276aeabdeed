import { setTimeout as sleep } from 'node:timers/promises';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { Writer } from '../test/integration/harness/invariants';
import { LongLivedWriter } from '../test/integration/harness/long-lived-client';
import { until } from '../test/integration/harness/wait';
import { settled } from '../test/integration/harness/gameday';
import { migrateFollower } from './cluster';
import { benchRuns, quantile, writeReport } from './stats';

/**
 * What an application notices while a follower is moved by hand: a writer puts one key every 40 ms throughout, and
 * for each migration window (workflow start to close) and each undisturbed window of the same length, we count the
 * acknowledged and failed writes and take the latency of the acknowledged ones.
 */

jest.setTimeout(3_600_000);

const RUNS = benchRuns();
const WRITE_EVERY_MS = 40;

interface Window {
  kind: 'undisturbed' | 'surge' | 'replace' | 'surge of the leader';
  from: number;
  to: number;
  acked: number;
  failed: number;
  latenciesMs: number[];
  /** The long-lived client's writes in the same window: one connection, opened before the first migration. */
  longLived: { acked: number; failed: number; errors: string[] };
}

const windows: Window[] = [];
let h: GuardianHarness;
/** One etcd3 client on the cluster's Service address, created once and kept open through every run. */
let longLived: LongLivedWriter;

/** Writes that started inside [from, to]. */
function windowOf(writer: Writer, kind: Window['kind'], from: number, to: number): Window {
  const mine = writer.writes.filter((w) => w.at >= from && w.at <= to);
  const ok = mine.filter((w) => w.ok);
  return { kind, from, to, acked: ok.length, failed: mine.length - ok.length, latenciesMs: ok.map((w) => w.ms), longLived: longLived.window(from, to) };
}

/** A writer through the current members, once it has been acknowledged a few times. */
async function runningWriter(): Promise<Writer> {
  const pods = await settled(h);
  const writer = new Writer(pods.map((m) => m.clientUrl), 'bench/availability-');
  writer.start(WRITE_EVERY_MS);
  await until('the writer to be acknowledged', () => Promise.resolve(writer.acked.length >= 10 ? true : undefined));
  return writer;
}

beforeAll(async () => {
  h = await startGuardian();
  const serviceUrl = h.sandbox.info.etcd.serviceUrl;
  if (serviceUrl === undefined) throw new Error('the sandbox publishes no Service address for its etcd cluster');
  longLived = new LongLivedWriter(serviceUrl, 'bench/long-lived-');
  longLived.start(WRITE_EVERY_MS);
  await until('the long-lived client to be acknowledged', () => Promise.resolve(longLived.acked.length >= 10 ? true : undefined));
}, 300_000);

afterAll(async () => {
  await longLived?.stop();
  await h?.stop();
  const lengthOf = (w: Window): number => w.to - w.from;
  const pooled = (kind: Window['kind']) => {
    const mine = windows.filter((w) => w.kind === kind);
    const latencies = mine.flatMap((w) => w.latenciesMs);
    return { mine, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
  };
  const base = pooled('undisturbed');
  const ratio = (value: number, of: number): string => (Number.isFinite(value) && Number.isFinite(of) && of > 0 ? `${(value / of).toFixed(1)}x` : '-');
  const rows = (['undisturbed', 'surge', 'replace', 'surge of the leader'] as const).flatMap((kind) => {
    const { mine, p50, p99 } = pooled(kind);
    if (mine.length === 0) return [];
    const sum = (pick: (w: Window) => number): number => mine.reduce((n, w) => n + pick(w), 0);
    const longLivedFailed = mine.map((w) => w.longLived.failed);
    return [
      [
        kind,
        mine.length,
        (quantile(mine.map(lengthOf), 0.5) / 1000).toFixed(1),
        sum((w) => w.acked),
        sum((w) => w.failed),
        p50,
        p99,
        ratio(p50, base.p50),
        ratio(p99, base.p99),
        sum((w) => w.longLived.acked),
        sum((w) => w.longLived.failed),
        `${Math.max(...longLivedFailed)}`,
      ],
    ];
  });
  writeReport('availability', {
    title: 'Writes during a migration',
    method:
      `Measured by \`npm run bench\` (\`npx jest -c jest.bench.config.js --runInBand bench/availability.bench.ts\`; BENCH_RUNS=${RUNS} windows per row) on a 3-member ` +
      `sandbox with the real worker and no monitor. A writer (test/integration/harness/invariants.ts) puts one key every ${WRITE_EVERY_MS} ms through every ` +
      'current member with a fresh etcd3 client per write (so each latency includes connecting) and a 5 s deadline. A migration window runs from the ' +
      'start to the close of a migrateMember workflow started by hand (as `etcd-guardian migrate` does) for a follower with the strategy named, or for the leader (surge, with its move-leader step); an ' +
      'undisturbed window has the p50 length of the migration windows and no migration. Writes are counted in the window they started in; acked and ' +
      'failed are summed over the windows, latency p50/p99 (ms) is over the acknowledged writes of all windows of a row, and the ratios compare them ' +
      'with the undisturbed row. Beside them, a long-lived client (test/integration/harness/long-lived-client.ts): one etcd3 client created before the ' +
      `first run on the cluster's Service address (README "Clients keep finding the cluster"; the sandbox's kube-proxy stand-in), kept open through every ` +
      `window, putting one key every ${WRITE_EVERY_MS} ms with etcd3's default retry and circuit breaker and a 5 s deadline; its acked and failed writes are ` +
      'summed over the windows of a row, and "worst window" is the most writes it saw fail in one window.',
    header: [
      'window',
      'runs',
      'length p50 (s)',
      'acked writes',
      'failed writes',
      'latency p50 (ms)',
      'p99 (ms)',
      'p50 vs undisturbed',
      'p99 vs undisturbed',
      'long-lived acked',
      'long-lived failed',
      'long-lived worst window',
    ],
    rows,
    data: windows.map(({ latenciesMs, ...w }) => ({ ...w, p50Ms: quantile(latenciesMs, 0.5), p99Ms: quantile(latenciesMs, 0.99) })),
  });
});

it.each([
  ['surge', 'follower', 'surge'],
  ['replace', 'follower', 'replace'],
  ['surge', 'leader', 'surge of the leader'],
] as const)(`%s migration of a %s: ${RUNS} runs`, async (strategy, role, kind) => {
  for (let i = 0; i < RUNS; i++) {
    const writer = await runningWriter();
    try {
      const migrated = await migrateFollower(h, strategy, role);
      windows.push(windowOf(writer, kind, migrated.from, migrated.to));
    } finally {
      await writer.stop();
    }
  }
});

it(`undisturbed windows of the migrations' p50 length: ${RUNS} runs`, async () => {
  const lengthMs = quantile(windows.map((w) => w.to - w.from), 0.5);
  if (!Number.isFinite(lengthMs)) throw new Error('no migration window was measured, so the undisturbed window has no length');
  for (let i = 0; i < RUNS; i++) {
    const writer = await runningWriter();
    try {
      const from = Date.now();
      await sleep(lengthMs);
      windows.push(windowOf(writer, 'undisturbed', from, Date.now()));
    } finally {
      await writer.stop();
    }
  }
});
