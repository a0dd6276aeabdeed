import type { V1Pod } from '@kubernetes/client-node';
import type { NodeObservation } from '../../../src/domain/observation';
import { toNodeObservation, toPodInfo, type PodInfo, type TopologyLabels } from '../../../src/kube/convert';
import type { NodeUsage } from '../../../src/kube/gateway';
import type { KubePort } from '../../../src/kube/port';
import { KubeApiError, type PortCalls } from './faults';
import type { KubeModel } from './kube-model';

/** KubePort over the model; objects go through the same conversions as the real gateway's. */
export class ModelKubePort implements KubePort {
  constructor(
    private readonly model: KubeModel,
    private readonly calls: PortCalls,
  ) {}

  private readonly unavailable = { error: (message: string) => new KubeApiError(503, message) };

  /** Every node, with rack and domain read from the configured labels. */
  listNodes(topology: TopologyLabels): Promise<NodeObservation[]> {
    return this.calls.run('kube', 'listNodes', [], this.unavailable, () => this.model.nodeObjects().map((n) => toNodeObservation(n, topology)));
  }

  /** The pods of an etcd cluster, by label selector. */
  listPods(namespace: string, labelSelector: string): Promise<PodInfo[]> {
    return this.calls.run('kube', 'listPods', [namespace, labelSelector], this.unavailable, () => this.model.listPods(namespace, labelSelector).map(toPodInfo));
  }

  /** The pod objects themselves. */
  listPodObjects(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return this.calls.run('kube', 'listPodObjects', [namespace, labelSelector], this.unavailable, () => this.model.listPods(namespace, labelSelector));
  }

  /** One pod, or undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.calls.run('kube', 'getPod', [namespace, name], this.unavailable, () => this.model.getPod(namespace, name));
  }

  /** Create a pod; returns what the API server stored. */
  createPod(namespace: string, pod: V1Pod): Promise<V1Pod> {
    return this.calls.run('kube', 'createPod', [namespace, pod], this.unavailable, () => this.model.createPod(namespace, pod));
  }

  /** Delete a pod; false when it was already gone. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean> {
    return this.calls.run('kube', 'deletePod', [namespace, name, gracePeriodSeconds], this.unavailable, () => this.model.deletePod(namespace, name, gracePeriodSeconds));
  }

  /** Node usage; never throws. */
  nodeUsage(): Promise<NodeUsage> {
    const asValue = (error: unknown): NodeUsage => ({ ok: false, error: error instanceof Error ? error.message : String(error) });
    return this.calls.run('kube', 'nodeUsage', [], { ...this.unavailable, asValue }, () => this.model.usage());
  }
}
