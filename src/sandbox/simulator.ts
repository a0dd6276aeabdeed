import { ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxArgumentError, messageOf, unknownChoice } from './errors';
import { checkPressure, isNodeFault, type FaultKind, type PressureLevels } from './faults';
import { type KubeClients, MERGE_PATCH, tolerating } from './kube';
import { type Logger } from './logger';
import { conditionStatus } from './nodes/conditions';
import { NodeAgent } from './nodes/node-agent';
import { type NodeVersions } from './nodes/node-object';
import { baselineUsage, type UsageFractions } from './nodes/usage';
import { type PodApi } from './pods/pod-api';
import { type PodWorker } from './pods/pod-worker';
import { type StatePaths } from './state-dir';
import { type NodeLayout } from './topology';
import { waitFor } from './wait';

/**
 * The node simulator: a kubelet per node, fed by one watch on all pods. It is the only simulated part of the sandbox
 * (the node lifecycle controller, the scheduler and every other controller are the real kube-controller-manager and
 * kube-scheduler), and the place faults are injected.
 */

/** How often every node syncs its pods (the watch also triggers a sync at once). */
const SYNC_INTERVAL_MS = 500;

/** What the simulator needs. */
export interface SimulatorDeps {
  kube: KubeClients;
  paths: StatePaths;
  logger: Logger;
  nodes: readonly NodeLayout[];
  searchPath: string;
  versions: NodeVersions;
  gracePeriodMs: number;
}

/** A pod process the simulator runs, for pod metrics. */
export interface RunningPod {
  namespace: string;
  name: string;
  node: string;
  container: string;
  pid: number;
}

/** The simulated nodes. */
export class NodeSimulator {
  private readonly agents: Map<string, NodeAgent>;
  private readonly informer: ListWatch<V1Pod>;
  private loop: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private stopped = false;

  private constructor(private readonly deps: SimulatorDeps) {
    const podApi: PodApi = {
      writeStatus: async (namespace, name, status) => {
        await tolerating([404], () => deps.kube.core.patchNamespacedPodStatus({ name, namespace, body: { status } }, MERGE_PATCH));
      },
      readClaim: (namespace, name) => tolerating([404], () => deps.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name })),
      readVolume: (name) => tolerating([404], () => deps.kube.core.readPersistentVolume({ name })),
      deleteNow: async (namespace, name, uid) => {
        // 409: the name now belongs to a newer pod (precondition failed), which is not ours to delete.
        await tolerating([404, 409], () =>
          deps.kube.core.deleteNamespacedPod({
            name,
            namespace,
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid } },
          }),
        );
      },
    };
    // A kubelet renews its lease every 10 s against a 40 s grace period; keep that ratio for shorter grace periods.
    const leaseRenewMs = Math.max(1_000, Math.min(10_000, deps.gracePeriodMs / 4));
    const { kube, paths, logger, searchPath, versions } = deps;
    this.agents = new Map(
      deps.nodes.map((node) => [node.name, new NodeAgent(node, { kube, podApi, paths, logger, searchPath, versions, leaseRenewMs })]),
    );
    // One watch on every pod; each node takes those bound to it (spec.nodeName), as a kubelet's field selector would.
    this.informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kube.config), () => kube.core.listPodForAllNamespaces(), false);
  }

  /**
   * Registers every node, starts the pod watch, and waits until every node is Ready and untainted (the node lifecycle
   * controller removes the not-ready taint the apiserver puts on a new Node once it sees the node Ready).
   */
  static async start(deps: SimulatorDeps): Promise<NodeSimulator> {
    const simulator = new NodeSimulator(deps);
    await Promise.all([...simulator.agents.values()].map((agent) => agent.register()));
    simulator.informer.on('change', () => simulator.kick());
    simulator.informer.on('error', (error: unknown) => {
      // Stopping aborts the watch, which reports itself as an error.
      if (simulator.stopped) return;
      deps.logger.warn({ err: messageOf(error) }, 'pod watch failed; restarting it');
      void simulator.restartWatch();
    });
    await simulator.informer.start();
    simulator.loop = setInterval(() => simulator.kick(), SYNC_INTERVAL_MS);
    await waitFor(
      'every node Ready without taints',
      async () => {
        const nodes = await deps.kube.core.listNode();
        const settled = nodes.items.filter((node) => {
          const ready = conditionStatus(node.status?.conditions, 'Ready') === 'True';
          return ready && (node.spec?.taints ?? []).length === 0;
        });
        return settled.length >= deps.nodes.length ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return simulator;
  }

  /** Node names in index order. */
  get nodeNames(): string[] {
    return [...this.agents.keys()];
  }

  /** Names of the pods the simulator runs. */
  get podNames(): string[] {
    return this.workers().map((worker) => worker.name);
  }

  /** Current usage of a node; undefined while it is down (metrics-server cannot scrape a dead kubelet either). */
  usage(nodeName: string): UsageFractions | undefined {
    const agent = this.agents.get(nodeName);
    return agent === undefined || agent.isDown ? undefined : agent.usage;
  }

  /** Pod processes that run now. */
  runningPods(): RunningPod[] {
    const running: RunningPod[] = [];
    for (const agent of this.agents.values()) {
      if (agent.isDown) continue;
      for (const worker of agent.pods.values()) {
        const { namespace, name, containerName: container, pid } = worker;
        if (pid !== undefined) running.push({ namespace, name, node: agent.node.name, container, pid });
      }
    }
    return running;
  }

  /** Faults in force, by target name. */
  faults(): Record<string, string[]> {
    const faults: Record<string, string[]> = {};
    for (const agent of this.agents.values()) if (agent.faults.length > 0) faults[agent.node.name] = agent.faults;
    for (const worker of this.workers()) if (worker.faults.length > 0) faults[worker.name] = worker.faults;
    return faults;
  }

  /** Injects a fault; returns a sentence saying what happened. Checks the target first and changes nothing if it is wrong. */
  async fault(kind: FaultKind, target: string, levels: PressureLevels = {}): Promise<string> {
    if (isNodeFault(kind)) {
      const agent = this.agents.get(target);
      if (agent === undefined) throw unknownChoice('node', target, this.nodeNames);
      if (kind === 'node-down') {
        if (agent.isDown) return `${target} is already down`;
        await agent.goDown();
        this.deps.logger.info({ node: target }, 'fault node-down');
        return `${target} is down: its processes were killed and its heartbeats stopped; the node lifecycle controller marks it Unknown after its ${this.deps.gracePeriodMs / 1000} s grace period`;
      }
      const checked = checkPressure(levels);
      const baseline = baselineUsage(target);
      agent.setPressure({ cpu: checked.cpu ?? baseline.cpu, memory: checked.memory ?? baseline.memory });
      this.kick();
      this.deps.logger.info({ node: target, ...agent.usage }, 'fault node-pressure');
      return `${target} reports cpu ${agent.usage.cpu} and memory ${agent.usage.memory} of allocatable`;
    }
    const worker = this.findWorker(target);
    if (worker === undefined) throw unknownChoice('pod', target, this.podNames);
    if (kind === 'pod-freeze') worker.freeze();
    else worker.crash();
    this.deps.logger.info({ pod: worker.key, kind }, 'pod fault');
    return kind === 'pod-freeze' ? `${worker.name} is frozen (SIGSTOP)` : `${worker.name} crashes after every start until healed`;
  }

  /** Undoes every fault of a node or pod; returns the faults removed (empty when there were none). */
  async heal(target: string): Promise<string[]> {
    const agent = this.agents.get(target);
    if (agent !== undefined) {
      const healed = agent.faults;
      if (agent.isDown) await agent.comeUp();
      agent.setPressure(undefined);
      this.kick();
      this.deps.logger.info({ node: target, healed }, 'heal');
      return healed;
    }
    const worker = this.findWorker(target);
    if (worker === undefined) {
      throw new SandboxArgumentError(
        `unknown target ${JSON.stringify(target)}: choose a node (${this.nodeNames.join(', ')}) or a pod (${this.podNames.join(', ') || 'none running'})`,
      );
    }
    const healed = worker.heal();
    this.deps.logger.info({ pod: worker.key, healed }, 'heal');
    return healed;
  }

  /** Stops the loops and every pod process (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.loop !== undefined) clearInterval(this.loop);
    await this.informer.stop();
    await this.syncing;
    await Promise.all([...this.agents.values()].map((agent) => agent.shutdown(graceMs)));
  }

  private workers(): PodWorker[] {
    return [...this.agents.values()].flatMap((agent) => [...agent.pods.values()]);
  }

  private findWorker(target: string): PodWorker | undefined {
    const workers = this.workers();
    return workers.find((worker) => worker.key === target) ?? workers.find((worker) => worker.name === target);
  }

  /** Runs a sync pass now, or right after the one in flight. */
  private kick(): void {
    if (this.stopped) return;
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.sync()
      .catch((error: unknown) => this.deps.logger.warn({ err: messageOf(error) }, 'node sync failed'))
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.kick();
        }
      });
  }

  private async sync(): Promise<void> {
    const pods = this.informer.list();
    await Promise.all(
      [...this.agents.values()].map((agent) => agent.tick(pods.filter((pod) => pod.spec?.nodeName === agent.node.name))),
    );
  }

  private async restartWatch(): Promise<void> {
    while (!this.stopped) {
      await sleep(1_000);
      if (this.stopped) return;
      try {
        await this.informer.start();
        return;
      } catch (error) {
        this.deps.logger.warn({ err: messageOf(error) }, 'pod watch restart failed');
      }
    }
  }
}
