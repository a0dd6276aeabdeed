/**
 * The guardian config for a local sandbox: its Temporal server, its kubeconfig, its etcd cluster. Pure: the
 * sandbox passes what it knows, and gets the raw document that `parseConfig` validates and `sandbox up` writes.
 */

/** What the guardian needs to know of a sandbox. */
export interface SandboxFacts {
  temporalAddress: string;
  namespace: string;
  kubeconfig: string;
  etcdNamespace: string;
  etcdCluster: string;
  selector: string;
  rackLabel: string;
  domainLabel: string;
  backupDirectory: string;
  /** The sandbox's object store: backups go to its bucket instead of the directory. */
  objectStore?: { endpoint: string; bucket: string; region: string; credentialsFile: string };
  /** The members' etcd binaries, which the restore drill runs. */
  etcdBinDirectory?: string;
  /** Members the sandbox started: the voters the guardian should keep. Absent: the config's default. */
  desiredVoters?: number;
  tls?: { caFile: string; certFile: string; keyFile: string };
  /** The members are a StatefulSet's (`sandbox up --etcd-workload statefulset`): its name and claim template. */
  statefulSet?: { name: string; claimTemplate: string };
}

/** Per-cluster settings a test or the demo may tune. */
export interface SandboxClusterTuning {
  interval?: string;
  endpointTimeout?: string;
  cooldown?: string;
  hysteresisSamples?: number;
  dryRun?: boolean;
  continueAsNewEvery?: number;
  strategy?: 'auto' | 'replace' | 'surge';
  /** The cluster's `space` section, as written in a config file (thresholds of the space findings). */
  space?: Record<string, unknown>;
  /** The cluster's `maintenance` section, as written in a config file (auto, windows, pauseBetweenMembers). */
  maintenance?: Record<string, unknown>;
  /** The cluster's `recovery` section, as written in a config file (autoApprove, approvalTimeout). */
  recovery?: Record<string, unknown>;
  /** Scheduled backups this often (`backup.schedule.every`), and their retention; absent: none scheduled. */
  backupEvery?: string;
  backupRetain?: Record<string, unknown>;
}

/** A raw config document (before validation) for the sandbox, with snappy intervals suited to a demo. */
export function sandboxConfigDocument(facts: SandboxFacts, tuning: SandboxClusterTuning = {}): Record<string, unknown> {
  return {
    temporal: { address: facts.temporalAddress, namespace: facts.namespace, taskQueue: 'etcd-guardian' },
    kubernetes: { kubeconfig: facts.kubeconfig },
    worker: { metricsPort: 0, shutdownGraceTime: '10s' },
    clusters: [
      {
        name: facts.etcdCluster,
        namespace: facts.etcdNamespace,
        podSelector: facts.selector,
        memberNamePrefix: 'etcd',
        addressing: { mode: 'host-network' },
        ...(facts.tls ? { tls: facts.tls } : {}),
        ...(facts.statefulSet ? { workload: { kind: 'StatefulSet', name: facts.statefulSet.name, volumeClaimTemplate: facts.statefulSet.claimTemplate } } : {}),
        ...(facts.desiredVoters !== undefined ? { desiredVoters: facts.desiredVoters } : {}),
        topology: { rackLabel: facts.rackLabel, domainLabel: facts.domainLabel },
        hysteresis: { samples: tuning.hysteresisSamples ?? 3 },
        interval: tuning.interval ?? '2s',
        endpointTimeout: tuning.endpointTimeout ?? '1s',
        cooldown: tuning.cooldown ?? '1m',
        strategy: tuning.strategy ?? 'auto',
        dryRun: tuning.dryRun ?? false,
        backup: {
          required: true,
          directory: facts.backupDirectory,
          ...(facts.objectStore
            ? { s3: { endpoint: facts.objectStore.endpoint, bucket: facts.objectStore.bucket, region: facts.objectStore.region, credentialsFile: facts.objectStore.credentialsFile } }
            : {}),
          ...(tuning.backupEvery !== undefined ? { schedule: { every: tuning.backupEvery } } : {}),
          ...(tuning.backupRetain !== undefined ? { retain: tuning.backupRetain } : {}),
          ...(facts.etcdBinDirectory !== undefined ? { drill: { etcdBinDirectory: facts.etcdBinDirectory } } : {}),
        },
        monitor: { continueAsNewEvery: tuning.continueAsNewEvery ?? 100 },
        ...(tuning.space ? { space: tuning.space } : {}),
        ...(tuning.maintenance ? { maintenance: tuning.maintenance } : {}),
        ...(tuning.recovery ? { recovery: tuning.recovery } : {}),
      },
    ],
  };
}
