import { formatTaint, repellingTaints } from './nodes';
import type { NodeObservation, Toleration } from './observation';
import type { PlacementRules } from './policy';

/*
 * Where a cluster's members may ever run, as the operator configured it (`clusters[].placement`,
 * `clusters[].tolerations`): rules about the node itself, not about its health now. A manual request
 * (`migrateMember` with `targetNode`) that breaks one is refused outright; the automatic choice never considers
 * such a node.
 */

/**
 * The taints Kubernetes' node lifecycle puts on a node for its condition (not-ready, unreachable, pressure,
 * cordoned): health of the moment, judged by placement as "cannot host a member now", not a rule of the policy.
 */
const CONDITION_TAINT_PREFIX = 'node.kubernetes.io/';

/** Every rule of `placement.allowedNodes` and `placement.nodeSelector` the node breaks, naming the config field. */
export function selectorBreaches(node: Pick<NodeObservation, 'name' | 'labels'>, rules: PlacementRules | undefined): string[] {
  const breaches: string[] = [];
  if (rules?.allowedNodes !== undefined && !rules.allowedNodes.includes(node.name)) {
    breaches.push(`not in placement.allowedNodes (${rules.allowedNodes.join(', ')})`);
  }
  for (const [key, value] of Object.entries(rules?.nodeSelector ?? {})) {
    const actual = node.labels[key];
    if (actual === undefined) breaches.push(`no label ${key}, which placement.nodeSelector requires to be "${value}"`);
    else if (actual !== value) breaches.push(`label ${key} is "${actual}", placement.nodeSelector requires "${value}"`);
  }
  return breaches;
}

/**
 * Every rule of the placement policy a node asked for by name breaks: the allow-list, the node selector, and the
 * taints the members' tolerations do not tolerate (condition taints aside). `node` is undefined for a name that is
 * not a node of the cluster: only the allow-list can be judged then.
 */
export function requestedNodeBreaches(
  name: string,
  node: NodeObservation | undefined,
  rules: PlacementRules | undefined,
  tolerations: readonly Toleration[],
): string[] {
  const breaches = selectorBreaches(node ?? { name, labels: {} }, rules);
  if (node === undefined) return breaches.filter((b) => b.startsWith('not in placement.allowedNodes'));
  const taints = repellingTaints(node, tolerations).filter((t) => !t.key.startsWith(CONDITION_TAINT_PREFIX));
  if (taints.length > 0) breaches.push(`tainted ${taints.map(formatTaint).join(', ')}, which tolerations do not tolerate`);
  return breaches;
}

/**
 * The refusal of a manual request whose `targetNode` breaks the cluster's placement policy, naming the field, the
 * value and every rule broken; undefined when the request keeps to the policy (or names no node).
 */
export function manualTargetRefusal(
  request: { cluster: string; targetNode?: string },
  nodes: readonly NodeObservation[],
  rules: PlacementRules | undefined,
  tolerations: readonly Toleration[],
): string | undefined {
  const name = request.targetNode;
  if (name === undefined) return undefined;
  const breaches = requestedNodeBreaches(name, nodes.find((n) => n.name === name), rules, tolerations);
  if (breaches.length === 0) return undefined;
  return `targetNode "${name}" breaks the placement policy of cluster ${request.cluster}: ${breaches.join('; ')}`;
}
