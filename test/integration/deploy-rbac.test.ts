import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { GuardianConfig } from '../../src/config/schema';
import { endpointsConfigMapName } from '../../src/domain/endpoints';
import { KubeGateway } from '../../src/kube/gateway';
import type { MigrationResult } from '../../workflows/migrate';
import type { MonitorStatus } from '../../workflows/monitor';
import { configDocumentFor, startGuardian, type GuardianHarness } from './harness/guardian';
import { aFollower } from './harness/migration';
import { until } from './harness/wait';

/**
 * Least privilege, proven on the sandbox's real kube-apiserver: the RBAC manifests of deploy/ are applied as an
 * operator would, the guardian runs a monitor and a migration with nothing but its ServiceAccount's token, and that
 * token is refused what the guardian never needs.
 */

jest.setTimeout(300_000);

const DEPLOY = join(__dirname, '../../deploy');
const SERVICE_ACCOUNT = { name: 'etcd-guardian', namespace: 'etcd-guardian' };

let h: GuardianHarness;
let admin: KubeConfig;
let saKubeconfig: string;

/** The documents of a manifest file. */
function manifests(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => d.toJS() as KubernetesObject);
}

/**
 * deploy/rbac.yaml grants pod access in kube-system, where kubeadm runs etcd; the sandbox's members live in `etcd`.
 * The manifest's header tells the operator to move the Role and RoleBinding to the config's namespace, as
 * `kustomize edit set namespace` would for a namespaced overlay: this is that edit.
 */
function forEtcdNamespace(objects: KubernetesObject[], namespace: string): KubernetesObject[] {
  return objects.map((o) => (o.kind === 'Role' || o.kind === 'RoleBinding' || o.metadata?.name === SHIPPED_ENDPOINTS ? forSandboxCluster({ ...o, metadata: { ...o.metadata, namespace } }) : o));
}

/** The client endpoints ConfigMap deploy/ ships, for its config's cluster `control-plane`. */
const SHIPPED_ENDPOINTS = 'etcd-guardian-control-plane-endpoints';

/** The same edit for the cluster's name: the sandbox's cluster is `main`, so its ConfigMap and the Role's resourceNames say so. */
function forSandboxCluster(object: KubernetesObject): KubernetesObject {
  return JSON.parse(JSON.stringify(object).replaceAll(SHIPPED_ENDPOINTS, endpointsConfigMapName('main')).replaceAll('"control-plane"', '"main"')) as KubernetesObject;
}

async function apply(api: KubernetesObjectApi, objects: KubernetesObject[]): Promise<string[]> {
  const applied: string[] = [];
  for (const object of objects) {
    await api.create(object);
    applied.push(`${object.kind}/${object.metadata?.name ?? '?'}`);
  }
  return applied;
}

/** A kubeconfig for the same server and CA as the admin's, authenticated by the ServiceAccount's bearer token only. */
function tokenKubeconfig(token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the sandbox kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'etcd-guardian', token }],
    contexts: [{ name: 'etcd-guardian', cluster: cluster.name, user: 'etcd-guardian' }],
    currentContext: 'etcd-guardian',
  });
  return kc;
}

/** The HTTP status and the apiserver's message of a refused call. */
async function refusal(call: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call();
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body);
      return { code: error.code, message: (JSON.parse(body) as { message?: string }).message ?? body };
    }
    throw error;
  }
  throw new Error('expected the call to be refused');
}

beforeAll(async () => {
  h = await startGuardian({ worker: false });
  admin = new KubeConfig();
  admin.loadFromFile(h.sandbox.info.kubeconfig);
}, 180_000);

afterAll(async () => {
  await h?.stop();
});

it('the deploy/ manifests apply to a real kube-apiserver, and the ServiceAccount gets a token', async () => {
  const api = KubernetesObjectApi.makeApiClient(admin);
  const rbac = forEtcdNamespace(manifests('rbac.yaml'), h.sandbox.info.etcd.namespace);
  // The Deployment (and its backup volume claim) is accepted and stored, but nothing runs it: the sandbox has no
  // controller manager and no container runtime.
  const endpoints = forEtcdNamespace(manifests('client-endpoints.yaml'), h.sandbox.info.etcd.namespace);
  const applied = await apply(api, [...manifests('namespace.yaml'), ...rbac, ...manifests('configmap.yaml'), ...endpoints, ...manifests('deployment.yaml')]);
  expect(applied).toEqual([
    'Namespace/etcd-guardian',
    'ServiceAccount/etcd-guardian',
    'ClusterRole/etcd-guardian',
    'ClusterRoleBinding/etcd-guardian',
    'Role/etcd-guardian',
    'RoleBinding/etcd-guardian',
    'ConfigMap/etcd-guardian-config',
    'ConfigMap/etcd-guardian-main-endpoints',
    'PersistentVolumeClaim/etcd-guardian-backups',
    'Deployment/etcd-guardian',
  ]);
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    ...SERVICE_ACCOUNT,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  expect(token).toMatch(/^ey/);
  saKubeconfig = join(h.sandbox.info.stateDir, 'etcd-guardian-sa.kubeconfig');
  const sa = tokenKubeconfig(token ?? '');
  writeFileSync(saKubeconfig, sa.exportConfig());
  const who = await new KubeGateway(sa).nodeUsage();
  // metrics.k8s.io is readable with the token: the placement ranks nodes by their real usage.
  expect(who.ok ? [...who.usage.keys()].sort() : who.error).toEqual(h.sandbox.info.nodes.map((n) => n.name).sort());
});

it('a monitor cycle and a migration succeed with nothing but the ServiceAccount token', async () => {
  const document = configDocumentFor(h.sandbox, { interval: '2s', endpointTimeout: '1s', hysteresisSamples: 3 });
  const config: GuardianConfig = parseConfig({ ...document, kubernetes: { kubeconfig: saKubeconfig } }, 'least-privilege config');
  await h.startWorker(config);

  const monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-rbac',
    taskQueue: config.temporal.taskQueue,
    args: [{ cluster: 'main', intervalMs: 2000, continueAsNewEvery: 50 }],
  });
  try {
    const status = await until('two monitor cycles read with the token', async () => {
      const s = await monitor.query<MonitorStatus>('status');
      return s.cycles >= 2 ? s : undefined;
    });
    expect(status.lastError).toBeUndefined();
    expect(status.health).toBe('healthy');
    expect(status.assessment?.quorum).toMatchObject({ voters: 3, healthyVoters: 3 });
    // Pods and nodes were read: every member has its node and that node's rack.
    expect(status.members.every((m) => m.node !== undefined && m.rack !== undefined)).toBe(true);
  } finally {
    await monitor.terminate('test over');
  }

  const follower = await aFollower(h);
  const handle = await h.client.workflow.start('migrateMember', {
    workflowId: 'migrate-main',
    taskQueue: config.temporal.taskQueue,
    args: [{ cluster: 'main', member: follower, targetNode: 'node-4', reason: 'least-privilege drill' }],
  });
  const result = (await handle.result()) as MigrationResult;
  expect(result).toMatchObject({ member: follower, to: 'node-4', newMember: 'etcd-3' });
  expect(result.verified?.voters).toHaveLength(3);
  const pods = (await h.sandbox.status()).members.filter((m) => !m.terminating).map((m) => `${m.name}@${m.node}`);
  expect(pods).toContain('etcd-3@node-4');
  // The client endpoints were published with the token: the shipped ConfigMap now names the new member's address.
  const published = await admin.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: h.sandbox.info.etcd.namespace, name: endpointsConfigMapName('main') });
  const node4 = h.sandbox.info.nodes.find((n) => n.name === 'node-4')?.address ?? '?';
  expect(published.data?.['endpoints']?.split(',')).toContain(`http://${node4}:2379`);
  expect(pods).not.toContain(`${follower}@${h.sandbox.info.etcd.members.find((m) => m.name === follower)?.node ?? '?'}`);
});

it('the same token is refused what the guardian does not need', async () => {
  const sa = new KubeConfig();
  sa.loadFromFile(saKubeconfig);
  const core = sa.makeApiClient(CoreV1Api);
  const user = `system:serviceaccount:${SERVICE_ACCOUNT.namespace}:${SERVICE_ACCOUNT.name}`;
  const refused = await Promise.all([
    refusal(() => core.deleteNode({ name: 'node-5' })),
    refusal(() => core.listNamespacedSecret({ namespace: h.sandbox.info.etcd.namespace })),
    refusal(() => core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'intruder' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } })),
    refusal(() => core.patchNode({ name: 'node-5', body: { spec: { unschedulable: true } } })),
    refusal(() => core.createNamespacedConfigMap({ namespace: h.sandbox.info.etcd.namespace, body: { metadata: { name: 'intruder' }, data: {} } })),
  ]);
  expect(refused.map((r) => r.code)).toEqual([403, 403, 403, 403, 403]);
  expect(refused.map((r) => r.message)).toEqual([
    `nodes "node-5" is forbidden: User "${user}" cannot delete resource "nodes" in API group "" at the cluster scope`,
    `secrets is forbidden: User "${user}" cannot list resource "secrets" in API group "" in the namespace "${h.sandbox.info.etcd.namespace}"`,
    `pods is forbidden: User "${user}" cannot create resource "pods" in API group "" in the namespace "default"`,
    `nodes "node-5" is forbidden: User "${user}" cannot patch resource "nodes" in API group "" at the cluster scope`,
    `configmaps is forbidden: User "${user}" cannot create resource "configmaps" in API group "" in the namespace "${h.sandbox.info.etcd.namespace}"`,
  ]);
  // Nothing was changed by the refused calls.
  const adminCore = admin.makeApiClient(CoreV1Api);
  expect((await adminCore.readNode({ name: 'node-5' })).spec?.unschedulable).toBeUndefined();
});
