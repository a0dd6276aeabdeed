/** Small builders for domain test state: a healthy default, with only what a test cares about overridden. */
import type {
  ClusterObservation,
  MemberObservation,
  NodeCondition,
  NodeObservation,
  PodObservation,
  RaftStatus,
} from '../src/domain/observation';
import type { BackupMeta } from '../src/domain/backups';
import { DEFAULT_POLICY, type Policy, type Thresholds } from '../src/domain/policy';

const GiB = 1024 ** 3;

/** A Raft status of a reachable member that follows leader `1`. */
export function aStatus(overrides: Partial<RaftStatus> = {}): RaftStatus {
  return {
    reachable: true,
    leaderId: '1',
    raftTerm: 2,
    raftIndex: 1000,
    raftAppliedIndex: 1000,
    dbSizeBytes: 20 * 1024 * 1024,
    alarms: [],
    hasLeader: true,
    leaderChangesSeen: 1,
    proposalsFailed: 0,
    proposalsPending: 0,
    walFsyncP99Seconds: 0.008,
    peerRoundTripP99Seconds: 0.004,
    ...overrides,
  };
}

/** An unreachable member's status. */
export function aDeadStatus(error = 'context deadline exceeded'): RaftStatus {
  return { reachable: false, error, alarms: [] };
}

/** A voter named `etcd-<ordinal>` with id `<ordinal+1>` on node `node-<ordinal>`. */
export function aMember(ordinal: number, overrides: Partial<MemberObservation> = {}): MemberObservation {
  const node = `node-${ordinal}`;
  return {
    id: String(ordinal + 1),
    name: `etcd-${ordinal}`,
    peerURLs: [`http://127.0.1.${ordinal + 1}:2380`],
    clientURLs: [`http://127.0.1.${ordinal + 1}:2379`],
    isLearner: false,
    podName: `etcd-${ordinal}`,
    nodeName: node,
    status: aStatus(),
    ...overrides,
  };
}

/** Conditions of a healthy node. */
export function healthyConditions(): NodeCondition[] {
  return [
    { type: 'Ready', status: 'True', reason: 'KubeletReady' },
    { type: 'MemoryPressure', status: 'False' },
    { type: 'DiskPressure', status: 'False' },
    { type: 'PIDPressure', status: 'False' },
  ];
}

/**
 * A Ready node `node-<ordinal>` with 4 CPUs and 16 GiB, 20% used, in rack `r<ordinal % racks>`. Racks sit inside
 * domains, as in a data centre: with 3 racks and 2 domains, r0 and r1 are in z0 and r2 in z1.
 */
export function aNode(ordinal: number, overrides: Partial<NodeObservation> = {}, racks = 3, domains = 2): NodeObservation {
  const rackIndex = ordinal % racks;
  const rack = `r${rackIndex}`;
  const domain = `z${Math.floor((rackIndex * domains) / racks)}`;
  return {
    name: `node-${ordinal}`,
    labels: { 'kubernetes.io/hostname': `node-${ordinal}`, 'topology.kubernetes.io/zone': domain, 'topology.kubernetes.io/rack': rack },
    rack,
    domain,
    internalIP: `127.0.1.${ordinal + 1}`,
    conditions: healthyConditions(),
    unschedulable: false,
    taints: [],
    allocatable: { cpuMillis: 4000, memoryBytes: 16 * GiB },
    usage: { cpuMillis: 800, memoryBytes: 3.2 * GiB },
    ...overrides,
  };
}

/** A node that stopped heartbeating, as the node lifecycle controller marks it. */
export function aDownNode(ordinal: number, overrides: Partial<NodeObservation> = {}): NodeObservation {
  return aNode(ordinal, {
    conditions: [
      { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' },
      { type: 'MemoryPressure', status: 'Unknown', reason: 'NodeStatusUnknown' },
    ],
    taints: [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
    ],
    ...overrides,
  });
}

/** A node with its usage set to the given fractions of allocatable. */
export function aPressuredNode(ordinal: number, cpu: number, memory: number): NodeObservation {
  const node = aNode(ordinal);
  return { ...node, usage: { cpuMillis: cpu * node.allocatable.cpuMillis, memoryBytes: memory * node.allocatable.memoryBytes } };
}

/** A running, ready pod for member `etcd-<ordinal>`. */
export function aPod(ordinal: number, overrides: Partial<PodObservation> = {}): PodObservation {
  return { name: `etcd-${ordinal}`, nodeName: `node-${ordinal}`, phase: 'Running', ready: true, restartCount: 0, terminating: false, ...overrides };
}

/**
 * A healthy cluster of `members` voters on nodes 0..members-1, with `nodes` nodes in all (default 6, over three
 * racks and two domains), member 0 leading.
 */
export function aCluster(members = 3, nodes = 6): ClusterObservation {
  return {
    cluster: 'main',
    observedAt: '2026-11-24T12:00:00.000Z',
    members: Array.from({ length: members }, (_, i) => aMember(i)),
    nodes: Array.from({ length: nodes }, (_, i) => aNode(i, {}, Math.max(3, members), 2)),
    pods: Array.from({ length: members }, (_, i) => aPod(i)),
    missingSignals: [],
  };
}

/** Replace member `ordinal`'s fields in a cluster. */
export function withMember(obs: ClusterObservation, ordinal: number, overrides: Partial<MemberObservation>): ClusterObservation {
  return { ...obs, members: obs.members.map((m) => (m.name === `etcd-${ordinal}` ? { ...m, ...overrides } : m)) };
}

/** Replace a node in a cluster. */
export function withNode(obs: ClusterObservation, node: NodeObservation): ClusterObservation {
  return { ...obs, nodes: obs.nodes.map((n) => (n.name === node.name ? node : n)) };
}

/** Replace pod `etcd-<ordinal>`'s fields in a cluster. */
export function withPod(obs: ClusterObservation, ordinal: number, overrides: Partial<PodObservation>): ClusterObservation {
  return { ...obs, pods: obs.pods.map((p) => (p.name === `etcd-${ordinal}` ? { ...p, ...overrides } : p)) };
}

/** The default policy with overrides, thresholds merged. */
export function aPolicy(overrides: Partial<Omit<Policy, 'thresholds'>> & { thresholds?: Partial<Thresholds> } = {}): Policy {
  return { ...DEFAULT_POLICY, ...overrides, thresholds: { ...DEFAULT_POLICY.thresholds, ...overrides.thresholds } };
}

/** A backup record taken at `takenAt`: verified by a drill, failed in one, or never drilled. */
export function aBackup(name: string, takenAt: Date, options: { revision?: number; bytes?: number; verdict?: 'verified' | 'failed' | 'none' } = {}): BackupMeta {
  const revision = options.revision ?? 10;
  const at = new Date(takenAt.getTime() + 60_000).toISOString();
  return {
    name,
    cluster: 'main',
    member: 'etcd-2',
    endpoint: 'http://127.0.0.1:2379',
    etcdVersion: '3.6.16',
    reason: 'scheduled',
    takenAt: takenAt.toISOString(),
    bytes: options.bytes ?? 100,
    sha256: 'abc',
    revision,
    keys: 3,
    hashKv: '42',
    compactRevision: 0,
    ...(options.verdict === 'verified' ? { verified: { revision, keys: 3, hashKv: '42', compactRevision: 0, at, tookMs: 900 } } : {}),
    ...(options.verdict === 'failed' ? { drillFailed: { at, reason: 'sha256 differs' } } : {}),
  };
}
