import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { Etcd3, Range } from 'etcd3';
import type { SandboxClusterTuning } from '../../../src/config/sandbox';
import { formatBytes } from '../../../src/domain/space';
import type { MaintenanceProgress, MaintenanceResult } from '../../../workflows/maintain';
import { runCli } from '../support/cli';
import { builtCli, CliWorker } from './cli-worker';
import { expectInvariantsHeld, GameDay, putOnce } from './gameday';
import { startGuardian, writeConfigFile, type GuardianHarness } from './guardian';
import { currentEndpoints } from './invariants';
import { Invariants } from './migration';
import { until } from './wait';

/**
 * Game day, space: a sandbox whose members run with a small quota (`--etcd-quota`), watched by the real monitor and
 * worker (`etcd-guardian worker` in a process of its own, so that it can be SIGKILLed). A cluster filled to NOSPACE
 * takes writes again without an operator; a fragmented database is defragmented member by member; a worker killed
 * mid-maintenance is replaced and the maintenance completes; a member that dies during maintenance stops it, and the
 * migration path replaces the member. Every scenario runs the writer and the quorum sampler and ends with the audit.
 */

const MiB = 1024 * 1024;

/** The scenarios, by name, for `only`. */
export const SPACE_SCENARIOS = ['cli', 'nospace', 'fragmentation', 'worker killed', 'member down'] as const;
/** One of SPACE_SCENARIOS. */
export type SpaceScenario = (typeof SPACE_SCENARIOS)[number];

/** What a space game day runs on. */
export interface SpaceGameDay {
  members: 3 | 5;
  quotaMiB: number;
  /** MiB written (1 MiB values) before all but four are deleted and compacted. */
  fragmentMiB: number;
  /** Scenarios to run (default all). */
  only?: readonly SpaceScenario[];
}

let QUOTA = 64 * MiB;
let SIZE = 3;
let FRAGMENT = 36;
const TUNING: SandboxClusterTuning = {
  interval: '1s',
  endpointTimeout: '500ms',
  hysteresisSamples: 3,
  // A small database: fragmentation counts from 8 MiB; growth that reaches the quota within 10 minutes is a finding
  // (the writer's own small keys never are).
  space: { fragmentedMinSize: '8MiB', growthHorizon: '10m' },
  maintenance: { pauseBetweenMembers: '3s' },
};

let h: GuardianHarness;
let day: GameDay;
let configFile: string;
let worker: CliWorker;
const figures: string[] = [];
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function endpoints(): Promise<string[]> {
  const running = (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.clientUrl);
  return currentEndpoints(running.length > 0 ? running : h.sandbox.info.etcd.clientUrls, { votersOnly: true });
}

async function withClient<T>(fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = new Etcd3({ hosts: await endpoints(), dialTimeout: 2000 });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Every member's database size and what is in use, by member name. */
async function sizes(): Promise<Record<string, { total: number; inUse: number }>> {
  const out: Record<string, { total: number; inUse: number }> = {};
  for (const e of await endpoints()) {
    const c = new Etcd3({ hosts: [e], dialTimeout: 2000 });
    try {
      const [s, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({})]);
      const name = list.members.find((m) => m.ID === s.header.member_id)?.name ?? e;
      out[name] = { total: Number(s.dbSize), inUse: Number((s as { dbSizeInUse?: string }).dbSizeInUse ?? 0) };
    } finally {
      c.close();
    }
  }
  return out;
}

async function alarms(): Promise<string[]> {
  return withClient(async (c) => ((await c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' })).alarms ?? []).map((a) => `${a.memberID}:${String(a.alarm)}`));
}

async function invariantsRunning(): Promise<Invariants> {
  const checks = await Invariants.ofCurrentMembers(h);
  checks.start();
  await until('the writer to be acknowledged', () => Promise.resolve(checks.writer.acked.length >= 10 ? true : undefined));
  return checks;
}

/**
 * Make most of the database free pages: write `count` values of 1 MiB, delete all but a few, and compact (as the
 * API server does every five minutes). In use drops; the file keeps its size until defragmented.
 */
async function fragment(count = FRAGMENT): Promise<void> {
  await withClient(async (c) => {
    const value = 'f'.repeat(MiB - 1024);
    for (let i = 0; i < count; i++) await c.put(`space/frag-${String(i).padStart(3, '0')}`).value(value).exec();
    await c.delete().range(new Range('space/frag-004', 'space/frag-999')).exec();
    const revision = Number((await c.get('space/none').exec()).header.revision);
    await c.kv.compact({ revision, physical: true });
  });
}

/** The next run of migrate-main after `previousRun` (a maintenance or a migration), as a handle. */
async function nextOperation(previousRun: string | undefined): Promise<WorkflowHandle> {
  const runId = await until(
    'the monitor to start an operation',
    async () => {
      const current = await day.latestMigrationRun();
      return current !== undefined && current !== previousRun ? current : undefined;
    },
    { timeoutMs: 120_000 },
  );
  return h.client.workflow.getHandle('migrate-main', runId);
}

async function nospace(): Promise<void> {
  const checks = await invariantsRunning();
  const previousRun = await day.latestMigrationRun();
  // History of a few keys rewritten until etcd refuses: what a cluster whose compaction stopped runs into.
  const value = 'n'.repeat(512 * 1024);
  let refusedAt = 0;
  let refusal = '';
  await withClient(async (c) => {
    // Twice the quota in history, at most: etcd refuses long before.
    for (let i = 0; i < (2 * QUOTA) / value.length && refusedAt === 0; i++) {
      try {
        await c.put(`space/filler-${i % 8}`).value(value).exec();
      } catch (error) {
        refusal = (error as Error).message;
        refusedAt = Date.now();
      }
    }
  });
  expect(refusal).toMatch(/database space exceeded/);
  expect((await alarms()).some((a) => a.endsWith('Nospace') || a.endsWith('NOSPACE'))).toBe(true);

  const handle = await nextOperation(previousRun);
  const result = (await handle.result()) as MaintenanceResult;
  const writableAt = await until('a write to be accepted', async () => {
    try {
      await putOnce(await endpoints(), 'space/after-nospace', 'ok');
      return Date.now();
    } catch {
      return undefined;
    }
  });
  expect(result.plan.mode).toBe('nospace');
  expect(result.steps.filter((s) => s.status !== 'done')).toEqual([]);
  expect(result.steps.map((s) => s.step.replace(/ .*/, ''))).toEqual(['plan', 'compact', ...result.plan.steps.slice(1, -2).map((s) => s.step), 'disarm-alarm', 'verify-write']);
  expect(result.defragmented).toHaveLength(SIZE);
  for (const d of result.defragmented ?? []) expect(d.afterBytes ?? QUOTA).toBeLessThan(0.9 * QUOTA);
  expect(result.disarmed?.length).toBeGreaterThan(0);
  expect(await alarms()).toEqual([]);

  await day.healthyAgain(Date.now());
  const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: SIZE });
  figures.push(`  NOSPACE -> writable: ${seconds(writableAt - refusedAt)} (maintenance ${result.steps.map((s) => `${s.step} ${s.durationMs ?? 0} ms`).join(', ')}); ${audit.summary}`);
}

async function fragmentation(): Promise<void> {
  const checks = await invariantsRunning();
  const previousRun = await day.latestMigrationRun();
  await fragment();
  const fragmentedAt = Date.now();
  const handle = await nextOperation(previousRun);
  const result = (await handle.result()) as MaintenanceResult;
  // What the guardian saw when it planned (etcd updates its in-use figure at its next commit after the compaction).
  const before = Object.fromEntries(result.plan.before.map((b) => [b.member, { total: b.dbSizeBytes ?? 0, inUse: b.dbSizeInUseBytes ?? 0 }]));
  expect(result.plan.mode).toBe('defragment');
  expect(result.steps.filter((s) => s.status !== 'done')).toEqual([]);
  const order = result.plan.steps.map((s) => s.step);
  // Followers first; leadership moved off the leader, which goes last.
  expect(order.slice(-2)).toEqual(['move-leader', 'defragment']);
  expect(result.defragmented).toHaveLength(SIZE);
  const after = await sizes();
  for (const [name, b] of Object.entries(before)) {
    expect(b.inUse / b.total).toBeLessThan(0.55);
    expect(after[name]?.total ?? b.total).toBeLessThan(0.6 * b.total);
  }
  await day.healthyAgain(Date.now());
  const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: SIZE });
  const shrink = Object.entries(before).map(([name, b]) => `${name} ${formatBytes(b.total)} -> ${formatBytes(after[name]?.total ?? 0)}`);
  figures.push(`  fragmentation -> defragmented: ${seconds((await handle.describe()).closeTime!.getTime() - fragmentedAt)}; ${shrink.join(', ')}; ${audit.summary}`);
}

async function workerKilled(): Promise<void> {
  const checks = await invariantsRunning();
  const previousRun = await day.latestMigrationRun();
  await fragment();
  const handle = await nextOperation(previousRun);
  await until(
    'a defragmentation to start',
    async () => {
      const p = await handle.query<MaintenanceProgress>('progress');
      return p.steps.some((s) => s.step.startsWith('defragment') && s.status === 'running') ? p : undefined;
    },
    { timeoutMs: 60_000, everyMs: 20 },
  );
  await worker.signal('SIGKILL');
  await sleep(1000);
  worker = CliWorker.start(configFile);
  const result = (await handle.result()) as MaintenanceResult;
  expect(result.steps.filter((s) => s.status !== 'done')).toEqual([]);
  expect(result.defragmented).toHaveLength(SIZE);
  await day.healthyAgain(Date.now());
  const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: SIZE });
  figures.push(`  SIGKILL mid-defragmentation: completed, ${result.steps.map((s) => `${s.step} ${seconds(s.durationMs ?? 0)}`).join(', ')}; ${audit.summary}`);
}

async function memberDown(): Promise<void> {
  const checks = await invariantsRunning();
  const previousRun = await day.latestMigrationRun();
  await fragment();
  const handle = await nextOperation(previousRun);
  // After the first member's defragmentation, during the pause: a follower not yet defragmented loses its node.
  const progress = await until(
    'the first defragmentation to finish',
    async () => {
      const p = await handle.query<MaintenanceProgress>('progress');
      return p.steps.some((s) => s.step.startsWith('defragment') && s.status === 'done') ? p : undefined;
    },
    { timeoutMs: 60_000, everyMs: 20 },
  );
  const done = new Set(progress.steps.filter((s) => s.step.startsWith('defragment')).map((s) => s.step.replace('defragment ', '')));
  const victim = progress.plan?.steps.find((s) => s.step === 'defragment' && !done.has(s.args.member.name) && s.args.member.nodeName !== undefined);
  if (victim?.step !== 'defragment' || !victim.args.member.nodeName) throw new Error(`no member left to defragment in ${JSON.stringify(progress.plan?.steps)}`);
  const node = victim.args.member.nodeName;
  const faultAt = Date.now();
  await h.sandbox.fault('node-down', node);
  const stopped = await handle.result().then(
    () => undefined,
    (error: Error) => error,
  );
  expect((stopped?.cause as Error | undefined)?.message ?? stopped?.message).toMatch(/maintenance of main stopped at defragment .*not healthy/);
  const migration = await nextOperation((await handle.describe()).runId);
  const migrated = (await migration.result()) as { member: string; from?: string; to?: string };
  expect(migrated).toMatchObject({ member: victim.args.member.name, from: node });
  await h.sandbox.heal(node);
  await day.healthyAgain(Date.now());
  const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: SIZE });
  figures.push(`  member down mid-maintenance: maintenance stopped, ${migrated.member} migrated ${migrated.from ?? '?'} -> ${migrated.to ?? '?'} ${seconds(Date.now() - faultAt)} after the fault; ${audit.summary}`);
}

async function cli(): Promise<void> {
  const main = builtCli();
  const run = (...args: string[]) => runCli(main, ['maintain', 'main', '--config', configFile, ...args], h.sandbox.info.stateDir);
  const before = await day.latestMigrationRun();
  // Bad input: refused before anything starts, naming the field.
  const bad = await run('--mode', 'nospace', '--all');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/all: expected no member selection with mode nospace/);
  expect(await day.latestMigrationRun()).toBe(before);
  // A NOSPACE recovery asked of a cluster without the alarm: refused by the plan, with the reason.
  const noAlarm = await run('--mode', 'nospace');
  expect(noAlarm.code).not.toBe(0);
  expect(noAlarm.stderr).toMatch(/maintenance failed: no NOSPACE alarm is raised on main/);
  // The dry run prints the plan, every member one at a time, the leader last, and changes nothing.
  const sizesBefore = await sizes();
  const dry = await run('--all', '--dry-run');
  expect(dry.code).toBe(0);
  const lines = dry.stdout.split('\n');
  expect(lines[0]).toMatch(/^defragmentation of main: /);
  expect(lines.filter((l) => /^ {2}\d+\. defragment: defragment etcd-\d/.test(l))).toHaveLength(SIZE);
  expect(lines.filter((l) => /^ {2}\d+\. move-leader: /.test(l))).toHaveLength(1);
  expect(lines).toContain('dry run: nothing changed');
  expect(Object.keys(await sizes()).sort()).toEqual(Object.keys(sizesBefore).sort());
}

const RUNS: Record<SpaceScenario, { title: string; run: () => Promise<void> }> = {
  cli: { title: 'etcd-guardian maintain: bad input refused naming the field, a NOSPACE recovery without the alarm refused, a dry run printing the plan', run: cli },
  nospace: { title: 'a cluster filled to NOSPACE takes writes again without an operator: compacted, every member defragmented, the alarm disarmed', run: nospace },
  fragmentation: { title: 'a fragmented database is found and defragmented member by member, the leader last: every member shrinks', run: fragmentation },
  'worker killed': { title: 'the worker SIGKILLed while a member is defragmented: the maintenance completes after a new worker starts', run: workerKilled },
  'member down': { title: 'a member that dies during maintenance stops it, and the migration path replaces the member', run: memberDown },
};

/** The space game day on `members` members with a quota of `quotaMiB`. */
export function defineSpaceGameDay(options: SpaceGameDay): void {
  QUOTA = options.quotaMiB * MiB;
  SIZE = options.members;
  FRAGMENT = options.fragmentMiB;
  const chosen = options.only ?? SPACE_SCENARIOS;

  beforeAll(async () => {
    h = await startGuardian({ worker: false, sandbox: { etcdQuotaBytes: QUOTA, members: options.members, nodes: options.members + 3, racks: options.members }, tuning: TUNING });
    configFile = writeConfigFile(h.sandbox, TUNING);
    worker = CliWorker.start(configFile);
    day = await GameDay.start(h, { size: options.members, intervalMs: 1000, workflowId: `monitor-main-space-${options.members}` });
  }, 300_000);

  afterAll(async () => {
    process.stdout.write(`space game day (${options.members} members, quota ${formatBytes(QUOTA)}, etcd ${h?.sandbox.info.etcd.version ?? '?'}):\n${figures.join('\n')}\n`);
    await worker?.stop();
    await h?.stop();
  });

  for (const name of chosen) it(RUNS[name].title, RUNS[name].run);
}
