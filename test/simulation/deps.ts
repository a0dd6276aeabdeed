import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActivityDeps, ClusterRuntime } from '../../activities/runtime';
import { DEFAULT_POLICY, type Policy } from '../../src/domain/policy';
import type { KubePort } from '../../src/kube/port';
import { SIM_MEMBER_LABEL, SIM_NAMESPACE, SIM_SELECTOR, SIM_TOPOLOGY } from './model/builders';
import type { World } from './model/world';

/** The name the simulated cluster is configured under, as the activities' `cluster` argument names it. */
export const SIM_CLUSTER = 'main';

/** What a test may change of the simulated cluster's configuration; the rest is the sandbox's. */
export interface SimRuntimeOptions {
  policy?: Partial<Policy>;
  /** Endpoints configured besides those derived from the pods (the worker configures none). */
  seedEndpoints?: string[];
  /** The Kubernetes port, when a test wraps the model's (a Node object deleted, say). */
  kube?: KubePort;
  backup?: ClusterRuntime['backup'];
  /** Told of every heartbeat an activity sends (none is needed: the simulation has no heartbeat timeout). */
  heartbeat?: (detail?: unknown) => void;
}

/**
 * The runtime of the simulated cluster: the world's ports, the model's namespace and selector, host-network
 * addressing on etcd's standard ports over http, and the default policy for three voters named etcd-N.
 */
export function simRuntime(world: World, options: SimRuntimeOptions = {}): ClusterRuntime {
  return {
    name: SIM_CLUSTER,
    namespace: SIM_NAMESPACE,
    podSelector: SIM_SELECTOR,
    addressing: { mode: 'host-network' },
    clientPort: 2379,
    peerPort: 2380,
    scheme: 'http',
    topology: SIM_TOPOLOGY,
    policy: { ...DEFAULT_POLICY, memberNamePrefix: 'etcd', desiredVoters: 3, ...options.policy },
    seedEndpoints: options.seedEndpoints ?? [],
    etcd: world.etcd,
    kube: options.kube ?? world.kube,
    histograms: new Map(),
    metricsFigures: new Map(),
    backup: options.backup ?? { required: false, directory: join(tmpdir(), 'etcd-guardian-simulation') },
    memberLabel: SIM_MEMBER_LABEL,
  };
}

/**
 * Activity dependencies over the world: one cluster, the world's clock, and waits that advance virtual time, so
 * that an activity that polls for a minute returns in milliseconds with the world moved on by that minute.
 */
export function simDeps(world: World, options: SimRuntimeOptions = {}): ActivityDeps {
  return {
    clusters: new Map([[SIM_CLUSTER, simRuntime(world, options)]]),
    now: () => world.now(),
    effects: {
      sleep: (ms) => Promise.resolve(world.advance(ms)),
      heartbeat: options.heartbeat ?? (() => {}),
    },
  };
}
