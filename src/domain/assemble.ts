import { podOfMember, type Addressing } from './membership';
import type { ClusterObservation, MemberObservation, NodeObservation, PodObservation, RaftStatus } from './observation';
import { isMemberHealthy, knownLeader } from './quorum';
import { describeWorkload, workloadOf, type Workload } from './workload';

/** What etcd said about one member, before it is joined with Kubernetes. */
export interface RaftMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  status: RaftStatus;
}

/** The etcd side of one observation (output of fetchRaftMetrics). */
export interface RaftSnapshot {
  observedAt: string;
  members: RaftMember[];
  /** The endpoint whose member list was used, or why none answered. */
  source: string;
  missingSignals: string[];
  /**
   * Why the member list could not be read, when it could not. The members are then stand-ins for the pods (every one
   * unreachable, so that the assessment reports quorum lost): who is a member is unknown, and nothing may be
   * concluded from a member's absence.
   */
  membershipUnknown?: string;
}

/** A pod with its addresses, as the Kubernetes side reports it. */
export interface PodSnapshot extends PodObservation {
  hostIP?: string;
  podIP?: string;
}

/** The Kubernetes side of one observation (output of fetchNodeMetrics). */
export interface KubeSnapshot {
  observedAt: string;
  nodes: NodeObservation[];
  pods: PodSnapshot[];
  missingSignals: string[];
}

/** Join the etcd and Kubernetes sides: each member gets its pod and node. */
export function assembleObservation(cluster: string, raft: RaftSnapshot, kube: KubeSnapshot, addressing: Addressing): ClusterObservation {
  const members: MemberObservation[] = raft.members.map((m) => {
    const pod = podOfMember(m, kube.pods, addressing);
    const member: MemberObservation = { ...m };
    if (pod) member.podName = pod.name;
    if (pod?.nodeName) member.nodeName = pod.nodeName;
    return member;
  });
  const pods: PodObservation[] = kube.pods.map((p) => {
    const pod: PodObservation = { name: p.name, phase: p.phase, ready: p.ready, restartCount: p.restartCount, terminating: p.terminating };
    if (p.nodeName) pod.nodeName = p.nodeName;
    if (p.uid) pod.uid = p.uid;
    if (p.workload) pod.workload = p.workload;
    if (p.startRefused !== undefined) pod.startRefused = p.startRefused;
    if (p.dataFault !== undefined) pod.dataFault = p.dataFault;
    if (p.lastExit !== undefined) pod.lastExit = p.lastExit;
    return pod;
  });
  return {
    cluster,
    observedAt: raft.observedAt > kube.observedAt ? raft.observedAt : kube.observedAt,
    members,
    nodes: kube.nodes,
    pods,
    missingSignals: [...new Set([...raft.missingSignals, ...kube.missingSignals])].sort(),
    ...(raft.membershipUnknown !== undefined ? { membershipUnknown: raft.membershipUnknown } : {}),
  };
}

/** One member in a status table: where it runs and whether it is well. */
export interface MemberSummary {
  id: string;
  name: string;
  node?: string;
  rack?: string;
  domain?: string;
  healthy: boolean;
  isLearner: boolean;
  isLeader: boolean;
  /** How its pod is deployed, when it is not a bare pod the guardian may replace. */
  workload?: string;
  /** The etcd version it last reported (absent while it does not answer). */
  version?: string;
}

/** The members of an observation, in name order, for status displays. */
export function memberSummaries(obs: ClusterObservation): MemberSummary[] {
  const leader = knownLeader(obs.members);
  const nodes = new Map(obs.nodes.map((n) => [n.name, n]));
  return obs.members
    .map((m) => {
      const node = m.nodeName ? nodes.get(m.nodeName) : undefined;
      const summary: MemberSummary = { id: m.id, name: m.name || m.id, healthy: isMemberHealthy(m), isLearner: m.isLearner, isLeader: leader?.id === m.id };
      if (m.nodeName) summary.node = m.nodeName;
      if (node?.rack !== undefined) summary.rack = node.rack;
      if (node?.domain !== undefined) summary.domain = node.domain;
      const pod = m.podName ? obs.pods.find((p) => p.name === m.podName) : undefined;
      const workload: Workload = workloadOf(pod);
      if (workload.kind !== 'movable') summary.workload = describeWorkload(workload);
      if (m.status.version !== undefined) summary.version = m.status.version;
      return summary;
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
