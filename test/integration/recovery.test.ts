import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Etcd3 } from 'etcd3';
import { withTimeout } from '../../src/errors';
import type { RecoveryProgress } from '../../workflows/recover';
import { builtCli } from './harness/cli-worker';
import { memberList, putOnce } from './harness/gameday';
import { startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { hashKvOfEveryMember, missingKeys } from './harness/invariants';
import { failureOf } from './harness/migration';
import { until } from './harness/wait';
import { runCli } from './support/cli';
import { kubeFor } from './support/kube';

/**
 * Game day: quorum lost for good. Two of three members' nodes go down and their data directories are deleted; one
 * member survives, without quorum. The recovery plans from the survivor, waits for a person, and on approval restarts
 * it with --force-new-cluster, proves a write and grows the cluster back to three voters in distinct racks. A rejected
 * recovery touches nothing; a recovery while quorum holds is refused before anything.
 */

jest.setTimeout(300_000);

const cluster = 'main';
let h: GuardianHarness;
/** Keys acknowledged before the fault: every one must be readable after the recovery. */
const acked: string[] = [];
let survivor: { name: string; node: string; clientUrl: string };

function start(input: Record<string, unknown>): Promise<WorkflowHandle> {
  return h.client.workflow.start('recoverCluster', { workflowId: 'migrate-main', taskQueue: h.config.temporal.taskQueue, args: [{ cluster, requestedBy: 'test', ...input }] });
}

async function awaitingApproval(handle: WorkflowHandle): Promise<RecoveryProgress> {
  return until('the recovery to wait for approval', async () => {
    const p = await handle.query<RecoveryProgress>('progress');
    if (p.phase === 'failed') throw new Error(`the recovery failed before asking for approval: ${p.error ?? '?'}`);
    return p.phase === 'awaiting-approval' ? p : undefined;
  }, { timeoutMs: 60_000 });
}

async function podUids(): Promise<Record<string, string>> {
  const pods = await kubeFor(h.sandbox.info).core.listNamespacedPod({ namespace: h.sandbox.info.etcd.namespace, labelSelector: h.sandbox.info.etcd.selector });
  return Object.fromEntries(pods.items.map((p) => [p.metadata?.name ?? '?', p.metadata?.uid ?? '?']));
}

beforeAll(async () => {
  h = await startGuardian();
  for (let i = 0; i < 100; i++) {
    const key = `recovery/before-${String(i).padStart(3, '0')}`;
    await putOnce(h.sandbox.info.etcd.clientUrls, key, `value-${i}`);
    acked.push(key);
  }
}, 180_000);

afterAll(async () => {
  await h?.stop();
});

it('refuses to recover a cluster whose quorum holds, before touching anything', async () => {
  const before = await podUids();
  const failure = await failureOf(start({ from: 'auto' }).then((handle) => handle.result()));
  expect(failure.type).toBe('QUORUM_HELD');
  expect(failure.message).toBe('recovery of main: cluster main has quorum (3 of 3 voters healthy, 2 needed): a recovery would throw away a working cluster; migrate the members at risk instead');
  expect(await podUids()).toEqual(before);
});

describe('two of three members gone for good', () => {
  beforeAll(async () => {
    const members = h.sandbox.info.etcd.members;
    const [kept, ...lost] = members;
    if (!kept) throw new Error('no members');
    survivor = { name: kept.name, node: kept.node, clientUrl: kept.clientUrl };
    for (const m of lost) {
      await h.sandbox.fault('node-down', m.node);
      const dataDir = join(h.sandbox.info.stateDir, 'nodes', m.node, 'hostpath', 'var/lib/etcd-guardian', cluster, m.name);
      rmSync(dataDir, { recursive: true, force: true });
      expect(existsSync(dataDir)).toBe(false);
    }
    // Quorum is gone: a write through the survivor is not acknowledged.
    await expect(putOnce([survivor.clientUrl], 'recovery/during', 'x')).rejects.toThrow();
    // The nodes are NotReady before anyone recovers: placement must not pick them.
    await until('the lost nodes to be NotReady', async () => {
      const status = await h.sandbox.status();
      return lost.every((m) => status.nodes.find((n) => n.name === m.node)?.conditions['Ready'] !== 'True') ? true : undefined;
    }, { timeoutMs: 60_000 });
  }, 120_000);

  it('a rejected recovery touches nothing', async () => {
    const before = await podUids();
    const handle = await start({});
    const waiting = await awaitingApproval(handle);
    const plan = waiting.assessment?.plan;
    expect(plan?.source).toBe('survivor');
    if (plan?.source !== 'survivor') throw new Error('no survivor plan');
    expect(plan.seed.member).toBe(survivor.name);
    expect(plan.window.unheard.sort()).toEqual(h.sandbox.info.etcd.members.slice(1).map((m) => m.name).sort());
    await handle.signal('reject', { by: 'test', reason: 'not now' });
    const failure = await failureOf(handle.result());
    expect(failure).toEqual({ type: 'RECOVERY_REJECTED', message: 'recovery of main was rejected by test: not now; nothing was touched' });
    expect(await podUids()).toEqual(before);
  });

  it('an approved recovery brings the survivor back alone, takes writes, and grows to three voters in distinct racks with every acknowledged key', async () => {
    const handle = await start({ reason: 'game day' });
    await awaitingApproval(handle);
    const configFile = writeConfigFile(h.sandbox);
    const approved = await runCli(builtCli(), ['approve', cluster, '--config', configFile], h.sandbox.info.stateDir);
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toMatch(/^recovery of main: approved by cli:/);
    const approvedAt = Date.now();
    const result = (await handle.result()) as RecoveryProgress;
    expect(result.phase).toBe('succeeded');
    expect(result.approval?.by).toMatch(/^cli:/);
    expect(result.writable?.revision).toBeGreaterThan(0);
    process.stdout.write(`recovery: approval to verified membership ${((Date.now() - approvedAt) / 1000).toFixed(1)} s; steps ${result.steps.map((s) => s.step).join(', ')}\n`);

    const listed = await memberList([survivor.clientUrl], true);
    expect(listed.filter((m) => !m.isLearner)).toHaveLength(3);
    const endpoints = listed.flatMap((m) => m.clientURLs);
    expect(await missingKeys(endpoints, acked)).toEqual([]);
    const hashes = Object.values(await hashKvOfEveryMember(endpoints));
    expect(new Set(hashes).size).toBe(1);
    // Writes are accepted again, through every member.
    await putOnce(endpoints, 'recovery/after', 'ok');
    // Three racks: the pods of the voters run on nodes of three different racks, none of them a lost node.
    const pods = await kubeFor(h.sandbox.info).core.listNamespacedPod({ namespace: h.sandbox.info.etcd.namespace, labelSelector: h.sandbox.info.etcd.selector });
    const nodes = pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.nodeName ?? '?');
    const racks = nodes.map((n) => h.sandbox.info.nodes.find((x) => x.name === n)?.rack);
    expect(new Set(racks).size).toBe(3);
    const lostNodes = h.sandbox.info.etcd.members.slice(1).map((m) => m.node);
    expect(nodes.filter((n) => lostNodes.includes(n))).toEqual([]);
    const c = new Etcd3({ hosts: endpoints });
    try {
      expect(await withTimeout(c.get('recovery/after').string(), 5000, 'read back')).toBe('ok');
    } finally {
      c.close();
    }
  });
});
