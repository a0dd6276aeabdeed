import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { NodeObservation } from '../domain/observation';
import type { PodInfo, TopologyLabels } from './convert';
import type { NodeUsage } from './gateway';

/**
 * The part of the Kubernetes API the guardian uses, as a narrow port: implemented by the real gateway
 * (src/kube/gateway.ts) and by the in-memory model of the simulation (test/simulation).
 */
export interface KubePort {
  /** Every node, with rack and domain read from the configured labels; `watched`: may come from a watch kept current. */
  listNodes(topology: TopologyLabels, options?: { watched?: boolean }): Promise<NodeObservation[]>;
  /** The pods of an etcd cluster, by label selector; `watched`: may come from a watch kept current. */
  listPods(namespace: string, labelSelector: string, options?: { watched?: boolean }): Promise<PodInfo[]>;
  /** The pod objects themselves, for the migration to copy a member's spec. */
  listPodObjects(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** One pod, or undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Create a pod; returns what the API server stored. */
  createPod(namespace: string, pod: V1Pod): Promise<V1Pod>;
  /**
   * Delete a pod (grace 0: at once); false when it was already gone. With `uid`, only that very object: false when
   * the name now belongs to another pod (a controller recreated it).
   */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number, uid?: string): Promise<boolean>;
  /** One PersistentVolumeClaim, or undefined when it does not exist. */
  getClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined>;
  /** Delete that very claim (a uid precondition); false when it is gone or the name belongs to a newer claim. */
  deleteClaim(namespace: string, name: string, uid: string): Promise<boolean>;
  /** One PersistentVolume, or undefined when it does not exist. */
  getVolume(name: string): Promise<V1PersistentVolume | undefined>;
  /** The PersistentVolumes matching a label selector. */
  listVolumes(labelSelector: string): Promise<V1PersistentVolume[]>;
  /** Create a PersistentVolume; returns what the API server stored. */
  createVolume(volume: V1PersistentVolume): Promise<V1PersistentVolume>;
  /** Delete a PersistentVolume; false when it was already gone. With `uid`, only that very object. */
  deleteVolume(name: string, uid?: string): Promise<boolean>;
  /** Node CPU and memory usage, never throwing; an answer younger than `maxAgeMs` (default 0: none) may be reused. */
  nodeUsage(maxAgeMs?: number): Promise<NodeUsage>;
  /** Stops whatever the port keeps open (watches); optional. */
  close?(): void;
  /**
   * Make a ConfigMap hold exactly `data` (created when missing, replaced when different); says which it did.
   * Optional: the simulation's model has no ConfigMaps, and publishing client endpoints is not a migration step.
   */
  applyConfigMap?(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'updated' | 'unchanged'>;
}
