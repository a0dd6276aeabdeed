import { type V1Pod } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { messageOf } from '../errors';
import { type KubeClients, MERGE_PATCH, microTime, tolerating } from '../kube';
import { type Logger } from '../logger';
import { type PodApi } from '../pods/pod-api';
import { PodWorker } from '../pods/pod-worker';
import { type StatePaths } from '../state-dir';
import { type NodeLayout } from '../topology';
import { kubeletConditions, sameConditions, type NodeConditionJson, type NodeConditionRead } from './conditions';
import { NODE_LEASE_NAMESPACE, nodeLeaseManifest, nodeManifest, staticNodeStatus, type NodeVersions } from './node-object';
import { baselineUsage, MEMORY_PRESSURE_THRESHOLD, type UsageFractions } from './usage';

/**
 * One simulated node's kubelet: registers the Node, renews its Lease, posts its conditions, and runs the pods bound
 * to it. A node-down fault silences all of it at once, as a crashed machine would.
 */

/** The kubelet re-posts an unchanged status this often (nodeStatusReportFrequency). */
const STATUS_REPORT_MS = 5 * 60_000;

function newBootId(): string {
  return randomUUID();
}

/** What a node agent needs. */
export interface NodeAgentDeps {
  kube: KubeClients;
  podApi: PodApi;
  paths: StatePaths;
  logger: Logger;
  searchPath: string;
  versions: NodeVersions;
  /** How often to renew the Lease. */
  leaseRenewMs: number;
}

/** The simulated kubelet of one node. */
export class NodeAgent {
  private readonly workers = new Map<string, PodWorker>();
  private down = false;
  private pressure: UsageFractions | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private postedConditions: NodeConditionJson[] = [];
  private postedAt = 0;
  private bootId = newBootId();

  constructor(
    readonly node: NodeLayout,
    private readonly deps: NodeAgentDeps,
  ) {}

  /** True while a node-down fault holds. */
  get isDown(): boolean {
    return this.down;
  }

  /** Faults in force on this node. */
  get faults(): string[] {
    return [...(this.down ? ['node-down'] : []), ...(this.pressure === undefined ? [] : ['node-pressure'])];
  }

  /** Current usage: the pressure fault's figures, else the node's baseline. */
  get usage(): UsageFractions {
    return this.pressure ?? baselineUsage(this.node.name);
  }

  /** The pod workers of this node, by pod key. */
  get pods(): ReadonlyMap<string, PodWorker> {
    return this.workers;
  }

  /** Creates the Node and its Lease, posts Ready, and starts heartbeats. */
  async register(): Promise<void> {
    const { core, coordination } = this.deps.kube;
    await tolerating([409], () => core.createNode({ body: nodeManifest(this.node) }));
    await this.postStatus(true);
    await tolerating([409], () =>
      coordination.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: nodeLeaseManifest(this.node, new Date()) }),
    );
    // A lease left by an earlier run of the agent is renewed now.
    await this.renewLease();
    this.startHeartbeat();
  }

  /** One pass: post status if it changed, and sync the pods bound here. */
  async tick(pods: readonly V1Pod[]): Promise<void> {
    if (this.down) return;
    await this.postStatus(false).catch((error: unknown) =>
      this.deps.logger.warn({ node: this.node.name, err: messageOf(error) }, 'node status update failed'),
    );
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      if (uid === undefined) continue;
      seen.add(uid);
      const worker = this.workers.get(uid);
      if (worker === undefined) {
        const { paths, logger, podApi: api, searchPath } = this.deps;
        this.workers.set(uid, new PodWorker(pod, { node: this.node, paths, logger, api, searchPath }));
      } else {
        worker.update(pod);
      }
    }
    // A pod that left the API (deleted with grace 0 by someone else, or by us) has its process stopped.
    for (const [uid, worker] of this.workers) {
      if (!seen.has(uid)) {
        this.workers.delete(uid);
        void worker.close(2_000);
      }
    }
    // Not awaited: a pod in its termination grace period must not hold up the other pods of the node.
    for (const worker of this.workers.values()) void worker.tick();
  }

  /** node-down: every pod process is killed, heartbeats and status posts stop. */
  async goDown(): Promise<void> {
    this.down = true;
    this.stopHeartbeat();
    await Promise.all([...this.workers.values()].map((worker) => worker.suspend()));
  }

  /**
   * Heals node-down: heartbeats resume, Ready is posted, then the pods start again and each one's status is written
   * afresh (the lifecycle controller set them not Ready meanwhile, whatever this node last wrote).
   */
  async comeUp(): Promise<void> {
    this.down = false;
    // The machine "rebooted"; the lifecycle controller changed the conditions meanwhile, so read them afresh.
    this.bootId = newBootId();
    this.postedConditions = [];
    try {
      // The node first, as a rebooted kubelet registers before it syncs pods: a pod status posted while the node
      // still looks unreachable would be marked not Ready again by the controller.
      await this.renewLease();
      await this.postStatus(true);
    } finally {
      for (const worker of this.workers.values()) worker.resume();
      this.startHeartbeat();
    }
  }

  /** node-pressure: the usage the metrics API reports; memory past the threshold turns MemoryPressure on. */
  setPressure(usage: UsageFractions | undefined): void {
    this.pressure = usage;
  }

  /** Stops heartbeats and every pod process (sandbox shutdown). */
  async shutdown(graceMs: number): Promise<void> {
    this.stopHeartbeat();
    await Promise.all([...this.workers.values()].map((worker) => worker.close(graceMs)));
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      this.renewLease().catch((error: unknown) =>
        this.deps.logger.warn({ node: this.node.name, err: messageOf(error) }, 'lease renewal failed'),
      );
    }, this.deps.leaseRenewMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private async renewLease(): Promise<void> {
    if (this.down) return;
    await this.deps.kube.coordination.patchNamespacedLease(
      {
        name: this.node.name,
        namespace: NODE_LEASE_NAMESPACE,
        body: { spec: { holderIdentity: this.node.name, renewTime: microTime(new Date()) } },
      },
      MERGE_PATCH,
    );
  }

  /** Posts conditions when they changed (or `force`, or every five minutes), as the kubelet does. */
  private async postStatus(force: boolean): Promise<void> {
    if (this.down) return;
    const now = new Date();
    const view = { memoryPressure: this.usage.memory >= MEMORY_PRESSURE_THRESHOLD };
    const previous: NodeConditionRead[] = this.postedConditions;
    const conditions = kubeletConditions(view, previous, now);
    if (!force && sameConditions(conditions, previous) && now.getTime() - this.postedAt < STATUS_REPORT_MS) return;
    if (force && previous.length === 0) {
      // After a restart of the agent or a heal, transition times come from what the API holds.
      const current = await this.deps.kube.core.readNodeStatus({ name: this.node.name });
      const fromApi = (current.status?.conditions ?? []) as NodeConditionRead[];
      conditions.splice(0, conditions.length, ...kubeletConditions(view, fromApi, now));
    }
    await this.deps.kube.core.patchNodeStatus(
      { name: this.node.name, body: { status: { ...staticNodeStatus(this.node, this.deps.versions, this.bootId), conditions } } },
      MERGE_PATCH,
    );
    this.postedConditions = conditions;
    this.postedAt = now.getTime();
  }
}
