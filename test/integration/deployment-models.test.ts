import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, type V1CustomResourceDefinition, type V1Pod } from '@kubernetes/client-node';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Etcd3 } from 'etcd3';
import { renderStatus } from '../../src/cli/status-command';
import { GUARD_UID_ENV } from '../../src/kube/member-pod';
import { renderMarkdown } from '../../src/report/markdown';
import { loadReport } from '../../src/report/report';
import { ETCD_LABELS } from '../../src/sandbox/etcd-cluster';
import { hostPathRoot, statePaths } from '../../src/sandbox/state-dir';
import type { MigrationResult } from '../../workflows/migrate';
import type { MonitorStatus } from '../../workflows/monitor';
import type { RepairResult } from '../../workflows/repair';
import { startGuardian, type GuardianHarness } from './harness/guardian';
import { aFollower, failureOf } from './harness/migration';
import { until } from './harness/wait';
import { kubeFor, type Kube } from './support/kube';

/**
 * What the guardian does with each deployment model, on the sandbox: a successor refuses an old data directory and
 * the migration places it elsewhere; pods another controller owns and kubeadm's static (mirror) pods are never deleted or
 * copied: the monitor alerts with the reason, a manual migration is refused, and a dead static member leaves the
 * membership only when an operator approves, recorded in the history.
 */

jest.setTimeout(300_000);

/** coreos/etcd-operator's EtcdCluster, reduced to what the API needs to serve it. */
const ETCD_CLUSTER_CRD: V1CustomResourceDefinition = {
  metadata: { name: 'etcdclusters.etcd.database.coreos.com' },
  spec: {
    group: 'etcd.database.coreos.com',
    scope: 'Namespaced',
    names: { plural: 'etcdclusters', singular: 'etcdcluster', kind: 'EtcdCluster' },
    versions: [{ name: 'v1beta2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
  },
};

const NS = 'etcd';
let h: GuardianHarness;
let kube: Kube;
let monitor: WorkflowHandleWithFirstExecutionRunId | undefined;

async function memberPods(): Promise<V1Pod[]> {
  return (await kube.core.listNamespacedPod({ namespace: NS, labelSelector: Object.entries(ETCD_LABELS).map(([k, v]) => `${k}=${v}`).join(',') })).items;
}

/** Every member pod by name with its uid, and whether it is being deleted: what a deleted or created pod would change. */
async function podIdentities(): Promise<string[]> {
  return (await memberPods()).map((p) => `${p.metadata?.name}:${p.metadata?.uid}${p.metadata?.deletionTimestamp ? ' (terminating)' : ''}`).sort();
}

async function memberNames(): Promise<string[]> {
  const running = (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.clientUrl);
  const c = new Etcd3({ hosts: running });
  try {
    return (await c.cluster.memberList({ linearizable: true })).members.map((m) => m.name).sort();
  } finally {
    c.close();
  }
}

async function nodeOf(member: string): Promise<string> {
  const m = (await h.sandbox.status()).members.find((x) => x.name === member && !x.terminating);
  if (!m) throw new Error(`no member ${member}`);
  return m.node;
}

async function migrate(member: string, targetNode?: string) {
  return h.client.workflow.start('migrateMember', {
    workflowId: 'migrate-main',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', member, reason: 'deployment-models test', ...(targetNode ? { targetNode } : {}) }],
  });
}

async function startMonitor(id: string): Promise<WorkflowHandleWithFirstExecutionRunId> {
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: id,
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: 1000, continueAsNewEvery: 200 }],
  });
  return monitor;
}

async function stopMonitor(): Promise<void> {
  await monitor?.terminate('scenario over').catch(() => undefined);
  monitor = undefined;
}

/** The monitor's status once its decision matches. */
async function decisionMatching(pattern: RegExp): Promise<MonitorStatus> {
  let last: MonitorStatus | undefined;
  try {
    return await until(`a decision matching ${pattern}`, async () => {
      last = await monitor?.query<MonitorStatus>('status');
      return last?.decision && pattern.test(last.decision.summary) ? last : undefined;
    }, { timeoutMs: 90_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; last decision: ${last?.decision?.summary ?? 'none'}`, { cause: error });
  }
}

/** The run of migrate-main now (undefined if there never was one): a new one means the monitor started a migration. */
async function migrationRun(): Promise<string | undefined> {
  return h.client.workflow
    .getHandle('migrate-main')
    .describe()
    .then((d) => d.runId)
    .catch(() => undefined);
}

/** JSON Patch a pod's metadata (the API server accepts annotations and owner references on a running pod). */
async function patchPod(name: string, patch: object[]): Promise<void> {
  await kube.core.patchNamespacedPod({ namespace: NS, name, body: patch });
}

async function healthyMembers(): Promise<string[]> {
  return (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.name).sort();
}

/** Delete a member's pod and create it again as a static pod's mirror: the manifest's hash, source "file", its Node as controller. */
async function recreateAsMirror(pod: V1Pod): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const nodeName = pod.spec?.nodeName ?? '';
  const node = await kube.core.readNode({ name: nodeName });
  await kube.core.deleteNamespacedPod({ namespace: NS, name });
  await until(`pod ${name} to go`, async () => ((await memberPods()).some((p) => p.metadata?.name === name) ? undefined : true));
  // A mirror pod may not reference service accounts (the API refuses it): no account, no token volume.
  const { serviceAccountName: _name, serviceAccount: _account, ...rest } = pod.spec ?? { containers: [] };
  const token = (v: { name: string }) => v.name.startsWith('kube-api-access-');
  const spec = {
    ...rest,
    automountServiceAccountToken: false,
    volumes: (rest.volumes ?? []).filter((v) => !token(v)),
    // kubeadm's manifest runs etcd itself: a successor's start guard (from the first test) is not part of it.
    containers: rest.containers.map((c) => ({
      ...c,
      command: c.command?.[3] === 'etcd-data-dir-guard' ? c.command.slice(5) : c.command,
      env: (c.env ?? []).filter((e) => e.name !== GUARD_UID_ENV),
      volumeMounts: (c.volumeMounts ?? []).filter((m) => !token(m)),
    })),
  };
  await kube.core.createNamespacedPod({
    namespace: NS,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: pod.metadata?.labels ?? {},
        annotations: {
          ...(pod.metadata?.annotations ?? {}),
          'kubernetes.io/config.mirror': `hash-${nodeName}`,
          'kubernetes.io/config.hash': `hash-${nodeName}`,
          'kubernetes.io/config.source': 'file',
          'kubernetes.io/config.seen': new Date().toISOString(),
        },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid ?? '', controller: true }],
      },
      spec,
    },
  });
  await until(`${name} healthy as a mirror pod`, async () => ((await healthyMembers()).length === 3 && (await healthyMembers()).includes(name) ? true : undefined), { timeoutMs: 60_000 });
}

beforeAll(async () => {
  h = await startGuardian({ tuning: { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '3s' } });
  kube = kubeFor(h.sandbox.info);
}, 180_000);

afterAll(async () => {
  await stopMonitor();
  await h?.stop();
});

it('a successor whose data directory is not empty does not start etcd, and the migration undoes it and places it elsewhere', async () => {
  const member = await aFollower(h);
  const used = new Set((await h.sandbox.status()).members.map((m) => m.node));
  const target = h.sandbox.info.nodes.map((n) => n.name).find((n) => !used.has(n));
  if (!target) throw new Error('no free node');
  // What a failed earlier attempt, or a member that once lived there, leaves behind: its data directory.
  const dirty = join(hostPathRoot(statePaths(h.sandbox.info.stateDir), target), 'var/lib/etcd-guardian/main/etcd-3');
  mkdirSync(join(dirty, 'member'), { recursive: true });
  writeFileSync(join(dirty, 'member', 'left-over'), 'an old member\'s data');

  const handle = await migrate(member, target);
  const result = (await handle.result()) as MigrationResult;

  expect(result.steps.filter((s) => s.step.startsWith('compensate:')).map((s) => [s.step, s.status])).toEqual([[`compensate: retire etcd-3 on ${target}`, 'compensated']]);
  expect(result.steps.find((s) => s.status === 'failed')?.detail).toContain(`is not empty: its start guard did not start etcd (exit 65)`);
  expect(result).toMatchObject({ member, newMember: 'etcd-4' });
  expect(result.to).not.toBe(target);
  // etcd never ran there: it would have written member/snap and member/wal.
  expect(readdirSync(join(dirty, 'member'))).toEqual(['left-over']);
  expect(await memberNames()).not.toContain('etcd-3');
  expect((await memberPods()).map((p) => p.metadata?.name)).not.toContain('etcd-3');

  // The successor's own restart is not refused: its guard marked the directory with its pod's uid.
  const successorNode = await nodeOf('etcd-4');
  await h.sandbox.fault('node-down', successorNode);
  await h.sandbox.heal(successorNode);
  await until('etcd-4 to run again on its own data', async () => ((await healthyMembers()).includes('etcd-4') && (await healthyMembers()).length === 3 ? true : undefined), { timeoutMs: 60_000 });
  const restarted = (await memberPods()).find((p) => p.metadata?.name === 'etcd-4');
  expect(restarted?.status?.containerStatuses?.[0]?.restartCount).toBeGreaterThan(0);
});

it('members whose pods another controller owns are not moved: the monitor alerts with the reason and a manual migration is refused', async () => {
  // Pods owned directly by an operator's custom resource, as coreos/etcd-operator ran them (an EtcdCluster owns its
  // member pods). A real owner object, so that the real garbage collector keeps the pods; no controller runs for it.
  const crds = kube.config.makeApiClient(ApiextensionsV1Api);
  const custom = kube.config.makeApiClient(CustomObjectsApi);
  await crds.createCustomResourceDefinition({ body: ETCD_CLUSTER_CRD });
  const cr = await until('the EtcdCluster resource to be served', async () =>
    (await custom
      .createNamespacedCustomObject({ group: 'etcd.database.coreos.com', version: 'v1beta2', namespace: NS, plural: 'etcdclusters', body: { apiVersion: 'etcd.database.coreos.com/v1beta2', kind: 'EtcdCluster', metadata: { name: 'main' }, spec: { size: 3 } } })
      .catch(() => undefined)) as { metadata?: { uid?: string } } | undefined,
  );
  const owner = { apiVersion: 'etcd.database.coreos.com/v1beta2', kind: 'EtcdCluster', name: 'main', uid: cr.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
  for (const pod of await memberPods()) await patchPod(pod.metadata?.name ?? '', [{ op: 'add', path: '/metadata/ownerReferences', value: [owner] }]);
  const pods = await podIdentities();
  const runBefore = await migrationRun();
  const victim = await aFollower(h);
  const node = await nodeOf(victim);

  await startMonitor('monitor-main-sts');
  await h.sandbox.fault('node-down', node);
  try {
    const status = await decisionMatching(new RegExp(`${victim} is at risk .* but the guardian will not move it`));
    expect(status.decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
    expect(status.decision?.summary).toContain(`pod ${victim} is a pod owned by EtcdCluster main: that controller recreates and places its pods`);
    expect(status.assessment?.findings.map((f) => f.kind)).toContain('member-unreachable');
    expect(renderStatus([{ cluster: 'main', status }])).toContain(`${victim}: a pod owned by EtcdCluster main`);

    expect(await migrationRun()).toBe(runBefore);
    const manual = await migrate(victim);
    const refused = await failureOf(manual.result());
    expect(refused.type).toBe('CONTROLLER_OWNED');
    expect(refused.message).toContain(`cannot move ${victim}: pod ${victim} is a pod owned by EtcdCluster main`);
    // A few more cycles: the monitor still starts nothing, and no pod is deleted or created.
    await until('three more monitor cycles', async () => {
      const later = await monitor?.query<MonitorStatus>('status');
      return later && later.cycles >= status.cycles + 3 ? true : undefined;
    });
    expect(await migrationRun()).toBe(manual.firstExecutionRunId);
    expect(await podIdentities()).toEqual(pods);
  } finally {
    await stopMonitor();
    await h.sandbox.heal(node);
  }
  for (const pod of await memberPods()) await patchPod(pod.metadata?.name ?? '', [{ op: 'remove', path: '/metadata/ownerReferences' }]);
  await crds.deleteCustomResourceDefinition({ name: ETCD_CLUSTER_CRD.metadata?.name ?? '' });
  await until(`${victim} healthy again`, async () => ((await h.sandbox.status()).members.filter((m) => m.healthy).length === 3 ? true : undefined), { timeoutMs: 60_000 });
});

it('kubeadm static pods: a dead member is alerted with the runbook, never migrated, and removed only when an operator approves', async () => {
  // Mirror pods as a kubelet makes them: the API allows the mirror annotation only at creation, so each member's pod
  // is recreated with it, one at a time (the node agent keeps running the same member on the same data).
  for (const pod of await memberPods()) await recreateAsMirror(pod);
  const pods = await podIdentities();
  const victim = await aFollower(h);
  const node = await nodeOf(victim);
  const runBefore = await migrationRun();

  await startMonitor('monitor-main-static');
  await h.sandbox.fault('node-down', node);
  const status = await decisionMatching(new RegExp(`${victim} is at risk .* but the guardian will not move it`));
  expect(status.decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
  expect(status.decision?.summary).toContain(`pod ${victim} is a static pod run by its node's kubelet from a manifest file, as kubeadm deploys etcd (kubernetes.io/config.mirror=hash-${node})`);
  expect(status.decision?.summary).toContain(`approve its removal with etcd-guardian repair main --approve-removal ${victim}`);
  const rendered = renderStatus([{ cluster: 'main', status }]);
  expect(rendered).toContain(`runbook: replace ${node}, the kubeadm control-plane node of etcd member ${victim}`);
  expect(rendered).toContain('kubeadm join <control-plane endpoint> --control-plane');
  expect(await migrationRun()).toBe(runBefore);
  expect(await podIdentities()).toEqual(pods);

  // By hand: refused up front, with the reason and the runbook.
  const refused = await failureOf((await migrate(victim)).result());
  expect(refused.type).toBe('STATIC_POD');
  expect(refused.message).toContain(`cannot move ${victim}: pod ${victim} is a static pod`);
  expect(refused.message).toContain('kubeadm reset -f');

  // The operator approves the removal: the member leaves, no pod is touched, the approver is in the history.
  const repair = await h.client.workflow.start('repairMembership', {
    workflowId: 'migrate-main',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', reason: `${node} lost`, requestedBy: 'alice@sre', approveRemoval: victim }],
  });
  const result = (await repair.result()) as RepairResult;
  expect(result.plan).toMatchObject({ kind: 'remove-approved', approval: { member: victim, approvedBy: 'alice@sre' } });
  expect(result.steps.map((s) => [s.step, s.status])).toEqual([
    ['plan', 'done'],
    ['backup-snapshot', 'done'],
    ['remove-member', 'done'],
    ['verify-quorum', 'done'],
  ]);
  expect(result.plan.runbook?.[0]).toContain(`runbook: replace ${node}`);
  expect(await memberNames()).not.toContain(victim);
  expect(await memberNames()).toHaveLength(2);
  expect(await podIdentities()).toEqual(pods);
  const started = (await repair.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  expect(JSON.parse(Buffer.from(started ?? new Uint8Array()).toString('utf8'))).toMatchObject({ approveRemoval: victim, requestedBy: 'alice@sre' });
  // The post-mortem report, read from that history alone, says who approved which removal.
  const report = renderMarkdown(await loadReport(h.client, 'migrate-main', repair.firstExecutionRunId));
  expect(report).toContain(`Removal of dead member **${victim}** approved by \`alice@sre\`. Reason given: **${node} lost**.`);

  // Two voters where three are desired: the monitor does not copy a static pod to grow back, it says how to.
  const short = await decisionMatching(/kubeadm join --control-plane/);
  expect(short.decision).toMatchObject({ kind: 'alert', reason: 'unmovable-workload' });
  expect(short.decision?.summary).toContain('cannot repair main (2 voters, 3 desired)');
  expect(await migrationRun()).toBe(repair.firstExecutionRunId);
  expect(await podIdentities()).toEqual(pods);
  await stopMonitor();
});
