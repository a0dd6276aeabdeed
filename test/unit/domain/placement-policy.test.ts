import { manualTargetRefusal, requestedNodeBreaches } from '../../../src/domain/placement-policy';
import { choosePlacement, type PlacementRequest } from '../../../src/domain/placement';
import type { NodeObservation, Toleration } from '../../../src/domain/observation';
import { DEFAULT_THRESHOLDS, type PlacementRules } from '../../../src/domain/policy';
import { aDownNode, aNode } from '../../builders';

/**
 * The placement policy a manual request must keep to: the nodes the config allows, its node selector, and the
 * taints the members tolerate. A node that breaks it is refused whatever its health; a node that keeps to it but is
 * unhealthy now is left to placement, which says "cannot host a member now".
 */

const ssd = (ordinal: number, overrides: Partial<NodeObservation> = {}): NodeObservation => {
  const node = aNode(ordinal, overrides);
  return { ...node, labels: { ...node.labels, disk: 'ssd' } };
};
const controlPlaneTaint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' } as const;
const tolerateControlPlane: Toleration[] = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }];

describe('requestedNodeBreaches', () => {
  const rows: Array<{ case: string; node: NodeObservation | undefined; name?: string; rules?: PlacementRules; tolerations?: Toleration[]; breaches: string[] }> = [
    { case: 'no policy: any node', node: aNode(4), breaches: [] },
    { case: 'on the allow-list', node: aNode(4), rules: { allowedNodes: ['node-3', 'node-4'] }, breaches: [] },
    {
      case: 'off the allow-list',
      node: aNode(5),
      rules: { allowedNodes: ['node-3', 'node-4'] },
      breaches: ['not in placement.allowedNodes (node-3, node-4)'],
    },
    { case: 'every selector label matches', node: ssd(4), rules: { nodeSelector: { disk: 'ssd', 'topology.kubernetes.io/zone': 'z0' } }, breaches: [] },
    {
      case: 'a selector label missing',
      node: aNode(4),
      rules: { nodeSelector: { disk: 'ssd' } },
      breaches: ['no label disk, which placement.nodeSelector requires to be "ssd"'],
    },
    {
      case: 'a selector label with another value',
      node: ssd(4),
      rules: { nodeSelector: { 'topology.kubernetes.io/zone': 'z1' } },
      breaches: ['label topology.kubernetes.io/zone is "z0", placement.nodeSelector requires "z1"'],
    },
    { case: 'a taint the members tolerate', node: aNode(4, { taints: [controlPlaneTaint] }), tolerations: tolerateControlPlane, breaches: [] },
    {
      case: 'a taint the members do not tolerate',
      node: aNode(4, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      tolerations: tolerateControlPlane,
      breaches: ['tainted dedicated=gpu:NoSchedule, which tolerations do not tolerate'],
    },
    { case: 'a PreferNoSchedule taint repels nothing', node: aNode(4, { taints: [{ key: 'dedicated', effect: 'PreferNoSchedule' }] }), breaches: [] },
    // Health of the moment, not policy: placement refuses it as "not ready", and the request is not at fault.
    { case: 'a node down, with its condition taints', node: aDownNode(4), breaches: [] },
    {
      case: 'every rule broken at once, each named',
      node: aNode(5, { taints: [{ key: 'dedicated', effect: 'NoExecute' }] }),
      rules: { allowedNodes: ['node-3'], nodeSelector: { disk: 'ssd' } },
      breaches: [
        'not in placement.allowedNodes (node-3)',
        'no label disk, which placement.nodeSelector requires to be "ssd"',
        'tainted dedicated:NoExecute, which tolerations do not tolerate',
      ],
    },
    { case: 'no such node, allow-list kept: left to the plan ("not a node of the cluster")', node: undefined, name: 'node-3', rules: { allowedNodes: ['node-3'], nodeSelector: { disk: 'ssd' } }, breaches: [] },
    { case: 'no such node, off the allow-list', node: undefined, name: 'node-9', rules: { allowedNodes: ['node-3'] }, breaches: ['not in placement.allowedNodes (node-3)'] },
  ];

  it.each(rows)('$case', ({ node, name, rules, tolerations, breaches }) => {
    expect(requestedNodeBreaches(name ?? node?.name ?? '?', node, rules, tolerations ?? [])).toEqual(breaches);
  });
});

describe('manualTargetRefusal', () => {
  const nodes = [aNode(3), aNode(4), aNode(5)];

  it('names the field, the value, the cluster and every rule broken', () => {
    expect(manualTargetRefusal({ cluster: 'main', targetNode: 'node-5' }, nodes, { allowedNodes: ['node-3', 'node-4'], nodeSelector: { disk: 'ssd' } }, [])).toBe(
      'targetNode "node-5" breaks the placement policy of cluster main: not in placement.allowedNodes (node-3, node-4); no label disk, which placement.nodeSelector requires to be "ssd"',
    );
  });

  it('has nothing to say of a request naming no node, or one the policy allows', () => {
    expect(manualTargetRefusal({ cluster: 'main' }, nodes, { allowedNodes: ['node-3'] }, [])).toBeUndefined();
    expect(manualTargetRefusal({ cluster: 'main', targetNode: 'node-3' }, nodes, { allowedNodes: ['node-3'] }, [])).toBeUndefined();
  });
});

describe('the automatic choice keeps to the same policy', () => {
  const request = (nodes: NodeObservation[], placement: PlacementRules): PlacementRequest => ({
    nodes,
    remainingMembers: [{ name: 'etcd-0', nodeName: 'node-0' }],
    excludedNodes: new Map(),
    tolerations: [],
    thresholds: DEFAULT_THRESHOLDS,
    placement,
  });

  it('never chooses a node off the allow-list or the selector, and says why', () => {
    const result = choosePlacement(request([aNode(0), aNode(4), ssd(5), ssd(7)], { allowedNodes: ['node-4', 'node-5'], nodeSelector: { disk: 'ssd' } }));
    expect(result.candidates.map((c) => c.node)).toEqual(['node-5']);
    expect(result.refused).toEqual([
      { node: 'node-0', reasons: ['not in placement.allowedNodes (node-4, node-5)', 'no label disk, which placement.nodeSelector requires to be "ssd"', 'already hosts member etcd-0'] },
      { node: 'node-4', reasons: ['no label disk, which placement.nodeSelector requires to be "ssd"'] },
      { node: 'node-7', reasons: ['not in placement.allowedNodes (node-4, node-5)'] },
    ]);
  });
});
