import { nodeAddress } from './ports';

/**
 * Where the sandbox's nodes sit and where the etcd members go. Racks sit inside failure domains as in a data
 * centre: node i is in rack (i mod racks), and the racks are cut into `domains` contiguous groups.
 */

/** Label keys of the topology, as the guardian's configuration names them by default. */
export const LABELS = {
  hostname: 'kubernetes.io/hostname',
  zone: 'topology.kubernetes.io/zone',
  rack: 'topology.kubernetes.io/rack',
} as const;

/** One simulated node. */
export interface NodeLayout {
  name: string;
  index: number;
  /** Its InternalIP on loopback. */
  address: string;
  rack: string;
  /** The failure domain (zone). */
  domain: string;
}

/** The rack index → domain index mapping: 3 racks in 2 domains puts rack-0 and rack-1 in zone-0, rack-2 in zone-1. */
export function domainOfRack(rackIndex: number, racks: number, domains: number): number {
  return Math.floor((rackIndex * domains) / racks);
}

/** Every node of a sandbox, in index order. */
export function layoutNodes(params: { nodes: number; racks: number; domains: number; slot: number }): NodeLayout[] {
  return Array.from({ length: params.nodes }, (_, index) => {
    const rackIndex = index % params.racks;
    return {
      name: `node-${index}`,
      index,
      address: nodeAddress(params.slot, index),
      rack: `rack-${rackIndex}`,
      domain: `zone-${domainOfRack(rackIndex, params.racks, params.domains)}`,
    };
  });
}

/**
 * The nodes the initial members go on: one per rack, racks taken in turn, so that the members spread as evenly as
 * the racks allow (3 members: node-0..2 on rack-0..2; 5 members on 3 racks: two racks hold two).
 */
export function placeMembers(nodes: readonly NodeLayout[], members: number): NodeLayout[] {
  const byRack = new Map<string, NodeLayout[]>();
  for (const node of nodes) byRack.set(node.rack, [...(byRack.get(node.rack) ?? []), node]);
  const queues = [...byRack.values()];
  const chosen: NodeLayout[] = [];
  while (chosen.length < members && queues.some((queue) => queue.length > 0)) {
    for (const queue of queues) {
      const next = queue.shift();
      if (next !== undefined && chosen.length < members) chosen.push(next);
    }
  }
  return chosen;
}
