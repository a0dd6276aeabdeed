import { repellingTaints } from '../../../src/domain/nodes';
import type { NodeObservation } from '../../../src/domain/observation';
import { choosePlacement, placeOn, restorePlacementRequest, type PlacementRequest } from '../../../src/domain/placement';
import { DEFAULT_THRESHOLDS } from '../../../src/domain/policy';
import { aCluster, aDownNode, aNode, aPolicy, aPressuredNode, withNode } from '../../builders';

/** Members etcd-0 and etcd-2 stay on node-0 (r0, z0) and node-2 (r2, z1); etcd-1 is leaving node-1 (r1, z0). */
function request(nodes: NodeObservation[], overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    nodes,
    remainingMembers: [
      { name: 'etcd-0', nodeName: 'node-0' },
      { name: 'etcd-2', nodeName: 'node-2' },
    ],
    excludedNodes: new Map([['node-1', 'hosts etcd-1, the member being moved']]),
    tolerations: [],
    thresholds: DEFAULT_THRESHOLDS,
    ...overrides,
  };
}

const sixNodes = (): NodeObservation[] => [0, 1, 2, 3, 4, 5].map((i) => aNode(i));

describe('placement of a new member', () => {
  it('prefers the node in the rack that no remaining member uses', () => {
    const result = choosePlacement(request(sixNodes()));
    expect(result.chosen).toMatchObject({ node: 'node-4', rack: 'r1', domain: 'z0', rackFree: true, membersInDomain: 1 });
    expect(result.summary).toBe('chose node-4: rack r1 hosts no member; domain z0 hosts etcd-0; CPU 20%, memory 20%');
  });

  it('ranks every feasible node and refuses every other with its reasons', () => {
    const result = choosePlacement(request(sixNodes()));
    expect(result.candidates.map((c) => c.node)).toEqual(['node-4', 'node-3', 'node-5']);
    expect(result.refused).toEqual([
      { node: 'node-0', reasons: ['already hosts member etcd-0'] },
      { node: 'node-1', reasons: ['hosts etcd-1, the member being moved'] },
      { node: 'node-2', reasons: ['already hosts member etcd-2'] },
    ]);
  });

  it('among nodes in free racks, prefers the domain with fewer members', () => {
    const nodes = [aNode(0, { rack: 'a', domain: 'z0' }), aNode(6, { rack: 'b', domain: 'z0' }), aNode(7, { rack: 'c', domain: 'z1' })];
    const result = choosePlacement(request(nodes, { remainingMembers: [{ name: 'etcd-0', nodeName: 'node-0' }], excludedNodes: new Map() }));
    expect(result.chosen?.node).toBe('node-7');
  });

  it('a free failure domain beats a free rack in a crowded domain', () => {
    const nodes = [aNode(0, { rack: 'a', domain: 'z0' }), aNode(6, { rack: 'b', domain: 'z0' }), aNode(7, { rack: 'a', domain: 'z1' })];
    const result = choosePlacement(request(nodes, { remainingMembers: [{ name: 'etcd-0', nodeName: 'node-0' }], excludedNodes: new Map() }));
    expect(result.candidates.map((c) => [c.node, c.score])).toEqual([
      ['node-7', 9079],
      ['node-6', 8179],
    ]);
  });

  it('breaks ties by utilization, then by name', () => {
    const nodes = [aPressuredNode(3, 0.5, 0.3), aPressuredNode(6, 0.2, 0.2), aNode(9)];
    const free = nodes.map((n) => ({ ...n, rack: `own-${n.name}`, domain: 'z9' }));
    const result = choosePlacement(request(free));
    expect(result.candidates.map((c) => c.node)).toEqual(['node-6', 'node-9', 'node-3']);
  });

  it('with equal utilization the name decides, so the choice is deterministic', () => {
    const nodes = [aNode(8), aNode(7)].map((n) => ({ ...n, rack: `own-${n.name}`, domain: 'z9' }));
    expect(choosePlacement(request(nodes)).chosen?.node).toBe('node-7');
  });

  it('a node whose usage is unknown ranks after one with known headroom', () => {
    const known = { ...aPressuredNode(6, 0.7, 0.7), rack: 'x', domain: 'z9' };
    const unknown: NodeObservation = { ...aNode(7), rack: 'y', domain: 'z9' };
    delete unknown.usage;
    const result = choosePlacement(request([unknown, known]));
    expect(result.chosen?.node).toBe('node-6');
    expect(result.candidates[1]?.reason).toContain('usage unknown');
  });

  it.each([
    ['a node that is not ready', aDownNode(4, { taints: [] }), 'not ready (Ready=Unknown, NodeStatusUnknown)'],
    ['a node under memory pressure', aNode(4, { conditions: [{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'True' }] }), 'under MemoryPressure'],
    ['a cordoned node', aNode(4, { unschedulable: true }), 'cordoned (spec.unschedulable)'],
    ['a node tainted NoSchedule', aNode(4, { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), 'tainted dedicated=db:NoSchedule and the pod does not tolerate it'],
    ['a node with CPU above the threshold', aPressuredNode(4, 0.95, 0.1), 'CPU at 95% (threshold 90%)'],
    ['a node with memory above the threshold', aPressuredNode(4, 0.1, 0.93), 'memory at 93% (threshold 90%)'],
  ])('refuses %s and says why', (_name, bad, reason) => {
    const result = choosePlacement(request([aNode(0), aNode(2), bad]));
    expect(result.chosen).toBeUndefined();
    expect(result.refused.find((r) => r.node === 'node-4')?.reasons).toEqual([reason]);
  });

  it('says "no feasible node" with every node and why', () => {
    const result = choosePlacement(request([aNode(0), aDownNode(3)]));
    expect(result.summary).toBe('no feasible node: node-0: already hosts member etcd-0 | node-3: not ready (Ready=Unknown, NodeStatusUnknown); tainted node.kubernetes.io/unreachable:NoSchedule, node.kubernetes.io/unreachable:NoExecute and the pod does not tolerate it');
  });

  it('says so when the cluster has no nodes at all', () => {
    expect(choosePlacement(request([])).summary).toBe('no feasible node: the cluster has no nodes');
  });

  it('accepts a tainted node when the pod tolerates the taint', () => {
    const tainted = aNode(4, { taints: [{ key: 'dedicated', value: 'etcd', effect: 'NoSchedule' }] });
    const result = choosePlacement(request([tainted], { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'etcd', effect: 'NoSchedule' }] }));
    expect(result.chosen?.node).toBe('node-4');
  });

  it('ignores PreferNoSchedule taints, which only express a preference', () => {
    expect(choosePlacement(request([aNode(4, { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })])).chosen?.node).toBe('node-4');
  });
});

describe('taints and tolerations', () => {
  const node = aNode(1, { taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] });
  it.each([
    ['an Exists toleration with no key tolerates everything', [{ operator: 'Exists' as const }], 0],
    ['a key with Exists tolerates any value', [{ key: 'k', operator: 'Exists' as const }], 0],
    ['a key with the wrong value does not tolerate', [{ key: 'k', operator: 'Equal' as const, value: 'w' }], 1],
    ['a matching key and value of another effect does not tolerate', [{ key: 'k', value: 'v', effect: 'NoSchedule' as const }], 1],
    ['an empty key without Exists tolerates nothing', [{ operator: 'Equal' as const }], 1],
    ['no tolerations tolerate nothing', [], 1],
  ])('%s', (_name, tolerations, repelling) => {
    expect(repellingTaints(node, tolerations)).toHaveLength(repelling);
  });
});

describe('placement on the node an operator named', () => {
  it.each([
    ['a feasible node other than the best', 'node-5', 'node-5', 'chose node-5, the node asked for: '],
    ['the best node itself', 'node-4', 'node-4', 'chose node-4, the node asked for: '],
    ['a node that hosts a member', 'node-0', undefined, 'the node asked for, node-0, cannot host a member now: already hosts member etcd-0'],
    ['a node that is not in the cluster', 'node-42', undefined, 'the node asked for, node-42, is not a node of the cluster'],
  ])('%s', (_name, node, chosen, summary) => {
    const result = placeOn(choosePlacement(request(sixNodes())), node);
    expect(result.chosen?.node).toBe(chosen);
    expect(result.summary.startsWith(summary)).toBe(true);
  });

  it('refuses a named node that went down since the plan, with the reason', () => {
    const nodes = sixNodes().map((n) => (n.name === 'node-5' ? aDownNode(5) : n));
    const result = placeOn(choosePlacement(request(nodes)), 'node-5');
    expect(result.chosen).toBeUndefined();
    expect(result.summary).toMatch(/^the node asked for, node-5, cannot host a member now: not ready/);
  });
});

describe('restorePlacementRequest', () => {
  it.each<[string, ReturnType<typeof aCluster>, string | undefined]>([
    ['a healthy node that holds no pod of the lost membership', aCluster(3), 'node-3'],
    ['not a node that is down', withNode(aCluster(3), aDownNode(3)), 'node-4'],
    ['none, when every healthy node holds a pod of the lost membership', withNode(withNode(withNode(aCluster(3), aDownNode(3)), aDownNode(4)), aDownNode(5)), undefined],
  ])('%s', (_case, observation, node) => {
    const result = choosePlacement(restorePlacementRequest(observation, aPolicy()));
    expect(result.chosen?.node).toBe(node);
    for (const held of ['node-0', 'node-1', 'node-2']) expect(result.refused.find((r) => r.node === held)?.reasons).toEqual([`holds pod etcd-${held.slice(-1)} of the lost membership`]);
  });
});
