import type { RecoveryProgress } from '../../workflows/recover';
import { CliWorker } from './harness/cli-worker';
import { settled } from './harness/gameday';
import { startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { ackedWrites, awaitingApproval, expectRecovered, loseAllButOne, startRecovery } from './harness/recovery';
import { until } from './harness/wait';

/**
 * Game day on five members, in the full scope (`npm run test:matrix`; CI runs the three-member one): four of five
 * members gone for good, the recovery approved, and the worker killed (SIGKILL, as a crash) while the cluster grows
 * back. A new worker takes the run where it stopped: five voters in distinct racks, every acknowledged write there.
 */

jest.setTimeout(420_000);

let h: GuardianHarness;
let worker: CliWorker;
let configFile: string;

beforeAll(async () => {
  // Ten nodes in five racks, two each: with four nodes lost, each rack still has a Ready node for a member of its own.
  h = await startGuardian({ sandbox: { members: 5, nodes: 10, racks: 5, domains: 2 }, worker: false });
  configFile = writeConfigFile(h.sandbox);
  worker = CliWorker.start(configFile);
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

it('four of five members gone: approved, recovered through a worker crash to five voters with every acknowledged key', async () => {
  await settled(h, 5);
  const acked = await ackedWrites(h, 100, 'recovery5/before');
  const { survivor, lost } = await loseAllButOne(h);
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
