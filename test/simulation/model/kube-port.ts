import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
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

  /** Delete a pod; false when it was already gone (or, with `uid`, replaced by another). */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number, uid?: string): Promise<boolean> {
    const args = uid === undefined ? [namespace, name, gracePeriodSeconds] : [namespace, name, gracePeriodSeconds, uid];
    return this.calls.run('kube', 'deletePod', args, this.unavailable, () => this.model.deletePod(namespace, name, gracePeriodSeconds, uid));
  }

  /** One claim, or undefined. */
  getClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    return this.calls.run('kube', 'getClaim', [namespace, name], this.unavailable, () => this.model.getClaim(namespace, name));
  }

  /** Delete that very claim. */
  deleteClaim(namespace: string, name: string, uid: string): Promise<boolean> {
    return this.calls.run('kube', 'deleteClaim', [namespace, name, uid], this.unavailable, () => this.model.deleteClaim(namespace, name, uid));
  }

  /** One volume, or undefined. */
  getVolume(name: string): Promise<V1PersistentVolume | undefined> {
    return this.calls.run('kube', 'getVolume', [name], this.unavailable, () => this.model.getVolume(name));
  }

  /** Volumes by label selector. */
  listVolumes(labelSelector: string): Promise<V1PersistentVolume[]> {
    return this.calls.run('kube', 'listVolumes', [labelSelector], this.unavailable, () => this.model.listVolumes(labelSelector));
  }

  /** Create a volume. */
  createVolume(volume: V1PersistentVolume): Promise<V1PersistentVolume> {
    return this.calls.run('kube', 'createVolume', [volume], this.unavailable, () => this.model.createVolume(volume));
  }

  /** Delete a volume. */
  deleteVolume(name: string, uid?: string): Promise<boolean> {
    return this.calls.run('kube', 'deleteVolume', uid === undefined ? [name] : [name, uid], this.unavailable, () => this.model.deleteVolume(name, uid));
  }

  /** Node usage; never throws. */
  nodeUsage(): Promise<NodeUsage> {
    const asValue = (error: unknown): NodeUsage => ({ ok: false, error: error instanceof Error ? error.message : String(error) });
    return this.calls.run('kube', 'nodeUsage', [], { ...this.unavailable, asValue }, () => this.model.usage());
  }
}
