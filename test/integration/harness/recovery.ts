import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { MemberStatusReport } from '../../../src/sandbox';
import type { RecoveryProgress } from '../../../workflows/recover';
import { kubeFor } from '../support/kube';
import { memberList, putOnce } from './gameday';
import type { GuardianHarness } from './guardian';
import { hashKvOfEveryMember, missingKeys } from './invariants';
import { until } from './wait';

/** The quorum-loss game days' shared part: the fault, the wait for approval, and what a recovered cluster must show. */

/** Start a recovery of the sandbox cluster under its migration id, as the CLI does. */
export function startRecovery(h: GuardianHarness, input: Record<string, unknown> = {}): Promise<WorkflowHandle> {
  return h.client.workflow.start('recoverCluster', { workflowId: 'migrate-main', taskQueue: h.config.temporal.taskQueue, args: [{ cluster: 'main', requestedBy: 'test', ...input }] });
}

/** The recovery's progress once it waits for approval; fails at once if it failed before. */
export async function awaitingApproval(handle: WorkflowHandle): Promise<RecoveryProgress> {
  return until('the recovery to wait for approval', async () => {
    const p = await handle.query<RecoveryProgress>('progress');
    if (p.phase === 'failed') throw new Error(`the recovery failed before asking for approval: ${p.error ?? '?'}`);
    return p.phase === 'awaiting-approval' ? p : undefined;
  }, { timeoutMs: 60_000 });
}

/** Every member pod's uid, by name: unchanged means untouched. */
export async function podUids(h: GuardianHarness): Promise<Record<string, string>> {
  const pods = await kubeFor(h.sandbox.info).core.listNamespacedPod({ namespace: h.sandbox.info.etcd.namespace, labelSelector: h.sandbox.info.etcd.selector });
  return Object.fromEntries(pods.items.map((p) => [p.metadata?.name ?? '?', p.metadata?.uid ?? '?']));
}

/** `count` acknowledged writes through the members running now; returns their keys. */
export async function ackedWrites(h: GuardianHarness, count: number, prefix: string): Promise<string[]> {
  const urls = (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.clientUrl);
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${prefix}-${String(i).padStart(4, '0')}`;
    await putOnce(urls, key, `value-${i}`);
    keys.push(key);
  }
  return keys;
}

/** Members gone for good: each one's node down and its data directory deleted; waits until those nodes are NotReady. */
async function loseForGood(h: GuardianHarness, lost: readonly MemberStatusReport[]): Promise<void> {
  for (const m of lost) {
    await h.sandbox.fault('node-down', m.node);
    const dataDir = join(h.sandbox.info.stateDir, 'nodes', m.node, 'hostpath', 'var/lib/etcd-guardian', 'main', m.name);
    if (!existsSync(dataDir)) throw new Error(`no data directory ${dataDir} for ${m.name}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  await until('the lost nodes to be NotReady', async () => {
    const status = await h.sandbox.status();
    return lost.every((m) => status.nodes.find((n) => n.name === m.node)?.conditions['Ready'] !== 'True') ? true : undefined;
  }, { timeoutMs: 60_000 });
}

/**
 * Every member but the first gone for good: its node down and its data directory deleted. Waits until quorum is
 * seen lost (a write through the survivor is not acknowledged) and the lost nodes are NotReady.
 */
export async function loseAllButOne(h: GuardianHarness): Promise<{ survivor: MemberStatusReport; lost: MemberStatusReport[] }> {
  const members = (await h.sandbox.status()).members.filter((m) => !m.terminating);
  const [survivor, ...lost] = members;
  if (!survivor) throw new Error('no members');
  await loseForGood(h, lost);
  let written = true;
  await putOnce([survivor.clientUrl], 'recovery/during', 'x').catch(() => (written = false));
  if (written) throw new Error(`a write through ${survivor.name} was acknowledged with ${lost.length} of ${members.length} members gone`);
  return { survivor, lost };
}

/** Every member gone for good, nodes and data: nothing of the cluster answers any more. */
export async function loseEveryMember(h: GuardianHarness): Promise<MemberStatusReport[]> {
  const members = (await h.sandbox.status()).members.filter((m) => !m.terminating);
  if (members.length === 0) throw new Error('no members');
  await loseForGood(h, members);
  let written = true;
  await putOnce(members.map((m) => m.clientUrl), 'recovery/during', 'x').catch(() => (written = false));
  if (written) throw new Error(`a write was acknowledged with every member's node down`);
  return members;
}

/** What a recovered cluster must show: `size` voters, every acknowledged key, one HashKV, writes, distinct racks. */
export async function expectRecovered(h: GuardianHarness, survivor: MemberStatusReport, lost: readonly MemberStatusReport[], acked: readonly string[], size: number): Promise<void> {
  const listed = await memberList([survivor.clientUrl], true);
  expect(listed.filter((m) => !m.isLearner)).toHaveLength(size);
  const endpoints = listed.flatMap((m) => m.clientURLs);
  expect(await missingKeys(endpoints, acked)).toEqual([]);
  expect(new Set(Object.values(await hashKvOfEveryMember(endpoints))).size).toBe(1);
  await putOnce(endpoints, 'recovery/after', 'ok');
  const running = (await h.sandbox.status()).members.filter((m) => !m.terminating);
  expect(new Set(running.map((m) => m.rack)).size).toBe(Math.min(size, new Set(h.sandbox.info.nodes.map((n) => n.rack)).size));
  expect(running.filter((m) => lost.some((l) => l.node === m.node))).toEqual([]);
}
