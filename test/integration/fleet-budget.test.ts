import type { WorkflowHandle } from '@temporalio/client';
import { parseConfig } from '../../src/config/load';
import { etcdPodManifest, memberLayout } from '../../src/sandbox/etcd-cluster';
import { readFleet } from '../../src/temporal/fleet';
import type { MigrationProgress, MigrationResult } from '../../workflows/migrate';
import { configDocumentFor, startGuardian, type GuardianHarness } from './harness/guardian';
import { memberList } from './harness/gameday';
import { missingKeys, QuorumSampler, stopAllLoops, Writer } from './harness/invariants';
import { until } from './harness/wait';
import { kubeFor } from './support/kube';

/**
 * The fleet's rack budget on the sandbox: two etcd clusters whose members share nodes, a budget of one disruptive
 * operation per rack, and one node down under a member of each. Both monitors find their member down at about the
 * same time and both migrations move a member out of rack-0 and into it (the only rack neither cluster's other
 * members use): one runs, the other waits for the budget, saying so in its progress, then plans again and runs. Both
 * clusters keep quorum and every acknowledged write, and end with three voters on three racks.
 */

jest.setTimeout(420_000);

/** The second cluster: the same nodes as the sandbox's own, its own name, member names and ports. */
const SIDE = { name: 'side', prefix: 'side', clientPort: 2479, peerPort: 2480 } as const;

let h: GuardianHarness;

afterAll(async () => {
  await stopAllLoops();
  await h?.stop();
});

/** Creates the second cluster's pods beside the first's, one on each of their nodes, and waits until it answers. */
async function startSideCluster(): Promise<string[]> {
  const info = h.sandbox.info;
  const nodes = info.etcd.members.map((m) => {
    const node = info.nodes.find((n) => n.name === m.node);
    if (!node) throw new Error(`member ${m.name} is on ${m.node}, which the sandbox does not list`);
    return node;
  });
  const members = memberLayout(nodes, false, SIDE);
  const kube = kubeFor(info);
  for (const member of members) {
    await kube.core.createNamespacedPod({ namespace: info.etcd.namespace, body: etcdPodManifest(member, members, 'side-token', false, info.etcd.version, undefined, SIDE.name) });
  }
  const urls = members.map((m) => m.clientUrl);
  await until(
    'the second cluster to answer with three voters',
    async () => ((await memberList(urls, true).catch(() => [])).filter((m) => !m.isLearner).length === 3 ? true : undefined),
    { timeoutMs: 60_000 },
  );
  return urls;
}

/** The guardian's config for both clusters, with a budget of one operation per rack. */
function fleetConfig() {
  const doc = configDocumentFor(h.sandbox, { interval: '1s', endpointTimeout: '500ms', hysteresisSamples: 3 });
  const [main] = doc['clusters'] as Record<string, unknown>[];
  const side = {
    ...main,
    name: SIDE.name,
    podSelector: `app.kubernetes.io/name=etcd,etcd-guardian.io/cluster=${SIDE.name}`,
    memberNamePrefix: SIDE.prefix,
    ports: { client: SIDE.clientPort, peer: SIDE.peerPort },
  };
  return parseConfig({ ...doc, fleet: { budget: { perRack: 1 }, leaseTimeout: '5m' }, clusters: [main, side] }, 'fleet budget test');
}

/** The destructive steps' span of a finished migration: from the first step after planning to the last one's end. */
function span(result: MigrationResult): { from: number; to: number } {
  const acting = result.steps.filter((s) => s.step !== 'plan');
  return { from: Date.parse(acting[0]?.startedAt ?? ''), to: Math.max(...acting.map((s) => Date.parse(s.endedAt ?? s.startedAt ?? ''))) };
}

/** The migration a monitor started for `cluster`, once it exists. */
function migrationOf(cluster: string): Promise<WorkflowHandle> {
  return until(
    `the monitor of ${cluster} to start a migration`,
    async () => {
      const handle = h.client.workflow.getHandle(`migrate-${cluster}`);
      return (await handle.describe().then(() => true, () => false)) ? handle : undefined;
    },
    { timeoutMs: 90_000 },
  );
}

it('holds a rack budget of one across two clusters on the same nodes: a node down under both moves one member, then the other', async () => {
  h = await startGuardian({ sandbox: { members: 3, nodes: 6, racks: 3 }, worker: false });
  const sideUrls = await startSideCluster();
  const config = fleetConfig();
  await h.startWorker(config);
  const taskQueue = config.temporal.taskQueue;
  for (const cluster of ['main', SIDE.name]) {
    await h.client.workflow.start('monitorCluster', { workflowId: `monitor-${cluster}`, taskQueue, args: [{ cluster, intervalMs: 1000, continueAsNewEvery: 100 }] });
  }
  const clusters = { main: h.sandbox.info.etcd.clientUrls, [SIDE.name]: sideUrls };
  const writers = Object.fromEntries(Object.entries(clusters).map(([name, urls]) => [name, new Writer([...urls])]));
  const samplers = Object.fromEntries(Object.entries(clusters).map(([name, urls]) => [name, new QuorumSampler([...urls])]));
  for (const w of Object.values(writers)) w.start(40);
  for (const s of Object.values(samplers)) s.start(250);

  // node-0 (rack-0) holds etcd-0 and side-0.
  const node = h.sandbox.info.etcd.members[0]?.node ?? 'node-0';
  expect(h.sandbox.info.nodes.find((n) => n.name === node)?.rack).toBe('rack-0');
  await h.sandbox.fault('node-down', node);

  const handles = await Promise.all(['main', SIDE.name].map((c) => migrationOf(c)));
  // While both run, one waits for the rack budget, naming rack-0 and the operation that holds it.
  const waiting = await until(
    'one migration to wait for the rack budget',
    async () => {
      for (const handle of handles) {
        const progress = await handle.query<MigrationProgress>('progress').catch(() => undefined);
        if (progress?.phase === 'waiting' && progress.waitingFor?.includes('rack budget')) return { handle, progress };
      }
      return undefined;
    },
    { timeoutMs: 60_000, everyMs: 200 },
  );
  expect(waiting.progress.waitingFor).toContain('1 of 1 operations run in rack rack-0');
  const holder = handles.find((x) => x !== waiting.handle);
  expect(waiting.progress.waitingFor).toContain(holder?.workflowId);
  const fleet = await readFleet(h.client, taskQueue);
  expect(fleet?.leases.map((l) => l.cluster)).toEqual([holder?.workflowId.replace('migrate-', '')]);

  const [first, second] = (await Promise.all([holder?.result(), waiting.handle.result()])) as [MigrationResult, MigrationResult];
  // The waiting one acted only after the other had finished, and planned again after its wait.
  expect(span(second).from).toBeGreaterThanOrEqual(span(first).to);
  expect(second.steps.filter((s) => s.step === 'plan')).toHaveLength(2);
  expect([first.newMember, second.newMember].every((m) => m !== undefined)).toBe(true);
  expect((await readFleet(h.client, taskQueue))?.leases).toEqual([]);

  for (const [name, urls] of Object.entries(clusters)) {
    const writer = writers[name];
    const sampler = samplers[name];
    if (!writer || !sampler) throw new Error(`no invariants for ${name}`);
    await writer.stop();
    await sampler.stop();
    const seen = sampler.endpointsSeen();
    expect({ cluster: name, belowQuorum: sampler.belowQuorum() }).toEqual({ cluster: name, belowQuorum: [] });
    expect({ cluster: name, missing: await missingKeys(seen, writer.acked) }).toEqual({ cluster: name, missing: [] });
    expect(writer.acked.length).toBeGreaterThan(0);
    const listed = await memberList([...urls, ...seen], true);
    expect({ cluster: name, voters: listed.filter((m) => !m.isLearner).length, learners: listed.filter((m) => m.isLearner).length }).toEqual({ cluster: name, voters: 3, learners: 0 });
    // The member moved off the dead node, and the voters sit on three racks.
    const nodesOfVoters = listed.filter((m) => !m.isLearner).map((m) => h.sandbox.info.nodes.find((n) => m.clientURLs[0]?.includes(`//${n.address}:`)));
    expect(nodesOfVoters.map((n) => n?.name)).not.toContain(node);
    expect(new Set(nodesOfVoters.map((n) => n?.rack ?? 'unknown')).size).toBe(3);
  }
});
