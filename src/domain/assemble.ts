import { podOfMember, type Addressing } from './membership';
import type { ClusterObservation, MemberObservation, NodeObservation, PodObservation, RaftStatus } from './observation';

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
    return pod;
  });
  return {
    cluster,
    observedAt: raft.observedAt > kube.observedAt ? raft.observedAt : kube.observedAt,
    members,
    nodes: kube.nodes,
    pods,
    missingSignals: [...new Set([...raft.missingSignals, ...kube.missingSignals])].sort(),
  };
}
