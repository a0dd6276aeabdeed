import { approvalRequirement, type ApprovalRequirement, type PlanForApproval } from '../src/domain/approval';
import type { Freeze } from '../src/domain/fleet';
import type { FleetSettings } from './fleet';
import type { BackupStore, S3Settings } from '../src/backup/store';
import type { Addressing } from '../src/domain/membership';
import type { Policy } from '../src/domain/policy';
import type { EtcdPort } from '../src/etcd/port';
import type { KubePort } from '../src/kube/port';
import type { TopologyLabels } from '../src/kube/convert';
import type { MetricsReading } from '../src/domain/metrics-freshness';
import type { EtcdMetricFigures, HistogramMemory } from '../src/metrics/etcd-metrics';

/** Everything the activities need to act on one etcd cluster, built once by the worker from the config. */
export interface ClusterRuntime {
  name: string;
  namespace: string;
  podSelector: string;
  addressing: Addressing;
  clientPort: number;
  peerPort: number;
  scheme: 'http' | 'https';
  topology: TopologyLabels;
  policy: Policy;
  /** Endpoints to try first, before the ones derived from the pods. */
  seedEndpoints: string[];
  etcd: EtcdPort;
  kube: KubePort;
  /** Histogram snapshots per member id, so that p99 figures are recent rather than lifetime. */
  histograms: Map<string, HistogramMemory>;
  /**
   * Where snapshots go before a migration, and whether a migration may start without one; with `s3`, every backup
   * goes to that bucket; `schedule`, `retain` and `drill` as in the config (durations in milliseconds).
   */
  backup: BackupSettings;
  /** The store backups go to; absent, the worker makes one from `backup` (tests inject theirs). */
  backupStore?: BackupStore;
  /** Recovery from lost quorum: whether it waits for approval, and how long (ms). Absent: wait, one hour. */
  recovery?: { autoApprove: boolean; approvalTimeout: number; startAfter?: number };
  /** Which plans wait for a person (the config's `approval`, timeout in ms). Absent: none. */
  approval?: { critical: boolean; faultToleranceZero: boolean; manualTarget: boolean; timeout: number };
  /**
   * Where the last observation read the member list and the members' client URLs: the next observation asks them for
   * the list, the alarms and the metrics at once, beside the pod listing, instead of after it.
   */
  lastMembership?: { endpoint: string; clientURLs: string[]; members?: { id: string; clientURL: string }[] };
  /** Each member's last /metrics figures and what its status said when they were read (see metricsReadReason). */
  metricsFigures: Map<string, { reading: MetricsReading; figures: EtcdMetricFigures }>;
  /** How old those figures may grow before they are read again, while no finding is building up; 0 reads every cycle. */
  metricsMaxAgeMs?: number;
  /** When this worker first saw the cluster's quorum-lost finding confirmed, in the current run of it. */
  quorumLostSince?: number;
  /** The pod label that carries the member's name, rewritten on a successor's pod. */
  memberLabel: string;
  /** The deadline of one call to one endpoint: the steps' timeouts grow with it. */
  endpointTimeoutMs?: number;
}

/** A cluster's `backup` section as the activities read it. */
export interface BackupSettings {
  required: boolean;
  directory: string;
  s3?: S3Settings | undefined;
  schedule?: { every: number } | undefined;
  retain?: { count: number; maxAge: number; totalSize?: number | undefined } | undefined;
  drill?: { etcdBinDirectory: string; timeout: number } | undefined;
}

/** What activities are built from. */
export interface ActivityDeps {
  clusters: ReadonlyMap<string, ClusterRuntime>;
  /** The clock, injectable so that tests can pin it. */
  now: () => Date;
  /**
   * Waiting and heartbeating inside an activity. The worker uses Temporal's (cancellable sleep, real heartbeats);
   * the simulation passes a virtual clock so that a migration runs in milliseconds.
   */
  effects?: ActivityEffects;
  /** The fleet's budget and how long an operation waits for its lease; absent: no limits, an hour. */
  fleet?: FleetSettings;
  /** The freeze over a cluster, as the coordinator of the task queue says (cached); absent: nothing is frozen. */
  freezeOf?: (taskQueue: string, cluster: string) => Promise<Freeze | undefined>;
}

/** How an activity waits and shows it is alive. */
export interface ActivityEffects {
  sleep(ms: number): Promise<void>;
  heartbeat(detail?: unknown): void;
}

/** A cluster the worker does not know: a configuration mismatch between the schedule and the worker. */
export class UnknownClusterError extends Error {
  readonly code = 'UNKNOWN_CLUSTER';
  readonly retryable = false;
  constructor(
    readonly cluster: string,
    known: readonly string[],
  ) {
    super(`cluster "${cluster}" is not configured on this worker; configured clusters: ${known.join(', ') || 'none'}`);
    this.name = 'UnknownClusterError';
  }
}

/** The runtime of a cluster, or a non-retryable error naming the known ones. */
export function runtimeOf(deps: ActivityDeps, cluster: string): ClusterRuntime {
  const runtime = deps.clusters.get(cluster);
  if (!runtime) throw new UnknownClusterError(cluster, [...deps.clusters.keys()]);
  return runtime;
}

/** Why a plan on this cluster waits for a person (its `approval` rules), or nothing to add when no rule holds it. */
export function approvalOf(runtime: ClusterRuntime, plan: Omit<PlanForApproval, 'cluster'>): { needsApproval?: ApprovalRequirement } {
  if (runtime.approval === undefined) return {};
  const { timeout, ...rules } = runtime.approval;
  const needsApproval = approvalRequirement({ ...rules, timeoutMs: timeout }, { ...plan, cluster: runtime.name });
  return needsApproval ? { needsApproval } : {};
}
