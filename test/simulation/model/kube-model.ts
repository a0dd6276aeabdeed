import type { V1ContainerStatus, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Taint } from '@kubernetes/client-node';
import type { Resources } from '../../../src/domain/observation';
import type { VirtualClock } from './clock';
import type { EtcdFlags, ProcessState } from './etcd-model';
import { KubeApiError } from './faults';

/**
 * The Kubernetes objects the guardian touches (nodes and the etcd pods), with a simulated kubelet per node: a pod
 * bound to a Ready node starts its etcd process after a short delay, a deleted pod's process stops, a node that goes
 * down stops its processes and turns NotReady after the node monitor's grace period. A StatefulSet controller
 * recreates a deleted ordinal's pod (and its claim, once the old one is gone); a scheduler places such a pod where its
 * claim's volume is (binding an unbound claim to the volume reserved for it by name) on a Ready, schedulable node.
 * A pod with a claim runs the start script of the StatefulSet contract (README "What the guardian supports").
 */

/** What the kubelet asks of the etcd processes. */
export interface MemberProcesses {
  /** Start a process with these flags on the node's address; `memberId` is the member this pod ran before. */
  start(flags: EtcdFlags, nodeIP: string, memberId?: string): { ok: true; memberId: string } | { ok: false; reason: string };
  stop(memberId: string, reason: string): void;
  state(memberId: string): ProcessState | undefined;
  /** etcd's /health: the member answers and knows a leader (the readiness probe). */
  healthy(memberId: string): boolean;
  /** `etcdctl member list` through the cluster's Service: every member's name and peer URL, or undefined when no member answers. */
  peers(): { name: string; peerURL: string }[] | undefined;
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
  /** From an ordinal's pod gone to the StatefulSet controller's new one, and from a pod created to the scheduler's decision. */
  controllerMs: number;
}

/** Defaults of a stock cluster, with a quick container start. */
export const DEFAULT_KUBE_OPTIONS: KubeModelOptions = {
  podStartMs: 500,
  sigtermExitMs: 1_000,
  nodeMonitorGraceMs: 40_000,
  restartBackoffMs: 10_000,
  maxBackoffMs: 300_000,
  metricsAvailable: true,
  controllerMs: 200,
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

interface ClaimRecord {
  namespace: string;
  name: string;
  uid: string;
  created: Date;
  /** The volume it is bound to. */
  volumeName?: string;
  /** Deleted, held by the pvc-protection finalizer while a pod uses it. */
  deleting?: Date;
  storageClassName: string;
  storage: string;
}

interface VolumeRecord {
  volume: V1PersistentVolume;
  uid: string;
  created: Date;
  phase: 'Available' | 'Bound' | 'Released';
  /** The claim that bound it (claimRef uid). */
  claimUid?: string;
  /** The member whose data directory it holds, once etcd ran on it. */
  memberId?: string;
  /** Deleted while bound: gone once released (pv-protection). */
  deleting?: boolean;
}

interface StatefulSetRecord {
  namespace: string;
  name: string;
  uid: string;
  replicas: number;
  /** The pod template: labels and spec. */
  template: V1Pod;
  claimTemplate: string;
  storageClassName: string;
  storage: string;
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
  const set = (key: Exclude<keyof EtcdFlags, 'forceNewCluster'>, flag: string): void => {
    const value = flagOf(args, flag);
    // A member advertises its first URL to peers; --initial-cluster is a list in itself.
    if (value !== undefined) flags[key] = key === 'peerURL' || key === 'clientURL' ? (value.split(',')[0] ?? value) : value;
  };
  set('name', 'name');
  set('peerURL', 'initial-advertise-peer-urls');
  set('clientURL', 'advertise-client-urls');
  set('initialCluster', 'initial-cluster');
  set('initialClusterState', 'initial-cluster-state');
  if (args.some((a) => a === '--force-new-cluster' || a === '--force-new-cluster=true')) flags.forceNewCluster = true;
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
  private readonly claims = new Map<string, ClaimRecord>();
  private readonly volumes = new Map<string, VolumeRecord>();
  private readonly statefulSets = new Map<string, StatefulSetRecord>();
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
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number, uid?: string): boolean {
    const rec = this.pods.get(key(namespace, name));
    if (!rec) return false;
    // The API server's precondition: another pod now holds the name (409, reported as not deleted).
    if (uid !== undefined && rec.uid !== uid) return false;
    const node = this.nodes.get(rec.pod.spec?.nodeName ?? '');
    const grace = gracePeriodSeconds ?? rec.deletion?.graceSeconds ?? rec.pod.spec?.terminationGracePeriodSeconds ?? 30;
    // A pod no node ever took has no kubelet to wait for: it goes at once.
    if (grace === 0 || !rec.pod.spec?.nodeName) {
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
    const result = claimOf(rec.pod) !== undefined ? this.startScript(rec, node) : this.processes.start(etcdFlagsOf(rec.pod), node.ip, rec.memberId);
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
    // The pvc-protection controller lets a deleted claim go once no pod uses it; the StatefulSet controller notices.
    const claim = claimOf(rec.pod);
    const held = claim === undefined ? undefined : this.claims.get(key(rec.namespace, claim));
    if (held?.deleting) this.finalizeClaim(held);
    if (ownerStatefulSet(rec.pod) !== undefined) this.reconcileSoon();
  }

  // ---- volumes, claims and the StatefulSet controller --------------------------------------------------------------

  /** The start script of a StatefulSet member (the contract's three cases), on the node's address. */
  private startScript(rec: PodRecord, node: NodeRecord): { ok: true; memberId: string } | { ok: false; reason: string } {
    const claim = this.claims.get(key(rec.namespace, claimOf(rec.pod) ?? ''));
    const volume = claim?.volumeName ? this.volumes.get(claim.volumeName) : undefined;
    if (!volume) return { ok: false, reason: `volume of claim ${claimOf(rec.pod) ?? '?'} is not mounted` };
    const peerURL = `http://${node.ip}:2380`;
    const clientURL = `http://${node.ip}:2379`;
    // 1. The data directory holds member/: a restart.
    if (volume.memberId !== undefined) return this.processes.start({ name: rec.name, peerURL, clientURL }, node.ip, volume.memberId);
    // 2. Ask the running cluster; 3. none answers: a moved member never bootstraps a new cluster.
    const peers = this.processes.peers();
    if (!peers) return { ok: false, reason: `exit 1: no cluster answers at the Service, and ${rec.name}=${peerURL} is not in ETCD_INITIAL_CLUSTER` };
    if (!peers.some((p) => p.peerURL === peerURL)) return { ok: false, reason: `exit 1: ${peerURL} is not in the member list: not added yet` };
    const initialCluster = peers.map((p) => `${p.peerURL === peerURL ? rec.name : p.name}=${p.peerURL}`).join(',');
    const result = this.processes.start({ name: rec.name, peerURL, clientURL, initialCluster, initialClusterState: 'existing' }, node.ip);
    if (result.ok) volume.memberId = result.memberId;
    return result;
  }

  /**
   * A StatefulSet whose pods, claims and volumes already exist (a cluster bootstrapped before the simulation): its
   * ordinal i is the adopted pod `<name>-i`, its claim `<claimTemplate>-<name>-i` bound to a local volume on the
   * pod's node that holds member `memberIds[i]`'s data.
   */
  adoptStatefulSet(params: { namespace: string; name: string; template: V1Pod; claimTemplate: string; storageClassName: string; memberIds: readonly string[]; volumeLabels: (podName: string) => Record<string, string> }): void {
    const sts: StatefulSetRecord = {
      namespace: params.namespace,
      name: params.name,
      uid: `uid-${++this.uid}`,
      replicas: params.memberIds.length,
      template: structuredClone(params.template),
      claimTemplate: params.claimTemplate,
      storageClassName: params.storageClassName,
      storage: '1Gi',
    };
    this.statefulSets.set(key(params.namespace, params.name), sts);
    params.memberIds.forEach((memberId, i) => {
      const podName = `${params.name}-${i}`;
      const rec = this.pods.get(key(params.namespace, podName));
      const node = rec?.pod.spec?.nodeName ?? '';
      const claim = this.makeClaim(sts, podName);
      const volumeName = `${params.name}-data-${i}-${node}`;
      this.createVolume(localVolume(volumeName, node, params.namespace, claim.name, params.storageClassName, params.volumeLabels(podName)));
      this.bind(claim, volumeName);
      const volume = this.volumes.get(volumeName);
      if (volume) volume.memberId = memberId;
      if (rec) rec.pod = this.statefulPod(sts, podName, node);
    });
  }

  /** The owner of a StatefulSet's pods, for tests: its uid. */
  statefulSetUid(namespace: string, name: string): string | undefined {
    return this.statefulSets.get(key(namespace, name))?.uid;
  }

  /** Create a PersistentVolume (the guardian reserves one per move). */
  createVolume(volume: V1PersistentVolume): V1PersistentVolume {
    const name = volume.metadata?.name ?? '';
    if (name === '') throw new KubeApiError(422, 'PersistentVolume "" is invalid: metadata.name: Required value');
    if (this.volumes.has(name)) throw new KubeApiError(409, `persistentvolumes "${name}" already exists`);
    const rec: VolumeRecord = { volume: structuredClone(volume), uid: `uid-${++this.uid}`, created: this.clock.now(), phase: 'Available' };
    this.volumes.set(name, rec);
    return this.renderVolume(rec);
  }

  /** One volume, as the API returns it. */
  getVolume(name: string): V1PersistentVolume | undefined {
    const rec = this.volumes.get(name);
    return rec ? this.renderVolume(rec) : undefined;
  }

  /** Volumes matching a label selector, in name order. */
  listVolumes(labelSelector: string): V1PersistentVolume[] {
    return [...this.volumes.values()]
      .filter((v) => matchesSelector(v.volume.metadata?.labels ?? {}, labelSelector))
      .sort((a, b) => ((a.volume.metadata?.name ?? '') < (b.volume.metadata?.name ?? '') ? -1 : 1))
      .map((v) => this.renderVolume(v));
  }

  /** Delete a volume; one still bound goes once its claim is gone (pv-protection). */
  deleteVolume(name: string, uid?: string): boolean {
    const rec = this.volumes.get(name);
    if (!rec || (uid !== undefined && rec.uid !== uid)) return false;
    if (rec.phase === 'Bound') rec.deleting = true;
    else this.volumes.delete(name);
    return true;
  }

  /** One claim, as the API returns it. */
  getClaim(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    const rec = this.claims.get(key(namespace, name));
    return rec ? this.renderClaim(rec) : undefined;
  }

  /** Delete that very claim; while a pod uses it, it stays (terminating) until that pod is gone. */
  deleteClaim(namespace: string, name: string, uid: string): boolean {
    const rec = this.claims.get(key(namespace, name));
    if (!rec || rec.uid !== uid) return false;
    if (rec.deleting) return true;
    rec.deleting = this.clock.now();
    const used = [...this.pods.values()].some((p) => p.namespace === namespace && claimOf(p.pod) === name);
    if (!used) this.finalizeClaim(rec);
    return true;
  }

  private makeClaim(sts: StatefulSetRecord, podName: string): ClaimRecord {
    const claim: ClaimRecord = {
      namespace: sts.namespace,
      name: `${sts.claimTemplate}-${podName}`,
      uid: `uid-${++this.uid}`,
      created: this.clock.now(),
      storageClassName: sts.storageClassName,
      storage: sts.storage,
    };
    this.claims.set(key(claim.namespace, claim.name), claim);
    return claim;
  }

  private bind(claim: ClaimRecord, volumeName: string): void {
    const volume = this.volumes.get(volumeName);
    if (!volume) return;
    volume.phase = 'Bound';
    volume.claimUid = claim.uid;
    claim.volumeName = volumeName;
  }

  private finalizeClaim(claim: ClaimRecord): void {
    this.claims.delete(key(claim.namespace, claim.name));
    const volume = claim.volumeName ? this.volumes.get(claim.volumeName) : undefined;
    if (volume && volume.claimUid === claim.uid) {
      volume.phase = 'Released';
      if (volume.deleting) this.volumes.delete(claim.volumeName ?? '');
    }
    this.reconcileSoon();
  }

  private statefulPod(sts: StatefulSetRecord, podName: string, nodeName?: string): V1Pod {
    const pod: V1Pod = structuredClone(sts.template);
    pod.metadata = {
      ...pod.metadata,
      name: podName,
      namespace: sts.namespace,
      labels: { ...(pod.metadata?.labels ?? {}), 'apps.kubernetes.io/pod-index': podName.slice(sts.name.length + 1) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.name, uid: sts.uid, controller: true, blockOwnerDeletion: true }],
    };
    const volumes = (pod.spec?.volumes ?? []).filter((v) => v.name !== sts.claimTemplate);
    pod.spec = {
      ...(pod.spec ?? { containers: [] }),
      hostname: podName,
      volumes: [...volumes, { name: sts.claimTemplate, persistentVolumeClaim: { claimName: `${sts.claimTemplate}-${podName}` } }],
    };
    if (nodeName) pod.spec.nodeName = nodeName;
    else delete pod.spec.nodeName;
    return pod;
  }

  private reconcileTimer: number | undefined;

  private reconcileSoon(): void {
    if (this.reconcileTimer !== undefined) return;
    this.reconcileTimer = this.clock.schedule(this.options.controllerMs, 'StatefulSet controller', () => {
      this.reconcileTimer = undefined;
      this.reconcile();
    });
  }

  /** The StatefulSet controller: every missing ordinal's claim, then its pod (Parallel pod management). */
  private reconcile(): void {
    for (const sts of this.statefulSets.values()) {
      for (let i = 0; i < sts.replicas; i++) {
        const podName = `${sts.name}-${i}`;
        if (this.pods.has(key(sts.namespace, podName))) continue;
        const existing = this.claims.get(key(sts.namespace, `${sts.claimTemplate}-${podName}`));
        // A claim still being deleted is waited for: a pod made on it would never start.
        if (existing?.deleting) continue;
        if (!existing) this.makeClaim(sts, podName);
        const rec: PodRecord = {
          pod: this.statefulPod(sts, podName),
          namespace: sts.namespace,
          name: podName,
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
        this.pods.set(key(sts.namespace, podName), rec);
        this.scheduleSoon(rec);
      }
    }
  }

  /** The scheduler with volume binding: the node of the claim's volume, or of the volume reserved for the claim. */
  private scheduleSoon(rec: PodRecord): void {
    rec.timers.push(
      this.clock.schedule(this.options.controllerMs, `schedule pod ${rec.name}`, () => {
        rec.timers = [];
        if (this.pods.get(key(rec.namespace, rec.name)) !== rec || rec.deletion || rec.pod.spec?.nodeName) return;
        const claim = this.claims.get(key(rec.namespace, claimOf(rec.pod) ?? ''));
        const eligible = (name: string | undefined): boolean => {
          const node = this.nodes.get(name ?? '');
          return node !== undefined && node.ready === 'True' && !node.unschedulable && !node.taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
        };
        let volumeName = claim?.volumeName;
        if (claim && !claim.deleting && volumeName === undefined) {
          const reserved = [...this.volumes.values()].find(
            (v) => v.phase === 'Available' && !v.deleting && v.volume.spec?.claimRef?.name === claim.name && v.volume.spec.claimRef.namespace === claim.namespace && !v.volume.spec.claimRef.uid && eligible(nodeOfVolume(v.volume)),
          );
          if (reserved) {
            volumeName = reserved.volume.metadata?.name ?? '';
            this.bind(claim, volumeName);
          }
        }
        const volume = volumeName ? this.volumes.get(volumeName) : undefined;
        const node = volume ? nodeOfVolume(volume.volume) : undefined;
        if (!claim || claim.deleting || !volume || !eligible(node) || !node) {
          // Unschedulable for now: the scheduler tries again.
          this.scheduleSoonAfter(rec, 5_000);
          return;
        }
        rec.pod.spec = { ...(rec.pod.spec ?? { containers: [] }), nodeName: node };
        rec.resourceVersion = ++this.version;
        this.scheduleStart(rec, this.options.podStartMs, false);
      }),
    );
  }

  private scheduleSoonAfter(rec: PodRecord, ms: number): void {
    rec.timers.push(this.clock.schedule(ms, `retry scheduling pod ${rec.name}`, () => this.scheduleSoon(rec)));
  }

  private renderVolume(rec: VolumeRecord): V1PersistentVolume {
    const volume = structuredClone(rec.volume);
    volume.metadata = { ...volume.metadata, uid: rec.uid, creationTimestamp: rec.created };
    if (volume.spec?.claimRef && rec.claimUid) volume.spec.claimRef = { ...volume.spec.claimRef, uid: rec.claimUid };
    volume.status = { phase: rec.phase };
    return volume;
  }

  private renderClaim(rec: ClaimRecord): V1PersistentVolumeClaim {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: rec.name, namespace: rec.namespace, uid: rec.uid, creationTimestamp: rec.created, ...(rec.deleting ? { deletionTimestamp: rec.deleting } : {}) },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: rec.storageClassName, resources: { requests: { storage: rec.storage } }, ...(rec.volumeName ? { volumeName: rec.volumeName } : {}) },
      status: { phase: rec.volumeName ? 'Bound' : 'Pending' },
    };
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

/** The claim a pod's volumes name, if any. */
function claimOf(pod: V1Pod): string | undefined {
  return pod.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
}

/** The StatefulSet that controls a pod, if one does. */
function ownerStatefulSet(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'StatefulSet')?.name;
}

/** The node a local volume's node affinity names. */
function nodeOfVolume(volume: V1PersistentVolume): string | undefined {
  return volume.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e) => e.key === 'kubernetes.io/hostname')?.values?.[0];
}

/** A local volume pinned to a node and reserved for a claim by name, as the sandbox makes them. */
export function localVolume(name: string, node: string, namespace: string, claimName: string, storageClassName: string, labels: Record<string, string>): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName,
      persistentVolumeReclaimPolicy: 'Retain',
      local: { path: `/var/lib/etcd-guardian/${name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
      claimRef: { namespace, name: claimName },
    },
  };
}
