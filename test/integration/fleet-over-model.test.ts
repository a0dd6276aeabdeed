import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ActivityDeps, ClusterRuntime } from '../../activities/runtime';
import { listWaitingApprovals } from '../../src/cli/approval-command';
import { createBackupActivities } from '../../activities/backup';
import { createFleetActivities, type FleetSettings } from '../../activities/fleet';
import { createMaintenanceActivities } from '../../activities/maintenance';
import { createMigrationActivities } from '../../activities/migration';
import { createStatefulSetActivities } from '../../activities/statefulset';
import { createTrackingActivities } from '../../activities/tracking';
import { freezeFleet, readFleet, unfreezeFleet } from '../../src/temporal/fleet';
import type { MaintenanceProgress, MaintenanceResult } from '../../workflows/maintain';
import type { MigrationProgress, MigrationResult, StepRecord } from '../../workflows/migrate';
import { fleetWorkflowId } from '../../workflows/fleet-ids';
import { simRuntime } from '../simulation/deps';
import { aWorld } from '../simulation/model/builders';
import { healthyVoters, learners, lostAcknowledgedWrites, voters } from '../simulation/model/invariants';
import type { World } from '../simulation/model/world';
import { startOverModel, type OverModel } from './harness/over-model';
import type { DevServer } from './harness/temporal-dev-server';

/**
 * The fleet's rules on a real Temporal dev server with the real workflows (the coordinator, migrateMember) and their
 * real activities over two in-memory clusters, "east" and "west", laid out alike (their first members both in
 * rack-0): the rack budget makes the second migration wait and says why, a freeze holds a running migration after its
 * current step and keeps a new one from starting, a lease not granted in time gives up having changed nothing, and a
 * holder that is terminated loses its lease; a plan the cluster's approval rules hold waits for a person without a
 * lease, runs once approved (the history names who), and is abandoned untouched when rejected or not answered. Judged by what an SRE notices: the operations' steps never overlap
 * where the budget says one, the waiting one names the holder, quorum holds and no write is lost.
 */

const SPEED = 10;
const TICK_MS = 50;

let overModel: OverModel;
let connection: NativeConnection;
let client: Client;
let bundle: WorkflowBundleWithSourceMap;
let backupRoot: string;
let server: DevServer;

beforeAll(async () => {
  overModel = await startOverModel('fleet');
  ({ server, connection, client, bundle, backupRoot } = overModel);
}, 150_000);

afterAll(async () => {
  await overModel?.stop();
});

/** Two clusters on one worker and one task queue: one fleet. */
interface Fleet {
  taskQueue: string;
  worlds: Record<'east' | 'west', World>;
  belowQuorum: string[];
  stop(): Promise<void>;
}

async function aFleet(name: string, fleet: FleetSettings, seed: number, approval?: { east: NonNullable<ClusterRuntime['approval']> }): Promise<Fleet> {
  const worlds = { east: aWorld({ seed, members: 3, nodes: 6, racks: 3, keys: 5 }), west: aWorld({ seed: seed + 1, members: 3, nodes: 6, racks: 3, keys: 5 }) };
  const all = Object.values(worlds);
  const advance = (ms: number): void => all.forEach((w) => w.advance(ms));
  const deps: ActivityDeps = {
    clusters: new Map(
      Object.entries(worlds).map(([cluster, world]) => [
        cluster,
        {
          // A short pause between two members' defragmentations: it is a real Temporal timer.
          ...simRuntime(world, { backup: { required: false, directory: join(backupRoot, `${name}-${cluster}`) }, policy: { maintenance: { auto: true, windows: [], pauseBetweenMembersMs: 200 } } }),
          name: cluster,
          ...(cluster === 'east' && approval ? { approval: approval.east } : {}),
        },
      ]),
    ),
    now: () => worlds.east.now(),
    effects: { sleep: (ms) => Promise.resolve(advance(ms)), heartbeat: () => {} },
    fleet,
  };
  const taskQueue = `fleet-over-model-${name}-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    namespace: server.namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: { ...createMigrationActivities(deps), ...createMaintenanceActivities(deps), ...createStatefulSetActivities(deps), ...createBackupActivities(deps), ...createTrackingActivities({}), ...createFleetActivities({ clusters: deps.clusters, temporal: client, fleet }) },
  });
  const running = worker.run();
  // The coordinator first, with a short liveness check, so that a terminated holder is found within seconds.
  await client.workflow.start('fleetCoordinator', { workflowId: fleetWorkflowId(taskQueue), taskQueue, args: [{ livenessEveryMs: 2_000 }] });
  const belowQuorum: string[] = [];
  let last = Date.now();
  let ticks = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    advance((now - last) * SPEED);
    last = now;
    ticks += 1;
    for (const [cluster, world] of Object.entries(worlds)) {
      world.put(`client-${ticks}`, `v${ticks}`);
      const vs = voters(world);
      const connected = vs.filter((m) => world.etcdModel.connected(m)).length;
      if (connected < Math.floor(vs.length / 2) + 1) belowQuorum.push(`${cluster}: ${connected}/${vs.length}`);
    }
  }, TICK_MS);
  return {
    taskQueue,
    worlds,
    belowQuorum,
    stop: async () => {
      clearInterval(timer);
      worker.shutdown();
      await running;
    },
  };
}

function startMigration(f: Fleet, cluster: 'east' | 'west', member: string): Promise<WorkflowHandle> {
  return client.workflow.start('migrateMember', {
    taskQueue: f.taskQueue,
    workflowId: `migrate-${cluster}-${Date.now()}`,
    args: [{ cluster, member, strategy: 'surge', reason: `fleet-over-model: ${cluster}` }],
  });
}

const progressOf = (handle: WorkflowHandle): Promise<MigrationProgress> => handle.query<MigrationProgress>('progress');

/** Poll `check` until it answers something, or fail with what it last saw. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}

async function failureOf(handle: WorkflowHandle): Promise<{ type: string | undefined; message: string }> {
  try {
    await handle.result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) return { type: error.cause.type ?? undefined, message: error.cause.message };
    throw error;
  }
  throw new Error(`${handle.workflowId} succeeded; a failure was expected`);
}

const names = (members: readonly { name: string; id: string }[]): string[] => members.map((m) => m.name || m.id).sort();
/** The destructive steps' span: from the first step after planning to the last step's end. */
function span(steps: readonly StepRecord[]): { from: number; to: number } {
  const acting = steps.filter((s) => s.step !== 'plan');
  return { from: Date.parse(acting[0]?.startedAt ?? ''), to: Math.max(...acting.map((s) => Date.parse(s.endedAt ?? s.startedAt ?? ''))) };
}

function expectSafe(f: Fleet): void {
  expect(f.belowQuorum).toEqual([]);
  for (const world of Object.values(f.worlds)) {
    expect(names(learners(world))).toEqual([]);
    expect(names(healthyVoters(world))).toEqual(names(voters(world)));
    expect(lostAcknowledgedWrites(world)).toEqual([]);
  }
}

it('holds a rack budget of one across two clusters: the second migration waits, naming the first, then runs after it', async () => {
  const f = await aFleet('rack', { budget: { perRack: 1 }, leaseTimeoutMs: 120_000 }, 31);
  try {
    // Both clusters' etcd-0 live in rack-0, and move within it (the other racks hold their other members).
    const first = await startMigration(f, 'east', 'etcd-0');
    await until('east holds its lease', async () => ((await readFleet(client, f.taskQueue))?.leases.some((l) => l.cluster === 'east') ? true : undefined));
    const second = await startMigration(f, 'west', 'etcd-0');
    const waiting = await until('west waits', async () => {
      const p = await progressOf(second);
      return p.phase === 'waiting' && p.waitingFor?.includes('rack budget') ? p : undefined;
    });
    expect(waiting.waitingFor).toContain(`rack budget: 1 of 1 operations run in rack rack-0 (${first.workflowId} (east:`);
    expect(waiting.steps.map((s) => s.step)).toEqual(['plan']);
    const fleet = await readFleet(client, f.taskQueue);
    expect(fleet?.reasons[second.workflowId]).toContain('rack-0');

    const [a, b] = (await Promise.all([first.result(), second.result()])) as [MigrationResult, MigrationResult];
    // The second acted only after the first had finished, and planned again after its wait.
    expect(span(b.steps).from).toBeGreaterThanOrEqual(span(a.steps).to);
    expect(b.steps.filter((s) => s.step === 'plan')).toHaveLength(2);
    expect(a.newMember).toBeDefined();
    expect(b.newMember).toBeDefined();
    expectSafe(f);
    expect((await readFleet(client, f.taskQueue))?.leases).toEqual([]);
  } finally {
    await f.stop();
  }
}, 180_000);

it('a freeze holds a running migration after its current step, keeps a new one from starting, and unfreezing lets both finish', async () => {
  const f = await aFleet('freeze', { budget: {}, leaseTimeoutMs: 120_000 }, 41);
  try {
    const running = await startMigration(f, 'east', 'etcd-1');
    await until('east has run a step past the plan', async () => ((await progressOf(running)).steps.some((s) => s.step !== 'plan' && s.status === 'done') ? true : undefined));
    const frozen = await freezeFleet(client, f.taskQueue, { reason: 'incident 4711: network flapping', by: 'alice' });
    expect(frozen).toMatchObject({ reason: 'incident 4711: network flapping', by: 'alice' });
    const held = await until('east is held', async () => {
      const p = await progressOf(running);
      return p.waitingFor?.startsWith('frozen after the current step') && p.currentStep === undefined ? p : undefined;
    });
    expect(held.waitingFor).toContain('the fleet is frozen by alice');
    expect(held.waitingFor).toContain('incident 4711');
    // Held: no step starts while frozen.
    const stepsHeld = held.steps.length;
    const newcomer = await startMigration(f, 'west', 'etcd-1');
    const blocked = await until('west waits', async () => {
      const p = await progressOf(newcomer);
      return p.phase === 'waiting' && p.waitingFor?.includes('frozen') ? p : undefined;
    });
    expect(blocked.steps.map((s) => s.step)).toEqual(['plan']);
    await sleep(3_000);
    expect((await progressOf(running)).steps).toHaveLength(stepsHeld);
    expect((await progressOf(newcomer)).steps.map((s) => s.step)).toEqual(['plan']);
    expect(f.worlds.west.etcdModel.list().filter((m) => m.isLearner)).toEqual([]);

    expect(await unfreezeFleet(client, f.taskQueue, { by: 'alice' })).toMatchObject({ reason: 'incident 4711: network flapping' });
    const [a, b] = (await Promise.all([running.result(), newcomer.result()])) as [MigrationResult, MigrationResult];
    expect(a.newMember).toBeDefined();
    expect(b.newMember).toBeDefined();
    expectSafe(f);
  } finally {
    await f.stop();
  }
}, 180_000);

it('a lease not granted in time gives up having changed nothing; a terminated holder loses its lease', async () => {
  const f = await aFleet('timeout', { budget: { maxConcurrent: 1 }, leaseTimeoutMs: 4_000 }, 51);
  try {
    await freezeFleet(client, f.taskQueue, { cluster: 'west', reason: 'change freeze', by: 'bob' });
    const before = names(voters(f.worlds.west));
    const refused = await startMigration(f, 'west', 'etcd-2');
    const failure = await failureOf(refused);
    expect(failure.type).toBe('LEASE_TIMEOUT');
    expect(failure.message).toContain('cluster west is frozen by bob');
    expect(failure.message).toContain('nothing was changed');
    expect(names(voters(f.worlds.west))).toEqual(before);
    expect((await readFleet(client, f.taskQueue))?.waiting).toEqual([]);
    await unfreezeFleet(client, f.taskQueue, { cluster: 'west', by: 'bob' });

    // A holder that is terminated never releases: the coordinator finds it closed and lets the next one in.
    const stuck = await startMigration(f, 'east', 'etcd-2');
    await until('east has run a step past the plan', async () => ((await progressOf(stuck)).steps.some((s) => s.step !== 'plan' && s.status === 'done') ? true : undefined));
    await freezeFleet(client, f.taskQueue, { cluster: 'east', reason: 'hold east where it is', by: 'bob' });
    await until('east is held', async () => ((await progressOf(stuck)).waitingFor?.startsWith('frozen after the current step') ? true : undefined));
    await stuck.terminate('the operator killed it');
    const next = await startMigration(f, 'west', 'etcd-2');
    const waited = await until('west waits for the fleet budget', async () => {
      const p = await progressOf(next);
      return p.waitingFor?.includes('fleet budget') ? p : undefined;
    });
    expect(waited.waitingFor).toContain(stuck.workflowId);
    const result = (await next.result()) as MigrationResult;
    expect(result.newMember).toBeDefined();
    expect((await readFleet(client, f.taskQueue))?.leases).toEqual([]);
  } finally {
    await f.stop();
  }
}, 180_000);

const RULES = { critical: false, faultToleranceZero: false, manualTarget: false, timeout: 120_000 };

it("a critical cluster's migration waits for a person holding no lease, is listed, ignores a verdict without a name, and runs once approved", async () => {
  const f = await aFleet('approve', { budget: { maxConcurrent: 1 }, leaseTimeoutMs: 120_000 }, 61, { east: { ...RULES, critical: true } });
  try {
    const before = names(voters(f.worlds.east));
    const held = await startMigration(f, 'east', 'etcd-0');
    const waiting = await until('east awaits approval', async () => {
      const p = await progressOf(held);
      return p.phase === 'awaiting-approval' ? p : undefined;
    });
    expect(waiting.approvalNeeded?.reasons).toEqual(['east is critical (approval.critical): every plan on it waits for a person']);
    expect(waiting.steps.map((s) => s.step)).toEqual(['plan']);
    const listed = (await listWaitingApprovals(client)).filter((w) => w.workflowId === held.workflowId);
    expect(listed).toEqual([expect.objectContaining({ cluster: 'east', operation: 'migration', reasons: waiting.approvalNeeded?.reasons })]);
    expect(listed[0]?.plan).toMatch(/^surge etcd-0 from node-\d to node-\d$/);
    // A plan waiting for a person holds no budget: west's migration runs meanwhile under the fleet's limit of one.
    const west = (await (await startMigration(f, 'west', 'etcd-0')).result()) as MigrationResult;
    expect(west.newMember).toBeDefined();
    expect(names(voters(f.worlds.east))).toEqual(before);

    await held.signal('approve', { reason: 'no name' });
    await sleep(1_000);
    expect((await progressOf(held)).phase).toBe('awaiting-approval');
    await held.signal('approve', { by: 'alice', reason: 'change 42' });
    const result = (await held.result()) as MigrationResult;
    expect(result.approvedBy).toMatchObject({ by: 'alice', reason: 'change 42' });
    expect(result.newMember).toBeDefined();
    // Planned again after the wait, from a fresh look; the same plan, so it ran.
    expect(result.steps.filter((s) => s.step === 'plan')).toHaveLength(2);
    const signals = (await held.fetchHistory()).events?.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve') ?? [];
    expect(signals).toHaveLength(2);
    expectSafe(f);
  } finally {
    await f.stop();
  }
}, 180_000);

it('a held plan nobody answers is abandoned at its timeout, and a rejected one at once, both having touched nothing', async () => {
  const f = await aFleet('reject', { budget: {}, leaseTimeoutMs: 120_000 }, 71, { east: { ...RULES, manualTarget: true, timeout: 3_000 } });
  try {
    const before = names(voters(f.worlds.east));
    // The node the guardian would choose itself, named by hand: a dry run says which (and waits for nobody).
    const dry = (await (
      await client.workflow.start('migrateMember', { taskQueue: f.taskQueue, workflowId: `approval-dry-${Date.now()}`, args: [{ cluster: 'east', member: 'etcd-1', strategy: 'surge', dryRun: true, reason: 'where to?' }] })
    ).result()) as MigrationResult;
    const target = dry.plan.target.node;
    const manual = (workflowId: string): Promise<WorkflowHandle> =>
      client.workflow.start('migrateMember', { taskQueue: f.taskQueue, workflowId, args: [{ cluster: 'east', member: 'etcd-1', strategy: 'surge', targetNode: target, reason: 'move it by hand' }] });
    const unanswered = await manual(`approval-timeout-${Date.now()}`);
    const timedOut = await failureOf(unanswered);
    expect(timedOut.type).toBe('NOT_APPROVED');
    expect(timedOut.message).toContain('was not approved within 3s (approval.timeout): nothing was touched');
    expect(timedOut.message).toContain(`the target node ${target} was named by hand (approval.manualTarget)`);
    expect(names(voters(f.worlds.east))).toEqual(before);

    const rejected = await manual(`approval-reject-${Date.now()}`);
    await until('east awaits approval', async () => ((await progressOf(rejected)).phase === 'awaiting-approval' ? true : undefined));
    await rejected.signal('reject', { by: 'bob', reason: 'the rack is being recabled' });
    const refusal = await failureOf(rejected);
    expect(refusal.type).toBe('REJECTED');
    expect(refusal.message).toContain('was rejected by bob: the rack is being recabled; nothing was touched');
    expect(names(voters(f.worlds.east))).toEqual(before);
    expect(learners(f.worlds.east)).toEqual([]);
    // Without a node named by hand the same cluster's migration needs nobody.
    const automatic = (await (await startMigration(f, 'east', 'etcd-1')).result()) as MigrationResult;
    expect(automatic.approvedBy).toBeUndefined();
    expect(automatic.newMember).toBeDefined();
    expectSafe(f);
  } finally {
    await f.stop();
  }
}, 180_000);

it("a critical cluster's maintenance gives its lease back while it waits for a person, takes it again once approved, and runs the approved plan", async () => {
  const f = await aFleet('maintain', { budget: { maxConcurrent: 1 }, leaseTimeoutMs: 120_000 }, 81, { east: { ...RULES, critical: true } });
  try {
    const handle = await client.workflow.start('maintainCluster', {
      taskQueue: f.taskQueue,
      workflowId: `maintain-east-${Date.now()}`,
      args: [{ cluster: 'east', mode: 'defragment', all: true, reason: 'fleet-over-model: defragment a critical cluster' }],
    });
    const waiting = await until('east awaits approval', async () => {
      const p = await handle.query<MaintenanceProgress>('progress');
      return p.phase === 'awaiting-approval' ? p : undefined;
    });
    expect(waiting.approvalNeeded?.reasons).toEqual(['east is critical (approval.critical): every plan on it waits for a person']);
    // Planned under the lease, then the lease given back: west's migration runs under the fleet's limit of one.
    expect((await readFleet(client, f.taskQueue))?.leases.filter((l) => l.cluster === 'east')).toEqual([]);
    const west = (await (await startMigration(f, 'west', 'etcd-1')).result()) as MigrationResult;
    expect(west.newMember).toBeDefined();
    expect(f.worlds.east.calls.trace.filter((t) => t.method === 'defragment')).toEqual([]);

    await handle.signal('approve', { by: 'carol' });
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.approvedBy).toMatchObject({ by: 'carol' });
    expect(result.steps.filter((s) => s.step === 'plan')).toHaveLength(2);
    expect(result.defragmented?.map((d) => d.member).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect((await readFleet(client, f.taskQueue))?.leases).toEqual([]);
    expectSafe(f);
  } finally {
    await f.stop();
  }
}, 180_000);
