import { CoreV1Api, KubeConfig, Metrics, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { type SandboxInfo } from '../../../src/sandbox';

/** Public Kubernetes clients pointed at a sandbox through its admin kubeconfig, as any user would build them. */
export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  metrics: Metrics;
}

/** Clients for a sandbox. */
export function kubeFor(info: SandboxInfo): Kube {
  const config = new KubeConfig();
  config.loadFromFile(info.kubeconfig);
  return { config, core: config.makeApiClient(CoreV1Api), metrics: new Metrics(config) };
}

/** The status of one condition of a node or pod. */
export function condition(object: V1Node | V1Pod, type: string): string | undefined {
  const conditions: ReadonlyArray<{ type: string; status: string }> = object.status?.conditions ?? [];
  return conditions.find((c) => c.type === type)?.status;
}

/**
 * "key:Effect" of every taint of a node, sorted: the node lifecycle controller adds the unreachable NoSchedule and
 * NoExecute taints in two passes, in either order (a fixed order failed CI once).
 */
export function taintsOf(node: V1Node): string[] {
  return (node.spec?.taints ?? []).map((taint) => `${taint.key}:${taint.effect}`).sort();
}

/** The restart count of a pod's first container. */
export function restartsOf(pod: V1Pod): number {
  return pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
}
