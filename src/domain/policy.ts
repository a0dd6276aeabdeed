import { DEFAULT_MAINTENANCE_POLICY, type MaintenancePolicy } from './maintenance-window';
import type { Toleration } from './observation';
import { DEFAULT_SPACE_POLICY, type SpacePolicy } from './space';
import type { WorkloadConfig } from './workload';

/**
 * The knobs an operator sets per etcd cluster. Validated and defaulted by src/config; the domain only reads them.
 */

/** Which way a member is moved: `replace` removes first (dead member), `surge` adds first (live member). */
export type Strategy = 'replace' | 'surge';

/** The operator's preference; `auto` picks `replace` for an unreachable member and `surge` otherwise. */
export type StrategyPreference = 'auto' | Strategy;

/** Levels past which a signal fires. Fractions are of allocatable; times are in seconds. */
export interface Thresholds {
  /** Node CPU usage / allocatable at or above which the node counts as CPU-starved. */
  nodeCpu: number;
  /** Node memory usage / allocatable at or above which the node counts as memory-starved. */
  nodeMemory: number;
  /** Raft index entries a member may trail the most advanced member by. */
  raftIndexLag: number;
  /** Leader changes within the sample window that count as churn. */
  leaderChanges: number;
  /** Failed proposals within the sample window that count as trouble. */
  failedProposals: number;
  /** WAL fsync p99 in seconds above which the member's disk counts as slow. */
  walFsyncP99Seconds: number;
  /** Peer round-trip p99 in seconds above which the member's network counts as slow. */
  peerRoundTripP99Seconds: number;
  /** Container restarts within the sample window that count as a crash loop. */
  podRestarts: number;
}

/** Where members may ever run (`clusters[].placement`); src/domain/placement-policy.ts applies it. */
export interface PlacementRules {
  /** Labels a node must carry, each with exactly this value. */
  nodeSelector?: Readonly<Record<string, string>>;
  /** When present, the only nodes a member may be placed on. */
  allowedNodes?: readonly string[];
}

/** The policy the risk assessment and the planner follow for one cluster. */
export interface Policy {
  thresholds: Thresholds;
  /** Consecutive samples a signal must hold before it counts. */
  hysteresisSamples: number;
  /** Samples kept for windowed signals (leader churn, failed proposals, restarts). */
  windowSamples: number;
  /** Quiet time after a migration ends before another may start, in milliseconds. */
  cooldownMs: number;
  /**
   * After a member's node comes back (Ready again), how long its member may be down, lagging or restarting before
   * that counts (it is starting up and catching up), in milliseconds; absent: DEFAULT_STARTUP_GRACE_MS.
   */
  startupGraceMs?: number;
  strategy: StrategyPreference;
  /** Plan and record, never act. */
  dryRun: boolean;
  /** Prefix of member and pod names; a new member gets the next free ordinal (`etcd-3`). */
  memberNamePrefix: string;
  /** Tolerations of the etcd pods, used to decide whether a tainted node may host a member. */
  tolerations: Toleration[];
  /** Voting members the cluster should have; fewer or more is a finding. Learners do not count. */
  desiredVoters: number;
  /** Node selector and allow-list for new members; absent: any node the health and taint checks accept. */
  placement?: PlacementRules;
  /**
   * How members address each other. Behind a headless Service a replace reuses the removed member's name (see
   * successorName); absent means host-network.
   */
  addressingMode?: 'host-network' | 'headless-service';
  /** How the members are deployed (`clusters[].workload`); absent means bare pods. */
  workload?: WorkloadConfig;
  /** Space thresholds (`clusters[].space`); absent: DEFAULT_SPACE_POLICY. */
  space?: SpacePolicy;
  /** When the monitor may start maintenance (`clusters[].maintenance`); absent: DEFAULT_MAINTENANCE_POLICY. */
  maintenance?: MaintenancePolicy;
}

/** Defaults an SRE would start from; every value can be overridden in the config file. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  nodeCpu: 0.9,
  nodeMemory: 0.9,
  raftIndexLag: 1000,
  leaderChanges: 3,
  failedProposals: 5,
  // etcd's own guidance: p99 WAL fsync should stay under 10 ms; it logs "slow fdatasync" past 1 s.
  walFsyncP99Seconds: 0.5,
  peerRoundTripP99Seconds: 0.5,
  // Two restarts within the window is a crash loop (one is an event: an OOM kill, a node that came back); the
  // finding confirms itself, so the second restart is seen at the next cycle.
  podRestarts: 2,
};

/** The start-up grace when the config says nothing: long enough for etcd to start and catch up from its WAL. */
export const DEFAULT_STARTUP_GRACE_MS = 30_000;

/** A complete default policy. */
export const DEFAULT_POLICY: Policy = {
  thresholds: DEFAULT_THRESHOLDS,
  hysteresisSamples: 3,
  windowSamples: 10,
  cooldownMs: 10 * 60 * 1000,
  startupGraceMs: DEFAULT_STARTUP_GRACE_MS,
  strategy: 'auto',
  dryRun: false,
  memberNamePrefix: 'etcd',
  tolerations: [],
  // The size kubeadm's stacked control plane and most production clusters run: tolerates one failure.
  desiredVoters: 3,
  addressingMode: 'host-network',
  space: DEFAULT_SPACE_POLICY,
  maintenance: DEFAULT_MAINTENANCE_POLICY,
};

/** The most voters a config may ask for: etcd advises at most 7, since every write waits for a quorum of them. */
export const MAX_DESIRED_VOTERS = 7;
