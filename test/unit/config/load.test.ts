import { resolve } from 'node:path';
import { applyEnvOverrides } from '../../../src/config/env';
import { ConfigError } from '../../../src/config/errors';
import { ENV_OVERRIDES, loadConfig, type EnvOverride } from '../../../src/config/load';
import type { ClusterConfig, GuardianConfig } from '../../../src/config/schema';

const FIXTURES = 'test/fixtures/config';
const VALID = `${FIXTURES}/valid.yaml`;

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

function configErrorOf(run: () => unknown): ConfigError {
  const error = caught(run);
  if (error instanceof ConfigError) return error;
  throw error;
}

function clusterAt(config: GuardianConfig, index: number): ClusterConfig {
  const cluster = config.clusters[index];
  if (cluster === undefined) throw new Error(`the config has no cluster ${index}`);
  return cluster;
}

const DEFAULT_THRESHOLDS_OUT = {
  nodeCpu: 0.9,
  nodeMemory: 0.9,
  raftIndexLag: 1000,
  leaderChanges: 3,
  failedProposals: 5,
  walFsyncP99Seconds: 0.5,
  peerRoundTripP99Seconds: 0.5,
  podRestarts: 2,
};

describe('loadConfig with the example file', () => {
  it('reads both clusters of the example, defaults applied where the file is silent', () => {
    expect(loadConfig({ file: VALID, env: {} })).toEqual({
      temporal: { address: 'temporal.temporal.svc:7233', namespace: 'etcd-guardian', taskQueue: 'etcd-guardian' },
      kubernetes: {},
      worker: { logLevel: 'info', metricsPort: 9464, shutdownGraceTime: 30_000, maxCachedWorkflows: 600 },
      fleet: { budget: {}, leaseTimeout: 3_600_000 },
      clusters: [
        {
          name: 'control-plane',
          namespace: 'kube-system',
          podSelector: 'component=etcd,tier=control-plane',
          memberNamePrefix: 'etcd',
          addressing: { mode: 'host-network' },
          ports: { client: 2379, peer: 2380, metrics: 2379 },
          tls: {
            caFile: '/etc/kubernetes/pki/etcd/ca.crt',
            certFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
            keyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
          },
          topology: { rackLabel: 'example.com/rack', domainLabel: 'topology.kubernetes.io/zone' },
          workload: { kind: 'pods' },
          thresholds: { ...DEFAULT_THRESHOLDS_OUT, nodeCpu: 0.85, walFsyncP99Seconds: 0.25 },
          hysteresis: { samples: 5, windowSamples: 10 },
          interval: 15_000,
          endpointTimeout: 3_000,
          metricsMaxAge: 5_000,
          cooldown: 1_800_000,
          startupGrace: 30_000,
          strategy: 'surge',
          dryRun: false,
          backup: { required: true, directory: '/var/lib/etcd-guardian/backups', drill: { etcdBinDirectory: '/usr/local/bin', timeout: 600_000 } },
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
          placement: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } },
          desiredVoters: 5,
          monitor: { continueAsNewEvery: 100 },
          space: { fragmentedRatio: 0.55, fragmentedMinSize: 100 * 1024 * 1024, quotaWarning: 0.8, quotaCritical: 0.95, growthHorizon: 4 * 3_600_000 },
          maintenance: { auto: true, windows: [], pauseBetweenMembers: 5_000 },
          recovery: { autoApprove: false, approvalTimeout: 3_600_000, startAfter: 300_000 },
          approval: { critical: false, faultToleranceZero: false, manualTarget: false, timeout: 3_600_000 },
        },
        {
          name: 'events',
          namespace: 'etcd-events',
          podSelector: 'app.kubernetes.io/name=etcd-events',
          memberNamePrefix: 'etcd',
          addressing: { mode: 'headless-service', serviceName: 'etcd-events', clusterDomain: 'cluster.local' },
          ports: { client: 2379, peer: 2380, metrics: 2379 },
          topology: { rackLabel: 'topology.kubernetes.io/rack', domainLabel: 'topology.kubernetes.io/zone' },
          workload: { kind: 'pods' },
          thresholds: DEFAULT_THRESHOLDS_OUT,
          hysteresis: { samples: 3, windowSamples: 10 },
          interval: 10_000,
          endpointTimeout: 2_000,
          metricsMaxAge: 5_000,
          cooldown: 600_000,
          startupGrace: 30_000,
          strategy: 'auto',
          dryRun: true,
          backup: { required: true, directory: '/var/lib/etcd-guardian/backups', drill: { etcdBinDirectory: '/usr/local/bin', timeout: 600_000 } },
          tolerations: [],
          desiredVoters: 3,
          monitor: { continueAsNewEvery: 100 },
          space: { fragmentedRatio: 0.55, fragmentedMinSize: 100 * 1024 * 1024, quotaWarning: 0.8, quotaCritical: 0.95, growthHorizon: 4 * 3_600_000 },
          maintenance: { auto: true, windows: [], pauseBetweenMembers: 5_000 },
          recovery: { autoApprove: false, approvalTimeout: 3_600_000, startAfter: 300_000 },
          approval: { critical: false, faultToleranceZero: false, manualTarget: false, timeout: 3_600_000 },
        },
      ],
    });
  });

  it('reads a JSON file the same way', () => {
    expect(clusterAt(loadConfig({ file: `${FIXTURES}/minimal.json`, env: {} }), 0)).toMatchObject({
      name: 'main',
      interval: 10_000,
    });
  });

  it('takes the file from ETCD_GUARDIAN_CONFIG when none is passed', () => {
    expect(loadConfig({ env: { ETCD_GUARDIAN_CONFIG: VALID } }).clusters.map((c) => c.name)).toEqual([
      'control-plane',
      'events',
    ]);
  });
});

describe('loadConfig with a broken file', () => {
  it('reports every problem of the file, one line each with its path, expectation and value', () => {
    const error = configErrorOf(() => loadConfig({ file: `${FIXTURES}/broken.yaml`, env: {} }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message.split('\n')).toEqual([
      'invalid configuration in test/fixtures/config/broken.yaml (10 problems):',
      '  clusters.0.tls.keyFile: expected the path of the client private key, not its PEM contents, got "-----BEGIN PRIVATE KEY-----…"',
      '  clusters.0.thresholds.nodeCpu: expected a number greater than 0 and at most 1 (0.9 means 90%), got 1.5',
      '  clusters.0.hysteresis.windowSamples: expected a whole number of at least hysteresis.samples (5), got 3',
      '  clusters.0.interval: expected a duration such as "10s", "5m" or "1h", got "ten"',
      '  clusters.0.strategy: expected one of auto, replace, surge, got "sideways"',
      '  clusters.0.cooldwn: unknown key; did you mean "cooldown"?',
      '  clusters.1.podSelector: expected a label selector such as "app=etcd,tier=control-plane", got (missing)',
      '  clusters.1.endpointTimeout: expected a duration shorter than interval (5s), got "5s"',
      '  clusters.1.name: the name "main" is already used by clusters.0; cluster names must be unique',
      '  temporl: unknown key; did you mean "temporal"?',
    ]);
  });

  it('keeps the value of an unknown key in the issue, though its line does not show it', () => {
    const error = configErrorOf(() => loadConfig({ file: `${FIXTURES}/broken.yaml`, env: {} }));
    expect(error.issues).toContainEqual({
      path: 'clusters.0.cooldwn',
      message: 'unknown key; did you mean "cooldown"?',
      value: '"5m"',
    });
  });

  it('names the line and column of a YAML syntax error', () => {
    const error = configErrorOf(() => loadConfig({ file: `${FIXTURES}/syntax-error.yaml`, env: {} }));
    expect(error.issues).toEqual([
      {
        path: '(root)',
        message: 'YAML syntax error at line 5, column 1: Sequence item without - indicator',
        value: '"   addressing:"',
      },
    ]);
    expect(error.message).toBe(
      'invalid configuration in test/fixtures/config/syntax-error.yaml (1 problem):\n' +
        '  (root): YAML syntax error at line 5, column 1: Sequence item without - indicator',
    );
  });

  it('holds a .json file to JSON, naming the line and column of an unquoted word', () => {
    const error = configErrorOf(() => loadConfig({ file: `${FIXTURES}/not-json.json`, env: {} }));
    expect(error.issues.map((issue) => issue.message)).toEqual([
      'JSON syntax error at line 3, column 15: Unresolved plain scalar "main"',
    ]);
  });

  it.each([
    ['a missing file', `${FIXTURES}/absent.yaml`, `config file not found at ${resolve(FIXTURES, 'absent.yaml')}`],
    ['a directory', FIXTURES, `${resolve(FIXTURES)} is a directory, not a config file`],
  ])('says in one sentence, naming the file, why it cannot read %s', (_case, file, message) => {
    const error = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(error.message).toBe(message);
    expect(error.issues).toEqual([{ path: '(root)', message, value: '(missing)' }]);
  });

  it('asks for a file when neither an option nor ETCD_GUARDIAN_CONFIG names one', () => {
    const error = configErrorOf(() => loadConfig({ env: { ETCD_GUARDIAN_CONFIG: '' } }));
    expect(error.message).toBe(
      'invalid configuration in the environment (1 problem):\n' +
        '  ETCD_GUARDIAN_CONFIG: expected the path of a YAML or JSON config file, got (missing)',
    );
  });
});

describe('environment overrides', () => {
  it('applies every variable, converting numbers and booleans', () => {
    const config = loadConfig({
      file: VALID,
      env: {
        ETCD_GUARDIAN_TEMPORAL_ADDRESS: 'temporal-frontend:7233',
        ETCD_GUARDIAN_TEMPORAL_NAMESPACE: 'prod',
        ETCD_GUARDIAN_TASK_QUEUE: 'etcd-guardian-prod',
        ETCD_GUARDIAN_KUBECONFIG: '/etc/etcd-guardian/kubeconfig',
        ETCD_GUARDIAN_METRICS_PORT: '0',
        ETCD_GUARDIAN_DRY_RUN: 'TRUE',
      },
    });
    expect(config.temporal).toEqual({ address: 'temporal-frontend:7233', namespace: 'prod', taskQueue: 'etcd-guardian-prod' });
    expect(config.kubernetes).toEqual({ kubeconfig: '/etc/etcd-guardian/kubeconfig' });
    expect(config.worker.metricsPort).toBe(0);
    expect(config.clusters.map((cluster) => cluster.dryRun)).toEqual([true, true]);
  });

  it('turns dry run off for every cluster, even one whose file entry turns it on', () => {
    const config = loadConfig({ file: VALID, env: { ETCD_GUARDIAN_DRY_RUN: 'false' } });
    expect(config.clusters.map((cluster) => cluster.dryRun)).toEqual([false, false]);
  });

  it('ignores a variable set to the empty string, as compose files pass unset ones', () => {
    const config = loadConfig({ file: VALID, env: { ETCD_GUARDIAN_METRICS_PORT: '', ETCD_GUARDIAN_DRY_RUN: ' ' } });
    expect(config.worker.metricsPort).toBe(9464);
    expect(config.clusters.map((cluster) => cluster.dryRun)).toEqual([false, true]);
  });

  it.each([
    [
      'a metrics port that is not a number',
      { ETCD_GUARDIAN_METRICS_PORT: 'abc' },
      'ETCD_GUARDIAN_METRICS_PORT (worker.metricsPort): expected a port number between 0 and 65535 (0 turns metrics off), got "abc"',
    ],
    [
      'a metrics port out of range',
      { ETCD_GUARDIAN_METRICS_PORT: '70000' },
      'ETCD_GUARDIAN_METRICS_PORT (worker.metricsPort): expected a port number between 0 and 65535 (0 turns metrics off), got 70000',
    ],
    [
      'a dry run that is neither true nor false, once for all clusters',
      { ETCD_GUARDIAN_DRY_RUN: 'yes' },
      'ETCD_GUARDIAN_DRY_RUN (clusters.*.dryRun): expected true or false, got "yes"',
    ],
    [
      'a log level pino does not know',
      { ETCD_GUARDIAN_LOG_LEVEL: 'chatty' },
      'ETCD_GUARDIAN_LOG_LEVEL (worker.logLevel): expected one of trace, debug, info, warn, error, got "chatty"',
    ],
    [
      'a Temporal address without port',
      { ETCD_GUARDIAN_TEMPORAL_ADDRESS: 'temporal' },
      'ETCD_GUARDIAN_TEMPORAL_ADDRESS (temporal.address): expected host:port of the Temporal frontend, such as "127.0.0.1:7233", got "temporal"',
    ],
  ])('reports %s under the variable name', (_case, env, line) => {
    const error = configErrorOf(() => loadConfig({ file: VALID, env }));
    expect(error.message).toBe(`invalid configuration in ${VALID} (1 problem):\n  ${line}`);
  });

  const EXAMPLES: Record<string, { text: string; value: unknown }> = {
    ETCD_GUARDIAN_TEMPORAL_ADDRESS: { text: 'temporal:7233', value: 'temporal:7233' },
    ETCD_GUARDIAN_TEMPORAL_NAMESPACE: { text: 'prod', value: 'prod' },
    ETCD_GUARDIAN_TASK_QUEUE: { text: 'queue', value: 'queue' },
    ETCD_GUARDIAN_KUBECONFIG: { text: '/kubeconfig', value: '/kubeconfig' },
    ETCD_GUARDIAN_METRICS_PORT: { text: '9000', value: 9000 },
    ETCD_GUARDIAN_LOG_LEVEL: { text: 'debug', value: 'debug' },
    ETCD_GUARDIAN_DRY_RUN: { text: 'true', value: true },
  };

  it.each(ENV_OVERRIDES.map((override): [string, EnvOverride] => [override.name, override]))(
    '%s sets the value at its documented path',
    (name, override) => {
      const example = EXAMPLES[name];
      if (example === undefined) throw new Error(`no example for ${name}: add one to this table`);
      const config = loadConfig({ file: VALID, env: { [name]: example.text } });
      expect(valueAt(config, override.path.replace('*', '1'))).toEqual(example.value);
    },
  );

  it('leaves the parsed document untouched', () => {
    const raw = { worker: { metricsPort: 1 }, clusters: [{ name: 'a' }] };
    const { raw: overridden, applied } = applyEnvOverrides(raw, { ETCD_GUARDIAN_METRICS_PORT: '2', ETCD_GUARDIAN_DRY_RUN: 'true' });
    expect(raw).toEqual({ worker: { metricsPort: 1 }, clusters: [{ name: 'a' }] });
    expect(overridden).toEqual({ worker: { metricsPort: 2 }, clusters: [{ name: 'a', dryRun: true }] });
    expect(applied.map(({ override, paths }) => [override.name, paths])).toEqual([
      ['ETCD_GUARDIAN_METRICS_PORT', ['worker.metricsPort']],
      ['ETCD_GUARDIAN_DRY_RUN', ['clusters.0.dryRun']],
    ]);
  });

  it('creates a section the file left out', () => {
    expect(applyEnvOverrides({}, { ETCD_GUARDIAN_TASK_QUEUE: 'q' }).raw).toEqual({ temporal: { taskQueue: 'q' } });
  });

  it('leaves a malformed document alone for validation to report', () => {
    expect(applyEnvOverrides(['x'], { ETCD_GUARDIAN_TASK_QUEUE: 'q' })).toEqual({ raw: ['x'], applied: [] });
    expect(applyEnvOverrides({ temporal: 'x' }, { ETCD_GUARDIAN_TASK_QUEUE: 'q' })).toEqual({
      raw: { temporal: 'x' },
      applied: [],
    });
  });
});

function valueAt(root: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => {
    if (typeof node !== 'object' || node === null) return undefined;
    return Reflect.get(node, key);
  }, root);
}
