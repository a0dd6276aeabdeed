import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { GuardianConfig } from '../../src/config/schema';
import { endpointsConfigMapName } from '../../src/domain/endpoints';
import { KubeGateway } from '../../src/kube/gateway';
import { MERGE_PATCH } from '../../src/sandbox/kube';
import { successorPod } from '../../src/kube/member-pod';
import type { MigrationResult } from '../../workflows/migrate';
import type { MonitorStatus } from '../../workflows/monitor';
import { configDocumentFor, startGuardian, type GuardianHarness } from './harness/guardian';
import { aFollower } from './harness/migration';
import { until } from './harness/wait';

/**
 * Least privilege, proven on the sandbox's real kube-apiserver: the RBAC manifests and the admission policy of
 * deploy/ are applied as an operator would, the guardian runs a monitor and a migration with nothing but its
 * ServiceAccount's token, and that token is refused what the guardian never needs: by RBAC outside the etcd pods'
 * namespace, by the admission policy inside it for any pod that is not a copy of a member.
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

/**
 * deploy/admission.yaml's parameters describe kubeadm's members in kube-system; the file tells the operator to move
 * the ConfigMap to the etcd namespace and describe the members there. The sandbox's members carry its selector's
 * labels, keep their data under /var/lib/etcd-guardian/<cluster>, mount the etcd certificates (TLS sandboxes) and run
 * on the host network, unprivileged.
 */
function admissionFor(objects: KubernetesObject[], namespace: string, cluster: string, selector: string): KubernetesObject[] {
  return objects.map((o) =>
    o.kind === 'ConfigMap'
      ? {
          ...o,
          metadata: { ...o.metadata, namespace },
          data: {
            ...(o as { data?: Record<string, string> }).data,
            memberLabels: selector,
            dataDirectory: `/var/lib/etcd-guardian/${cluster}`,
          },
        }
      : o,
  );
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
  const { namespace, cluster, selector } = h.sandbox.info.etcd;
  const rbac = forEtcdNamespace(manifests('rbac.yaml'), namespace);
  const admission = admissionFor(manifests('admission.yaml'), namespace, cluster, selector);
  // The Deployment (and its backup volume claim) is accepted and stored, but nothing runs it: the sandbox has no
  // controller manager and no container runtime.
  const endpoints = forEtcdNamespace(manifests('client-endpoints.yaml'), namespace);
  const applied = await apply(api, [
    ...manifests('namespace.yaml'),
    ...rbac,
    ...admission,
    ...manifests('configmap.yaml'),
    ...endpoints,
    ...manifests('deployment.yaml'),
  ]);
  expect(applied).toEqual([
    'Namespace/etcd-guardian',
    'ServiceAccount/etcd-guardian',
    'ClusterRole/etcd-guardian',
    'ClusterRoleBinding/etcd-guardian',
    'Role/etcd-guardian',
    'RoleBinding/etcd-guardian',
    'ValidatingAdmissionPolicy/etcd-guardian-member-pods',
    'ValidatingAdmissionPolicyBinding/etcd-guardian-member-pods',
    'ConfigMap/etcd-guardian-admission',
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

it("the guardian's Kubernetes calls share one kept TLS connection (client-node alone opens one a call)", async () => {
  const gateway = new KubeGateway(admin);
  const { namespace, selector } = h.sandbox.info.etcd;
  for (let i = 0; i < 5; i++) {
    const [pods, nodes, usage] = [await gateway.listPods(namespace, selector), await gateway.listNodes({ rackLabel: 'topology.kubernetes.io/rack', domainLabel: 'topology.kubernetes.io/zone' }), await gateway.nodeUsage()];
    expect([pods.length, nodes.length, usage.ok]).toEqual([3, h.sandbox.info.nodes.length, true]);
  }
  expect(gateway.connections.connectionsOpened).toBe(1);
});

it("the monitor's pods and nodes come from watches, with the guardian's own token: one list each, then the events", async () => {
  const sa = new KubeConfig();
  sa.loadFromFile(saKubeconfig);
  // Watches the server ends after 2 s (50 s in the worker), to see each followed by the next without a list.
  const gateway = new KubeGateway(sa, { maxQuietMs: 60_000, watchSeconds: 2, listDeadlineMs: 10_000 });
  const topology = { rackLabel: 'topology.kubernetes.io/rack', domainLabel: 'topology.kubernetes.io/zone' };
  const { namespace, selector } = h.sandbox.info.etcd;
  const node = h.sandbox.info.nodes[0]?.name ?? '?';
  const labelOf = async (): Promise<string | undefined> => (await gateway.listNodes(topology, { watched: true })).find((n) => n.name === node)?.labels['etcd-guardian.io/watch-probe'];
  const core = admin.makeApiClient(CoreV1Api);
  try {
    for (let i = 0; i < 5; i++) {
      const [pods, nodes] = await Promise.all([gateway.listPods(namespace, selector, { watched: true }), gateway.listNodes(topology, { watched: true })]);
      expect([pods.length, nodes.length]).toEqual([3, h.sandbox.info.nodes.length]);
    }
    expect(await labelOf()).toBeUndefined();
    await until('the server to end a watch and the next to start', () => Promise.resolve((gateway.watchStats()['nodes']?.watches ?? 0) >= 3 ? true : undefined), { timeoutMs: 15_000, everyMs: 200 });
    // A change made by someone else reaches the next read through the watch, with no list.
    await core.patchNode({ name: node, body: { metadata: { labels: { 'etcd-guardian.io/watch-probe': 'seen' } } } }, MERGE_PATCH);
    await until('the watched nodes show the new label', async () => ((await labelOf()) === 'seen' ? true : undefined), { timeoutMs: 10_000, everyMs: 100 });
    const stats = gateway.watchStats();
    expect(stats['nodes']).toMatchObject({ lists: 1, watchFailures: 0 });
    expect(stats[`pods ${namespace} ${selector}`]).toMatchObject({ lists: 1, watchFailures: 0 });
    expect(stats['nodes']?.events).toBeGreaterThan(0);
  } finally {
    gateway.close();
    await core.patchNode({ name: node, body: { metadata: { labels: { 'etcd-guardian.io/watch-probe': null } } } }, MERGE_PATCH);
  }
});

it('the admission policy lets the token create and delete member pods only, copied as a migration copies them', async () => {
  const { namespace, members } = h.sandbox.info.etcd;
  const sa = new KubeConfig();
  sa.loadFromFile(saKubeconfig);
  const core = sa.makeApiClient(CoreV1Api);
  const adminCore = admin.makeApiClient(CoreV1Api);
  const first = members[0];
  if (!first) throw new Error('the sandbox has no member');
  const template = await adminCore.readNamespacedPod({ name: first.pod, namespace });
  const free = h.sandbox.info.nodes.find((n) => !members.some((m) => m.node === n.name))?.name ?? '?';
  // What a migration sends: a member's pod copied onto a free node under a new member's name.
  const copy = successorPod(template, {
    oldMemberName: first.name,
    newMemberName: 'etcd-9',
    nodeName: free,
    initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    memberLabel: 'etcd-guardian.io/member',
  });
  const spec = copy.spec ?? { containers: [] };
  const [etcd] = spec.containers;
  if (!etcd) throw new Error('the member pod has no container');
  const variant = (change: (pod: V1Pod) => V1Pod): V1Pod => change(structuredClone(copy));
  const unlabelled = variant((p) => ({ ...p, metadata: { ...p.metadata, labels: {} } }));
  // The apiserver loads a new policy within seconds, not at once: until it refuses an unlabelled pod (a dry run,
  // stored nowhere), it is not in force. The policy's type check is shown if it never is.
  const registration = admin.makeApiClient(AdmissionregistrationV1Api);
  await until('the admission policy in force', async () => {
    try {
      await core.createNamespacedPod({ namespace, body: unlabelled, dryRun: 'All' });
    } catch (error) {
      if (error instanceof ApiException && error.code === 403) return true;
      throw error;
    }
    const status = (await registration.readValidatingAdmissionPolicy({ name: 'etcd-guardian-member-pods' })).status;
    if (status?.typeChecking?.expressionWarnings?.length) throw new Error(`policy type check: ${JSON.stringify(status.typeChecking)}`);
    return undefined;
  }, { timeoutMs: 20_000 });
  // A faithful copy is accepted (a dry run again).
  const accepted = await core.createNamespacedPod({ namespace, body: copy, dryRun: 'All' });
  expect(accepted.metadata?.name).toBe('etcd-9');

  const adminPods = async (): Promise<string[]> => ((await adminCore.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name ?? '?')).sort();
  const before = await adminPods();
  await adminCore.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'powerful' } } });
  // A pod the guardian did not make, e.g. another workload of the namespace.
  await adminCore.createNamespacedPod({ namespace, body: { metadata: { name: 'bystander' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  try {
    const refused: Array<{ code: number; message: string }> = [];
    // One after the other: a variant wrongly accepted would be a real pod, and must not hide the next one's answer.
    for (const body of [
      unlabelled,
      variant((p) => ({ ...p, spec: { ...spec, volumes: [...(spec.volumes ?? []), { name: 'root', hostPath: { path: '/etc' } }] } })),
      variant((p) => ({ ...p, spec: { ...spec, containers: [{ ...etcd, securityContext: { privileged: true } }] } })),
      variant((p) => ({ ...p, spec: { ...spec, containers: [{ ...etcd, securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] } })),
      variant((p) => ({ ...p, spec: { ...spec, hostPID: true } })),
      variant((p) => ({ ...p, spec: { ...spec, serviceAccountName: 'powerful' } })),
    ]) {
      refused.push(await refusal(() => core.createNamespacedPod({ namespace, body })));
    }
    refused.push(await refusal(() => core.deleteNamespacedPod({ namespace, name: 'bystander' })));
    const denied = `ValidatingAdmissionPolicy 'etcd-guardian-member-pods' with binding 'etcd-guardian-member-pods' denied request:`;
    const data = `/var/lib/etcd-guardian/${h.sandbox.info.etcd.cluster}`;
    const labels = h.sandbox.info.etcd.selector;
    expect(refused.map((r) => r.code)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(refused.map((r) => r.message)).toEqual([
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may create only etcd member pods, labelled ${labels} (ConfigMap etcd-guardian-admission); pod etcd-9 lacks ${labels.split(',').join(', ')}`,
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may mount host paths only under ${data}, /etc/kubernetes/pki/etcd (ConfigMap etcd-guardian-admission: dataDirectory, certificateHostPaths); pod etcd-9 mounts /etc`,
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may not create privileged containers: the member pods are not privileged (ConfigMap etcd-guardian-admission: privileged); pod etcd-9 has privileged etcd`,
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may not add capabilities; pod etcd-9 adds them in etcd`,
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may not create pods sharing the host PID or IPC namespace; pod etcd-9 does`,
      `pods "etcd-9" is forbidden: ${denied} etcd-guardian may not create pods running as another ServiceAccount; pod etcd-9 runs as powerful`,
      `pods "bystander" is forbidden: ${denied} etcd-guardian may delete only etcd member pods, labelled ${labels} (ConfigMap etcd-guardian-admission); pod bystander lacks ${labels.split(',').join(', ')}`,
    ]);
    // Nothing was created or deleted by the refused calls.
    expect(await adminPods()).toEqual([...before, 'bystander'].sort());
  } finally {
    await adminCore.deleteNamespacedPod({ namespace, name: 'bystander', gracePeriodSeconds: 0 });
    await adminCore.deleteNamespacedServiceAccount({ namespace, name: 'powerful' });
  }
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
