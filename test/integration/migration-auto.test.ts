import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { startGuardian, type GuardianHarness } from './harness/guardian';
import { finished, Invariants, migrationHandle } from './harness/migration';
import { until } from './harness/wait';

/**
 * The monitor migrates members by itself: a dead member is replaced, a live member at risk is surged, and a
 * leader is relieved of leadership first. After each: every acknowledged key is there, HashKV agrees, quorum held
 * throughout, and the members sit on distinct racks.
 */

jest.setTimeout(300_000);

let h: GuardianHarness;
let monitor: WorkflowHandleWithFirstExecutionRunId;

function nodeOfMember(name: string): Promise<string> {
  return h.sandbox.status().then((s) => {
    const m = s.members.find((x) => x.name === name && !x.terminating);
    if (!m) throw new Error(`no member ${name}`);
    return m.node;
  });
}

async function leaderName(): Promise<string> {
  return until('a leader', async () => {
    const s = await monitor.query<{ members: { name: string; isLeader: boolean }[] }>('status');
    return s.members.find((m) => m.isLeader)?.name;
  });
}

/** The next run of migrate-main after `before`, once the monitor starts it. */
async function nextMigration(before: string) {
  return until('the monitor to start the next migration', async () => {
    const handle = h.client.workflow.getHandle('migrate-main');
    const d = await handle.describe();
    return d.runId !== before ? handle : undefined;
  }, { timeoutMs: 120_000 });
}

beforeAll(async () => {
  h = await startGuardian({ tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '3s' } });
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-auto',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 100 }],
  });
}, 180_000);

afterAll(async () => {
  await monitor?.terminate('test over').catch(() => undefined);
  await h?.stop();
});

it('replaces the member of a node that goes down with a healthy node in a free rack', async () => {
  const checks = new Invariants(h);
  checks.start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const victim = 'etcd-1';
  const node = await nodeOfMember(victim);
  await h.sandbox.fault('node-down', node);
  const handle = await migrationHandle(h.client);
  const { result, from, to } = await finished(handle);
  const audit = await checks.audit({ from, to });

  expect(result).toMatchObject({ member: victim, strategy: 'replace', from: node, newMember: 'etcd-3' });
  expect(result.to).not.toBe(node);
  expect(result.steps.filter((s) => s.status === 'done').map((s) => s.step)).toEqual([
    'plan', 'backup-snapshot', 'remove-member', 'delete-pod', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum',
  ]);
  expect(audit.missing).toEqual([]);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  expect(Object.keys(audit.hashes)).toHaveLength(3);
  expect(audit.belowQuorum).toBe(0);
  expect(new Set(audit.racks).size).toBe(3);
  expect(checks.writer.acked.length).toBeGreaterThan(20);
  await h.sandbox.heal(node);
});

it('surges a live member whose node is under pressure, and a writer running throughout sees no failed write', async () => {
  // Wait out the cooldown of the previous migration and the monitor noticing a healthy cluster again.
  await until('a healthy cluster', async () => ((await monitor.query<{ health: string }>('status')).health === 'healthy' ? true : undefined), { timeoutMs: 120_000 });
  const leader = await leaderName();
  const victim = ['etcd-0', 'etcd-2', 'etcd-3'].find((m) => m !== leader) ?? 'etcd-0';
  const node = await nodeOfMember(victim);
  const checks = new Invariants(h);
  checks.start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const previous = (await h.client.workflow.getHandle('migrate-main').describe()).runId;
  await h.sandbox.fault('node-pressure', node, { cpu: 0.96, memory: 0.5 });
  const handle = await nextMigration(previous);
  const { result, from, to } = await finished(handle);
  const audit = await checks.audit({ from, to });

  expect(result).toMatchObject({ member: victim, strategy: 'surge', from: node, newMember: 'etcd-4' });
  const order = result.steps.filter((s) => s.status === 'done').map((s) => s.step);
  expect(order.indexOf('verify-member')).toBeLessThan(order.indexOf('remove-member'));
  expect(audit.failedWrites).toEqual([]);
  expect(audit.missing).toEqual([]);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  expect(audit.belowQuorum).toBe(0);
  expect(new Set(audit.racks).size).toBe(3);
  await h.sandbox.heal(node);
});

it("moves leadership off the leader before migrating it when the leader's node is under pressure", async () => {
  await until('a healthy cluster', async () => ((await monitor.query<{ health: string }>('status')).health === 'healthy' ? true : undefined), { timeoutMs: 120_000 });
  const leader = await leaderName();
  const node = await nodeOfMember(leader);
  const checks = new Invariants(h);
  checks.start();
  const previous = (await h.client.workflow.getHandle('migrate-main').describe()).runId;
  await h.sandbox.fault('node-pressure', node, { cpu: 0.97, memory: 0.5 });
  const handle = await nextMigration(previous);
  const { result, from, to } = await finished(handle);
  const audit = await checks.audit({ from, to });

  expect(result).toMatchObject({ member: leader, strategy: 'surge' });
  const moved = result.steps.find((s) => s.step === 'move-leader');
  expect(moved).toMatchObject({ status: 'done', detail: expect.stringMatching(/^leadership moved to /) as unknown });
  const order = result.steps.map((s) => s.step);
  expect(order.indexOf('move-leader')).toBeLessThan(order.indexOf('remove-member'));
  expect(audit.missing).toEqual([]);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  expect(audit.belowQuorum).toBe(0);
  expect(new Set(audit.racks).size).toBe(3);
  await h.sandbox.heal(node);
});
