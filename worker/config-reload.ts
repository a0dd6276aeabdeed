import { statSync } from 'node:fs';
import type { ActivityDeps, ClusterRuntime } from '../activities/runtime';
import { loadConfig } from '../src/config/load';
import type { GuardianConfig } from '../src/config/schema';

/**
 * A worker keeps to its config file while it runs: a changed file is read again, validated, and each cluster's
 * runtime is updated in place, so that the next activity of every monitor and operation uses the new thresholds,
 * policy, backup and recovery settings. A file that does not validate changes nothing (the running config stays, the
 * problems are logged). Temporal's and the worker's own sections need a restart: a change there is reported, not
 * applied.
 */

/** What one reload did. */
export interface ReloadOutcome {
  outcome: 'unchanged' | 'applied' | 'invalid';
  added: string[];
  removed: string[];
  changed: string[];
  /** Sections read but not applied (a restart applies them). */
  needsRestart: string[];
  error?: string;
}

/** Fields of a runtime that are the worker's memory of the cluster, kept across a reload. */
function keepMemory(old: ClusterRuntime, fresh: ClusterRuntime, sameConnection: boolean): ClusterRuntime {
  return {
    ...fresh,
    histograms: old.histograms,
    metricsFigures: old.metricsFigures,
    ...(old.quorumLostSince !== undefined ? { quorumLostSince: old.quorumLostSince } : {}),
    ...(old.backupStore ? { backupStore: old.backupStore } : {}),
    seedEndpoints: old.seedEndpoints,
    etcd: sameConnection ? old.etcd : fresh.etcd,
  };
}

const json = (value: unknown): string => JSON.stringify(value);

/**
 * Apply `next` over the running config: clusters added, removed and changed in `runtimes` (the map the activities
 * read, mutated in place), and the fleet settings. A cluster's etcd connections are kept unless its TLS, ports or
 * deadline changed.
 */
export function applyConfig(
  deps: ActivityDeps,
  runtimes: Map<string, ClusterRuntime>,
  current: GuardianConfig,
  next: GuardianConfig,
  build: (config: GuardianConfig) => Map<string, ClusterRuntime>,
): ReloadOutcome {
  const before = new Map(current.clusters.map((c) => [c.name, c]));
  const after = new Map(next.clusters.map((c) => [c.name, c]));
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const changed = [...after.keys()].filter((name) => before.has(name) && json(before.get(name)) !== json(after.get(name)));
  const needsRestart = (['temporal', 'kubernetes', 'worker'] as const).filter((section) => json(current[section]) !== json(next[section]));
  const fleetChanged = json(current.fleet) !== json(next.fleet);
  if (added.length + removed.length + changed.length === 0 && !fleetChanged) {
    return { outcome: 'unchanged', added, removed, changed, needsRestart };
  }
  const fresh = added.length + changed.length > 0 ? build(next) : new Map<string, ClusterRuntime>();
  for (const name of added) {
    const runtime = fresh.get(name);
    if (runtime) runtimes.set(name, runtime);
  }
  for (const name of changed) {
    const old = runtimes.get(name);
    const made = fresh.get(name);
    const was = before.get(name);
    const now = after.get(name);
    if (!made || !was || !now) continue;
    const sameConnection = json([was.tls, was.ports, was.endpointTimeout]) === json([now.tls, now.ports, now.endpointTimeout]);
    if (old && !sameConnection) closeEtcd(old);
    runtimes.set(name, old ? keepMemory(old, made, sameConnection) : made);
  }
  for (const name of removed) {
    const old = runtimes.get(name);
    runtimes.delete(name);
    if (old) closeEtcd(old);
  }
  if (fleetChanged) deps.fleet = { ...(deps.fleet ?? { leaseTimeoutMs: next.fleet.leaseTimeout }), budget: { ...next.fleet.budget }, leaseTimeoutMs: next.fleet.leaseTimeout };
  return { outcome: 'applied', added, removed, changed: fleetChanged ? [...changed, '(fleet)'] : changed, needsRestart };
}

function closeEtcd(runtime: ClusterRuntime): void {
  const closable = runtime.etcd as { close?: () => void };
  try {
    closable.close?.();
  } catch {
    // Closing a pool that is already closed: nothing to do.
  }
}

/** What the watcher tells its owner. */
export interface ConfigWatchEvents {
  applied(outcome: ReloadOutcome, config: GuardianConfig): void;
  invalid(error: string): void;
}

/**
 * Poll the config file (its modification time and size; a ConfigMap's symlink swap included) every `everyMs`, and
 * apply a change. Returns a function that stops watching.
 */
export function watchConfig(
  file: string,
  deps: ActivityDeps,
  runtimes: Map<string, ClusterRuntime>,
  initial: GuardianConfig,
  events: ConfigWatchEvents,
  /** `build`: the runtimes of a config (the worker's buildClusterRuntimes). */
  options: { build: (config: GuardianConfig) => Map<string, ClusterRuntime>; everyMs?: number; env?: NodeJS.ProcessEnv },
): () => void {
  let current = initial;
  const signature = (): string => {
    try {
      const stat = statSync(file);
      return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch (error) {
      return `missing: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  let seen = signature();
  let failed: string | undefined;
  const check = (): void => {
    const now = signature();
    if (now === seen) return;
    seen = now;
    let next: GuardianConfig;
    try {
      next = loadConfig({ file, ...(options.env ? { env: options.env } : {}) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== failed) events.invalid(message);
      failed = message;
      return;
    }
    failed = undefined;
    const outcome = applyConfig(deps, runtimes, current, next, options.build);
    current = next;
    if (outcome.outcome === 'applied' || outcome.needsRestart.length > 0) events.applied(outcome, next);
  };
  const timer = setInterval(check, options.everyMs ?? 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** "clusters added: b; changed: a; a restart applies: temporal" */
export function reloadSummary(outcome: ReloadOutcome): string {
  const parts = [
    outcome.added.length > 0 ? `clusters added: ${outcome.added.join(', ')}` : '',
    outcome.removed.length > 0 ? `removed: ${outcome.removed.join(', ')}` : '',
    outcome.changed.length > 0 ? `changed: ${outcome.changed.join(', ')}` : '',
    outcome.needsRestart.length > 0 ? `a restart applies: ${outcome.needsRestart.join(', ')}` : '',
  ].filter((p) => p !== '');
  return parts.length > 0 ? parts.join('; ') : 'nothing to apply';
}
