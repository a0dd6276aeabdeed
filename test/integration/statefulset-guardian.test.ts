import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { startGuardian, type GuardianHarness } from './harness/guardian';
import { memberList } from './harness/gameday';
import { finished, Invariants, migrationHandle } from './harness/migration';
import { until } from './harness/wait';
import { kubeFor } from './support/kube';

/**
 * The guardian moves a member of a StatefulSet-managed cluster (`sandbox up --etcd-workload statefulset`) on the real
 * control plane: the member's node goes down, the monitor notices, and the migration removes the member, reserves a
 * volume on the chosen node, deletes the claim and the pod, and the real StatefulSet controller, PV binder and
 * scheduler put the ordinal back on that node, where its start script joins as the learner the guardian added.
 * Judged as a user would: every acknowledged key there, HashKV equal, quorum held throughout, the pod on the new
 * node under its old name, and no volume left behind.
 */

jest.setTimeout(300_000);

let h: GuardianHarness;
let monitor: WorkflowHandleWithFirstExecutionRunId;

beforeAll(async () => {
  h = await startGuardian({ sandbox: { etcdWorkload: 'statefulset' }, tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '3s' } });
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-statefulset',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 100 }],
  });
}, 240_000);

afterAll(async () => {
  await monitor?.terminate('test over').catch(() => undefined);
  await h?.stop();
});

it('replaces the member of a node that goes down through the StatefulSet: same ordinal on a new node, keys kept, quorum held', async () => {
  expect(h.config.clusters[0]?.workload).toEqual({ kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' });
  const { core } = kubeFor(h.sandbox.info);
  const checks = new Invariants(h);
  checks.start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const victim = 'etcd-1';
  const node = h.sandbox.info.etcd.members.find((m) => m.name === victim)?.node ?? '?';
  const oldVolume = h.sandbox.info.etcd.members.find((m) => m.name === victim)?.volume ?? '?';
  await h.sandbox.fault('node-down', node);

  const { result, from, to } = await finished(await migrationHandle(h.client, 180_000));
  const audit = await checks.audit({ from, to });

  expect(result).toMatchObject({ member: victim, strategy: 'replace', from: node, newMember: victim });
  expect(result.to).not.toBe(node);
  expect(result.steps.filter((s) => s.status === 'done').map((s) => s.step)).toEqual([
    'plan', 'backup-snapshot', 'remove-member', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum', 'release-volumes',
  ]);
  expect(audit.missing).toEqual([]);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  expect(Object.keys(audit.hashes)).toHaveLength(3);
  expect(audit.belowQuorum).toBe(0);
  expect(new Set(audit.racks).size).toBe(3);
  expect(checks.writer.acked.length).toBeGreaterThan(20);
  const listed = await memberList(checks.sampler.endpointsSeen(), true);
  expect(listed.map((m) => [m.name, m.isLearner]).sort()).toEqual([['etcd-0', false], ['etcd-1', false], ['etcd-2', false]]);

  // The controller's pod of the same ordinal, on the chosen node, on a claim bound to the volume reserved there.
  const pod = await core.readNamespacedPod({ namespace: 'etcd', name: victim });
  expect([pod.spec?.nodeName, pod.metadata?.ownerReferences?.[0]?.kind]).toEqual([result.to, 'StatefulSet']);
  const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: 'etcd', name: `data-${victim}` });
  const volume = await core.readPersistentVolume({ name: claim.spec?.volumeName ?? '?' });
  expect(volume.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values).toEqual([result.to]);
  // The old node's volume (Released: a removed member's data) is gone; nothing else of the ordinal is left.
  const left = (await core.listPersistentVolume({ labelSelector: `etcd-guardian.io/member=${victim}` })).items.map((v) => v.metadata?.name);
  expect(left).toEqual([claim.spec?.volumeName]);
  expect(left).not.toContain(oldVolume);
  await until('the monitor to see a healthy cluster', async () => ((await monitor.query<{ health: string }>('status')).health === 'healthy' ? true : undefined), { timeoutMs: 60_000 });
});

it('replaces a live member whose node is under pressure: its pod gets its grace period on a Ready node, and quorum holds although the member leaves first', async () => {
  const { core } = kubeFor(h.sandbox.info);
  const status = await h.sandbox.status();
  const victim = 'etcd-2';
  const node = status.members.find((m) => m.name === victim && !m.terminating)?.node ?? '?';
  const previous = (await h.client.workflow.getHandle('migrate-main').describe()).runId;
  const checks = await Invariants.ofCurrentMembers(h);
  checks.start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await h.sandbox.fault('node-pressure', node, { cpu: 0.96, memory: 0.5 });

  const handle = await until('the monitor to start the next migration', async () => {
    const next = h.client.workflow.getHandle('migrate-main');
    return (await next.describe()).runId !== previous ? next : undefined;
  }, { timeoutMs: 120_000 });
  const { result, from, to } = await finished(handle);
  const audit = await checks.audit({ from, to });

  expect(result).toMatchObject({ member: victim, strategy: 'replace', from: node, newMember: victim });
  expect(result.plan.reasons.some((r) => r.startsWith(`replace, not surge: pod ${victim} of StatefulSet etcd`))).toBe(true);
  expect(audit.missing).toEqual([]);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  expect(audit.belowQuorum).toBe(0);
  const pod = await core.readNamespacedPod({ namespace: 'etcd', name: victim });
  expect(pod.spec?.nodeName).toBe(result.to);
  expect(result.to).not.toBe(node);
  await h.sandbox.heal(node);
});
