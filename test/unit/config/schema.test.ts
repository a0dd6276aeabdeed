import { ConfigError, formatIssue } from '../../../src/config/errors';
import { parseConfig } from '../../../src/config/load';
import { isLabelSelector, resolvedClusterConfigSchema, toPolicy, type ClusterConfig, type GuardianConfig } from '../../../src/config/schema';
import { DEFAULT_POLICY } from '../../../src/domain/policy';

type Raw = Record<string, unknown>;

/** The smallest valid cluster entry, with `overrides` on top. */
function aCluster(overrides: Raw = {}): Raw {
  return { name: 'main', podSelector: 'app=etcd', addressing: { mode: 'host-network' }, ...overrides };
}

/** A config document with one cluster unless told otherwise. */
function aConfig(overrides: Raw = {}): Raw {
  return { clusters: [aCluster()], ...overrides };
}

function parsed(raw: unknown): GuardianConfig {
  return parseConfig(raw, 'guardian.yaml');
}

function firstCluster(raw: unknown): ClusterConfig {
  const cluster = parsed(raw).clusters[0];
  if (cluster === undefined) throw new Error('the config has no cluster');
  return cluster;
}

/** The error `run` throws; fails the test when it throws nothing. */
function caught(run: () => unknown): Error {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected an error, but none was thrown');
}

/** Every line of the ConfigError that `raw` raises. */
function problems(raw: unknown): string[] {
  const error = caught(() => parsed(raw));
  if (error instanceof ConfigError) return error.issues.map(formatIssue);
  throw error;
}

const DEFAULT_CLUSTER: ClusterConfig = {
  name: 'main',
  namespace: 'default',
  podSelector: 'app=etcd',
  memberNamePrefix: 'etcd',
  addressing: { mode: 'host-network' },
  workload: { kind: 'pods' },
  ports: { client: 2379, peer: 2380, metrics: 2379 },
  topology: { rackLabel: 'topology.kubernetes.io/rack', domainLabel: 'topology.kubernetes.io/zone' },
  thresholds: {
    nodeCpu: 0.9,
    nodeMemory: 0.9,
    raftIndexLag: 1000,
    leaderChanges: 3,
    failedProposals: 5,
    walFsyncP99Seconds: 0.5,
    peerRoundTripP99Seconds: 0.5,
    podRestarts: 2,
  },
  hysteresis: { samples: 3, windowSamples: 10 },
  interval: 10_000,
  endpointTimeout: 2_000,
  metricsMaxAge: 5_000,
  cooldown: 600_000,
  startupGrace: 30_000,
  strategy: 'auto',
  dryRun: false,
  backup: { required: true, directory: '/var/lib/etcd-guardian/backups', drill: { etcdBinDirectory: '/usr/local/bin', timeout: 600_000 } },
  tolerations: [],
  desiredVoters: 3,
  monitor: { continueAsNewEvery: 100 },
  space: { fragmentedRatio: 0.55, fragmentedMinSize: 100 * 1024 * 1024, quotaWarning: 0.8, quotaCritical: 0.95, growthHorizon: 4 * 3_600_000 },
  maintenance: { auto: true, windows: [], pauseBetweenMembers: 5_000 },
  recovery: { autoApprove: false, approvalTimeout: 3_600_000, startAfter: 300_000 },
  approval: { critical: false, faultToleranceZero: false, manualTarget: false, timeout: 3_600_000 },
};

describe('guardian config defaults', () => {
  it('fills every section an operator left out with the defaults', () => {
    expect(parsed(aConfig())).toEqual({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'etcd-guardian' },
      kubernetes: {},
      worker: { logLevel: 'info', metricsPort: 9464, shutdownGraceTime: 30_000 },
      fleet: { budget: {}, leaseTimeout: 3_600_000 },
      clusters: [DEFAULT_CLUSTER],
    });
  });

  it('reads top-level sections left empty as absent', () => {
    expect(parsed(aConfig({ temporal: null, kubernetes: null, worker: null }))).toEqual(parsed(aConfig()));
  });

  it.each<[string, Raw, Partial<ClusterConfig>]>([
    ['a number of seconds is a duration', { interval: 30 }, { interval: 30_000 }],
    [
      'approval rules written are kept, the others stay off',
      { approval: { critical: true, timeout: '30m' } },
      { approval: { critical: true, faultToleranceZero: false, manualTarget: false, timeout: 1_800_000 } },
    ],
    ['a longer hysteresis widens the default window with it', { hysteresis: { samples: 12 } }, { hysteresis: { samples: 12, windowSamples: 12 } }],
    ['an explicit window is kept', { hysteresis: { samples: 2, windowSamples: 4 } }, { hysteresis: { samples: 2, windowSamples: 4 } }],
    ['a metrics port of its own is kept', { ports: { metrics: 2381 } }, { ports: { client: 2379, peer: 2380, metrics: 2381 } }],
    ['metrics follow a moved client port', { ports: { client: 12379, peer: 12380 } }, { ports: { client: 12379, peer: 12380, metrics: 12379 } }],
    [
      'a headless service gets the default cluster domain',
      { addressing: { mode: 'headless-service', serviceName: 'etcd' } },
      { addressing: { mode: 'headless-service', serviceName: 'etcd', clusterDomain: 'cluster.local' } },
    ],
    ['thresholds not written keep their defaults', { thresholds: { podRestarts: 10 } }, { thresholds: { ...DEFAULT_CLUSTER.thresholds, podRestarts: 10 } }],
    [
      'a section whose entries are all commented out (null in YAML) reads as absent',
      { ports: null, tls: null, topology: null, thresholds: null, hysteresis: null, backup: null, tolerations: null, monitor: null },
      {},
    ],
    ['surrounding spaces are trimmed from names', { name: ' main ', podSelector: ' app=etcd ' }, { name: 'main', podSelector: 'app=etcd' }],
    [
      'a retention written empty keeps ten snapshots for a week',
      { backup: { retain: {} } },
      { backup: { ...DEFAULT_CLUSTER.backup, retain: { count: 10, maxAge: 604_800_000 } } },
    ],
    [
      'a retention age in hours is read as milliseconds',
      { backup: { retain: { count: 3, maxAge: '72h' } } },
      { backup: { ...DEFAULT_CLUSTER.backup, retain: { count: 3, maxAge: 259_200_000 } } },
    ],
    ['a retention whose entries are all commented out reads as absent, and the defaults apply where snapshots are pruned', { backup: { retain: null } }, {}],
    ['a cluster that does not say its size should have three voters', {}, { desiredVoters: 3 }],
    ['a desired size of five voters is kept', { desiredVoters: 5 }, { desiredVoters: 5 }],
    ['an even desired size is allowed: etcd runs it, if with no more fault tolerance than one fewer', { desiredVoters: 4 }, { desiredVoters: 4 }],
    ['a single voter may be desired', { desiredVoters: 1 }, { desiredVoters: 1 }],
    ['a cluster that does not say its workload runs bare pods', { workload: null }, { workload: { kind: 'pods' } }],
    [
      "a StatefulSet's claim template is data unless named",
      { workload: { kind: 'StatefulSet', name: 'etcd' } },
      { workload: { kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' } },
    ],
    [
      'a named claim template is kept',
      { workload: { kind: 'StatefulSet', name: 'etcd-main', volumeClaimTemplate: 'etcd-data' } },
      { workload: { kind: 'StatefulSet', name: 'etcd-main', volumeClaimTemplate: 'etcd-data' } },
    ],
  ])('%s', (_case, overrides, expected) => {
    expect(firstCluster(aConfig({ clusters: [aCluster(overrides)] }))).toEqual({ ...DEFAULT_CLUSTER, ...expected });
  });
});

describe('guardian config problems', () => {
  it.each<[string, Raw, string]>([
    ['an approval rule written as a word', { approval: { critical: 'yes' } }, 'clusters.0.approval.critical: expected true or false, got "yes"'],
    ['an approval timeout too short to answer', { approval: { timeout: '5s' } }, 'clusters.0.approval.timeout: expected a duration of at least 10s, got "5s"'],
    ['an approval rule the guardian does not know', { approval: { always: true } }, 'clusters.0.approval.always: unknown key; the keys allowed here are critical, faultToleranceZero, manualTarget, timeout'],
    ['an upper-case cluster name', { name: 'Main' }, 'clusters.0.name: expected a cluster name of lowercase letters, digits and "-" (a DNS-1123 label of at most 63 characters), such as "main", got "Main"'],
    ['a namespace with an underscore', { namespace: 'kube_system' }, 'clusters.0.namespace: expected a Kubernetes namespace name such as "kube-system", got "kube_system"'],
    ['an empty pod selector, which would select every pod', { podSelector: '' }, 'clusters.0.podSelector: expected a label selector such as "app=etcd,tier=control-plane", got ""'],
    ['a set-based pod selector', { podSelector: 'app in (etcd)' }, 'clusters.0.podSelector: expected a label selector such as "app=etcd,tier=control-plane", got "app in (etcd)"'],
    ['a workload kind the guardian does not know', { workload: { kind: 'Deployment', name: 'etcd' } }, 'clusters.0.workload.kind: expected one of pods, StatefulSet, got "Deployment"'],
    ['a StatefulSet without its name', { workload: { kind: 'StatefulSet' } }, 'clusters.0.workload.name: expected the name of the StatefulSet that runs the etcd members, such as "etcd", got (missing)'],
    ['a StatefulSet name with upper case', { workload: { kind: 'StatefulSet', name: 'Etcd' } }, 'clusters.0.workload.name: expected the name of the StatefulSet that runs the etcd members, such as "etcd", got "Etcd"'],
    ['a workload written as a word', { workload: 'statefulset' }, 'clusters.0.workload: expected a mapping with kind: pods or kind: StatefulSet (and name: <the StatefulSet>), got "statefulset"'],
    ['a name given to bare pods', { workload: { kind: 'pods', name: 'etcd' } }, 'clusters.0.workload.name: unknown key; the keys allowed here are kind'],
    ['an upper-case member name prefix', { memberNamePrefix: 'Etcd' }, 'clusters.0.memberNamePrefix: expected a DNS-1123 label of at most 57 characters, such as "etcd", got "Etcd"'],
    ['no addressing', { addressing: undefined }, 'clusters.0.addressing: expected a mapping with mode: host-network or mode: headless-service, got (missing)'],
    ['an unknown addressing mode', { addressing: { mode: 'node-port' } }, 'clusters.0.addressing.mode: expected one of host-network, headless-service, got "node-port"'],
    ['an addressing without mode', { addressing: { serviceName: 'etcd' } }, 'clusters.0.addressing.mode: expected one of host-network, headless-service, got (missing)'],
    ['a headless service without its name', { addressing: { mode: 'headless-service' } }, 'clusters.0.addressing.serviceName: expected the name of the headless Service in front of the etcd pods, such as "etcd", got (missing)'],
    ['a service name in host-network mode', { addressing: { mode: 'host-network', serviceName: 'etcd' } }, 'clusters.0.addressing.serviceName: unknown key; the keys allowed here are mode'],
    ['a port of zero', { ports: { client: 0 } }, 'clusters.0.ports.client: expected a port number between 1 and 65535, got 0'],
    ['a port past 65535', { ports: { metrics: 70000 } }, 'clusters.0.ports.metrics: expected a port number between 1 and 65535, got 70000'],
    ['a port written as a string', { ports: { peer: '2380' } }, 'clusters.0.ports.peer: expected a port number between 1 and 65535, got "2380"'],
    ['peers on the client port', { ports: { client: 2379, peer: 2379 } }, 'clusters.0.ports.peer: expected a port different from ports.client (2379), got 2379'],
    ['an unknown port', { ports: { admin: 9000 } }, 'clusters.0.ports.admin: unknown key; the keys allowed here are client, peer, metrics'],
    ['TLS without a key', { tls: { caFile: '/ca.crt', certFile: '/c.crt' } }, 'clusters.0.tls.keyFile: expected the path of the client private key, got (missing)'],
    ['a certificate pasted instead of its path', { tls: { caFile: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', certFile: '/c.crt', keyFile: '/c.key' } }, 'clusters.0.tls.caFile: expected the path of the CA certificate that signed the etcd server certificates, not its PEM contents, got "-----BEGIN CERTIFICATE-----…"'],
    ['an invalid rack label', { topology: { rackLabel: 'my rack' } }, 'clusters.0.topology.rackLabel: expected a Kubernetes label key such as "topology.kubernetes.io/zone", got "my rack"'],
    ['a CPU fraction above 1', { thresholds: { nodeCpu: 1.5 } }, 'clusters.0.thresholds.nodeCpu: expected a number greater than 0 and at most 1 (0.9 means 90%), got 1.5'],
    ['a memory fraction of 0', { thresholds: { nodeMemory: 0 } }, 'clusters.0.thresholds.nodeMemory: expected a number greater than 0 and at most 1 (0.9 means 90%), got 0'],
    ['a fractional count', { thresholds: { raftIndexLag: 10.5 } }, 'clusters.0.thresholds.raftIndexLag: expected a whole number of at least 1, got 10.5'],
    ['a count written as a string', { thresholds: { podRestarts: '3' } }, 'clusters.0.thresholds.podRestarts: expected a whole number of at least 1, got "3"'],
    ['a negative latency', { thresholds: { walFsyncP99Seconds: -1 } }, 'clusters.0.thresholds.walFsyncP99Seconds: expected a number of seconds greater than 0 (0.5 means 500ms), got -1'],
    ['a threshold in the wrong case', { thresholds: { nodeCPU: 0.5 } }, 'clusters.0.thresholds.nodeCPU: unknown key; did you mean "nodeCpu"?'],
    ['no hysteresis at all', { hysteresis: { samples: 0 } }, 'clusters.0.hysteresis.samples: expected a whole number between 1 and 1000, got 0'],
    ['a window shorter than the default hysteresis', { hysteresis: { windowSamples: 2 } }, 'clusters.0.hysteresis.windowSamples: expected a whole number of at least hysteresis.samples (3), got 2'],
    ['an interval under a second', { interval: '500ms' }, 'clusters.0.interval: expected a duration of at least 1s, got "500ms"'],
    ['an endpoint timeout as long as the interval', { endpointTimeout: '10s' }, 'clusters.0.endpointTimeout: expected a duration shorter than interval (10s), got "10s"'],
    ['metrics that may stand longer than a minute', { metricsMaxAge: '5m' }, 'clusters.0.metricsMaxAge: expected a duration of at most 1m, got "5m"'],
    ['a cooldown that is not a duration', { cooldown: 'soon' }, 'clusters.0.cooldown: expected a duration such as "10s", "5m" or "1h", got "soon"'],
    ['an unknown strategy', { strategy: 'sideways' }, 'clusters.0.strategy: expected one of auto, replace, surge, got "sideways"'],
    ['dryRun written as yes', { dryRun: 'yes' }, 'clusters.0.dryRun: expected true or false, got "yes"'],
    ['an empty backup directory', { backup: { directory: '' } }, 'clusters.0.backup.directory: expected a directory path, got ""'],
    ['a retention count of zero', { backup: { retain: { count: 0 } } }, 'clusters.0.backup.retain.count: expected a whole number of at least 1, got 0'],
    ['a retention age under an hour, as a bare number of seconds reads', { backup: { retain: { maxAge: 7 } } }, 'clusters.0.backup.retain.maxAge: expected a duration of at least 1h, got 7'],
    ['a retention age in days, a unit durations do not have', { backup: { retain: { maxAge: '7d' } } }, 'clusters.0.backup.retain.maxAge: expected a duration such as "10s", "5m" or "1h", got "7d"'],
    ['an unknown retention key', { backup: { retain: { keep: 5 } } }, 'clusters.0.backup.retain.keep: unknown key; the keys allowed here are count, maxAge, totalSize'],
    ['a bucket name in capitals', { backup: { s3: { bucket: 'Etcd_Backups' } } }, 'clusters.0.backup.s3.bucket: expected an S3 bucket name of 3 to 63 lowercase letters, digits, "." and "-", such as "etcd-backups", got "Etcd_Backups"'],
    ['an S3 endpoint without a scheme', { backup: { s3: { bucket: 'etcd-backups', endpoint: '127.0.0.1:8333' } } }, 'clusters.0.backup.s3.endpoint: expected the URL of an S3-compatible endpoint such as "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:8333", got "127.0.0.1:8333"'],
    ['a key prefix without its closing slash', { backup: { s3: { bucket: 'etcd-backups', prefix: 'guardian' } } }, 'clusters.0.backup.s3.prefix: expected a key prefix ending in "/" such as "etcd-guardian/" (letters, digits, "/", "-", "_", "."), or "", got "guardian"'],
    ['secret keys written into the config', { backup: { s3: { bucket: 'etcd-backups', secretAccessKey: 'x' } } }, 'clusters.0.backup.s3.secretAccessKey: unknown key; the keys allowed here are bucket, endpoint, region, prefix, forcePathStyle, credentialsFile'],
    ['a backup schedule under a minute', { backup: { schedule: { every: '30s' } } }, 'clusters.0.backup.schedule.every: expected a duration of at least 1m, got "30s"'],
    ['a total backup size that is not a size', { backup: { retain: { totalSize: 'lots' } } }, 'clusters.0.backup.retain.totalSize: expected a size such as "100MiB", "64MB" or "2GiB" (or a number of bytes), got "lots"'],
    ['an unknown toleration operator', { tolerations: [{ key: 'a', operator: 'Maybe' }] }, 'clusters.0.tolerations.0.operator: expected one of Equal, Exists, got "Maybe"'],
    ['a value on an Exists toleration', { tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] }, 'clusters.0.tolerations.0.value: expected no value when operator is Exists, got "b"'],
    ['a toleration without key or Exists', { tolerations: [{ effect: 'NoSchedule' }] }, 'clusters.0.tolerations.0.operator: expected Exists when there is no key (a toleration without a key tolerates every taint), got (missing)'],
    ['an empty allow-list of nodes', { placement: { allowedNodes: [] } }, 'clusters.0.placement.allowedNodes: expected at least one node name; leave allowedNodes out to allow every node, got []'],
    ['a node name in capitals in the allow-list', { placement: { allowedNodes: ['Node-1'] } }, 'clusters.0.placement.allowedNodes.0: expected a Kubernetes node name of lowercase letters, digits, "-" and "." (a DNS-1123 subdomain), such as "node-1", got "Node-1"'],
    ['a node selector value with a space', { placement: { nodeSelector: { disk: 'fast ssd' } } }, 'clusters.0.placement.nodeSelector.disk: expected a label value: at most 63 letters, digits, "-", "_" and ".", such as "ssd", got "fast ssd"'],
    ['a misspelt placement key', { placement: { allowedNode: ['node-1'] } }, 'clusters.0.placement.allowedNode: unknown key; did you mean "allowedNodes"?'],
    ['no desired voters', { desiredVoters: 0 }, 'clusters.0.desiredVoters: expected a whole number of voting members between 1 and 7, such as 3 or 5, got 0'],
    ['more desired voters than etcd advises', { desiredVoters: 9 }, 'clusters.0.desiredVoters: expected a whole number of voting members between 1 and 7, such as 3 or 5, got 9'],
    ['a fractional desired size', { desiredVoters: 2.5 }, 'clusters.0.desiredVoters: expected a whole number of voting members between 1 and 7, such as 3 or 5, got 2.5'],
    ['a desired size written as a string', { desiredVoters: '3' }, 'clusters.0.desiredVoters: expected a whole number of voting members between 1 and 7, such as 3 or 5, got "3"'],
    ['a continue-as-new period of zero', { monitor: { continueAsNewEvery: 0 } }, 'clusters.0.monitor.continueAsNewEvery: expected a whole number between 1 and 1000, got 0'],
    ['a misspelt interval', { intervall: '10s' }, 'clusters.0.intervall: unknown key; did you mean "interval"?'],
    ['a snake_case key', { dry_run: true }, 'clusters.0.dry_run: unknown key; did you mean "dryRun"?'],
  ])('reports %s', (_case, overrides, line) => {
    expect(problems(aConfig({ clusters: [aCluster(overrides)] }))).toEqual([line]);
  });

  it.each<[string, unknown, string]>([
    ['an empty document', null, '(root): expected a mapping with the sections temporal, kubernetes, worker, fleet and clusters, got null'],
    ['a list at the top', [], '(root): expected a mapping with the sections temporal, kubernetes, worker, fleet and clusters, got []'],
    ['no clusters', {}, 'clusters: expected a list of etcd clusters to watch, got (missing)'],
    ['an empty cluster list', { clusters: [] }, 'clusters: expected a list with at least one etcd cluster to watch, got []'],
    ['a cluster that is only a name', { clusters: ['main'] }, 'clusters.0: expected a mapping of keys to values, got "main"'],
    ['a Temporal address without port', aConfig({ temporal: { address: 'localhost' } }), 'temporal.address: expected host:port of the Temporal frontend, such as "127.0.0.1:7233", got "localhost"'],
    ['a Temporal client certificate without key', aConfig({ temporal: { tls: { certFile: '/c.crt' } } }), 'temporal.tls.keyFile: expected keyFile alongside certFile: a client certificate needs both, got (missing)'],
    ['a Temporal serverName with a port', aConfig({ temporal: { tls: { serverName: 'temporal.example.com:7233' } } }), 'temporal.tls.serverName: expected the DNS name on the Temporal frontend\'s certificate, such as "temporal.example.com", got "temporal.example.com:7233"'],
    ['an empty kubeconfig path', aConfig({ kubernetes: { kubeconfig: '' } }), 'kubernetes.kubeconfig: expected the path of a kubeconfig file, got ""'],
    ['a negative metrics port', aConfig({ worker: { metricsPort: -1 } }), 'worker.metricsPort: expected a port number between 0 and 65535 (0 turns metrics off), got -1'],
    ['a grace time that is not a duration', aConfig({ worker: { shutdownGraceTime: 'forever' } }), 'worker.shutdownGraceTime: expected a duration such as "10s", "5m" or "1h", got "forever"'],
    ['a workflow cache of one', aConfig({ worker: { maxCachedWorkflows: 1 } }), 'worker.maxCachedWorkflows: expected a whole number of at least 2 (workflows kept in memory), got 1'],
    ['a log level pino does not know', aConfig({ worker: { logLevel: 'verbose' } }), 'worker.logLevel: expected one of trace, debug, info, warn, error, got "verbose"'],
    ['a log level in capitals', aConfig({ worker: { logLevel: 'INFO' } }), 'worker.logLevel: expected one of trace, debug, info, warn, error, got "INFO"'],
    ['a log level given as a number', aConfig({ worker: { logLevel: 30 } }), 'worker.logLevel: expected one of trace, debug, info, warn, error, got 30'],
    ['a rack budget of zero', aConfig({ fleet: { budget: { perRack: 0 } } }), 'fleet.budget.perRack: expected a whole number of at least 1, got 0'],
    ['a fleet limit that is not a number', aConfig({ fleet: { budget: { maxConcurrent: 'two' } } }), 'fleet.budget.maxConcurrent: expected a whole number of at least 1, got "two"'],
    ['an unknown budget key', aConfig({ fleet: { budget: { perNode: 1 } } }), 'fleet.budget.perNode: unknown key; did you mean "perZone"?'],
    ['a lease timeout too short', aConfig({ fleet: { leaseTimeout: '1s' } }), 'fleet.leaseTimeout: expected a duration of at least 10s, got "1s"'],
    ['a misspelt section', aConfig({ workers: {} }), 'workers: unknown key; did you mean "worker"?'],
    ['an unrelated section', aConfig({ logging: { level: 'debug' } }), 'logging: unknown key; the keys allowed here are temporal, kubernetes, worker, fleet, clusters'],
    ['two clusters with one name', { clusters: [aCluster(), aCluster()] }, 'clusters.1.name: the name "main" is already used by clusters.0; cluster names must be unique'],
  ])('reports %s', (_case, raw, line) => {
    expect(problems(raw)).toEqual([line]);
  });

  it('reports both retention settings when both are wrong', () => {
    expect(problems(aConfig({ clusters: [aCluster({ backup: { retain: { count: -1, maxAge: 'soon' } } })] }))).toEqual([
      'clusters.0.backup.retain.count: expected a whole number of at least 1, got -1',
      'clusters.0.backup.retain.maxAge: expected a duration such as "10s", "5m" or "1h", got "soon"',
    ]);
  });

  it('reports every problem at once, one line each, under a headline naming the source', () => {
    const raw = aConfig({ clusters: [aCluster({ interval: 'ten', strategy: 'sideways' })] });
    const error = caught(() => parsed(raw));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      code: 'INVALID_CONFIG',
      source: 'guardian.yaml',
      issues: [
        { path: 'clusters.0.interval', message: 'expected a duration such as "10s", "5m" or "1h"', value: '"ten"' },
        { path: 'clusters.0.strategy', message: 'expected one of auto, replace, surge', value: '"sideways"' },
      ],
    });
    expect(error.message).toBe(
      [
        'invalid configuration in guardian.yaml (2 problems):',
        '  clusters.0.interval: expected a duration such as "10s", "5m" or "1h", got "ten"',
        '  clusters.0.strategy: expected one of auto, replace, surge, got "sideways"',
      ].join('\n'),
    );
  });
});

describe('backup retention as a workflow input', () => {
  it('reads a validated retention again unchanged, in milliseconds', () => {
    const cluster = firstCluster(aConfig({ clusters: [aCluster({ backup: { retain: { count: 4, maxAge: '36h' } } })] }));
    expect(resolvedClusterConfigSchema.parse(cluster).backup).toEqual({ ...DEFAULT_CLUSTER.backup, retain: { count: 4, maxAge: 129_600_000 } });
  });
});

describe('label selectors', () => {
  it.each([
    ['one equality', 'app=etcd', true],
    ['two equalities', 'app=etcd,tier=control-plane', true],
    ['double equals', 'app==etcd', true],
    ['an inequality', 'app!=canary', true],
    ['a bare key, meaning the label exists', 'app', true],
    ['a negated key, meaning the label is absent', '!canary', true],
    ['a prefixed key and spaces around the parts', 'app.kubernetes.io/name = etcd, tier=control-plane', true],
    ['an empty value', 'app=', true],
    ['nothing', '', false],
    ['a dangling comma', 'app=etcd,', false],
    ['a set-based requirement', 'tier in (a,b)', false],
    ['a value with a space', 'app=my etcd', false],
    ['a key with a slash but no name', 'example.com/=x', false],
  ])('%s (%p) is valid: %p', (_case, selector, valid) => {
    expect(isLabelSelector(selector)).toBe(valid);
  });
});

describe('toPolicy', () => {
  it('maps a cluster with every default onto the domain default policy', () => {
    expect(toPolicy(DEFAULT_CLUSTER)).toEqual(DEFAULT_POLICY);
  });

  it('maps each knob of a cluster to its place in the policy', () => {
    const cluster = firstCluster(
      aConfig({
        clusters: [
          aCluster({
            thresholds: { nodeCpu: 0.8 },
            hysteresis: { samples: 4, windowSamples: 20 },
            cooldown: '1h',
            startupGrace: '45s',
            strategy: 'surge',
            dryRun: true,
            memberNamePrefix: 'events',
            desiredVoters: 5,
            addressing: { mode: 'headless-service', serviceName: 'events-etcd' },
            workload: { kind: 'StatefulSet', name: 'events-etcd' },
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'etcd', effect: 'NoSchedule' }],
            placement: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, allowedNodes: ['cp-1', 'cp-2', 'cp-3', 'cp-4'] },
            space: { fragmentedRatio: 0.5, fragmentedMinSize: '200MiB', quotaWarning: 0.7, quotaCritical: 0.9, growthHorizon: '2h', quota: '8GiB' },
            maintenance: { auto: false, windows: [{ days: ['sat', 'sun'], start: '22:00', end: '02:00' }], pauseBetweenMembers: '30s' },
          }),
        ],
      }),
    );
    expect(toPolicy(cluster)).toEqual({
      thresholds: { ...DEFAULT_POLICY.thresholds, nodeCpu: 0.8 },
      hysteresisSamples: 4,
      windowSamples: 20,
      cooldownMs: 3_600_000,
      startupGraceMs: 45_000,
      strategy: 'surge',
      dryRun: true,
      memberNamePrefix: 'events',
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'etcd', effect: 'NoSchedule' }],
      desiredVoters: 5,
      addressingMode: 'headless-service',
      workload: { kind: 'StatefulSet', name: 'events-etcd', volumeClaimTemplate: 'data' },
      placement: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, allowedNodes: ['cp-1', 'cp-2', 'cp-3', 'cp-4'] },
      space: { fragmentedRatio: 0.5, fragmentedMinBytes: 200 * 1024 ** 2, quotaWarning: 0.7, quotaCritical: 0.9, growthHorizonMs: 7_200_000, quotaBytes: 8 * 1024 ** 3 },
      maintenance: { auto: false, windows: [{ days: ['sat', 'sun'], start: '22:00', end: '02:00' }], pauseBetweenMembersMs: 30_000 },
    });
  });
});
