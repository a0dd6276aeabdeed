import type { Workload } from './workload';

/**
 * What the guardian observed of one etcd cluster at one moment: its members with their Raft status,
 * the Kubernetes nodes and pods under them. Plain JSON, so that it can travel through workflow history.
 */

/** Status of one condition on a Kubernetes node, as the API reports it. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A condition of a Kubernetes node (Ready, MemoryPressure, DiskPressure, PIDPressure, ...). */
export interface NodeCondition {
  type: string;
  status: ConditionStatus;
  reason?: string;
}

/** A taint on a node; only NoSchedule and NoExecute keep a new member off it. */
export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** A toleration of the etcd pods, matched against node taints the way the scheduler does. */
export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: Taint['effect'];
}

/** CPU in millicores and memory in bytes. */
export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
}

/** A Kubernetes node as the guardian sees it. */
export interface NodeObservation {
  name: string;
  labels: Record<string, string>;
  /** Value of the configured rack label, if the node has one. */
  rack?: string;
  /** Value of the configured failure-domain label (usually topology.kubernetes.io/zone). */
  domain?: string;
  internalIP?: string;
  conditions: NodeCondition[];
  /** spec.unschedulable: the node is cordoned. */
  unschedulable: boolean;
  taints: Taint[];
  allocatable: Resources;
  /** From metrics.k8s.io; absent when the metrics API did not answer. */
  usage?: Resources;
}

/** A pod of the etcd cluster. */
export interface PodObservation {
  name: string;
  nodeName?: string;
  /** The pod's uid: a pod deleted and created again under its name is another pod. */
  uid?: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ready: boolean;
  restartCount: number;
  /** The pod carries a deletionTimestamp. */
  terminating: boolean;
  /** How the pod is deployed (bare, static, controller-owned); absent in observations recorded before it was read. */
  workload?: Workload;
  /** Why its container refused to start (a successor whose data directory was not empty), when it did. */
  startRefused?: string;
  /** What its container's last exit said of its data directory (wiped, corrupt), when it said so: src/domain/data-fault.ts. */
  dataFault?: string;
  /** Its container's last exit (the kubelet's exit code and reason: 137 is a SIGKILL, OOMKilled the memory limit), when it has exited. */
  lastExit?: { exitCode: number; reason?: string };
}

/** The Raft status of one member, merged from the maintenance API and the member's /metrics endpoint. */
export interface RaftStatus {
  /** The member answered its status request within the timeout. */
  reachable: boolean;
  /** Why it did not answer, when it did not. */
  error?: string;
  /** The leader this member believes in; absent or "0" when it knows none. */
  leaderId?: string;
  raftTerm?: number;
  raftIndex?: number;
  raftAppliedIndex?: number;
  dbSizeBytes?: number;
  /** Bytes of the database file holding live data (etcd 3.4+); the rest is free pages a defragmentation returns. */
  dbSizeInUseBytes?: number;
  /** The member's space quota (etcd_server_quota_backend_bytes: its --quota-backend-bytes, or etcd's default). */
  quotaBytes?: number;
  /** The etcd version the member's status reports (`3.6.16`). */
  version?: string;
  /** Active alarms raised by this member (NOSPACE, CORRUPT). */
  alarms: string[];
  /** etcd_server_has_leader. */
  hasLeader?: boolean;
  /** etcd_server_leader_changes_seen_total, a counter since the member started. */
  leaderChangesSeen?: number;
  /** etcd_server_proposals_failed_total, a counter. */
  proposalsFailed?: number;
  /** etcd_server_proposals_pending, a gauge. */
  proposalsPending?: number;
  /** p99 of etcd_disk_wal_fsync_duration_seconds, estimated from the histogram buckets. */
  walFsyncP99Seconds?: number;
  /** p99 of etcd_network_peer_round_trip_time_seconds. */
  peerRoundTripP99Seconds?: number;
}

/** One etcd member as listed by the cluster, joined with its pod and node. */
export interface MemberObservation {
  /** The member id in hex, as etcdctl prints it. */
  id: string;
  /** The member name; empty for a member that was added but has not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  podName?: string;
  nodeName?: string;
  status: RaftStatus;
}

/** Everything known about one etcd cluster at one moment. */
export interface ClusterObservation {
  cluster: string;
  /** ISO-8601 time of the observation. */
  observedAt: string;
  members: MemberObservation[];
  nodes: NodeObservation[];
  pods: PodObservation[];
  /** Signals that could not be read this time (for example "node-usage" when metrics.k8s.io is absent). */
  missingSignals: string[];
  /**
   * Why the member list could not be read, when it could not: the members are stand-ins for the pods, and no
   * member may be taken as absent. A change to the cluster must wait for a list that succeeds.
   */
  membershipUnknown?: string;
}
