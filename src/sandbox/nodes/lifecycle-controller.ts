import { type V1Node } from '@kubernetes/client-node';
import { messageOf } from '../errors';
import { type KubeClients, kubeTime, MERGE_PATCH, toDate, tolerating } from '../kube';
import { type Logger } from '../logger';
import { conditionStatus, unknownConditions, type NodeConditionRead } from './conditions';
import { NODE_LEASE_NAMESPACE } from './node-agent';
import { reconcileTaints, sameTaints, type TaintRead } from './taints';

/**
 * The part of kube-controller-manager's node lifecycle controller the sandbox needs (there is no controller-manager):
 * a node whose heartbeats stopped for longer than the grace period turns Unknown with the unreachable taints and its
 * pods turn NotReady; condition taints (not-ready, unreachable, pressure) follow the conditions in both directions.
 * Like the real one, it never evicts: the guardian is what acts.
 */

/** How often the controller looks (the real one: every 5 s). */
const PASS_INTERVAL_MS = 1_000;

/** What the controller needs. */
export interface LifecycleControllerDeps {
  kube: KubeClients;
  logger: Logger;
  /** Silence longer than this marks a node Unknown. */
  gracePeriodMs: number;
}

/** The simulated node lifecycle controller. */
export class NodeLifecycleController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: LifecycleControllerDeps) {}

  /** Starts periodic passes. */
  start(): void {
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.pass(new Date())
        .catch((error: unknown) => this.deps.logger.warn({ err: messageOf(error) }, 'node lifecycle pass failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, PASS_INTERVAL_MS);
  }

  /** Stops, waiting for a pass in flight. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every node. */
  async pass(now: Date): Promise<void> {
    const { core, coordination } = this.deps.kube;
    const [nodes, leases] = await Promise.all([
      core.listNode(),
      coordination.listNamespacedLease({ namespace: NODE_LEASE_NAMESPACE }),
    ]);
    // renewTime is a MicroTime, which client-node leaves as the string the server sent.
    const renewed = new Map(
      leases.items.map((lease) => [lease.metadata?.name ?? '', toDate(lease.spec?.renewTime as Date | string | undefined)]),
    );
    for (const node of nodes.items) {
      await this.reconcileNode(node, renewed.get(node.metadata?.name ?? ''), now);
    }
  }

  private async reconcileNode(node: V1Node, leaseRenewed: Date | undefined, now: Date): Promise<void> {
    const name = node.metadata?.name ?? '';
    let conditions = (node.status?.conditions ?? []) as NodeConditionRead[];
    const readyHeartbeat = toDate(conditions.find((c) => c.type === 'Ready')?.lastHeartbeatTime);
    const heard = [leaseRenewed, readyHeartbeat, toDate(node.metadata?.creationTimestamp)]
      .filter((date): date is Date => date !== undefined)
      .reduce((latest, date) => Math.max(latest, date.getTime()), 0);
    const silentFor = now.getTime() - heard;
    let resourceVersion = node.metadata?.resourceVersion;
    if (silentFor > this.deps.gracePeriodMs) {
      if (conditionStatus(conditions, 'Ready') !== 'Unknown') {
        conditions = unknownConditions(conditions, now);
        const updated = await this.deps.kube.core.patchNodeStatus({ name, body: { status: { conditions } } }, MERGE_PATCH);
        resourceVersion = updated.metadata?.resourceVersion;
        this.deps.logger.info({ node: name, silentForMs: silentFor }, 'node stopped posting status: conditions Unknown');
      }
      await this.markPodsNotReady(name, now);
    }
    const taints = (node.spec?.taints ?? []) as TaintRead[];
    const wanted = reconcileTaints(taints, conditions, node.spec?.unschedulable === true, now);
    if (!sameTaints(taints, wanted)) {
      // resourceVersion makes the patch fail on a concurrent edit of the node instead of overwriting its taints.
      await tolerating([409], () =>
        this.deps.kube.core.patchNode(
          { name, body: { metadata: { resourceVersion }, spec: { taints: wanted } } },
          MERGE_PATCH,
        ),
      );
    }
  }

  private async markPodsNotReady(nodeName: string, now: Date): Promise<void> {
    const pods = await this.deps.kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
    for (const pod of pods.items) {
      const conditions = pod.status?.conditions ?? [];
      if (conditionStatus(conditions, 'Ready') !== 'True') continue;
      const updated = conditions.map((c) =>
        c.type === 'Ready'
          ? { ...c, status: 'False', lastTransitionTime: kubeTime(now), lastProbeTime: null }
          : { ...c, lastTransitionTime: kubeTime(toDate(c.lastTransitionTime) ?? now), lastProbeTime: null },
      );
      await tolerating([404], () =>
        this.deps.kube.core.patchNamespacedPodStatus(
          { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', body: { status: { conditions: updated } } },
          MERGE_PATCH,
        ),
      );
    }
  }
}
