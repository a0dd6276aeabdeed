import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3, Range } from 'etcd3';
import { withTimeout } from '../src/errors';
import { formatBytes } from '../src/domain/space';
import type { MaintenanceResult } from '../workflows/maintain';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { currentEndpoints, Writer } from '../test/integration/harness/invariants';
import { settled } from '../test/integration/harness/gameday';
import { until } from '../test/integration/harness/wait';
import { benchRuns, quantile, writeReport } from './stats';

/**
 * Space (issue "Space"): how long a NOSPACE cluster stays unwritable once the guardian runs its recovery, and what
 * reads and writes see while each member is defragmented. Real sandboxes, the real worker; the maintenance is started
 * as `etcd-guardian maintain` starts it (no monitor, so the time is the maintenance's alone).
 */

jest.setTimeout(3_600_000);

const RUNS = benchRuns();
const MiB = 1024 * 1024;
const EVERY_MS = 40;

/** One request: when it started, how long it took, whether it was answered. */
interface Sample {
  at: number;
  ms: number;
  ok: boolean;
}

/** Linearizable reads of one key every `EVERY_MS`, through every member, with a fresh client per read. */
class Reader {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  constructor(endpoints: string[]) {
    this.loop = (async () => {
      while (this.running) {
        const c = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
        const at = Date.now();
        try {
          await withTimeout(c.get('bench/space-read').string(), 5000, 'get');
          this.samples.push({ at, ms: Date.now() - at, ok: true });
        } catch {
          this.samples.push({ at, ms: Date.now() - at, ok: false });
        } finally {
          c.close();
        }
        await sleep(EVERY_MS);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

interface Row {
  window: string;
  runs: number;
  lengthMs: number[];
  writes: Sample[];
  reads: Sample[];
}

const rows = new Map<string, Row>();
const nospace: { writableMs: number; maintenanceMs: number; before: number; after: number }[] = [];
const shrink: { member: string; beforeBytes: number; afterBytes: number; defragMs: number }[] = [];

function add(window: string, from: number, to: number, writer: Writer, reader: Reader): void {
  const row = rows.get(window) ?? { window, runs: 0, lengthMs: [], writes: [], reads: [] };
  row.runs += 1;
  row.lengthMs.push(to - from);
  row.writes.push(...writer.writes.filter((w) => w.at >= from && w.at <= to));
  row.reads.push(...reader.samples.filter((r) => r.at >= from && r.at <= to));
  rows.set(window, row);
}

async function endpointsOf(h: GuardianHarness): Promise<string[]> {
  return currentEndpoints((await settled(h)).map((m) => m.clientUrl), { votersOnly: true });
}

async function maintain(h: GuardianHarness, request: Record<string, unknown>): Promise<MaintenanceResult> {
  const handle = await h.client.workflow.start('maintainCluster', { workflowId: 'migrate-main', taskQueue: h.config.temporal.taskQueue, args: [{ cluster: 'main', ...request }] });
  return (await handle.result()) as MaintenanceResult;
}

describe('reads and writes while every member is defragmented (3 members, 150 MiB live, 150 MiB free pages)', () => {
  let h: GuardianHarness;
  beforeAll(async () => {
    h = await startGuardian({ sandbox: { etcdQuotaBytes: 1024 * MiB }, tuning: { maintenance: { pauseBetweenMembers: '5s' } } });
    const c = new Etcd3({ hosts: await endpointsOf(h) });
    try {
      const value = 'l'.repeat(MiB - 1024);
      for (let i = 0; i < 150; i++) await c.put(`bench/live-${String(i).padStart(3, '0')}`).value(value).exec();
      await c.put('bench/space-read').value('x').exec();
    } finally {
      c.close();
    }
  }, 900_000);
  afterAll(async () => h?.stop());

  it(`defragments every member under load: ${RUNS} runs`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const endpoints = await endpointsOf(h);
      const c = new Etcd3({ hosts: endpoints });
      try {
        const value = 'g'.repeat(MiB - 1024);
        for (let i = 0; i < 150; i++) await c.put(`bench/garbage-${String(i).padStart(3, '0')}`).value(value).exec();
        await c.delete().range(new Range('bench/garbage-', 'bench/garbage.')).exec();
        const revision = Number((await c.get('bench/none').exec()).header.revision);
        await c.kv.compact({ revision, physical: true });
      } finally {
        c.close();
      }
      const writer = new Writer(endpoints, `bench/space-${run}-`);
      const reader = new Reader(endpoints);
      writer.start(EVERY_MS);
      try {
        await until('the writer to be acknowledged', () => Promise.resolve(writer.acked.length >= 10 ? true : undefined));
        // An undisturbed window first, as long as a member's defragmentation is expected to be.
        const quietFrom = Date.now();
        await sleep(3000);
        add('undisturbed (3 s)', quietFrom, Date.now(), writer, reader);
        const result = await maintain(h, { mode: 'defragment', all: true, reason: 'bench' });
        const moved = result.plan.steps.find((s) => s.step === 'move-leader');
        const formerLeader = moved?.step === 'move-leader' ? moved.args.member.name : undefined;
        for (const step of result.steps) {
          if (!step.step.startsWith('defragment') || !step.startedAt || !step.endedAt) continue;
          const window = step.step === `defragment ${formerLeader ?? ''}` ? 'defragmenting the former leader' : 'defragmenting a follower';
          add(window, Date.parse(step.startedAt), Date.parse(step.endedAt), writer, reader);
        }
        for (const d of result.defragmented ?? []) shrink.push({ member: d.member, beforeBytes: d.beforeBytes ?? 0, afterBytes: d.afterBytes ?? 0, defragMs: d.defragMs ?? 0 });
      } finally {
        await writer.stop();
        await reader.stop();
      }
    }
  });
});

describe('NOSPACE to writable (3 members, 64 MiB quota)', () => {
  let h: GuardianHarness;
  beforeAll(async () => {
    h = await startGuardian({ sandbox: { etcdQuotaBytes: 64 * MiB } });
  }, 300_000);
  afterAll(async () => h?.stop());

  it(`recovers: ${RUNS} runs`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const endpoints = await endpointsOf(h);
      const c = new Etcd3({ hosts: endpoints });
      let refusedAt = 0;
      let before: number | undefined;
      try {
        const value = 'n'.repeat(512 * 1024);
        for (let i = 0; i < 400 && refusedAt === 0; i++) {
          try {
            await c.put(`bench/filler-${i % 8}`).value(value).exec();
          } catch {
            refusedAt = Date.now();
          }
        }
        if (refusedAt === 0) throw new Error('etcd never refused a write: is the quota set?');
        before = Number((await c.maintenance.status()).dbSize);
      } finally {
        c.close();
      }
      const started = Date.now();
      const result = await maintain(h, { mode: 'nospace', reason: 'bench' });
      const maintenanceMs = Date.now() - started;
      const writableAt = await until('a write to be accepted', async () => {
        const w = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
        try {
          await withTimeout(w.put('bench/after').value('ok').exec(), 5000, 'put');
          return Date.now();
        } catch {
          return undefined;
        } finally {
          w.close();
        }
      });
      nospace.push({ writableMs: writableAt - started, maintenanceMs, before: before ?? 0, after: Math.max(...(result.defragmented ?? []).map((d) => d.afterBytes ?? 0)) });
    }
  });
});

afterAll(() => {
  const failed = (s: Sample[]): number => s.filter((x) => !x.ok).length;
  const lat = (s: Sample[], q: number): number => quantile(s.filter((x) => x.ok).map((x) => x.ms), q);
  const base = rows.get('undisturbed (3 s)');
  const ratio = (v: number, of: number | undefined): string => (of !== undefined && Number.isFinite(v) && Number.isFinite(of) && of > 0 ? `${(v / of).toFixed(1)}x` : '-');
  const table = [...rows.values()].map((r) => [
    r.window,
    r.runs,
    (quantile(r.lengthMs, 0.5) / 1000).toFixed(2),
    r.writes.length,
    failed(r.writes),
    lat(r.writes, 0.5),
    lat(r.writes, 0.99),
    ratio(lat(r.writes, 0.99), base ? lat(base.writes, 0.99) : undefined),
    r.reads.length,
    failed(r.reads),
    lat(r.reads, 0.5),
    lat(r.reads, 0.99),
    ratio(lat(r.reads, 0.99), base ? lat(base.reads, 0.99) : undefined),
  ]);
  writeReport('space', {
    title: 'Space: requests during defragmentation, NOSPACE to writable',
    method:
      `Measured by \`npx jest -c jest.bench.config.js --runInBand bench/space.bench.ts\` (BENCH_RUNS=${RUNS}) on the 2-core machine, etcd ${'3.6'} members in the sandbox, the real worker. ` +
      'Defragmentation: 150 MiB of live 1 MiB values, then 150 MiB more written, deleted and compacted (so each database is half free pages); a writer puts one key ' +
      `every ${EVERY_MS} ms and a reader gets one every ${EVERY_MS} ms, both with a fresh client per request through every member and a 5 s deadline; maintainCluster ` +
      '(mode defragment, all members) runs as `etcd-guardian maintain --all` starts it. A window is one defragment step (guard, defragmentation, catch-up), from the step records; ' +
      'the undisturbed window is 3 s just before. NOSPACE: history of eight keys rewritten with 512 KiB values until etcd refuses, then maintainCluster mode nospace; ' +
      '"to writable" runs from the start of the maintenance to the first acknowledged write.',
    header: ['window', 'windows', 'length p50 (s)', 'writes', 'failed', 'write p50 (ms)', 'write p99 (ms)', 'p99 vs undisturbed', 'reads', 'failed', 'read p50 (ms)', 'read p99 (ms)', 'p99 vs undisturbed'],
    rows: table,
    sections: [
      {
        heading: 'Database size before and after',
        text: 'Each member of each run: the file before its defragmentation and after, and how long the defragmentation itself took.',
        header: ['member', 'before', 'after', 'defragmentation (ms)'],
        rows: shrink.map((s) => [s.member, formatBytes(s.beforeBytes), formatBytes(s.afterBytes), s.defragMs]),
      },
      {
        heading: 'NOSPACE to writable',
        text: 'From the start of the NOSPACE recovery to the first acknowledged write; the maintenance itself; the leader\'s database when etcd refused, and the largest after.',
        header: ['run', 'to writable (s)', 'maintenance (s)', 'database at NOSPACE', 'largest after'],
        rows: nospace.map((n, i) => [i + 1, (n.writableMs / 1000).toFixed(2), (n.maintenanceMs / 1000).toFixed(2), formatBytes(n.before), formatBytes(n.after)]),
      },
    ],
    data: { windows: [...rows.values()].map((r) => ({ window: r.window, runs: r.runs, lengthMs: r.lengthMs, writes: r.writes.length, writesFailed: failed(r.writes), reads: r.reads.length, readsFailed: failed(r.reads) })), shrink, nospace },
  });
});
