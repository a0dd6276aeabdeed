import type { V1ContainerStatus, V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import type { Resources } from '../../../src/domain/observation';
import type { VirtualClock } from './clock';
import type { EtcdFlags, ProcessState } from './etcd-model';
import { KubeApiError } from './faults';

/**
 * The Kubernetes objects the guardian touches (nodes and the etcd pods), with a simulated kubelet per node: a pod
 * bound to a Ready node starts its etcd process after a short delay, a deleted pod's process stops, a node that goes
 * down stops its processes and turns NotReady after the node monitor's grace period. No scheduler: a pod without
 * spec.nodeName stays Pending (the guardian always binds its pods).
 */

/** What the kubelet asks of the etcd processes. */
export interface MemberProcesses {
  /** Start a process with these flags on the node's address; `memberId` is the member this pod ran before. */
  start(flags: EtcdFlags, nodeIP: string, memberId?: string): { ok: true; memberId: string } | { ok: false; reason: string };
  stop(memberId: string, reason: string): void;
  state(memberId: string): ProcessState | undefined;
  /** etcd's /health: the member answers and knows a leader (the readiness probe). */
  healthy(memberId: string): boolean;
}

/** The kubelet's and the control plane's timings, virtual. */
export interface KubeModelOptions {
  /** From a pod bound to a Ready node to its process running. */
  podStartMs: number;
  /** From SIGTERM to the etcd process gone (etcd exits promptly; capped by the grace period). */
  sigtermExitMs: number;
  /** Node monitor grace period: a node whose kubelet stopped posting turns NotReady (Unknown) after it. */
  nodeMonitorGraceMs: number;
  /** The first crash-loop back-off; it doubles up to maxBackoffMs. */
  restartBackoffMs: number;
  maxBackoffMs: number;
  /** metrics.k8s.io answers. */
  metricsAvailable: boolean;
}

/** Defaults of a stock cluster, with a quick container start. */
export const DEFAULT_KUBE_OPTIONS: KubeModelOptions = {
  podStartMs: 500,
  sigtermExitMs: 1_000,
  nodeMonitorGraceMs: 40_000,
  restartBackoffMs: 10_000,
  maxBackoffMs: 300_000,
  metricsAvailable: true,
};

/** A node to create. */
export interface NodeSpec {
  name: string;
  ip: string;
  labels: Record<string, string>;
  allocatable?: { cpu: string; memory: string };
  baseUsage?: Resources;
}

interface NodeRecord {
  name: string;
  ip: string;
  labels: Record<string, string>;
  /** The machine runs (its kubelet and processes). */
  up: boolean;
  ready: 'True' | 'False' | 'Unknown';
  pressure: Set<'MemoryPressure' | 'DiskPressure' | 'PIDPressure'>;
  unschedulable: boolean;
  taints: V1Taint[];
  allocatable: { cpu: string; memory: string };
  baseUsage: Resources;
  notReadyTimer?: number;
}

interface PodRecord {
  pod: V1Pod;
  namespace: string;
  name: string;
  uid: string;
  created: Date;
  resourceVersion: number;
  phase: 'Pending' | 'Running' | 'Failed';
  running: boolean;
  startedAt?: Date;
  memberId?: string;
  restartCount: number;
  failedStarts: number;
  lastExit?: string;
  noRestart: boolean;
  deletion?: { at: Date; graceSeconds: number };
  timers: number[];
}

/** The value of `--flag=value` (or `--flag value`) in a container's arguments. */
export function flagOf(args: readonly string[], flag: string): string | undefined {
  const prefix = `--${flag}=`;
  const index = args.findIndex((a) => a.startsWith(prefix) || a === `--${flag}`);
  if (index === -1) return undefined;
  const arg = args[index] ?? '';
  return arg === `--${flag}` ? args[index + 1] : arg.slice(prefix.length);
}

/** etcd's flags from a pod's first container. */
export function etcdFlagsOf(pod: V1Pod): EtcdFlags {
  const container = pod.spec?.containers[0];
  const args = [...(container?.command ?? []), ...(container?.args ?? [])];
  const flags: EtcdFlags = {};
  const set = (key: keyof EtcdFlags, flag: string): void => {
    const value = flagOf(args, flag);
    // A member advertises its first URL to peers; --initial-cluster is a list in itself.
    if (value !== undefined) flags[key] = key === 'peerURL' || key === 'clientURL' ? (value.split(',')[0] ?? value) : value;
  };
  set('name', 'name');
  set('peerURL', 'initial-advertise-peer-urls');
  set('clientURL', 'advertise-client-urls');
  set('initialCluster', 'initial-cluster');
  set('initialClusterState', 'initial-cluster-state');
  return flags;
}

/** Does a pod's labels match an equality-based selector ("a=b,c!=d,e")? */
export function matchesSelector(labels: Record<string, string>, selector: string): boolean {
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .every((term) => {
      const notEqual = /^([^!=]+)!=(.*)$/.exec(term);
      if (notEqual) return labels[notEqual[1]?.trim() ?? ''] !== notEqual[2]?.trim();
      const equal = /^([^=]+)==?(.*)$/.exec(term);
      if (equal) return labels[equal[1]?.trim() ?? ''] === equal[2]?.trim();
      return labels[term] !== undefined;
    });
}

/** The Kubernetes side of the world. */
export class KubeModel {
  readonly options: KubeModelOptions;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly pods = new Map<string, PodRecord>();
  private uid = 0;
  private version = 1;

  constructor(
    private readonly clock: VirtualClock,
    private readonly processes: MemberProcesses,
    options: Partial<KubeModelOptions> = {},
  ) {
    this.options = { ...DEFAULT_KUBE_OPTIONS, ...options };
  }

  // ---- nodes ---------------------------------------------------------------------------------------------------

  /** Register a Ready node. */
  addNode(spec: NodeSpec): void {
    this.nodes.set(spec.name, {
      name: spec.name,
      ip: spec.ip,
      labels: { ...spec.labels },
      up: true,
      ready: 'True',
      pressure: new Set(),
      unschedulable: false,
      taints: [],
      allocatable: spec.allocatable ?? { cpu: '4', memory: '16Gi' },
      baseUsage: spec.baseUsage ?? { cpuMillis: 400, memoryBytes: 2 * 1024 ** 3 },
    });
  }

  /** Every node's name and address. */
  nodeList(): { name: string; ip: string; up: boolean; ready: string }[] {
    return [...this.nodes.values()].map((n) => ({ name: n.name, ip: n.ip, up: n.up, ready: n.ready }));
  }

  /** The node's machine stops: processes stop now, NotReady after the monitor's grace. */
  nodeDown(name: string): void {
    const node = this.node(name);
    if (!node.up) return;
    node.up = false;
    for (const rec of this.podsOn(name)) {
      if (rec.running && rec.memberId) {
        rec.running = false;
        this.processes.stop(rec.memberId, 'node down');
      }
      rec.timers.forEach((t) => this.clock.cancel(t));
      rec.timers = [];
    }
    node.notReadyTimer = this.clock.schedule(this.options.nodeMonitorGraceMs, `node ${name} NotReady`, () => {
      node.ready = 'Unknown';
      delete node.notReadyTimer;
    });
  }

  /** The node's machine is back: Ready, its pods restart, pending deletions finish. */
  nodeUp(name: string): void {
    const node = this.node(name);
    if (node.up) return;
    node.up = true;
    node.ready = 'True';
    if (node.notReadyTimer !== undefined) this.clock.cancel(node.notReadyTimer);
    delete node.notReadyTimer;
    for (const rec of this.podsOn(name)) {
      if (rec.deletion) this.pods.delete(key(rec.namespace, rec.name));
      else this.scheduleStart(rec, this.options.podStartMs, rec.phase !== 'Pending');
    }
  }

  /** Set a node condition (a pressure, or Ready itself). */
  setCondition(name: string, type: 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure', on: boolean): void {
    const node = this.node(name);
    if (type === 'Ready') node.ready = on ? 'True' : 'False';
    else if (on) node.pressure.add(type);
    else node.pressure.delete(type);
  }

  /** Cordon or uncordon. */
  cordon(name: string, unschedulable = true): void {
    this.node(name).unschedulable = unschedulable;
  }

  /** Add a taint. */
  taint(name: string, taint: V1Taint): void {
    this.node(name).taints.push(taint);
  }

  /** Set a node's usage before its etcd processes are counted. */
  setUsage(name: string, usage: Resources): void {
    this.node(name).baseUsage = usage;
  }

  /** The Node objects, as the API server returns them. */
  nodeObjects(): V1Node[] {
    return [...this.nodes.values()].map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { ...n.labels } },
      spec: { unschedulable: n.unschedulable, ...(n.taints.length > 0 ? { taints: n.taints.map((t) => ({ ...t })) } : {}) },
      status: {
        addresses: [
          { type: 'InternalIP', address: n.ip },
          { type: 'Hostname', address: n.name },
        ],
        allocatable: { ...n.allocatable, pods: '110' },
        capacity: { ...n.allocatable, pods: '110' },
        conditions: [
          { type: 'Ready', status: n.ready, reason: n.ready === 'True' ? 'KubeletReady' : n.ready === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletNotReady' },
          ...(['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const).map((type) => ({ type, status: n.pressure.has(type) ? 'True' : 'False' })),
        ],
      },
    }));
  }

  /** Node usage from metrics.k8s.io: nodes that are up, each etcd process adding its share. */
  usage(): { ok: true; usage: Map<string, Resources> } | { ok: false; error: string } {
    if (!this.options.metricsAvailable) return { ok: false, error: 'the server could not find the requested resource (get nodes.metrics.k8s.io)' };
    const usage = new Map<string, Resources>();
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const processes = this.podsOn(node.name).filter((p) => p.running).length;
      usage.set(node.name, { cpuMillis: node.baseUsage.cpuMillis + 100 * processes, memoryBytes: node.baseUsage.memoryBytes + 256 * 1024 ** 2 * processes });
    }
    return { ok: true, usage };
  }

  // ---- pods ----------------------------------------------------------------------------------------------------

  /** Create a pod; its kubelet starts it after podStartMs when its node is up. */
  createPod(namespace: string, pod: V1Pod): V1Pod {
    const name = pod.metadata?.name;
    if (!name) throw new KubeApiError(422, 'Pod "" is invalid: metadata.name: Required value: name or generateName is required');
    if (this.pods.has(key(namespace, name))) throw new KubeApiError(409, `pods "${name}" already exists`);
    const stored: V1Pod = structuredClone(pod);
    const rec: PodRecord = {
      pod: stored,
      namespace,
      name,
      uid: `uid-${++this.uid}`,
      created: this.clock.now(),
      resourceVersion: ++this.version,
      phase: 'Pending',
      running: false,
      restartCount: 0,
      failedStarts: 0,
      noRestart: false,
      timers: [],
    };
    this.pods.set(key(namespace, name), rec);
    this.scheduleStart(rec, this.options.podStartMs, false);
    return this.render(rec);
  }

  /**
   * A pod of a running member, for a cluster that was bootstrapped before the simulation starts: its process is
   * already running as `memberId`.
   */
  adoptPod(namespace: string, pod: V1Pod, memberId: string, startedAt: Date): void {
    const name = pod.metadata?.name ?? '';
    this.pods.set(key(namespace, name), {
      pod: structuredClone(pod),
      namespace,
      name,
      uid: `uid-${++this.uid}`,
      created: startedAt,
      resourceVersion: ++this.version,
      phase: 'Running',
      running: true,
      startedAt,
      memberId,
      restartCount: 0,
      failedStarts: 0,
      noRestart: false,
      timers: [],
    });
  }

  /** Delete a pod: at once with grace 0, else its process gets SIGTERM; on a node that is down it stays Terminating. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): boolean {
    const rec = this.pods.get(key(namespace, name));
    if (!rec) return false;
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    const grace = gracePeriodSeconds ?? rec.deletion?.graceSeconds ?? rec.pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (grace === 0) {
      this.remove(rec, 'killed: pod force-deleted');
      return true;
    }
    if (rec.deletion) return true;
    rec.deletion = { at: this.clock.now(), graceSeconds: grace };
    rec.resourceVersion = ++this.version;
    rec.timers.forEach((t) => this.clock.cancel(t));
    rec.timers = [];
    // No kubelet on a node that is down: the pod stays Terminating until it is deleted with grace 0 or the node returns.
    if (node?.up === true) {
      const exitMs = Math.min(grace * 1000, this.options.sigtermExitMs);
      rec.timers.push(this.clock.schedule(exitMs, `pod ${name} terminated`, () => this.remove(rec, 'SIGTERM: pod deleted')));
    }
    return true;
  }

  /** The pod of a member, if one runs it (or ran it last). */
  podOfMember(memberId: string): string | undefined {
    return [...this.pods.values()].find((p) => p.memberId === memberId)?.name;
  }

  /** Set a pod's annotations and owner references (a test turning member pods into mirror or StatefulSet pods). */
  setPodMetadata(namespace: string, name: string, metadata: { annotations?: Record<string, string>; ownerReferences?: NonNullable<V1Pod['metadata']>['ownerReferences'] }): void {
    const rec = this.pods.get(key(namespace, name));
    if (!rec) throw new Error(`no pod ${namespace}/${name}`);
    rec.pod.metadata = { ...rec.pod.metadata, ...metadata };
  }

  /** One pod as the API returns it. */
  getPod(namespace: string, name: string): V1Pod | undefined {
    const rec = this.pods.get(key(namespace, name));
    return rec ? this.render(rec) : undefined;
  }

  /** The pods of a namespace matching a label selector, in name order as the API lists them. */
  listPods(namespace: string, labelSelector: string): V1Pod[] {
    return [...this.pods.values()]
      .filter((p) => p.namespace === namespace && matchesSelector(p.pod.metadata?.labels ?? {}, labelSelector))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((p) => this.render(p));
  }

  /** The kubelet hears that a member's process exited: restart it after the back-off, as restartPolicy Always does. */
  processExited(memberId: string, reason: string): void {
    const rec = [...this.pods.values()].find((p) => p.memberId === memberId && p.running);
    if (!rec) return;
    rec.running = false;
    rec.lastExit = reason;
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    if (rec.deletion || rec.noRestart || node?.up !== true || rec.pod.spec?.restartPolicy === 'Never') return;
    this.scheduleStart(rec, this.backoff(rec), true);
  }

  /** Keep the kubelet from restarting a pod's process (a kill that stays dead). */
  holdRestarts(memberId: string, hold: boolean): void {
    const rec = [...this.pods.values()].find((p) => p.memberId === memberId);
    if (rec) rec.noRestart = hold;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private node(name: string): NodeRecord {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name} in the model; nodes: ${[...this.nodes.keys()].join(', ')}`);
    return node;
  }

  private podsOn(nodeName: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.pod.spec?.nodeName === nodeName);
  }

  private backoff(rec: PodRecord): number {
    // 10 s after a process that ran exits, or after the first failed start; doubling with each failure after that.
    return Math.min(this.options.maxBackoffMs, this.options.restartBackoffMs * 2 ** Math.min(Math.max(0, rec.failedStarts - 1), 16));
  }

  private scheduleStart(rec: PodRecord, delayMs: number, isRestart: boolean): void {
    rec.timers.push(
      this.clock.schedule(delayMs, `pod ${rec.name} start`, () => {
        rec.timers = [];
        this.tryStart(rec, isRestart);
      }),
    );
  }

  private tryStart(rec: PodRecord, isRestart: boolean): void {
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    if (!node?.up || rec.deletion || rec.running || this.pods.get(key(rec.namespace, rec.name)) !== rec) return;
    if (isRestart) rec.restartCount += 1;
    rec.resourceVersion = ++this.version;
    const result = this.processes.start(etcdFlagsOf(rec.pod), node.ip, rec.memberId);
    // With restartPolicy Always a pod whose container has been started is Running, crash-looping or not.
    rec.phase = 'Running';
    if (result.ok) {
      rec.running = true;
      rec.memberId = result.memberId;
      rec.startedAt = this.clock.now();
      rec.failedStarts = 0;
      return;
    }
    rec.lastExit = result.reason;
    rec.failedStarts += 1;
    if (!rec.noRestart && rec.pod.spec?.restartPolicy !== 'Never') this.scheduleStart(rec, this.backoff(rec), true);
  }

  private remove(rec: PodRecord, reason: string): void {
    rec.timers.forEach((t) => this.clock.cancel(t));
    rec.timers = [];
    this.pods.delete(key(rec.namespace, rec.name));
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    if (rec.running && rec.memberId && node?.up === true) {
      rec.running = false;
      this.processes.stop(rec.memberId, reason);
    }
  }

  private render(rec: PodRecord): V1Pod {
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    const seen = rec.phase !== 'Pending' && node !== undefined;
    const healthy = rec.running && rec.memberId !== undefined && this.processes.healthy(rec.memberId);
    // The node lifecycle controller marks the pods of a NotReady node not ready.
    const ready = healthy && node?.ready === 'True';
    const container = rec.pod.spec?.containers[0];
    const containerStatus: V1ContainerStatus = {
      name: container?.name ?? 'etcd',
      image: container?.image ?? '',
      imageID: '',
      ready,
      restartCount: rec.restartCount,
      started: rec.running,
      state: rec.running
        ? { running: { startedAt: rec.startedAt ?? rec.created } }
        : { waiting: { reason: rec.phase === 'Pending' ? 'ContainerCreating' : 'CrashLoopBackOff', ...(rec.lastExit ? { message: rec.lastExit } : {}) } },
      ...(rec.lastExit ? { lastState: { terminated: { exitCode: 1, reason: 'Error', message: rec.lastExit } } } : {}),
    };
    const pod: V1Pod = structuredClone(rec.pod);
    pod.metadata = {
      ...pod.metadata,
      name: rec.name,
      namespace: rec.namespace,
      uid: rec.uid,
      resourceVersion: String(rec.resourceVersion),
      creationTimestamp: rec.created,
      ...(rec.deletion ? { deletionTimestamp: new Date(rec.deletion.at.getTime() + rec.deletion.graceSeconds * 1000), deletionGracePeriodSeconds: rec.deletion.graceSeconds } : {}),
    };
    pod.status = {
      phase: rec.phase,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False' },
      ],
      ...(seen && node ? { hostIP: node.ip, ...(rec.pod.spec?.hostNetwork === true ? { podIP: node.ip } : {}) } : {}),
      containerStatuses: rec.phase === 'Pending' ? [] : [containerStatus],
      ...(rec.startedAt ? { startTime: rec.startedAt } : {}),
    };
    return pod;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
