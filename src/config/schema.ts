import { z } from 'zod';
import {
  DEFAULT_STARTUP_GRACE_MS,
  DEFAULT_POLICY,
  DEFAULT_THRESHOLDS,
  MAX_DESIRED_VOTERS,
  type Policy,
  type Thresholds,
} from '../domain/policy';
import { DEFAULT_METRICS_MAX_AGE_MS } from '../domain/metrics-freshness';
import { duration, formatDuration } from './duration';
import { byteSize } from './size';
import { clusterName, dnsLabel, dnsLabelPattern, dnsSubdomain, isDnsLabel, isDnsSubdomain, nodeName, strategyName } from './names';
import { DEFAULT_APPROVAL_RULES } from '../domain/approval';
import { DEFAULT_SPACE_POLICY } from '../domain/space';
import { DEFAULT_MAINTENANCE_POLICY, WEEKDAYS, minutesOf } from '../domain/maintenance-window';

/**
 * The guardian's configuration: where Temporal and Kubernetes are, and for each etcd cluster how to find its
 * members, how to judge them and how carefully to move them. Defaults are what an SRE would start from.
 * Pure: workflow code may import this file.
 */

// ---------------------------------------------------------------------------------------------------------
// Field schemas. Each carries one message saying what is expected, so a wrong type, a bad range and a bad
// format all read the same way to an operator.

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** True for a Kubernetes label key: an optional DNS-subdomain prefix and "/", then a name of at most 63. */
export function isLabelKey(text: string): boolean {
  const slash = text.indexOf('/');
  const prefix = slash === -1 ? undefined : text.slice(0, slash);
  const name = slash === -1 ? text : text.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !isDnsSubdomain(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

/**
 * True for an equality-based label selector: comma-separated `key=value`, `key==value`, `key!=value`, `key`
 * or `!key`. Set-based requirements (`key in (a,b)`) are not accepted.
 */
export function isLabelSelector(text: string): boolean {
  return text.split(',').every((requirement) => isRequirement(requirement.trim()));
}

function isRequirement(text: string): boolean {
  if (text.startsWith('!')) return isLabelKey(text.slice(1).trim());
  const match = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(text);
  if (match === null) return isLabelKey(text);
  const key = match[1] ?? '';
  const value = match[3] ?? '';
  return isLabelKey(key) && (value === '' || (value.length <= 63 && LABEL_NAME.test(value)));
}

function isHostPort(text: string): boolean {
  const port = Number(HOST_PORT.exec(text)?.[2]);
  return port >= 1 && port <= 65535;
}

/**
 * A section that may be left out, or left empty: in YAML a key whose entries are all commented out reads as
 * null, and an operator means "defaults" by it, not an error.
 */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

/** A message for a wrong type only, so that the issues a schema's checks raise keep their own wording. */
function onWrongType(message: string): z.core.$ZodErrorMap {
  return (issue) => (issue.code === 'invalid_type' ? message : undefined);
}

function text(expected: string) {
  return z.string({ error: `expected ${expected}` }).trim().min(1);
}

const labelKey = z
  .string({ error: 'expected a Kubernetes label key such as "topology.kubernetes.io/zone"' })
  .trim()
  .refine(isLabelKey);

/** A path to a PEM file. Never the PEM itself: it would end up in workflow history and in logs. */
function filePath(what: string) {
  const expected = `expected the path of ${what}`;
  return z
    .string({ error: expected })
    .trim()
    .min(1)
    .superRefine((path, ctx) => {
      if (path.includes('-----BEGIN')) {
        ctx.addIssue({ code: 'custom', message: `${expected}, not its PEM contents`, input: path });
      }
    });
}

const port = z.int({ error: 'expected a port number between 1 and 65535' }).min(1).max(65535);

const sampleCount = z
  // Windows are carried through workflow history on every continue-as-new: keep them small.
  .int({ error: 'expected a whole number between 1 and 1000' })
  .min(1)
  .max(1000);

const fraction = z.number({ error: 'expected a number greater than 0 and at most 1 (0.9 means 90%)' }).gt(0).max(1);
const count = z.int({ error: 'expected a whole number of at least 1' }).min(1);
const seconds = z.number({ error: 'expected a number of seconds greater than 0 (0.5 means 500ms)' }).gt(0);
const flag = z.boolean({ error: 'expected true or false' });
// Even sizes are allowed: a 4-voter cluster is legal etcd, if no safer than 3, and may be the step of a planned growth.
const voterCount = z
  .int({ error: `expected a whole number of voting members between 1 and ${MAX_DESIRED_VOTERS}, such as 3 or 5` })
  .min(1)
  .max(MAX_DESIRED_VOTERS);

/** The operator's strategy preference; the values of `StrategyPreference` in src/domain/policy.ts. */
const strategySchema = strategyName();

/** A cluster name: a DNS-1123 label, because it becomes part of schedule and workflow ids. */
const clusterNameSchema = clusterName();

/** A Kubernetes node name (a DNS-1123 subdomain). */
const nodeNameSchema = nodeName();

// ---------------------------------------------------------------------------------------------------------
// Durations. A config file writes them as "10s" or seconds; a cluster config that has already been validated
// (a workflow input) carries milliseconds. One cluster schema serves both, built with the right field.

type DurationField = (options: { min?: number; max?: number; default: number }) => z.ZodPrefault<z.ZodType<number, unknown>>;

const writtenDuration: DurationField = (options) =>
  // prefault, not default: zod hands a default out untouched, skipping the transform, while a prefault is
  // parsed like a written value; so the default is written here as it would be in a file.
  duration({ ...(options.min === undefined ? {} : { min: options.min }), ...(options.max === undefined ? {} : { max: options.max }) }).prefault(formatDuration(options.default));

const resolvedDuration: DurationField = (options) => {
  const milliseconds: z.ZodType<number, unknown> = z
    .int({ error: `expected a whole number of milliseconds of at least ${options.min ?? 0}` })
    .min(options.min ?? 0)
    .max(options.max ?? Number.MAX_SAFE_INTEGER, { error: `expected a whole number of milliseconds of at most ${options.max ?? Number.MAX_SAFE_INTEGER}` });
  return milliseconds.prefault(options.default);
};

// ---------------------------------------------------------------------------------------------------------
// Sections.

const thresholdsShape = {
  nodeCpu: fraction.default(DEFAULT_THRESHOLDS.nodeCpu),
  nodeMemory: fraction.default(DEFAULT_THRESHOLDS.nodeMemory),
  raftIndexLag: count.default(DEFAULT_THRESHOLDS.raftIndexLag),
  leaderChanges: count.default(DEFAULT_THRESHOLDS.leaderChanges),
  failedProposals: count.default(DEFAULT_THRESHOLDS.failedProposals),
  walFsyncP99Seconds: seconds.default(DEFAULT_THRESHOLDS.walFsyncP99Seconds),
  peerRoundTripP99Seconds: seconds.default(DEFAULT_THRESHOLDS.peerRoundTripP99Seconds),
  podRestarts: count.default(DEFAULT_THRESHOLDS.podRestarts),
} satisfies Record<keyof Thresholds, z.ZodType>;

const addressingSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({ mode: z.literal('host-network') }),
    z.strictObject({
      mode: z.literal('headless-service'),
      serviceName: dnsLabel('the name of the headless Service in front of the etcd pods, such as "etcd"'),
      clusterDomain: dnsSubdomain('a DNS domain such as "cluster.local"').default('cluster.local'),
    }),
  ],
  { error: onWrongType('expected a mapping with mode: host-network or mode: headless-service') },
);

/**
 * How the members are deployed: bare pods (the default), or the pods of one StatefulSet, whose members the guardian
 * moves through that controller (`volumeClaimTemplate` names the claim template holding etcd's data, `data` by
 * default, so the claim of pod etcd-1 is data-etcd-1).
 */
const workloadSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('pods') }),
    z.strictObject({
      kind: z.literal('StatefulSet'),
      name: dnsSubdomain('the name of the StatefulSet that runs the etcd members, such as "etcd"'),
      volumeClaimTemplate: dnsLabel('the name of the StatefulSet\'s volume claim template holding etcd\'s data, such as "data"').default('data'),
    }),
  ],
  { error: onWrongType('expected a mapping with kind: pods or kind: StatefulSet (and name: <the StatefulSet>)') },
);

const portsSchema = z
  .strictObject({
    client: port.default(2379),
    peer: port.default(2380),
    // etcd serves /metrics on the client port unless --listen-metrics-urls says otherwise.
    metrics: port.optional(),
  })
  .superRefine((ports, ctx) => {
    if (ports.peer === ports.client) {
      ctx.addIssue({
        code: 'custom',
        path: ['peer'],
        message: `expected a port different from ports.client (${ports.client})`,
        input: ports.peer,
      });
    }
  })
  .transform((ports) => ({ client: ports.client, peer: ports.peer, metrics: ports.metrics ?? ports.client }));

const hysteresisSchema = z
  .strictObject({
    samples: sampleCount.default(DEFAULT_POLICY.hysteresisSamples),
    windowSamples: sampleCount.optional(),
  })
  .superRefine((hysteresis, ctx) => {
    if (hysteresis.windowSamples !== undefined && hysteresis.windowSamples < hysteresis.samples) {
      ctx.addIssue({
        code: 'custom',
        path: ['windowSamples'],
        message: `expected a whole number of at least hysteresis.samples (${hysteresis.samples})`,
        input: hysteresis.windowSamples,
      });
    }
  })
  // Raising samples alone must not turn the default window into an error the operator never wrote.
  .transform((hysteresis) => ({
    samples: hysteresis.samples,
    windowSamples: hysteresis.windowSamples ?? Math.max(DEFAULT_POLICY.windowSamples, hysteresis.samples),
  }));

const tolerationSchema = z
  .strictObject({
    key: labelKey.optional(),
    operator: z.enum(['Equal', 'Exists']).optional(),
    value: z.string({ error: 'expected a string' }).optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  })
  // The API server rejects both of these on a pod; catching them here saves a failed migration.
  .superRefine((toleration, ctx) => {
    if (toleration.operator === 'Exists' && toleration.value !== undefined && toleration.value !== '') {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'expected no value when operator is Exists',
        input: toleration.value,
      });
    }
    if (toleration.key === undefined && toleration.operator !== 'Exists') {
      ctx.addIssue({
        code: 'custom',
        path: ['operator'],
        message: 'expected Exists when there is no key (a toleration without a key tolerates every taint)',
        input: toleration.operator,
      });
    }
  });

const labelValue = z
  .string({ error: 'expected a label value: at most 63 letters, digits, "-", "_" and ".", such as "ssd"' })
  .trim()
  .max(63)
  .refine((value) => value === '' || LABEL_NAME.test(value));

/** Where members may ever be placed; a manual migration to a node outside it is refused. */
const placementSchema = z.strictObject({
  nodeSelector: section(z.record(labelKey, labelValue, { error: 'expected a mapping of node label keys to values' }).optional()),
  allowedNodes: section(
    z
      .array(nodeNameSchema, { error: 'expected a list of node names' })
      .min(1, 'expected at least one node name; leave allowedNodes out to allow every node')
      .optional(),
  ),
});

const clusterTlsSchema = z.strictObject({
  caFile: filePath('the CA certificate that signed the etcd server certificates'),
  certFile: filePath('the client certificate'),
  keyFile: filePath('the client private key'),
});

const topologySchema = z.strictObject({
  rackLabel: labelKey.default('topology.kubernetes.io/rack'),
  domainLabel: labelKey.default('topology.kubernetes.io/zone'),
});

/** How many snapshots of a cluster `backup.retain` keeps when it is left out; `maxAge` in milliseconds (7 days). */
export const DEFAULT_BACKUP_RETAIN = { count: 10, maxAge: 7 * 24 * 3_600_000 } as const;

/** A URL of an S3-compatible endpoint: http or https, with a host. */
const endpointUrl = z
  .string({ error: 'expected the URL of an S3-compatible endpoint such as "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:8333"' })
  .trim()
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: 'expected the URL of an S3-compatible endpoint such as "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:8333"' },
  );

/**
 * An S3-compatible bucket. Credentials come from a file (mounted from a Secret) or, without one, from the AWS
 * SDK's own chain (environment, web identity, instance profile); never from the config itself, which reaches
 * workflow histories.
 */
const s3Schema = z.strictObject({
  bucket: z
    .string({ error: 'expected an S3 bucket name of 3 to 63 lowercase letters, digits, "." and "-", such as "etcd-backups"' })
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name of 3 to 63 lowercase letters, digits, "." and "-", such as "etcd-backups"' }),
  endpoint: endpointUrl.optional(),
  region: text('an S3 region such as "us-east-1"').default('us-east-1'),
  // Keys are <prefix><cluster>/<backup>.db: a prefix lets several guardians share a bucket.
  prefix: z
    .string({ error: 'expected a key prefix such as "etcd-guardian/" (letters, digits, "/", "-", "_", ".")' })
    .trim()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, { error: 'expected a key prefix ending in "/" such as "etcd-guardian/" (letters, digits, "/", "-", "_", "."), or ""' })
    .default(''),
  // Most S3-compatible servers (SeaweedFS, MinIO, Ceph) want path-style URLs; AWS accepts both.
  forcePathStyle: flag.default(true),
  credentialsFile: filePath('a file holding accessKeyId and secretAccessKey (YAML or JSON)').optional(),
});

function backupSchemaWith(durationField: DurationField) {
  return z.strictObject({
    required: flag.default(true),
    directory: text('a directory path').default('/var/lib/etcd-guardian/backups'),
    // Present: backups go to this bucket instead of the directory, readable by every worker.
    s3: section(s3Schema.optional()),
    // Present: `schedule apply` starts a backup of the cluster this often, each one restored in a drill before it
    // counts as verified; the monitor reports backup-stale when the newest verified one is older than two of these.
    schedule: section(z.strictObject({ every: durationField({ min: 60_000, default: 3_600_000 }) }).optional()),
    // Left out, it stays absent and DEFAULT_BACKUP_RETAIN applies where snapshots are pruned, so that configs
    // validated before retention existed read back exactly as they did.
    retain: section(
      z
        .strictObject({
          count: count.default(DEFAULT_BACKUP_RETAIN.count),
          // At least an hour: a bare number is seconds, and "maxAge: 7" must not delete a week of backups.
          maxAge: durationField({ min: 3_600_000, default: DEFAULT_BACKUP_RETAIN.maxAge }),
          // Absent: no limit on the bytes of a cluster's backups.
          totalSize: byteSize(1).optional(),
        })
        .optional(),
    ),
    // The restore drill runs the cluster's own etcd version from here: etcd, and etcdutl (3.5+) or etcdctl (3.4).
    drill: section(
      z
        .strictObject({
          etcdBinDirectory: text('the directory holding the etcd and etcdutl binaries of the cluster\'s version').default('/usr/local/bin'),
          timeout: durationField({ min: 10_000, default: 600_000 }),
        })
        .prefault({}),
    ),
  });
}

function spaceSchemaWith(durationField: DurationField) {
  return z
    .strictObject({
      fragmentedRatio: fraction.default(DEFAULT_SPACE_POLICY.fragmentedRatio),
      fragmentedMinSize: byteSize().prefault(DEFAULT_SPACE_POLICY.fragmentedMinBytes),
      quotaWarning: fraction.default(DEFAULT_SPACE_POLICY.quotaWarning),
      quotaCritical: fraction.default(DEFAULT_SPACE_POLICY.quotaCritical),
      growthHorizon: durationField({ min: 60_000, default: DEFAULT_SPACE_POLICY.growthHorizonMs }),
      // The members report their own quota on /metrics; this is for members that do not.
      quota: byteSize(1).optional(),
    })
    .superRefine((space, ctx) => {
      if (space.quotaCritical < space.quotaWarning) {
        ctx.addIssue({
          code: 'custom',
          path: ['quotaCritical'],
          message: `expected a fraction of at least quotaWarning (${space.quotaWarning})`,
          input: space.quotaCritical,
        });
      }
    });
}

const clockTime = z
  .string({ error: 'expected a UTC time of day such as "02:00"' })
  .trim()
  .refine((t) => minutesOf(t) !== undefined, { error: 'expected a UTC time of day such as "02:00" (HH:MM, 00:00 to 23:59)' });

const maintenanceWindowSchema = z.strictObject({
  days: z
    .array(z.enum(WEEKDAYS, { error: `expected a day of the week: one of ${WEEKDAYS.join(', ')}` }), { error: `expected a list of days such as [sat, sun]` })
    .optional(),
  start: clockTime,
  end: clockTime,
});

function maintenanceSchemaWith(durationField: DurationField) {
  return z.strictObject({
    auto: flag.default(DEFAULT_MAINTENANCE_POLICY.auto),
    windows: section(z.array(maintenanceWindowSchema, { error: 'expected a list of windows such as - { days: [sat, sun], start: "02:00", end: "04:00" }' }).default([])),
    pauseBetweenMembers: durationField({ default: DEFAULT_MAINTENANCE_POLICY.pauseBetweenMembersMs }),
  });
}

const monitorSchema = z.strictObject({
  // Bounds each run's history: about 25 events a cycle stays well under Temporal's 51,200-event limit.
  continueAsNewEvery: z.int({ error: 'expected a whole number between 1 and 1000' }).min(1).max(1000).default(100),
});

function clusterSchemaWith(durationField: DurationField) {
  return z
    .strictObject({
      name: clusterNameSchema,
      namespace: dnsLabel('a Kubernetes namespace name such as "kube-system"').default('default'),
      podSelector: z
        .string({ error: 'expected a label selector such as "app=etcd,tier=control-plane"' })
        .trim()
        .refine(isLabelSelector),
      memberNamePrefix: z
        .string({ error: 'expected a DNS-1123 label of at most 57 characters, such as "etcd"' })
        .trim()
        // Room for "-" and an ordinal: the member name doubles as the pod's hostname, itself a DNS-1123 label.
        .max(57)
        .regex(dnsLabelPattern())
        .default(DEFAULT_POLICY.memberNamePrefix),
      addressing: addressingSchema,
      workload: section(workloadSchema.default({ kind: 'pods' })),
      ports: section(portsSchema.prefault({})),
      tls: section(clusterTlsSchema.optional()),
      topology: section(topologySchema.prefault({})),
      thresholds: section(z.strictObject(thresholdsShape).prefault({})),
      hysteresis: section(hysteresisSchema.prefault({})),
      interval: durationField({ min: 1000, default: 10_000 }),
      endpointTimeout: durationField({ min: 1, default: 2_000 }),
      // A member's /metrics figures stand between reads for at most this long while no signal holds; 0: every cycle. At
      // most a minute (a slow scrape interval): longer would hide a slow disk or failing proposals for that long.
      metricsMaxAge: durationField({ max: 60_000, default: DEFAULT_METRICS_MAX_AGE_MS }),
      cooldown: durationField({ default: DEFAULT_POLICY.cooldownMs }),
      // A member whose node just came back is starting up: its findings wait this long before they count.
      startupGrace: durationField({ default: DEFAULT_STARTUP_GRACE_MS }),
      strategy: strategySchema.default(DEFAULT_POLICY.strategy),
      dryRun: flag.default(DEFAULT_POLICY.dryRun),
      backup: section(backupSchemaWith(durationField).prefault({})),
      tolerations: section(z.array(tolerationSchema).default([])),
      placement: section(placementSchema.optional()),
      desiredVoters: voterCount.default(DEFAULT_POLICY.desiredVoters),
      monitor: section(monitorSchema.prefault({})),
      space: section(spaceSchemaWith(durationField).prefault({})),
      maintenance: section(maintenanceSchemaWith(durationField).prefault({})),
      // Recovery from lost quorum waits for a person's approval unless autoApprove; it gives up after approvalTimeout.
      recovery: section(
        z
          .strictObject({
            autoApprove: flag.default(false),
            approvalTimeout: durationField({ min: 10_000, default: 3_600_000 }),
            // The monitor starts a recovery (which plans, then waits for approval) once quorum has been lost this
            // long; an operator can always start one earlier with etcd-guardian recover.
            startAfter: durationField({ min: 10_000, default: 300_000 }),
          })
          .prefault({}),
      ),
      // Which plans wait for a person (every rule off by default); without an answer within timeout a plan is
      // abandoned having touched nothing.
      approval: section(
        z
          .strictObject({
            critical: flag.default(DEFAULT_APPROVAL_RULES.critical),
            faultToleranceZero: flag.default(DEFAULT_APPROVAL_RULES.faultToleranceZero),
            manualTarget: flag.default(DEFAULT_APPROVAL_RULES.manualTarget),
            timeout: durationField({ min: 10_000, default: DEFAULT_APPROVAL_RULES.timeoutMs }),
          })
          .prefault({}),
      ),
    })
    .superRefine(
      (cluster, ctx) => {
        if (cluster.endpointTimeout >= cluster.interval) {
          ctx.addIssue({
            code: 'custom',
            path: ['endpointTimeout'],
            message: `expected a duration shorter than interval (${formatDuration(cluster.interval)})`,
            input: formatDuration(cluster.endpointTimeout),
          });
        }
      },
      // Runs even when other fields of the cluster are wrong, so that one pass reports everything.
      { when: (payload) => hasNumbers(payload.value, ['interval', 'endpointTimeout']) },
    );
}

/** One etcd cluster as written in the config file. */
export const clusterConfigSchema = clusterSchemaWith(writtenDuration);

/** One etcd cluster already validated, durations in milliseconds: the form workflow inputs carry. */
export const resolvedClusterConfigSchema = clusterSchemaWith(resolvedDuration);

const temporalTlsSchema = z
  .strictObject({
    caFile: filePath('the CA certificate of the Temporal frontend').optional(),
    certFile: filePath('the client certificate').optional(),
    keyFile: filePath('the client private key').optional(),
    // The name checked on the frontend's certificate (and sent as SNI) when it differs from the address's host,
    // e.g. an address by IP or through a load balancer.
    serverName: dnsSubdomain('the DNS name on the Temporal frontend\'s certificate, such as "temporal.example.com"').optional(),
  })
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      const missing = tls.certFile === undefined ? 'certFile' : 'keyFile';
      const present = missing === 'certFile' ? 'keyFile' : 'certFile';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: `expected ${missing} alongside ${present}: a client certificate needs both`,
        input: undefined,
      });
    }
  });

const temporalSchema = z
  .strictObject({
    address: z
      .string({ error: 'expected host:port of the Temporal frontend, such as "127.0.0.1:7233"' })
      .trim()
      .refine(isHostPort)
      .default('127.0.0.1:7233'),
    namespace: text('a Temporal namespace name').default('default'),
    taskQueue: text('a task queue name').default('etcd-guardian'),
    // Present means TLS on; empty trusts the system CAs and sends no client certificate.
    tls: section(temporalTlsSchema.optional()),
  })
  .prefault({});

const kubernetesSchema = z
  .strictObject({
    // Absent: the client's default loading (in-cluster, then $KUBECONFIG, then ~/.kube/config).
    kubeconfig: filePath('a kubeconfig file').optional(),
    context: text('a kubeconfig context name').optional(),
  })
  .prefault({});

/** How much the worker logs, from most to least: pino's level names. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
/** One of `LOG_LEVELS`. */
export type LogLevelName = (typeof LOG_LEVELS)[number];

const workerSchema = z
  .strictObject({
    // Lines below this level are dropped, the SDK's (worker, workflows, activities, core) as well as the guardian's.
    logLevel: z.enum(LOG_LEVELS).default('info'),
    metricsPort: z
      .int({ error: 'expected a port number between 0 and 65535 (0 turns metrics off)' })
      .min(0)
      .max(65535)
      .default(9464),
    shutdownGraceTime: writtenDuration({ default: 30_000 }),
    // Workflows kept in the worker's memory between their tasks. The SDK's default follows the heap's limit; a worker
    // run with a small heap for a large fleet must keep every monitor (one per cluster) and the operations the budget
    // allows, or a monitor evicted between two cycles replays its whole run at the next one.
    maxCachedWorkflows: z.int({ error: 'expected a whole number of at least 2 (workflows kept in memory)' }).min(2).optional(),
  })
  .prefault({});

const fleetSchema = z
  .strictObject({
    // Limits on disruptive operations (migrations, repairs, maintenance, recoveries) running at once; absent: none.
    budget: section(
      z
        .strictObject({
          maxConcurrent: count.optional(),
          perRack: count.optional(),
          perZone: count.optional(),
        })
        .prefault({}),
    ),
    // How long an operation waits for its lease (the budget in use, a freeze) before it gives up, having changed nothing.
    leaseTimeout: writtenDuration({ min: 10_000, default: 3_600_000 }),
  })
  .prefault({});

/** The guardian's whole config file. */
export const guardianConfigSchema = z.strictObject(
  {
    temporal: section(temporalSchema),
    kubernetes: section(kubernetesSchema),
    worker: section(workerSchema),
    fleet: section(fleetSchema),
    clusters: z
      .array(clusterConfigSchema, { error: onWrongType('expected a list of etcd clusters to watch') })
      .min(1, 'expected a list with at least one etcd cluster to watch')
      // Runs even when some clusters are invalid, so that a duplicate is reported in the same pass.
      .superRefine((clusters, ctx) => reportDuplicateNames(clusters, ctx), { when: () => true }),
  },
  { error: onWrongType('expected a mapping with the sections temporal, kubernetes, worker, fleet and clusters') },
);

/** The validated config, defaults applied, durations in milliseconds. */
export type GuardianConfig = z.output<typeof guardianConfigSchema>;
/** One validated etcd cluster; `interval`, `endpointTimeout` and `cooldown` are in milliseconds. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
/** Where the Temporal frontend is and how to reach it. */
export type TemporalConfig = GuardianConfig['temporal'];
/** Which kubeconfig and context to use. */
export type KubernetesConfig = GuardianConfig['kubernetes'];
/** The worker process's own settings; `shutdownGraceTime` is in milliseconds. */
export type WorkerConfig = GuardianConfig['worker'];
/** The fleet's budget and lease timeout (milliseconds). */
export type FleetConfig = GuardianConfig['fleet'];
/** How members are addressed: host networking or a headless service. */
export type AddressingConfig = ClusterConfig['addressing'];

/** The domain policy the risk assessment and the planner follow for one cluster. */
export function toPolicy(cluster: ClusterConfig): Policy {
  return {
    thresholds: { ...cluster.thresholds },
    hysteresisSamples: cluster.hysteresis.samples,
    windowSamples: cluster.hysteresis.windowSamples,
    cooldownMs: cluster.cooldown,
    startupGraceMs: cluster.startupGrace,
    strategy: cluster.strategy,
    dryRun: cluster.dryRun,
    memberNamePrefix: cluster.memberNamePrefix,
    tolerations: cluster.tolerations.map((toleration) => ({ ...toleration })),
    desiredVoters: cluster.desiredVoters,
    addressingMode: cluster.addressing.mode,
    ...(cluster.workload.kind === 'StatefulSet' ? { workload: { ...cluster.workload } } : {}),
    space: {
      fragmentedRatio: cluster.space.fragmentedRatio,
      fragmentedMinBytes: cluster.space.fragmentedMinSize,
      quotaWarning: cluster.space.quotaWarning,
      quotaCritical: cluster.space.quotaCritical,
      growthHorizonMs: cluster.space.growthHorizon,
      ...(cluster.space.quota !== undefined ? { quotaBytes: cluster.space.quota } : {}),
    },
    maintenance: {
      auto: cluster.maintenance.auto,
      windows: cluster.maintenance.windows.map((w) => ({ ...w, ...(w.days ? { days: [...w.days] } : {}) })),
      pauseBetweenMembersMs: cluster.maintenance.pauseBetweenMembers,
    },
    ...(cluster.placement ? { placement: toPlacementRules(cluster.placement) } : {}),
  };
}

function toPlacementRules(placement: NonNullable<ClusterConfig['placement']>): NonNullable<Policy['placement']> {
  return {
    ...(placement.nodeSelector ? { nodeSelector: { ...placement.nodeSelector } } : {}),
    ...(placement.allowedNodes ? { allowedNodes: [...placement.allowedNodes] } : {}),
  };
}

// The array may hold clusters that failed validation: read names defensively and skip invalid ones, which
// already have their own issue.
function reportDuplicateNames(clusters: readonly unknown[], ctx: z.core.$RefinementCtx<unknown>): void {
  if (!Array.isArray(clusters)) return;
  const firstIndex = new Map<string, number>();
  clusters.forEach((cluster: unknown, index) => {
    const name = isRecord(cluster) ? cluster['name'] : undefined;
    if (typeof name !== 'string' || !isDnsLabel(name)) return;
    const first = firstIndex.get(name);
    if (first === undefined) {
      firstIndex.set(name, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [index, 'name'],
      message: `the name "${name}" is already used by clusters.${first}; cluster names must be unique`,
      input: name,
    });
  });
}

function hasNumbers(value: unknown, keys: readonly string[]): boolean {
  return isRecord(value) && keys.every((key) => typeof value[key] === 'number');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
