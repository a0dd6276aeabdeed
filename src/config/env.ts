/**
 * Environment variables that override values of the config file, the way containers are usually configured.
 * Pure: the environment is passed in, never read from `process` here.
 */

/** One supported environment variable and the config value it sets. */
export interface EnvOverride {
  name: string;
  /** Dot path of the value it sets; `*` stands for every cluster. */
  path: string;
  /** How the string from the environment is read before validation. */
  type: 'string' | 'number' | 'boolean';
  description: string;
}

/** Every environment variable the guardian reads besides the config file's own path. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  {
    name: 'ETCD_GUARDIAN_TEMPORAL_ADDRESS',
    path: 'temporal.address',
    type: 'string',
    description: 'host:port of the Temporal frontend',
  },
  {
    name: 'ETCD_GUARDIAN_TEMPORAL_NAMESPACE',
    path: 'temporal.namespace',
    type: 'string',
    description: 'Temporal namespace of the guardian workflows',
  },
  {
    name: 'ETCD_GUARDIAN_TASK_QUEUE',
    path: 'temporal.taskQueue',
    type: 'string',
    description: 'Task queue the worker polls',
  },
  {
    name: 'ETCD_GUARDIAN_KUBECONFIG',
    path: 'kubernetes.kubeconfig',
    type: 'string',
    description: 'Path of the kubeconfig file (absent: in-cluster config, then $KUBECONFIG, then ~/.kube/config)',
  },
  {
    name: 'ETCD_GUARDIAN_METRICS_PORT',
    path: 'worker.metricsPort',
    type: 'number',
    description: 'Port of the worker Prometheus endpoint; 0 turns it off',
  },
  {
    name: 'ETCD_GUARDIAN_LOG_LEVEL',
    path: 'worker.logLevel',
    type: 'string',
    description: 'trace, debug, info, warn or error: the least severe log lines the worker writes',
  },
  {
    name: 'ETCD_GUARDIAN_DRY_RUN',
    path: 'clusters.*.dryRun',
    type: 'boolean',
    description: 'true or false: plan and record without acting, for every cluster',
  },
];

/** The environment variable naming the config file when no file is passed explicitly. */
export const CONFIG_FILE_ENV = 'ETCD_GUARDIAN_CONFIG';

/** An override that was set, and the concrete paths it wrote to. */
export interface AppliedOverride {
  override: EnvOverride;
  /** Dot paths written, `*` expanded: "clusters.0.dryRun", "clusters.1.dryRun". */
  paths: string[];
}

/** The raw config with overrides written in, and which overrides were applied. */
export interface WithOverrides {
  raw: unknown;
  applied: AppliedOverride[];
}

/**
 * Writes the set environment variables into a copy of the raw config, before validation, so that a value
 * from the environment is checked exactly like one from the file. Numbers and booleans are converted when
 * they read as such; anything else is left as the string, for validation to reject with its value.
 */
export function applyEnvOverrides(raw: unknown, env: Readonly<Record<string, string | undefined>>): WithOverrides {
  // A malformed document gets no overrides; validation reports what is wrong with it.
  if (!isRecord(raw)) return { raw, applied: [] };
  const config = structuredClone(raw);
  const applied: AppliedOverride[] = [];
  for (const override of ENV_OVERRIDES) {
    const text = env[override.name];
    // Compose files often pass `${VAR:-}`: an empty variable means unset, not "set to nothing".
    if (text === undefined || text.trim() === '') continue;
    const paths = writeAt(config, override.path.split('.'), coerce(text, override.type), []);
    if (paths.length > 0) applied.push({ override, paths });
  }
  return { raw: config, applied };
}

function coerce(text: string, type: EnvOverride['type']): unknown {
  const trimmed = text.trim();
  if (type === 'number' && /^[+-]?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (type === 'boolean' && /^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === 'true';
  return type === 'string' ? trimmed : text;
}

// Returns the concrete paths written. Missing sections are created; a section that is there but is not a
// mapping is left alone for validation to report.
function writeAt(target: Record<string, unknown>, path: readonly string[], value: unknown, done: string[]): string[] {
  const [head, ...rest] = path;
  if (head === undefined) return [];
  if (rest.length === 0) {
    target[head] = value;
    return [[...done, head].join('.')];
  }
  if (rest[0] === '*') {
    const list = target[head];
    if (!Array.isArray(list)) return [];
    return list.flatMap((element: unknown, index) =>
      isRecord(element) ? writeAt(element, rest.slice(1), value, [...done, head, String(index)]) : [],
    );
  }
  if (target[head] === undefined) target[head] = {};
  const child = target[head];
  return isRecord(child) ? writeAt(child, rest, value, [...done, head]) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
