import type { MemberStatusReport } from '../../src/sandbox';
import type { BackupProgress } from '../../workflows/backup';
import type { RecoveryProgress } from '../../workflows/recover';
import { CliWorker } from './harness/cli-worker';
import { memberList, putOnce, settled } from './harness/gameday';
import { startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { hashKvOfEveryMember, missingKeys } from './harness/invariants';
import { ackedWrites, awaitingApproval, expectRecovered, loseAllButOne, loseEveryMember, startRecovery } from './harness/recovery';
import { until } from './harness/wait';

/**
 * Game day on five members, in the full scope (`npm run test:matrix`; CI runs the three-member one): four of five
 * members gone for good, the recovery approved, and the worker killed (SIGKILL, as a crash) while the cluster grows
 * back. A new worker takes the run where it stopped: five voters in distinct racks, every acknowledged write there.
 * Then every member's node and data go after a verified backup: restored into a new member and grown to five voters,
 * every write up to the backup kept and every one after it lost.
 */

jest.setTimeout(420_000);

let h: GuardianHarness;
let worker: CliWorker;
let configFile: string;

beforeAll(async () => {
  // Ten nodes in five racks, two each: with four nodes lost, each rack still has a Ready node for a member of its own.
  h = await startGuardian({ sandbox: { members: 5, nodes: 10, racks: 5, domains: 2, objectStore: true }, worker: false });
  configFile = writeConfigFile(h.sandbox);
  worker = CliWorker.start(configFile);
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

let lost: MemberStatusReport[] = [];
let acked: string[] = [];

it('four of five members gone: approved, recovered through a worker crash to five voters with every acknowledged key', async () => {
  await settled(h, 5);
  acked = await ackedWrites(h, 100, 'recovery5/before');
  const lose = await loseAllButOne(h);
  const survivor = lose.survivor;
  lost = lose.lost;
  expect(lost).toHaveLength(4);
  const handle = await startRecovery(h, { reason: 'game day, five members' });
  const waiting = await awaitingApproval(handle);
  expect(waiting.assessment?.plan.source === 'survivor' && waiting.assessment.plan.seed.member).toBe(survivor.name);
  await handle.signal('approve', { by: 'test' });
  // Killed once the cluster grows: the seed is back and writable, the repair child is adding members.
  await until('the recovery to be growing the cluster', async () => ((await handle.query<RecoveryProgress>('progress')).phase === 'growing' ? true : undefined), { timeoutMs: 120_000 });
  expect(await worker.signal('SIGKILL')).toBe(true);
  worker = CliWorker.start(configFile);
  const result = (await handle.result()) as RecoveryProgress;
  expect(result.phase).toBe('succeeded');
  expect(result.repair?.additions).toHaveLength(4);
  await expectRecovered(h, survivor, lost, acked, 5);
});

it('every member gone after a verified backup: restored into a new member and grown to five voters, every write up to the backup kept', async () => {
  // The four nodes lost before come back empty: with the five members' nodes gone next, each rack keeps one.
  for (const m of lost) await h.sandbox.heal(m.node);
  await until('the healed nodes to be Ready', async () => {
    const status = await h.sandbox.status();
    return lost.every((m) => status.nodes.find((n) => n.name === m.node)?.conditions['Ready'] === 'True') ? true : undefined;
  }, { timeoutMs: 60_000 });
  const kept = await ackedWrites(h, 50, 'recovery5/before-backup');
  const taken = await h.client.workflow.execute<(input: unknown) => Promise<BackupProgress>>('backupCluster', {
    workflowId: `backup-main-five-${Date.now()}`,
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', reason: 'game day, five members', requestedBy: 'test' }],
  });
  const backup = taken.backup;
  if (!backup?.verified) throw new Error(`no verified backup: ${JSON.stringify(taken)}`);
  const lostWrites = await ackedWrites(h, 30, 'recovery5/after-backup');
  const gone = await loseEveryMember(h);
  expect(gone).toHaveLength(5);
  const handle = await startRecovery(h, { reason: 'game day, five members, every member gone' });
  const waiting = await awaitingApproval(handle);
  const plan = waiting.assessment?.plan;
  if (plan?.source !== 'backup') throw new Error(`expected a backup plan: ${JSON.stringify(plan)}`);
  expect(plan.backup.name).toBe(backup.name);
  expect(plan.window.keptRevision).toBe(backup.revision);
  await handle.signal('approve', { by: 'test' });
  const result = (await handle.result()) as RecoveryProgress;
  expect(result.phase).toBe('succeeded');
  expect(result.repair?.additions).toHaveLength(4);
  const running = (await h.sandbox.status()).members.filter((m) => !m.terminating && m.healthy);
  const endpoints = running.map((m) => m.clientUrl);
  expect((await memberList(endpoints, true)).filter((m) => !m.isLearner)).toHaveLength(5);
  expect(new Set(running.map((m) => m.rack)).size).toBe(5);
  expect(running.filter((m) => gone.some((g) => g.node === m.node))).toEqual([]);
  expect(await missingKeys(endpoints, [...acked, ...kept])).toEqual([]);
  expect((await missingKeys(endpoints, lostWrites)).sort()).toEqual([...lostWrites].sort());
  expect(new Set(Object.values(await hashKvOfEveryMember(endpoints))).size).toBe(1);
  await putOnce(endpoints, 'recovery5/after-restore', 'ok');
});
