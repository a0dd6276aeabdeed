import {
  activePressures,
  formatTaint,
  isNodeReady,
  percent,
  readyCondition,
  repellingTaints,
  utilization,
} from './nodes';
import type { ClusterObservation, NodeObservation, Toleration } from './observation';
import { selectorBreaches } from './placement-policy';
import type { PlacementRules, Policy, Thresholds } from './policy';

/** What placement needs to know of the members that stay. */
export interface PlacedMember {
  name: string;
  nodeName?: string;
}

/** The question placement answers: where may a new member of this cluster go? */
export interface PlacementRequest {
  nodes: readonly NodeObservation[];
  /** Members that remain in the cluster (the member being replaced is not one of them). */
  remainingMembers: readonly PlacedMember[];
  /** Nodes that must not be chosen: the source node, nodes holding any pod of the cluster, targets that failed. */
  excludedNodes: ReadonlyMap<string, string>;
  tolerations: readonly Toleration[];
  thresholds: Pick<Thresholds, 'nodeCpu' | 'nodeMemory'>;
  /** The configured node selector and allow-list; absent: every node qualifies on those counts. */
  placement?: PlacementRules;
}

/** A node that may host the new member, with why it ranks where it does. */
export interface Candidate {
  node: string;
  rack?: string;
  domain?: string;
  /** Higher is better: 1000 per member fewer in the domain (of 9), 100 for a free rack, up to 99 for spare capacity. */
  score: number;
  rackFree: boolean;
  membersInDomain: number;
  /** max(cpu, memory) fraction; 1 when unknown, so that a node with known headroom wins. */
  utilization: number;
  reason: string;
}

/** A node that may not host the new member, and every reason why. */
export interface Refusal {
  node: string;
  reasons: string[];
}

/** The ranked candidates and the refusals; `chosen` is the first candidate, absent when no node is feasible. */
export interface PlacementResult {
  chosen?: Candidate;
  candidates: Candidate[];
  refused: Refusal[];
  summary: string;
}

/** Every reason this node may not host a new member; empty when it may. */
export function refusalReasons(node: NodeObservation, request: PlacementRequest): string[] {
  const reasons: string[] = [];
  const excluded = request.excludedNodes.get(node.name);
  if (excluded !== undefined) reasons.push(excluded);
  reasons.push(...selectorBreaches(node, request.placement));
  const memberHere = request.remainingMembers.find((m) => m.nodeName === node.name);
  if (memberHere) reasons.push(`already hosts member ${memberHere.name}`);
  if (!isNodeReady(node)) {
    const ready = readyCondition(node);
    reasons.push(`not ready (Ready=${ready.status}${ready.reason ? `, ${ready.reason}` : ''})`);
  }
  const pressures = activePressures(node);
  if (pressures.length > 0) reasons.push(`under ${pressures.join(', ')}`);
  if (node.unschedulable) reasons.push('cordoned (spec.unschedulable)');
  const taints = repellingTaints(node, request.tolerations);
  if (taints.length > 0) reasons.push(`tainted ${taints.map(formatTaint).join(', ')} and the pod does not tolerate it`);
  const usage = utilization(node);
  if (usage && usage.cpu >= request.thresholds.nodeCpu) {
    reasons.push(`CPU at ${percent(usage.cpu)} (threshold ${percent(request.thresholds.nodeCpu)})`);
  }
  if (usage && usage.memory >= request.thresholds.nodeMemory) {
    reasons.push(`memory at ${percent(usage.memory)} (threshold ${percent(request.thresholds.nodeMemory)})`);
  }
  return reasons;
}

function rankCandidate(node: NodeObservation, request: PlacementRequest): Candidate {
  const nodesByName = new Map(request.nodes.map((n) => [n.name, n]));
  const memberNodes = request.remainingMembers
    .map((m) => ({ member: m.name, node: m.nodeName ? nodesByName.get(m.nodeName) : undefined }))
    .filter((x): x is { member: string; node: NodeObservation } => x.node !== undefined);
  const rackMates = node.rack === undefined ? [] : memberNodes.filter((x) => x.node.rack === node.rack);
  const domainMates = node.domain === undefined ? [] : memberNodes.filter((x) => x.node.domain === node.domain);
  const usage = utilization(node);
  const load = usage ? Math.max(usage.cpu, usage.memory) : 1;
  const rackFree = rackMates.length === 0;
  const score = 1000 * (9 - Math.min(domainMates.length, 9)) + (rackFree ? 100 : 0) + Math.round(99 * (1 - Math.min(load, 1)));
  const rackText = rackFree
    ? `rack ${node.rack ?? '(unlabelled)'} hosts no member`
    : `rack ${node.rack} already hosts ${rackMates.map((x) => x.member).join(', ')}`;
  const domainText =
    domainMates.length === 0
      ? `domain ${node.domain ?? '(unlabelled)'} hosts no member`
      : `domain ${node.domain} hosts ${domainMates.map((x) => x.member).join(', ')}`;
  const loadText = usage ? `CPU ${percent(usage.cpu)}, memory ${percent(usage.memory)}` : 'usage unknown';
  const candidate: Candidate = {
    node: node.name,
    score,
    rackFree,
    membersInDomain: domainMates.length,
    utilization: load,
    reason: `${rackText}; ${domainText}; ${loadText}`,
  };
  if (node.rack !== undefined) candidate.rack = node.rack;
  if (node.domain !== undefined) candidate.domain = node.domain;
  return candidate;
}

/**
 * Order: fewest members in the failure domain first (a domain is the larger blast radius), then a free rack,
 * then the lowest utilization, then the name.
 */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.membersInDomain !== b.membersInDomain) return a.membersInDomain - b.membersInDomain;
  if (a.rackFree !== b.rackFree) return a.rackFree ? -1 : 1;
  if (a.utilization !== b.utilization) return a.utilization - b.utilization;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/**
 * Choose a node for a new member: only healthy, schedulable nodes that host no member qualify; among them a domain
 * and rack free of other members win, then the least loaded node, then the name, so the choice is deterministic.
 */
export function choosePlacement(request: PlacementRequest): PlacementResult {
  const candidates: Candidate[] = [];
  const refused: Refusal[] = [];
  const ordered = [...request.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const node of ordered) {
    const reasons = refusalReasons(node, request);
    if (reasons.length > 0) refused.push({ node: node.name, reasons });
    else candidates.push(rankCandidate(node, request));
  }
  candidates.sort(compareCandidates);
  const chosen = candidates[0];
  if (!chosen) {
    const why = refused.map((r) => `${r.node}: ${r.reasons.join('; ')}`).join(' | ');
    return {
      candidates,
      refused,
      summary: request.nodes.length === 0 ? 'no feasible node: the cluster has no nodes' : `no feasible node: ${why}`,
    };
  }
  return { chosen, candidates, refused, summary: `chose ${chosen.node}: ${chosen.reason}` };
}

/**
 * The placement restricted to the node an operator named: that node when it is a candidate, otherwise a refusal
 * that says why it cannot host the member now (the operator asked for this node, so no other is chosen silently).
 */
export function placeOn(result: PlacementResult, node: string): PlacementResult {
  const candidate = result.candidates.find((c) => c.node === node);
  if (candidate) return { ...result, chosen: candidate, summary: `chose ${node}, the node asked for: ${candidate.reason}` };
  const refusal = result.refused.find((r) => r.node === node);
  const { chosen: _ignored, ...rest } = result;
  return {
    ...rest,
    summary: refusal
      ? `the node asked for, ${node}, cannot host a member now: ${refusal.reasons.join('; ')}`
      : `the node asked for, ${node}, is not a node of the cluster`,
  };
}

/** The member leaving, for placement: its node is excluded and it no longer counts as occupying a rack. */
export interface LeavingMember {
  memberId?: string;
  name: string;
  nodeName?: string;
}

/**
 * The placement question for a successor of `leaving`: every other member stays, the leaving member's node and
 * any node holding a pod no member owns are excluded, plus the given exclusions.
 */
export function placementRequestFor(
  observation: ClusterObservation,
  leaving: LeavingMember,
  policy: Policy,
  excludedNodes: Readonly<Record<string, string>> = {},
): PlacementRequest {
  const excluded = new Map<string, string>(Object.entries(excludedNodes));
  if (leaving.nodeName) excluded.set(leaving.nodeName, `hosts ${leaving.name}, the member being moved`);
  // A pod of the cluster that no member owns (terminating, or left by a failed attempt) still holds its node.
  const memberPods = new Set(observation.members.map((m) => m.podName));
  for (const pod of observation.pods) {
    if (pod.nodeName && !memberPods.has(pod.name) && pod.name !== leaving.name && !excluded.has(pod.nodeName)) {
      excluded.set(pod.nodeName, `holds pod ${pod.name} of this cluster`);
    }
  }
  return {
    nodes: observation.nodes,
    remainingMembers: observation.members
      .filter((m) => m.id !== leaving.memberId)
      .map((m) => ({ name: m.name || m.id, ...(m.nodeName ? { nodeName: m.nodeName } : {}) })),
    excludedNodes: excluded,
    tolerations: policy.tolerations,
    thresholds: policy.thresholds,
    ...(policy.placement ? { placement: policy.placement } : {}),
  };
}

/**
 * Where a quorum-loss recovery restores a backup: any healthy node the policy allows that holds no pod of the lost
 * membership (whose processes may still hold the ports, or whose node may come back), with no member to spread from:
 * the new member is the cluster's first.
 */
export function restorePlacementRequest(observation: ClusterObservation, policy: Policy): PlacementRequest {
  const excluded = new Map<string, string>();
  for (const pod of observation.pods) if (pod.nodeName && !excluded.has(pod.nodeName)) excluded.set(pod.nodeName, `holds pod ${pod.name} of the lost membership`);
  return {
    nodes: observation.nodes,
    remainingMembers: [],
    excludedNodes: excluded,
    tolerations: policy.tolerations,
    thresholds: policy.thresholds,
    ...(policy.placement ? { placement: policy.placement } : {}),
  };
}
