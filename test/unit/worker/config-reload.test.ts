import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ActivityDeps, ClusterRuntime } from '../../../activities/runtime';
import { parseConfig } from '../../../src/config/load';
import { toPolicy, type GuardianConfig } from '../../../src/config/schema';
import { applyConfig, reloadSummary, watchConfig, type ReloadOutcome } from '../../../worker/config-reload';

type Raw = Record<string, unknown>;
const aCluster = (name: string, overrides: Raw = {}): Raw => ({ name, podSelector: `app=${name}`, addressing: { mode: 'host-network' }, ...overrides });
const aDocument = (clusters: Raw[], overrides: Raw = {}): Raw => ({ clusters, ...overrides });
const configOf = (raw: Raw): GuardianConfig => parseConfig(raw, 'guardian.yaml');

/** Runtimes as the worker builds them, without gateways: what the reload must keep or replace is what is checked. */
function build(config: GuardianConfig): Map<string, ClusterRuntime> {
  return new Map(
    config.clusters.map((c) => [
      c.name,
      {
        name: c.name,
        namespace: c.namespace,
        podSelector: c.podSelector,
        addressing: { mode: 'host-network' },
        clientPort: c.ports.client,
        peerPort: c.ports.peer,
        scheme: 'http',
        topology: c.topology,
        policy: toPolicy(c),
        seedEndpoints: [],
        etcd: { built: c.name, close: jest.fn() } as unknown as ClusterRuntime['etcd'],
        kube: {} as ClusterRuntime['kube'],
        histograms: new Map(),
        metricsFigures: new Map(),
        backup: c.backup,
        recovery: c.recovery,
        memberLabel: 'etcd-guardian.io/member',
        endpointTimeoutMs: c.endpointTimeout,
      },
    ]),
  );
}

function running(raw: Raw): { deps: ActivityDeps; runtimes: Map<string, ClusterRuntime>; config: GuardianConfig } {
  const config = configOf(raw);
  const runtimes = build(config);
  return { deps: { clusters: runtimes, now: () => new Date(), fleet: { budget: { ...config.fleet.budget }, leaseTimeoutMs: config.fleet.leaseTimeout } }, runtimes, config };
}

describe('applyConfig', () => {
  it('a changed threshold reaches the cluster; its etcd connections and the worker\'s memory of it stay', () => {
    const { deps, runtimes, config } = running(aDocument([aCluster('a'), aCluster('b')]));
    const a = runtimes.get('a');
    a?.histograms.set('m1', {} as never);
    if (a) a.quorumLostSince = 123;
    const outcome = applyConfig(deps, runtimes, config, configOf(aDocument([aCluster('a', { thresholds: { nodeCpu: 0.5 }, dryRun: true }), aCluster('b')])), build);
    expect(outcome).toEqual({ outcome: 'applied', added: [], removed: [], changed: ['a'], needsRestart: [] });
    const now = runtimes.get('a');
    expect(now?.policy.thresholds.nodeCpu).toBe(0.5);
    expect(now?.policy.dryRun).toBe(true);
    expect(now?.etcd).toBe(a?.etcd);
    expect(now?.histograms.get('m1')).toBeDefined();
    expect(now?.quorumLostSince).toBe(123);
    expect(runtimes.get('b')).toBe(runtimes.get('b'));
  });

  it('a changed endpoint deadline gets new etcd connections and closes the old ones', () => {
    const { deps, runtimes, config } = running(aDocument([aCluster('a')]));
    const old = runtimes.get('a')?.etcd as unknown as { close: jest.Mock };
    applyConfig(deps, runtimes, config, configOf(aDocument([aCluster('a', { endpointTimeout: '3s' })])), build);
    expect(runtimes.get('a')?.etcd).not.toBe(old);
    expect(runtimes.get('a')?.endpointTimeoutMs).toBe(3_000);
    expect(old.close).toHaveBeenCalled();
  });

  it('adds and removes clusters, and takes a new fleet budget', () => {
    const { deps, runtimes, config } = running(aDocument([aCluster('a'), aCluster('b')]));
    const removed = runtimes.get('b')?.etcd as unknown as { close: jest.Mock };
    const outcome = applyConfig(deps, runtimes, config, configOf(aDocument([aCluster('a'), aCluster('c')], { fleet: { budget: { perRack: 1 }, leaseTimeout: '10m' } })), build);
    expect(outcome).toMatchObject({ added: ['c'], removed: ['b'], changed: ['(fleet)'] });
    expect([...runtimes.keys()].sort()).toEqual(['a', 'c']);
    expect(removed.close).toHaveBeenCalled();
    expect(deps.fleet).toEqual({ budget: { perRack: 1 }, leaseTimeoutMs: 600_000 });
  });

  it('reports sections that need a restart without applying them; the same config changes nothing', () => {
    const { deps, runtimes, config } = running(aDocument([aCluster('a')]));
    expect(applyConfig(deps, runtimes, config, configOf(aDocument([aCluster('a')])), build).outcome).toBe('unchanged');
    const outcome = applyConfig(deps, runtimes, config, configOf(aDocument([aCluster('a')], { temporal: { taskQueue: 'other' } })), build);
    expect(outcome).toEqual({ outcome: 'unchanged', added: [], removed: [], changed: [], needsRestart: ['temporal'] });
    expect(reloadSummary(outcome)).toBe('a restart applies: temporal');
  });
});

describe('watchConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'guardian-reload-'));
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a changed file, and keeps the running config when the new file is not valid, naming the problem', () => {
    const file = join(dir, 'guardian.yaml');
    writeFileSync(file, stringify(aDocument([aCluster('a')])));
    const { deps, runtimes, config } = running(aDocument([aCluster('a')]));
    const applied: ReloadOutcome[] = [];
    const invalid: string[] = [];
    const stop = watchConfig(file, deps, runtimes, config, { applied: (o) => applied.push(o), invalid: (e) => invalid.push(e) }, { everyMs: 1_000, env: {}, build });
    try {
      writeFileSync(file, stringify(aDocument([aCluster('a', { thresholds: { nodeMemory: 0.7 } })])) + '\n# edited\n');
      jest.advanceTimersByTime(1_000);
      expect(applied.map((o) => o.changed)).toEqual([['a']]);
      expect(runtimes.get('a')?.policy.thresholds.nodeMemory).toBe(0.7);

      writeFileSync(file, stringify(aDocument([aCluster('a', { thresholds: { nodeMemory: 7 } })])));
      jest.advanceTimersByTime(1_000);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]).toContain('clusters.0.thresholds.nodeMemory');
      expect(runtimes.get('a')?.policy.thresholds.nodeMemory).toBe(0.7);
      // The same bad file again says nothing new.
      jest.advanceTimersByTime(3_000);
      expect(invalid).toHaveLength(1);
    } finally {
      stop();
    }
  });
});
