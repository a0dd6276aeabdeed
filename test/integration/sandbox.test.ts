import { CoordinationV1Api } from '@kubernetes/client-node';
import { Connection } from '@temporalio/client';
import { Etcd3 } from 'etcd3';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../src/config/search-attributes';
import {
  baselineUsage,
  LABELS,
  MEMORY_PRESSURE_THRESHOLD,
  NODE_RESOURCES,
  Sandbox,
  SandboxArgumentError,
  type FaultKind,
  type SandboxInfo,
} from '../../src/sandbox';
import { eventually } from './support/eventually';
import { condition, kubeFor, restartsOf, taintsOf, type Kube } from './support/kube';
import { processesMentioning, sandboxListeners } from './support/leftovers';

/**
 * The sandbox against its real components, through public clients only: @kubernetes/client-node for the API and
 * metrics.k8s.io, etcd3 for the cluster, @temporalio/client for Temporal. One sandbox for the whole file; the faults
 * run one after the other and each is healed before the next.
 */

/** The bound, on a 2-core machine with the binaries cached. */
const START_BUDGET_MS = 30_000;
/** Temporal's IndexedValueType for Keyword (temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD). */
const KEYWORD = 2;

/** A CPU quantity as metrics.k8s.io writes it ("950m", "3800000000n", "2") in cores. */
function cores(quantity: string): number {
  if (quantity.endsWith('n')) return Number(quantity.slice(0, -1)) / 1e9;
  if (quantity.endsWith('m')) return Number(quantity.slice(0, -1)) / 1e3;
  return Number(quantity);
}

/** A memory quantity ("15435039Ki", "16Gi") in bytes. */
function bytes(quantity: string): number {
  const units: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const unit = Object.keys(units).find((u) => quantity.endsWith(u));
  return unit === undefined ? Number(quantity) : Number(quantity.slice(0, -unit.length)) * (units[unit] ?? 1);
}

/** An etcd client for exactly one member whose every call has a short deadline, so a dead member shows as one. */
function memberClient(url: string, deadlineMs = 2_000): Etcd3 {
  return new Etcd3({
    hosts: url,
    dialTimeout: deadlineMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadlineMs }),
  });
}

describe('the sandbox', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'etcd-guardian-sandbox-test-'));
  let starting: Promise<Sandbox> | undefined;
  let sandbox: Sandbox;
  let info: SandboxInfo;
  let kube: Kube;
  let startMs = 0;

  beforeAll(async () => {
    const started = Date.now();
    starting = Sandbox.start({ stateDir });
    sandbox = await starting;
    startMs = Date.now() - started;
    info = sandbox.info;
    kube = kubeFor(info);
    process.stdout.write(`sandbox start to a healthy etcd cluster: ${(startMs / 1000).toFixed(1)} s (slot ${info.slot})\n`);
  });

  afterAll(async () => {
    // Even a start that is still under way (a timed-out beforeAll) must be stopped before its files are removed.
    await starting?.then(
      (started) => started.stop(),
      () => undefined,
    );
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts to a healthy etcd cluster within 30 seconds', () => {
    expect(startMs).toBeLessThanOrEqual(START_BUDGET_MS);
  });

  it('lists six nodes with their rack and domain labels, Ready and untainted', async () => {
    const nodes = (await kube.core.listNode()).items;
    const layout = nodes
      .map((node) => [node.metadata?.name, node.metadata?.labels?.[LABELS.rack], node.metadata?.labels?.[LABELS.zone], condition(node, 'Ready')])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(layout).toEqual([
      ['node-0', 'rack-0', 'zone-0', 'True'],
      ['node-1', 'rack-1', 'zone-0', 'True'],
      ['node-2', 'rack-2', 'zone-1', 'True'],
      ['node-3', 'rack-0', 'zone-0', 'True'],
      ['node-4', 'rack-1', 'zone-0', 'True'],
      ['node-5', 'rack-2', 'zone-1', 'True'],
    ]);
    expect(nodes.flatMap(taintsOf)).toEqual([]);
    const addresses = nodes.map((node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
    expect(new Set(addresses).size).toBe(6);
  });

  it('runs the etcd pods, found by the guardian selector, Running and Ready on three different racks', async () => {
    const pods = (await kube.core.listNamespacedPod({ namespace: info.etcd.namespace, labelSelector: info.etcd.selector })).items;
    const nodes = (await kube.core.listNode()).items;
    const rackOf = (nodeName: string | undefined): string | undefined =>
      nodes.find((node) => node.metadata?.name === nodeName)?.metadata?.labels?.[LABELS.rack];
    expect(pods.map((pod) => pod.metadata?.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(pods.map((pod) => pod.status?.phase)).toEqual(['Running', 'Running', 'Running']);
    expect(pods.map((pod) => condition(pod, 'Ready'))).toEqual(['True', 'True', 'True']);
    expect(new Set(pods.map((pod) => rackOf(pod.spec?.nodeName))).size).toBe(3);
    // Host networking: the pod's IP is its node's InternalIP.
    for (const pod of pods) expect(pod.status?.podIP).toBe(pod.status?.hostIP);
  });

  it('reads through one member a key written through another', async () => {
    const [first, second] = info.etcd.clientUrls;
    const writer = new Etcd3({ hosts: first ?? '' });
    const reader = new Etcd3({ hosts: second ?? '' });
    try {
      await writer.put('sandbox/greeting').value('written through etcd-0');
      expect(await reader.get('sandbox/greeting').string()).toBe('written through etcd-0');
      const members = await reader.cluster.memberList({});
      expect(members.members.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('serves NodeMetrics for every node through the aggregation layer', async () => {
    const metrics = await kube.metrics.getNodeMetrics();
    expect(metrics.items.map((item) => item.metadata.name).sort()).toEqual(['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
    for (const item of metrics.items) {
      // Each node idles at its own steady baseline: CPU 10-30%, memory 20-35% of allocatable.
      const baseline = baselineUsage(item.metadata.name);
      expect(cores(item.usage.cpu) / (NODE_RESOURCES.cpuMillis / 1000)).toBeCloseTo(baseline.cpu, 3);
      expect(bytes(item.usage.memory) / NODE_RESOURCES.memoryBytes).toBeCloseTo(baseline.memory, 3);
      expect([baseline.cpu >= 0.1 && baseline.cpu <= 0.3, baseline.memory >= 0.2 && baseline.memory <= 0.35]).toEqual([true, true]);
    }
  });

  it('answers on Temporal with the guardian search attributes registered as Keyword', async () => {
    const connection = await Connection.connect({ address: info.temporal?.address ?? '' });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: info.temporal?.namespace ?? '' });
      for (const attribute of SEARCH_ATTRIBUTES) expect([attribute.name, customAttributes[attribute.name]]).toEqual([attribute.name, KEYWORD]);
    } finally {
      await connection.close();
    }
  });

  /** The node's conditions and Lease as the API holds them, and the controller-manager's process and last log lines. */
  async function lifecycleReport(nodeName: string, downAt: Date): Promise<string> {
    const node = await kube.core.readNode({ name: nodeName }).catch(() => undefined);
    const lease = await kube.config.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' }).catch(() => undefined);
    const conditions = (node?.status?.conditions ?? []).map((c) => `${c.type}=${c.status} (heartbeat ${String(c.lastHeartbeatTime)})`).join(', ');
    const logFile = join(info.stateDir, 'logs', 'kube-controller-manager.log');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-25).join('\n') : '(no log)';
    const manager = processesMentioning(info.stateDir).filter((p) => p.cmdline.includes('kube-controller-manager')).length;
    return [
      `node-down injected at ${downAt.toISOString()}; now ${new Date().toISOString()}`,
      `${nodeName}: ${conditions || 'no conditions'}; taints ${JSON.stringify(node ? taintsOf(node) : [])}`,
      `lease renewed at ${String(lease?.spec?.renewTime)}`,
      `kube-controller-manager processes running: ${manager}; the last lines of its log:`,
      log,
    ].join('\n');
  }

  it('turns a node-down node Unknown with the unreachable taints and its pods NotReady, and heal undoes it', async () => {
    // A pod that tolerates the unreachable taint for no time at all: the taint-eviction controller deletes it as
    // soon as the node is tainted, and only the node's kubelet, once back, can finish that deletion.
    await kube.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'evicted-at-once', namespace: 'default' },
        spec: {
          nodeName: 'node-0',
          terminationGracePeriodSeconds: 1,
          tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }],
          containers: [{ name: 'sleeper', image: 'busybox', command: ['sleep', '3600'] }],
        },
      },
    });
    await eventually(async () => {
      expect(condition(await kube.core.readNamespacedPod({ name: 'evicted-at-once', namespace: 'default' }), 'Ready')).toBe('True');
    });
    await sandbox.fault('node-down', 'node-0');
    const downAt = new Date();
    const down = await eventually(async () => {
      const node = await kube.core.readNode({ name: 'node-0' });
      expect(taintsOf(node)).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
      return node;
    }, 30_000).catch(async (error: unknown) => {
      // What the node lifecycle controller had to go on, and what it said: the failure names the cause.
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await lifecycleReport('node-0', downAt)}`);
    });
    expect(
      (down.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual([
      ['DiskPressure', 'Unknown', 'NodeStatusUnknown'],
      ['MemoryPressure', 'Unknown', 'NodeStatusUnknown'],
      ['PIDPressure', 'Unknown', 'NodeStatusUnknown'],
      ['Ready', 'Unknown', 'NodeStatusUnknown'],
    ]);
    const pod = await kube.core.readNamespacedPod({ name: 'etcd-0', namespace: info.etcd.namespace });
    expect(condition(pod, 'Ready')).toBe('False');
    const evicted = await eventually(() => kube.core.readNamespacedPod({ name: 'evicted-at-once', namespace: 'default' }).then((p) => {
      expect(p.metadata?.deletionTimestamp).toBeDefined();
      return p;
    }));
    expect(condition(evicted, 'DisruptionTarget')).toBe('True');
    // Its member is really gone: a client aimed at it alone gets no answer.
    const lone = memberClient(info.etcd.clientUrls[0] ?? '');
    await expect(lone.get('sandbox/greeting').string()).rejects.toThrow();
    lone.close();

    expect(await sandbox.heal('node-0')).toEqual(['node-down']);
    await eventually(async () => {
      const node = await kube.core.readNode({ name: 'node-0' });
      expect([condition(node, 'Ready'), taintsOf(node)]).toEqual(['True', []]);
      // Every pod of the node is Ready again (the lifecycle controller's not Ready written over), and the evicted
      // one is gone: the node's kubelet finished its deletion.
      const pods = (await kube.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-0' })).items;
      expect(pods.map((p) => [p.metadata?.name, condition(p, 'Ready'), restartsOf(p)])).toEqual([['etcd-0', 'True', 1]]);
    }, 30_000);
  });

  it('reports node-pressure usage through the metrics API with MemoryPressure on, and heal restores the baseline', async () => {
    await sandbox.fault('node-pressure', 'node-1', { cpu: 0.95, memory: 0.92 });
    const usage = (await kube.metrics.getNodeMetrics()).items.find((item) => item.metadata.name === 'node-1')?.usage;
    expect(cores(usage?.cpu ?? '0')).toBeCloseTo(0.95 * 4, 3);
    expect(bytes(usage?.memory ?? '0') / NODE_RESOURCES.memoryBytes).toBeCloseTo(0.92, 3);
    expect(0.92).toBeGreaterThan(MEMORY_PRESSURE_THRESHOLD);
    await eventually(async () => {
      const node = await kube.core.readNode({ name: 'node-1' });
      expect([condition(node, 'MemoryPressure'), condition(node, 'Ready'), taintsOf(node)]).toEqual([
        'True',
        'True',
        ['node.kubernetes.io/memory-pressure:NoSchedule'],
      ]);
    });

    expect(await sandbox.heal('node-1')).toEqual(['node-pressure']);
    await eventually(async () => {
      const node = await kube.core.readNode({ name: 'node-1' });
      expect([condition(node, 'MemoryPressure'), taintsOf(node)]).toEqual(['False', []]);
    });
    const healed = (await kube.metrics.getNodeMetrics()).items.find((item) => item.metadata.name === 'node-1')?.usage;
    expect(cores(healed?.cpu ?? '0') / (NODE_RESOURCES.cpuMillis / 1000)).toBeCloseTo(baselineUsage('node-1').cpu, 3);
  });

  it('freezes a member so that it answers nothing within a short timeout, and heal thaws it', async () => {
    const url = info.etcd.clientUrls[2] ?? '';
    await sandbox.fault('pod-freeze', 'etcd-2');
    const frozen = memberClient(url, 1_500);
    await expect(frozen.get('sandbox/greeting').string()).rejects.toThrow();
    frozen.close();
    await eventually(async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace: info.etcd.namespace });
      expect([pod.status?.phase, condition(pod, 'Ready')]).toEqual(['Running', 'False']);
    });

    expect(await sandbox.heal('etcd-2')).toEqual(['pod-freeze']);
    await eventually(async () => {
      const thawed = memberClient(url);
      try {
        expect(await thawed.get('sandbox/greeting').string()).toBe('written through etcd-0');
      } finally {
        thawed.close();
      }
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace: info.etcd.namespace });
      expect([condition(pod, 'Ready'), restartsOf(pod)]).toEqual(['True', 0]);
    });
  });

  it('kills a frozen member whose liveness probe fails and restarts it, as a kubelet does, and the member rejoins', async () => {
    // kubeadm's liveness probe (8 failures, 10 s apart, 15 s timeout) takes about two minutes on a frozen member: a
    // copy of etcd-2 with a one-second probe shows the same in seconds. It keeps etcd-2's data directory and rejoins.
    const namespace = info.etcd.namespace;
    const original = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace });
    const container = original.spec?.containers[0];
    if (original.spec === undefined || container?.livenessProbe?.httpGet === undefined) throw new Error('etcd-2 has no httpGet liveness probe');
    expect(container.livenessProbe).toMatchObject({ periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 8 });
    await kube.core.deleteNamespacedPod({ name: 'etcd-2', namespace });
    await eventually(async () => {
      await expect(kube.core.readNamespacedPod({ name: 'etcd-2', namespace })).rejects.toMatchObject({ code: 404 });
    }, 20_000);
    const livenessProbe = { httpGet: container.livenessProbe.httpGet, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, terminationGracePeriodSeconds: 1 };
    await kube.core.createNamespacedPod({
      namespace,
      body: { metadata: { name: 'etcd-2', namespace, labels: original.metadata?.labels ?? {} }, spec: { ...original.spec, containers: [{ ...container, livenessProbe }] } },
    });
    await eventually(async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace });
      expect([condition(pod, 'Ready'), restartsOf(pod)]).toEqual(['True', 0]);
    }, 30_000);

    await sandbox.fault('pod-freeze', 'etcd-2');
    const restarted = await eventually(async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace });
      expect([restartsOf(pod), condition(pod, 'Ready')]).toEqual([1, 'True']);
      return pod;
    }, 30_000);
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(readFileSync(join(info.logsDir, 'sandbox.log'), 'utf8')).toContain('Container etcd failed liveness probe, will be restarted');
    // The freeze ended with the process it stopped.
    expect((await sandbox.status()).faults).toEqual({});
    await eventually(async () => {
      const rejoined = memberClient(info.etcd.clientUrls[2] ?? '');
      try {
        expect(await rejoined.get('sandbox/greeting').string()).toBe('written through etcd-0');
      } finally {
        rejoined.close();
      }
      expect((await sandbox.status()).members.map((m) => [m.name, m.healthy])).toEqual([
        ['etcd-0', true],
        ['etcd-1', true],
        ['etcd-2', true],
      ]);
    });
  });

  it('crash-loops a member so that its restart count climbs, and heal lets it run', async () => {
    const before = restartsOf(await kube.core.readNamespacedPod({ name: 'etcd-1', namespace: info.etcd.namespace }));
    await sandbox.fault('pod-crash', 'etcd-1');
    const crashed = await eventually(async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-1', namespace: info.etcd.namespace });
      expect(restartsOf(pod)).toBeGreaterThanOrEqual(before + 3);
      return pod;
    }, 40_000);
    expect(crashed.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);

    expect(await sandbox.heal('etcd-1')).toEqual(['pod-crash']);
    const settled = await eventually(async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'etcd-1', namespace: info.etcd.namespace });
      expect([condition(pod, 'Ready'), Object.keys(pod.status?.containerStatuses?.[0]?.state ?? {})]).toEqual(['True', ['running']]);
      return restartsOf(pod);
    }, 30_000);
    const status = await sandbox.status();
    expect(status.members.map((m) => [m.name, m.healthy])).toEqual([
      ['etcd-0', true],
      ['etcd-1', true],
      ['etcd-2', true],
    ]);
    expect(restartsOf(await kube.core.readNamespacedPod({ name: 'etcd-1', namespace: info.etcd.namespace }))).toBe(settled);
  });

  it('rejects a wrong argument with a one-line error naming the value and the choices, and changes nothing', async () => {
    const elsewhere = join(stateDir, 'never-created');
    await expect(Sandbox.start({ stateDir: elsewhere, members: 4 })).rejects.toThrow(
      new SandboxArgumentError('invalid member count 4: choose one of 1, 3, 5, 7'),
    );
    await expect(Sandbox.start({ stateDir: elsewhere, members: 9 })).rejects.toThrow('invalid member count 9: choose one of 1, 3, 5, 7');
    expect(existsSync(elsewhere)).toBe(false);
    await expect(sandbox.fault('node-down', 'node-9')).rejects.toThrow(
      new SandboxArgumentError('unknown node "node-9": choose one of node-0, node-1, node-2, node-3, node-4, node-5'),
    );
    await expect(sandbox.fault('node-melt' as FaultKind, 'node-1')).rejects.toThrow(
      new SandboxArgumentError('unknown fault kind "node-melt": choose one of node-down, node-pressure, pod-freeze, pod-crash'),
    );
    await expect(sandbox.fault('pod-crash', 'etcd-7')).rejects.toThrow(
      new SandboxArgumentError('unknown pod "etcd-7": choose one of etcd-0, etcd-1, etcd-2'),
    );
    await expect(sandbox.fault('node-pressure', 'node-2', { cpu: 1.5 })).rejects.toThrow(
      new SandboxArgumentError('invalid --cpu 1.5: choose a fraction from 0 to 1, such as 0.95'),
    );
    const status = await sandbox.status();
    expect(status.faults).toEqual({});
    expect(status.nodes.map((n) => n.conditions['Ready'])).toEqual(['True', 'True', 'True', 'True', 'True', 'True']);
  });

  it('finishes a pod deletion as a kubelet does: the process stops and the pod is removed', async () => {
    const pod = await kube.core.readNamespacedPod({ name: 'etcd-2', namespace: info.etcd.namespace });
    const pid = Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('sandbox://', ''));
    await kube.core.deleteNamespacedPod({ name: 'etcd-2', namespace: info.etcd.namespace });
    await eventually(async () => {
      await expect(kube.core.readNamespacedPod({ name: 'etcd-2', namespace: info.etcd.namespace })).rejects.toMatchObject({ code: 404 });
    }, 20_000);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(readFileSync(join(info.logsDir, 'etcd-2.log'), 'utf8')).toContain('etcd-2');
  });

  it('stops without leaving a process or a listener behind', async () => {
    const pids = readdirSync(join(stateDir, 'run'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pid'));
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(sandboxListeners(info.slot).length).toBeGreaterThan(0);
    await sandbox.stop();
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(sandboxListeners(info.slot)).toEqual([]);
  });
});
