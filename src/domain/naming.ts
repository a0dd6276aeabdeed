/** How new members are named: the prefix and the next free ordinal. */

const ORDINAL = /-(\d+)$/;

/** The next free name with the prefix and an ordinal above every member's and pod's: etcd-0..2 gives etcd-3. */
export function nextMemberName(prefix: string, taken: readonly string[]): string {
  let highest = -1;
  for (const name of taken) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const match = ORDINAL.exec(name);
    if (match?.[1] && name === `${prefix}-${match[1]}`) highest = Math.max(highest, Number(match[1]));
  }
  return `${prefix}-${highest + 1}`;
}

/** How a cluster's members address each other, as far as naming cares. */
export type NamingAddressing = 'host-network' | 'headless-service';

/** What the name of a successor is decided from. */
export interface SuccessorNameRequest {
  /** Absent: host-network, the mode of clusters configured before names were reused. */
  addressing?: NamingAddressing;
  /** `replace` removes the member before its successor joins; `surge` adds the successor first. */
  strategy: 'replace' | 'surge';
  /** The name of the member the successor replaces. */
  leaving: string;
  prefix: string;
  /** Names of every member and pod now, and names this migration already gave out. */
  taken: readonly string[];
}

/** A successor's name and why it is that one, in words for the plan. */
export interface SuccessorName {
  name: string;
  reused: boolean;
  why: string;
}

/**
 * The name a successor gets. Behind a headless Service the name is the address (`etcd-1.etcd.<ns>.svc`), so a
 * replace gives the successor the removed member's name and that DNS name stays valid for clients and peers. It is
 * safe because a replace removes the member and deletes its pod before the successor is created; the choose-node
 * step confirms the name is free at that moment, and falls back to the next ordinal otherwise. A surge cannot
 * reuse: both members exist at once. Host networking gains nothing (the address is the node's, not the name's), and
 * a host-path data directory named after the member could still hold a removed incarnation's data on a node that
 * ran that name before: new names there.
 */
export function successorName(request: SuccessorNameRequest): SuccessorName {
  const fresh = (why: string): SuccessorName => ({ name: nextMemberName(request.prefix, request.taken), reused: false, why });
  if ((request.addressing ?? 'host-network') === 'host-network') return fresh('host networking: the address is the node\'s, so a new name costs clients nothing');
  if (request.strategy === 'surge') return fresh('a surge runs both members at once, so the successor cannot share the name');
  if (!request.leaving) return fresh('the member has no name to reuse (it never started)');
  return { name: request.leaving, reused: true, why: `a replace behind a headless Service keeps the name ${request.leaving}, so its DNS name stays valid; reused only once the member and its pod are gone` };
}

/**
 * The name confirmed when a successor's node is chosen: the planned one while no member or pod has it and this
 * migration never gave it out (a failed attempt's data directory must never be picked up again), else the next
 * free ordinal. This is where a reused name is checked against the cluster as it is right then.
 */
export function confirmSuccessorName(prefix: string, planned: string | undefined, taken: readonly string[], usedNames: readonly string[]): string {
  if (planned !== undefined && planned !== '' && !taken.includes(planned) && !usedNames.includes(planned)) return planned;
  return nextMemberName(prefix, [...taken, ...usedNames]);
}
