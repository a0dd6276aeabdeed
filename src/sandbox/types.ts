import { type FaultKind } from './faults';
import { type UsageFractions } from './nodes/usage';
import { type NodeLayout } from './topology';

/** Where everything of a running sandbox is: written to <state>/sandbox.json and printed by `sandbox up`. */
export interface SandboxInfo {
  stateDir: string;
  slot: number;
  /** The process that owns the sandbox (the test runner, or the CLI's background process). */
  pid: number;
  startedAt: string;
  /** Admin kubeconfig (token of a system:masters user). */
  kubeconfig: string;
  apiServerUrl: string;
  /** Absent when the sandbox was started with `temporal: false`. */
  temporal?: { address: string; namespace: string; uiUrl: string };
  /** The S3-compatible object store and the bucket for backups; absent when the sandbox runs none. */
  objectStore?: { endpoint: string; bucket: string; region: string; credentialsFile: string };
  controlPlaneEtcdUrl: string;
  /** The metrics.k8s.io backend (reached through the apiserver, not directly). */
  metricsApiUrl: string;
  /** The control endpoint `sandbox fault/heal/status` talk to (only when run by the CLI). */
  controlUrl?: string;
  logsDir: string;
  nodeGracePeriodSeconds: number;
  nodes: NodeLayout[];
  etcd: {
    namespace: string;
    cluster: string;
    /** Label selector of the member pods. */
    selector: string;
    /** The etcd version the member pods run (`3.6.16`); absent in the state file of a sandbox started before it was recorded. */
    version?: string;
    /** The directory of the members' etcd binaries (etcd, etcdctl, and etcdutl from 3.5): the restore drill's. */
    binDirectory?: string;
    clientUrls: string[];
    /**
     * The cluster's stable client URL: a Service selecting the member pods, as clients should be configured (README
     * "Clients keep finding the cluster"). Absent in the state files of sandboxes started before it existed.
     */
    serviceUrl?: string;
    /** How the members run: `pods` (bare pods the sandbox made) or `statefulset`; absent in older state files (pods). */
    workload?: 'pods' | 'statefulset';
    /** With the `statefulset` workload: the StatefulSet, its headless Service, claim template and StorageClass. */
    statefulSet?: { name: string; serviceName: string; claimTemplate: string; storageClassName: string };
    /** `volume`: the member's local PersistentVolume, with the `statefulset` workload. */
    members: Array<{ name: string; pod: string; node: string; clientUrl: string; peerUrl: string; volume?: string }>;
    /**
     * Present when the members serve TLS: the etcd CA and the guardian's client certificate and key, as paths (the
     * guardian config's `tls` section). The files stay in the state directory; their content is never handed out.
     */
    tls?: { caFile: string; certFile: string; keyFile: string };
  };
  /** Extra token users and their kubeconfigs. */
  users: Array<{ name: string; kubeconfig: string }>;
}

/** One node as `sandbox status` shows it. */
export interface NodeStatusReport {
  name: string;
  address: string;
  rack: string;
  domain: string;
  /** Condition type → status, e.g. { Ready: 'True', MemoryPressure: 'False' }. */
  conditions: Record<string, string>;
  /** "key:Effect" of every taint. */
  taints: string[];
  /** Usage the metrics API reports, as fractions of allocatable; absent while the node is down. */
  usage?: UsageFractions;
  faults: string[];
}

/** One etcd member as `sandbox status` shows it. */
export interface MemberStatusReport {
  name: string;
  pod: string;
  node: string;
  rack: string;
  domain: string;
  phase: string;
  ready: boolean;
  restartCount: number;
  terminating: boolean;
  clientUrl: string;
  /** GET /readyz (etcd 3.5.11+) answered 200, or /health {"health":"true"} (older), within a second. */
  healthy: boolean;
  faults: string[];
}

/** The whole sandbox, as read from the real APIs at one moment. */
export interface SandboxStatus {
  stateDir: string;
  observedAt: string;
  /** The etcd version the sandbox started its members with. */
  etcdVersion?: string;
  /** How the members run: `pods` or `statefulset`. */
  etcdWorkload?: 'pods' | 'statefulset';
  nodes: NodeStatusReport[];
  members: MemberStatusReport[];
  /** Faults in force, by target. */
  faults: Record<string, string[]>;
}

/** A fault request, as the control endpoint receives it. */
export interface FaultRequest {
  kind: FaultKind;
  target: string;
  cpu?: number;
  memory?: number;
}
