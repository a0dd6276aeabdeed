import { resolve } from 'node:path';
import { parseByteSize, SIZE_EXPECTED } from '../config/size';
import { TESTED_ETCD_MINORS, type EtcdMinor } from '../domain/etcd-version';
import { SandboxArgumentError } from './errors';
import { SLOT_COUNT } from './ports';

/** Member counts the sandbox accepts: odd, so that a quorum always exists, and at most 7 as etcd advises. */
export const MEMBER_COUNTS = [1, 3, 5, 7] as const;

/** How the sandbox runs its etcd members: bare pods it creates itself, or a StatefulSet with a local volume per member. */
export const ETCD_WORKLOADS = ['pods', 'statefulset'] as const;
/** One of ETCD_WORKLOADS. */
export type EtcdWorkload = (typeof ETCD_WORKLOADS)[number];

/** The most nodes a sandbox can have: each needs its own address in 127.(20+slot).0.0/24. */
export const MAX_NODES = 250;

/** An extra API user, authenticated by a static token (no ServiceAccount), with its own kubeconfig. */
export interface SandboxUser {
  /** User name, as RBAC subjects name it. */
  name: string;
  /** Groups the user belongs to; `system:masters` makes an admin. */
  groups?: string[];
}

/** How to start a sandbox. Only `stateDir` is required. */
export interface SandboxOptions {
  /** Directory for data, logs, certificates and the kubeconfig. Created if missing; a previous sandbox's is wiped. */
  stateDir: string;
  /** Number of nodes (default 6). */
  nodes?: number;
  /** Number of racks the nodes spread over (default 3). */
  racks?: number;
  /** Number of failure domains (zones) the racks sit in (default 2). */
  domains?: number;
  /** etcd members, one of 1, 3, 5, 7 (default 3). */
  members?: number;
  /** Start the Temporal dev server (default true). */
  temporal?: boolean;
  /**
   * Seconds after the last heartbeat before the simulated node lifecycle controller marks a node Unknown. Default 8,
   * for a snappy demo; the real controller waits 40 s (50 s from Kubernetes 1.32).
   */
  nodeGracePeriodSeconds?: number;
  /** Port and address block (0-99); allocated automatically when absent. */
  slot?: number;
  /** Extra token-authenticated users; each gets a kubeconfig in the state directory. */
  users?: SandboxUser[];
  /**
   * Run the etcd members with TLS on client and peer URLs and client-certificate authentication, with certificates
   * made for this sandbox (default false). `info.etcd.tls` then names the CA and the guardian's client certificate.
   */
  etcdTls?: boolean;
  /**
   * The etcd version the member pods run: `3.4` (Debian's), `3.5` or `3.6` (built by the installer). Default
   * `$ETCD_GUARDIAN_ETCD_VERSION`, else 3.6. The control plane's own etcd stays on 3.4.
   */
  etcdVersion?: string;
  /**
   * How the members run: `pods` (default), one bare pod per member bound to its node, or `statefulset`, a StatefulSet
   * `etcd` whose claims bind to local PersistentVolumes the sandbox makes on the chosen nodes.
   */
  etcdWorkload?: EtcdWorkload;
  /**
   * The members' space quota in bytes (`--quota-backend-bytes`), so that NOSPACE and fragmentation can be reached in a
   * test; absent: etcd's default (2 GiB).
   */
  etcdQuotaBytes?: number;
  /**
   * Start an S3-compatible object store (SeaweedFS's `weed`, from scripts/install-object-store.sh) on loopback, with
   * a bucket and credentials for the guardian's backups (default false; `sandbox up` turns it on when it is installed).
   */
  objectStore?: boolean;
  /** Called with one line per start-up step, for progress output. */
  onProgress?: (message: string) => void;
}

/** Options with every default filled in and every value checked. */
export interface ResolvedOptions {
  stateDir: string;
  nodes: number;
  racks: number;
  domains: number;
  members: number;
  temporal: boolean;
  nodeGracePeriodSeconds: number;
  slot: number | undefined;
  users: SandboxUser[];
  etcdTls: boolean;
  etcdVersion: EtcdMinor;
  etcdWorkload: EtcdWorkload;
  etcdQuotaBytes: number | undefined;
  objectStore: boolean;
  onProgress: (message: string) => void;
}

/** Defaults of the sandbox. */
export const DEFAULTS = {
  nodes: 6,
  racks: 3,
  domains: 2,
  members: 3,
  temporal: true,
  nodeGracePeriodSeconds: 8,
  etcdTls: false,
  etcdVersion: '3.6',
  etcdWorkload: 'pods',
} as const;

/** The environment variable that picks the members' etcd version when the caller does not (the test matrix sets it). */
export const ETCD_VERSION_ENV = 'ETCD_GUARDIAN_ETCD_VERSION';

/**
 * The etcd version of the members: the given one, else `$ETCD_GUARDIAN_ETCD_VERSION`, else 3.6. A value that is not a
 * tested minor is an error naming where it came from: `invalid --etcd-version "3.7": choose one of 3.4, 3.5, 3.6`.
 */
export function resolveEtcdVersion(value: string | undefined, env: NodeJS.ProcessEnv = process.env): EtcdMinor {
  const fromEnv = env[ETCD_VERSION_ENV];
  const [raw, source] =
    value !== undefined ? [value, '--etcd-version'] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, ETCD_VERSION_ENV] : [DEFAULTS.etcdVersion, 'default'];
  const minor = (TESTED_ETCD_MINORS as readonly string[]).find((m) => m === raw.trim());
  if (minor === undefined) {
    throw new SandboxArgumentError(`invalid ${source} ${JSON.stringify(raw)}: choose one of ${TESTED_ETCD_MINORS.join(', ')}`);
  }
  return minor as EtcdMinor;
}

/** The members' workload; anything else is an error naming the value and the choices: `invalid --etcd-workload "sts": ...`. */
export function resolveEtcdWorkload(value: string | undefined, source = 'etcdWorkload'): EtcdWorkload {
  if (value === undefined) return DEFAULTS.etcdWorkload;
  const workload = (ETCD_WORKLOADS as readonly string[]).find((w) => w === value);
  if (workload === undefined) {
    throw new SandboxArgumentError(`invalid ${source} ${JSON.stringify(value)}: choose one of ${ETCD_WORKLOADS.join(', ')}`);
  }
  return workload as EtcdWorkload;
}

/** The smallest quota the sandbox accepts: a fresh member's database and a few writes must fit. */
export const MIN_ETCD_QUOTA_BYTES = 8 * 1024 * 1024;

/** The members' quota: absent, or a whole number of bytes of at least MIN_ETCD_QUOTA_BYTES. */
export function resolveEtcdQuota(bytes: number | undefined, source = 'etcdQuotaBytes'): number | undefined {
  if (bytes === undefined) return undefined;
  if (!Number.isSafeInteger(bytes) || bytes < MIN_ETCD_QUOTA_BYTES) {
    throw new SandboxArgumentError(`invalid ${source} ${String(bytes)}: choose at least ${MIN_ETCD_QUOTA_BYTES} bytes (8MiB), such as 64MiB`);
  }
  return bytes;
}

/** `--etcd-quota 64MiB` in bytes; a value that is no size, or too small, is a one-line error naming it. */
export function parseEtcdQuota(raw: string, source = '--etcd-quota'): number {
  const bytes = parseByteSize(raw);
  if (bytes === undefined) throw new SandboxArgumentError(`invalid ${source} ${JSON.stringify(raw)}: ${SIZE_EXPECTED}`);
  return resolveEtcdQuota(bytes, source) ?? bytes;
}

/** The one-line error for a member count the sandbox does not accept. */
export function memberCountError(value: unknown): SandboxArgumentError {
  return new SandboxArgumentError(`invalid member count ${String(value)}: choose one of ${MEMBER_COUNTS.join(', ')}`);
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SandboxArgumentError(`invalid ${name} ${String(value)}: choose a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Fills in defaults and checks every option; throws SandboxArgumentError before anything is started. */
export function resolveOptions(options: SandboxOptions): ResolvedOptions {
  if (typeof options.stateDir !== 'string' || options.stateDir === '') {
    throw new SandboxArgumentError('invalid stateDir: give the directory the sandbox may use for its state');
  }
  const members = options.members ?? DEFAULTS.members;
  if (!(MEMBER_COUNTS as readonly number[]).includes(members)) throw memberCountError(members);
  const nodes = integerIn('node count', options.nodes ?? DEFAULTS.nodes, 1, MAX_NODES);
  const racks = integerIn('rack count', options.racks ?? DEFAULTS.racks, 1, nodes);
  const domains = integerIn('domain count', options.domains ?? DEFAULTS.domains, 1, racks);
  if (members > nodes) {
    throw new SandboxArgumentError(
      `invalid member count ${members}: ${nodes} nodes hold at most ${nodes} members; choose more nodes or fewer members`,
    );
  }
  const grace = options.nodeGracePeriodSeconds ?? DEFAULTS.nodeGracePeriodSeconds;
  if (!Number.isFinite(grace) || grace < 1 || grace > 600) {
    throw new SandboxArgumentError(`invalid nodeGracePeriodSeconds ${String(grace)}: choose from 1 to 600 seconds`);
  }
  const slot = options.slot === undefined ? undefined : integerIn('slot', options.slot, 0, SLOT_COUNT - 1);
  const users = options.users ?? [];
  for (const user of users) {
    if (!/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/.test(user.name) || user.name === 'admin') {
      throw new SandboxArgumentError(
        `invalid user name ${JSON.stringify(user.name)}: use lower-case letters, digits, '-', '.', ':' (not "admin")`,
      );
    }
  }
  return {
    stateDir: resolve(options.stateDir),
    nodes,
    racks,
    domains,
    members,
    temporal: options.temporal ?? DEFAULTS.temporal,
    nodeGracePeriodSeconds: grace,
    slot,
    users,
    etcdTls: options.etcdTls ?? DEFAULTS.etcdTls,
    etcdVersion: resolveEtcdVersion(options.etcdVersion),
    etcdWorkload: resolveEtcdWorkload(options.etcdWorkload),
    etcdQuotaBytes: resolveEtcdQuota(options.etcdQuotaBytes),
    objectStore: options.objectStore ?? false,
    onProgress: options.onProgress ?? (() => undefined),
  };
}
