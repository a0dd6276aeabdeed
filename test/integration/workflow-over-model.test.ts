import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createBackupActivities } from '../../activities/backup';
import { createFleetActivities } from '../../activities/fleet';
import { createMaintenanceActivities } from '../../activities/maintenance';
import { createMigrationActivities } from '../../activities/migration';
import { createRecoveryActivities } from '../../activities/recovery';
import { createStatefulSetActivities } from '../../activities/statefulset';
import { createTrackingActivities } from '../../activities/tracking';
import type { Policy } from '../../src/domain/policy';
import type { MaintenanceProgress, MaintenanceResult } from '../../workflows/maintain';
import type { MigrationProgress, MigrationResult, StepRecord } from '../../workflows/migrate';
import type { RecoveryProgress } from '../../workflows/recover';
import { SIM_CLUSTER, simDeps } from '../simulation/deps';
import { aWorld, SIM_NAMESPACE, SIM_STATEFULSET } from '../simulation/model/builders';
import type { Fault, FaultHook, PortCall } from '../simulation/model/faults';
import { healthyVoters, learners, lostAcknowledgedWrites, quorumState, voters } from '../simulation/model/invariants';
import type { World } from '../simulation/model/world';
import { startOverModel, type OverModel } from './harness/over-model';
import type { DevServer } from './harness/temporal-dev-server';

/**
 * The real migrateMember workflow on a real Temporal dev server, its real activities over the in-memory model of
 * etcd and Kubernetes (test/simulation), one scenario per step kind and failure path, including a worker that is shut
 * down mid-run and a new one that replays the history and finishes. Each scenario is judged by what a user notices:
 * the voters at the end, no learner left, no acknowledged write lost, the workflow's result or failure type, and the
 * step records. With RECORD_HISTORIES=1 each scenario's history is written to test/fixtures/histories, where
 * test/unit/replay.test.ts replays it against the current workflow code.
 *
 * Time: Temporal's retry intervals are real seconds while the model runs on a virtual clock, so a pacer moves the
 * virtual clock along with real time (SPEED times faster) — a learner catches up between two attempts of
 * promoteLearner as it would in a real cluster — and a client writes a key on every tick.
 */

const SPEED = 10;
const TICK_MS = 50;
const HISTORIES = join(__dirname, '../fixtures/histories');
const RECORD = process.env.RECORD_HISTORIES === '1';

let overModel: OverModel;
let connection: NativeConnection;
let client: Client;
let bundle: WorkflowBundleWithSourceMap;
let backupRoot: string;
let server: DevServer;

beforeAll(async () => {
  overModel = await startOverModel('wom');
  ({ server, connection, client, bundle, backupRoot } = overModel);
}, 150_000);

afterAll(async () => {
  await overModel?.stop();
});

/**
 * Moves the world's virtual clock along with real time, writes a key on every tick as a client would, and samples
 * quorum: a tick at which fewer voters are up and connected than a quorum is an outage a user would have seen.
 */
class Pacer {
  /** Ticks below quorum, as "connected/voters at +virtual ms". */
  readonly belowQuorum: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private writes = 0;
  private ticks = 0;

  /** `writeEvery`: a client write every that many ticks (a small database fills up fast). */
  constructor(
    private readonly world: World,
    private readonly writeEvery = 1,
  ) {}

  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      this.world.advance((now - this.last) * SPEED);
      this.last = now;
      this.ticks += 1;
      if (this.ticks % this.writeEvery === 0) {
        this.writes += 1;
        this.world.put(`client-${this.writes}`, `v${this.writes}`);
      }
      const all = voters(this.world);
      const connected = all.filter((m) => this.world.etcdModel.connected(m)).length;
      if (connected < Math.floor(all.length / 2) + 1) this.belowQuorum.push(`${connected}/${all.length} at +${this.world.elapsedMs()} ms`);
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What a scenario saw of the mutating calls: members removed and pods deleted, in order, and the rules broken then. */
interface Watch {
  mutations: string[];
  violations: string[];
}

/**
 * Watches every port call for the safety rules a user would notice being broken (the pod of a voter deleted),
 * logs removals and pod deletions by name, and then lets the scenario's own fault hook decide.
 */
function watching(world: World, watch: Watch, faults?: FaultHook): FaultHook {
  return (call: PortCall): Fault | undefined => {
    if (call.port === 'etcd' && call.method === 'removeMember') {
      const member = world.etcdModel.find(String(call.args[0]));
      watch.mutations.push(`remove ${member?.name || String(call.args[0])}${member ? (member.isLearner ? ' (learner)' : ' (voter)') : ''}`);
    }
    if (call.port === 'kube' && call.method === 'deletePod') {
      const pod = String(call.args[1]);
      watch.mutations.push(`delete pod ${pod}`);
      const member = world.etcdModel.list().find((m) => m.name === pod);
      if (member && !member.isLearner) watch.violations.push(`deletePod ${pod} while ${member.name} is a voter`);
    }
    return faults?.(call);
  };
}

/** A scenario's world and its worker, and the migration it runs. */
interface Scenario {
  name: string;
  world: World;
  watch: Watch;
  pacer: Pacer;
  taskQueue: string;
  /** The cluster's policy where it differs from the simulation's default (a placement policy, say). */
  policy?: Partial<Policy>;
}

/** What the workflow ended with: its result, or its failure's type, message and step records. */
type Outcome = { result: MigrationResult } | { failure: { type: string | undefined; message: string; steps: StepRecord[] } };

function aScenario(name: string, seed: number, faults?: (world: World) => FaultHook | undefined, workload: 'pods' | 'statefulset' = 'pods'): Scenario {
  const world = aWorld({ seed, members: 3, nodes: 6, racks: 3, keys: 5, workload });
  const watch: Watch = { mutations: [], violations: [] };
  world.faults = watching(world, watch, faults?.(world));
  return { name, world, watch, pacer: new Pacer(world), taskQueue: `workflow-over-model-${name}-${Date.now()}` };
}

/** A worker with exactly the activities worker/worker.ts registers for migrations, over the scenario's world. */
async function workerFor(s: Scenario, identity: string): Promise<{ worker: Worker; running: Promise<void> }> {
  const directory = join(backupRoot, s.name);
  mkdirSync(directory, { recursive: true });
  const deps = simDeps(s.world, { backup: { required: false, directory }, ...(s.policy ? { policy: s.policy } : {}) });
  const worker = await Worker.create({
    connection,
    namespace: server.namespace,
    taskQueue: s.taskQueue,
    identity,
    workflowBundle: bundle,
    activities: { ...createMigrationActivities(deps), ...createMaintenanceActivities(deps), ...createStatefulSetActivities(deps), ...createBackupActivities(deps), ...createRecoveryActivities(deps), ...createTrackingActivities({}), ...createFleetActivities({ clusters: deps.clusters, temporal: client }) },
    // A worker that is shut down mid-run hands its workflows back at once rather than after the default 10 s.
    stickyQueueScheduleToStartTimeout: '1s',
  });
  return { worker, running: worker.run() };
}

async function startMigration(s: Scenario, member: string, strategy: 'auto' | 'replace' | 'surge'): Promise<WorkflowHandle> {
  return client.workflow.start('migrateMember', {
    taskQueue: s.taskQueue,
    workflowId: `migrate-${s.name}-${Date.now()}`,
    args: [{ cluster: SIM_CLUSTER, member, strategy, reason: `workflow-over-model: ${s.name}` }],
  });
}

/** The workflow's end; a run that does not end in time fails with its progress and the model's schedule. */
async function outcomeOf(s: Scenario, handle: WorkflowHandle, timeoutMs = 90_000): Promise<Outcome> {
  const ended = (async (): Promise<Outcome> => {
    try {
      return { result: (await handle.result()) as MigrationResult };
    } catch (error) {
      if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
        const steps = (error.cause.details?.[0] ?? []) as StepRecord[];
        return { failure: { type: error.cause.type ?? undefined, message: error.cause.message, steps } };
      }
      throw error;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void handle
        .query<MigrationProgress>('progress')
        .catch((error: unknown) => String(error))
        .then((progress) => reject(new Error(`${s.name}: no end after ${timeoutMs} ms; progress ${JSON.stringify(progress, null, 1)}\nschedule (tail):\n${s.world.schedule().split('\n').slice(-60).join('\n')}`)));
    }, timeoutMs);
  });
  try {
    return await Promise.race([ended, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Replay the history against today's workflow code, and record it when asked. */
async function checkHistory(s: Scenario, handle: WorkflowHandle, prefix = 'migrate'): Promise<void> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, handle.workflowId);
  if (RECORD) {
    mkdirSync(HISTORIES, { recursive: true });
    writeFileSync(join(HISTORIES, `${prefix}-${s.name}.json`), historyToJSON(history));
  }
}

/** Both workers of a run shut down mid-way completed workflow tasks of it: the second finished from the history. */
async function expectFinishedByBoth(handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  const identities = new Set((history.events ?? []).map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter((i): i is string => typeof i === 'string'));
  expect([...identities].sort()).toEqual(['worker-after-crash', 'worker-before-crash']);
}

/** Stop the first worker (if the test did not) and the second (if it started). */
async function stopWorkers(first: { worker: Worker; running: Promise<void> }, second: { worker: Worker; running: Promise<void> } | undefined): Promise<void> {
  if (first.worker.getState() === 'RUNNING') first.worker.shutdown();
  await first.running;
  if (second) {
    second.worker.shutdown();
    await second.running;
  }
}

/** Run one migration on a fresh worker to its end. */
async function run(s: Scenario, member: string, strategy: 'auto' | 'replace' | 'surge'): Promise<{ outcome: Outcome; handle: WorkflowHandle }> {
  const { worker, running } = await workerFor(s, `worker-${s.name}`);
  const { pacer } = s;
  pacer.start();
  try {
    const handle = await startMigration(s, member, strategy);
    const outcome = await outcomeOf(s, handle);
    await checkHistory(s, handle);
    return { outcome, handle };
  } finally {
    pacer.stop();
    worker.shutdown();
    await running;
  }
}

function resultOf(s: Scenario, outcome: Outcome): MigrationResult {
  if ('failure' in outcome) throw new Error(`${s.name}: the migration failed (${outcome.failure.type ?? '?'}): ${outcome.failure.message}\n${describeSteps(outcome.failure.steps)}\n${s.world.schedule().split('\n').slice(-40).join('\n')}`);
  return outcome.result;
}

function describeSteps(steps: readonly StepRecord[]): string {
  return steps.map((r) => `${r.status} ${r.step}: ${r.detail ?? ''}`).join('\n');
}

const names = (members: readonly { name: string; id: string }[]): string[] => members.map((m) => m.name || m.id).sort();

/**
 * What a user checks after any migration: no learner left, every voter healthy, no acknowledged write lost, no
 * voter's pod deleted, and quorum held all along.
 */
function expectSafeEnd(s: Scenario): void {
  expect(s.watch.violations).toEqual([]);
  expect(s.pacer.belowQuorum).toEqual([]);
  expect(names(learners(s.world))).toEqual([]);
  expect(names(healthyVoters(s.world))).toEqual(names(voters(s.world)));
  expect(lostAcknowledgedWrites(s.world)).toEqual([]);
}

/** A migration that succeeded: the member is gone, its successor votes, the cluster has its three voters. */
function expectMoved(s: Scenario, result: MigrationResult, moved: string, before: readonly string[]): void {
  expectSafeEnd(s);
  expect(result.newMember).toBeDefined();
  expect(names(voters(s.world))).toEqual([...before.filter((n) => n !== moved), result.newMember ?? '?'].sort());
  expect(result.verified?.voters.slice().sort()).toEqual(names(voters(s.world)));
  expect(s.world.kubeModel.getPod(SIM_NAMESPACE, moved)).toBeUndefined();
}

/** Nothing failed on the way. */
function expectNoFailedStep(result: MigrationResult): void {
  expect(result.steps.filter((r) => r.status === 'failed')).toEqual([]);
}

/** The step names the workflow ran, without the plan itself. */
const stepNames = (steps: readonly StepRecord[]): string[] => steps.filter((r) => r.step !== 'plan').map((r) => r.step);

/** The node under a member's pod. */
function nodeOfPod(world: World, pod: string): string | undefined {
  return world.kubeModel.getPod(SIM_NAMESPACE, pod)?.spec?.nodeName;
}

function follower(world: World): string {
  const leader = quorumState(world).leader;
  const name = names(voters(world)).find((n) => n !== leader);
  if (!name) throw new Error('no follower in the model');
  return name;
}

it('replaces a member whose node went down', async () => {
  const s = aScenario('replace', 11);
  const moved = follower(s.world);
  const node = nodeOfPod(s.world, moved) ?? '?';
  s.world.apply({ kind: 'node-down', node });
  s.world.advance(45_000);
  const before = names(voters(s.world));

  const { outcome } = await run(s, moved, 'auto');

  const result = resultOf(s, outcome);
  expect(result.strategy).toBe('replace');
  // The plan is the program: the workflow ran exactly the plan's steps, dead member out first.
  expect(stepNames(result.steps)).toEqual(result.plan.steps.map((p) => p.step));
  expect(stepNames(result.steps).indexOf('remove-member')).toBeLessThan(stepNames(result.steps).indexOf('schedule-pod'));
  expect(result.steps.find((r) => r.step === 'delete-pod')?.detail).toContain('forced');
  expect(result.to).not.toBe(node);
  expectNoFailedStep(result);
  expectMoved(s, result, moved, before);
});

it('surges a live member that leads: successor first, leadership moved, then the member leaves', async () => {
  const s = aScenario('surge', 12);
  const moved = quorumState(s.world).leader ?? '?';
  const before = names(voters(s.world));

  const { outcome } = await run(s, moved, 'auto');

  const result = resultOf(s, outcome);
  expect(result.strategy).toBe('surge');
  expect(stepNames(result.steps)).toEqual(result.plan.steps.map((p) => p.step));
  expect(result.steps.find((r) => r.step === 'move-leader')?.detail).toMatch(/^leadership moved to /);
  expect(quorumState(s.world).leader).not.toBe(moved);
  // Never fewer voters than it started with: the member left only after its successor was promoted.
  expect(s.watch.mutations).toEqual([`remove ${moved} (voter)`, `delete pod ${moved}`]);
  expectNoFailedStep(result);
  expectMoved(s, result, moved, before);
});

it('undoes a placement whose node goes down, and places the successor on the next node', async () => {
  let firstNode: string | undefined;
  const s = aScenario('placement-retry', 13, (world) => (call) => {
    // The first successor's node goes down as its pod is created, and stays down past the node monitor's grace.
    if (firstNode !== undefined || call.port !== 'kube' || call.method !== 'createPod') return undefined;
    firstNode = (call.args[1] as { spec?: { nodeName?: string } }).spec?.nodeName ?? '?';
    world.apply({ kind: 'node-down', node: firstNode });
    return { kind: 'delay', ms: 41_000 };
  });
  const moved = follower(s.world);
  const before = names(voters(s.world));

  const { outcome } = await run(s, moved, 'surge');

  const result = resultOf(s, outcome);
  expect(firstNode).toBeDefined();
  const chooses = result.steps.filter((r) => r.step === 'choose-node');
  expect(chooses.map((r) => r.detail?.match(/attempt (\d+)/)?.[1])).toEqual(['1', '2']);
  // The first attempt failed where its node was found gone, and was undone; the second went through.
  expect(result.steps.filter((r) => r.step === 'rejoin').map((r) => r.status)).toEqual(['failed', 'done']);
  expect(result.steps.find((r) => r.step === 'rejoin')?.detail).toContain('not ready');
  const retire = result.steps.find((r) => r.step.startsWith('compensate: retire '));
  expect(retire?.step).toMatch(new RegExp(` on ${firstNode ?? '?'}$`));
  expect([retire?.status, retire?.detail]).toEqual(['compensated', 'member removed, pod deleted']);
  expect(result.to).not.toBe(firstNode);
  expect(nodeOfPod(s.world, result.newMember ?? '?')).toBe(result.to);
  expectMoved(s, result, moved, before);
});

it('plans a surge again as a replace when its member dies before the learner is added', async () => {
  let killed = false;
  const moved = 'etcd-2';
  const s = aScenario('plan-stale', 14, () => (call) => {
    // The member dies (for good) while the backup streams, after the surge was planned and before add-learner.
    if (killed || call.method !== 'snapshot') return undefined;
    killed = true;
    return { kind: 'event', event: { kind: 'kill', member: moved, restart: false } };
  });
  const before = names(voters(s.world));

  const { outcome } = await run(s, moved, 'auto');

  const result = resultOf(s, outcome);
  expect(killed).toBe(true);
  expect(result.plan.strategy).toBe('replace');
  expect(result.strategy).toBe('replace');
  const plans = result.steps.filter((r) => r.step === 'plan');
  expect(plans).toHaveLength(2);
  expect(plans[0]?.detail).toMatch(/^surge /);
  expect(plans[1]?.detail).toMatch(/^planned again: replace /);
  expect(result.steps.find((r) => r.step === 'schedule-pod' && r.status !== 'done')?.detail).toMatch(/went down/);
  expectMoved(s, result, moved, before);
});

it('takes back a promoted successor whose node goes down: member removed first, then its pod; the migration fails', async () => {
  const promoted: string[] = [];
  let pending: string | undefined;
  const s = aScenario('compensate-promoted', 15, (world) => (call) => {
    if (call.port === 'etcd' && call.method === 'promoteMember') {
      pending = String(call.args[0]);
      return undefined;
    }
    if (pending === undefined) return undefined;
    // Right after the promotion (one etcd accepted): the new voter's node goes down, NotReady at once.
    const member = world.etcdModel.find(pending);
    pending = undefined;
    const node = member && !member.isLearner ? nodeOfPod(world, member.name) : undefined;
    if (!member || !node) return undefined;
    promoted.push(member.name);
    world.apply({ kind: 'node-down', node });
    return { kind: 'delay', ms: 41_000 };
  });
  const moved = follower(s.world);
  const before = names(voters(s.world));

  const { outcome } = await run(s, moved, 'surge');

  if (!('failure' in outcome)) throw new Error(`the migration succeeded: ${describeSteps(outcome.result.steps)}`);
  const { failure } = outcome;
  expect(failure.type).toBe('TARGET_LOST');
  expect(failure.message).toContain(`migration of ${moved} failed at verify-member`);
  // Every attempt promoted its successor; each was taken back.
  expect(promoted.length).toBeGreaterThan(0);
  const retires = failure.steps.filter((r) => r.step.startsWith('compensate: retire '));
  expect(retires.map((r) => [r.status, r.detail])).toEqual(promoted.map(() => ['compensated', 'member removed, pod deleted']));
  for (const name of promoted) {
    expect(retires.some((r) => r.step.startsWith(`compensate: retire ${name} on `))).toBe(true);
    // One guarded action: the voter leaves etcd, and only then does its pod go.
    const removed = s.watch.mutations.indexOf(`remove ${name} (voter)`);
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(s.watch.mutations.indexOf(`delete pod ${name}`)).toBeGreaterThan(removed);
    expect(s.world.etcdModel.list().find((m) => m.name === name)).toBeUndefined();
    expect(s.world.kubeModel.getPod(SIM_NAMESPACE, name)).toBeUndefined();
  }
  // No weaker than it started: the same three voters, all healthy, the member that was to move still in place.
  expect(names(voters(s.world))).toEqual(before);
  expectSafeEnd(s);
  expect(s.watch.mutations.filter((m) => m.includes(moved))).toEqual([]);
});

it('finishes the migration on a new worker after the first is shut down mid-run (replay)', async () => {
  let gate = true;
  let promoteAttempts = 0;
  const s = aScenario('crash-replay', 16, () => (call) => {
    if (call.port !== 'etcd' || call.method !== 'promoteMember' || !gate) return undefined;
    // Until the first worker is gone, etcd does not answer the promotion: the workflow waits in rejoin.
    promoteAttempts += 1;
    return { kind: 'error' };
  });
  const moved = follower(s.world);
  const before = names(voters(s.world));
  const { pacer } = s;
  const first = await workerFor(s, 'worker-before-crash');
  pacer.start();
  let second: Awaited<ReturnType<typeof workerFor>> | undefined;
  try {
    const handle = await startMigration(s, moved, 'surge');
    // Mid-run: the learner and its pod exist, the promotion is being retried.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const progress = await handle.query<MigrationProgress>('progress');
      if (progress.steps.some((r) => r.step === 'schedule-pod' && r.status === 'done') && progress.currentStep === 'rejoin' && promoteAttempts > 0) break;
      if (Date.now() > deadline) throw new Error(`no promotion attempt in time: ${JSON.stringify(progress)}`);
      await sleep(100);
    }
    first.worker.shutdown();
    await first.running;
    gate = false;
    second = await workerFor(s, 'worker-after-crash');
    // A query is answered by the new worker, from the history it replays.
    const replayed = await handle.query<MigrationProgress>('progress');
    expect(replayed.steps.find((r) => r.step === 'schedule-pod')?.status).toBe('done');

    const outcome = await outcomeOf(s, handle);
    await checkHistory(s, handle);

    const result = resultOf(s, outcome);
    expect(result.strategy).toBe('surge');
    expect(stepNames(result.steps)).toEqual(result.plan.steps.map((p) => p.step));
    expectNoFailedStep(result);
    expectMoved(s, result, moved, before);
    // Both workers completed workflow tasks of this run.
    await expectFinishedByBoth(handle);
  } finally {
    pacer.stop();
    await stopWorkers(first, second);
  }
});

it('refuses a manual migration to a node outside the placement policy, before any side effect', async () => {
  const s = aScenario('placement-policy', 13);
  s.policy = { placement: { allowedNodes: ['node-3', 'node-4'] } };
  const moved = follower(s.world);
  const before = names(voters(s.world));
  const pods = (): string[] => s.world.kubeModel.listPods(SIM_NAMESPACE, '').map((p) => `${p.metadata?.name ?? '?'}@${p.spec?.nodeName ?? '?'}`).sort();
  const podsBefore = pods();
  const { worker, running } = await workerFor(s, `worker-${s.name}`);
  try {
    const handle = await client.workflow.start('migrateMember', {
      taskQueue: s.taskQueue,
      workflowId: `migrate-${s.name}-${Date.now()}`,
      args: [{ cluster: SIM_CLUSTER, member: moved, targetNode: 'node-5', reason: 'an operator asked for node-5', requestedBy: 'alice' }],
    });
    expect(await outcomeOf(s, handle)).toEqual({
      failure: { type: 'PLACEMENT_POLICY', message: 'targetNode "node-5" breaks the placement policy of cluster main: not in placement.allowedNodes (node-3, node-4)', steps: [] },
    });
    await checkHistory(s, handle);
  } finally {
    worker.shutdown();
    await running;
  }
  // Nothing was changed: no member added or removed, no pod created or deleted.
  const mutating = ['addLearner', 'removeMember', 'promoteMember', 'moveLeader', 'createPod', 'deletePod'];
  expect(s.world.calls.trace.filter((t) => mutating.includes(t.method)).map((t) => `${t.port}.${t.method}`)).toEqual([]);
  expect(names(voters(s.world))).toEqual(before);
  expect(pods()).toEqual(podsBefore);

  // The same request to a node the policy allows goes ahead, and the result says who asked.
  const again = await workerFor(s, `worker-${s.name}-2`);
  s.pacer.start();
  try {
    const handle = await client.workflow.start('migrateMember', {
      taskQueue: s.taskQueue,
      workflowId: `migrate-${s.name}-allowed-${Date.now()}`,
      args: [{ cluster: SIM_CLUSTER, member: moved, targetNode: 'node-3', reason: 'an operator asked for node-3', requestedBy: 'alice' }],
    });
    const result = resultOf(s, await outcomeOf(s, handle));
    expect({ to: result.to, requestedBy: result.requestedBy }).toEqual({ to: 'node-3', requestedBy: 'alice' });
    expectMoved(s, result, moved, before);
  } finally {
    s.pacer.stop();
    again.worker.shutdown();
    await again.running;
  }
});

describe('a StatefulSet-managed cluster', () => {
  const statefulSet = { workload: { kind: 'StatefulSet' as const, name: SIM_STATEFULSET.name, volumeClaimTemplate: SIM_STATEFULSET.volumeClaimTemplate } };
  /** The ordinal's volumes as "name phase", and the node its pod runs on. */
  const volumesOf = (world: World, pod: string): string[] => world.kubeModel.listVolumes(`etcd-guardian.io/member=${pod}`).map((v) => `${v.metadata?.name ?? '?'} ${v.status?.phase ?? '?'}`);

  it('replaces a member whose node went down through its StatefulSet: the ordinal comes back on the chosen node, under its name, and the old volume goes', async () => {
    const s = aScenario('statefulset-replace', 17, undefined, 'statefulset');
    s.policy = statefulSet;
    const moved = follower(s.world);
    const node = nodeOfPod(s.world, moved) ?? '?';
    s.world.apply({ kind: 'node-down', node });
    s.world.advance(45_000);
    const before = names(voters(s.world));

    const { outcome } = await run(s, moved, 'auto');

    const result = resultOf(s, outcome);
    expect(result.strategy).toBe('replace');
    expect(stepNames(result.steps)).toEqual(['backup-snapshot', 'remove-member', 'choose-node', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum', 'release-volumes']);
    expect(result.plan.reasons.some((r) => r.startsWith(`replace, not surge: pod ${moved} of StatefulSet etcd holds the ordinal's name`))).toBe(true);
    expectNoFailedStep(result);
    expectSafeEnd(s);
    // The member keeps its name: the controller made the same ordinal again, on the node the guardian chose.
    expect(result.newMember).toBe(moved);
    expect(names(voters(s.world))).toEqual(before);
    expect(result.to).not.toBe(node);
    expect(nodeOfPod(s.world, moved)).toBe(result.to);
    expect(s.watch.mutations).toEqual([`remove ${moved} (voter)`, `delete pod ${moved}`]);
    const claim = s.world.kubeModel.getClaim(SIM_NAMESPACE, `data-${moved}`);
    expect(volumesOf(s.world, moved)).toEqual([`${claim?.spec?.volumeName ?? '?'} Bound`]);
    expect(result.steps.find((r) => r.step === 'release-volumes')?.detail).toMatch(new RegExp(`^deleted etcd-data-\\d-${node}; in use: `));
  });

  it('a placement that fails after the member was removed is undone (learner and unbound volume) and the ordinal lands on the next node', async () => {
    let firstNode: string | undefined;
    const s = aScenario(
      'statefulset-placement-retry',
      18,
      (world) => (call) => {
        // The first target goes down as its volume is reserved, past the node monitor's grace: the member is removed already.
        if (firstNode !== undefined || call.port !== 'kube' || call.method !== 'createVolume') return undefined;
        firstNode = (call.args[0] as { spec?: { nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: { values?: string[] }[] }[] } } } }).spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
        if (firstNode) world.apply({ kind: 'node-down', node: firstNode });
        return { kind: 'delay', ms: 41_000 };
      },
      'statefulset',
    );
    s.policy = statefulSet;
    const moved = follower(s.world);
    const node = nodeOfPod(s.world, moved) ?? '?';
    s.world.apply({ kind: 'node-down', node });
    s.world.advance(45_000);
    const before = names(voters(s.world));

    const { outcome } = await run(s, moved, 'auto');

    const result = resultOf(s, outcome);
    expect(firstNode).toBeDefined();
    expect(result.steps.filter((r) => r.step === 'choose-node').map((r) => r.detail?.match(/attempt (\d+)/)?.[1])).toEqual(['1', '2']);
    expect(result.steps.filter((r) => r.step === 'schedule-pod').map((r) => r.status)).toEqual(['failed', 'done']);
    expect(result.steps.find((r) => r.step === 'schedule-pod')?.detail).toBe(`node ${firstNode ?? '?'} of the new member is not ready`);
    const retire = result.steps.find((r) => r.step.startsWith('compensate: retire '));
    expect(retire?.step).toBe(`compensate: retire ${moved} on ${firstNode ?? '?'}`);
    expect(retire?.status).toBe('compensated');
    expect(retire?.detail).toMatch(new RegExp(`^member removed, volume etcd-data-\\d-${firstNode ?? '?'}-[0-9a-f]{6} deleted; pod ${moved} stays StatefulSet etcd's$`));
    expectSafeEnd(s);
    expect(names(voters(s.world))).toEqual(before);
    expect(result.to).not.toBe(firstNode);
    expect(nodeOfPod(s.world, moved)).toBe(result.to);
    const claim = s.world.kubeModel.getClaim(SIM_NAMESPACE, `data-${moved}`);
    expect(volumesOf(s.world, moved)).toEqual([`${claim?.spec?.volumeName ?? '?'} Bound`]);
  });
});

describe('the maintenance over the model', () => {
  it('recovers a NOSPACE cluster, finished by a new worker after the first is shut down mid-run: compacted, every member defragmented, disarmed, writable', async () => {
    const world = aWorld({ seed: 31, members: 3, nodes: 6, racks: 3, keys: 5, etcd: { dbSizeBytes: 1024 * 1024, quotaBytes: 8 * 1024 * 1024, bytesPerWrite: 16 * 1024 } });
    const watch: Watch = { mutations: [], violations: [] };
    let gate = true;
    world.faults = watching(world, watch, (call) => {
      // Until the first worker is gone, the second member's defragmentation gets no answer: the run waits there.
      if (!gate || call.port !== 'etcd' || call.method !== 'defragment') return undefined;
      const defragmented = watch.mutations.filter((m) => m.startsWith('defragment')).length;
      watch.mutations.push(`defragment ${String(call.args[0])}`);
      return defragmented >= 1 ? { kind: 'error' } : undefined;
    });
    for (let i = 0; i < 1000 && world.put(`fill-${i % 4}`, String(i)).ok; i++);
    expect(await world.etcd.alarms(world.etcdModel.list().map((m) => m.clientURL))).toEqual([expect.objectContaining({ alarm: 'NOSPACE' })]);
    const s: Scenario = {
      name: 'nospace',
      world,
      watch,
      pacer: new Pacer(world, 10),
      taskQueue: `workflow-over-model-nospace-${Date.now()}`,
      policy: { maintenance: { auto: true, windows: [], pauseBetweenMembersMs: 500 } },
    };
    const first = await workerFor(s, 'worker-before-crash');
    s.pacer.start();
    let second: Awaited<ReturnType<typeof workerFor>> | undefined;
    try {
      const handle = await client.workflow.start('maintainCluster', { taskQueue: s.taskQueue, workflowId: `maintain-nospace-${Date.now()}`, args: [{ cluster: SIM_CLUSTER, reason: 'workflow-over-model: NOSPACE' }] });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const progress = await handle.query<MaintenanceProgress>('progress');
        if (progress.steps.filter((r) => r.step.startsWith('defragment') && r.status === 'done').length === 1 && progress.currentStep?.startsWith('defragment')) break;
        if (Date.now() > deadline) throw new Error(`the second defragmentation never started: ${JSON.stringify(progress)}`);
        await sleep(100);
      }
      first.worker.shutdown();
      await first.running;
      gate = false;
      second = await workerFor(s, 'worker-after-crash');
      const result = (await handle.result()) as MaintenanceResult;
      await checkHistory(s, handle, 'maintain');
      expect(result.plan.mode).toBe('nospace');
      expect(result.steps.filter((r) => r.status !== 'done')).toEqual([]);
      expect(result.defragmented?.map((d) => d.member).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
      expect(result.disarmed).toEqual([expect.any(String)]);
      expect(await world.etcd.alarms(world.etcdModel.list().map((m) => m.clientURL))).toEqual([]);
      expect(world.put('after', 'ok').ok).toBe(true);
      // The membership is what it was, every voter healthy, no write lost, quorum all along.
      expect(names(voters(world))).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
      expectSafeEnd(s);
      await expectFinishedByBoth(handle);
    } finally {
      s.pacer.stop();
      await stopWorkers(first, second);
    }
  });
});

describe('the recovery over the model', () => {
  /** Acknowledged writes whose value the leader no longer serves (a key written again later counts by its last write). */
  function writesNotServed(world: World): string[] {
    const leader = world.etcdModel.find(world.etcdModel.leaderId() ?? '');
    if (!leader) return ['no leader'];
    const kv = world.etcdModel.kvOf(leader);
    const last = new Map<string, string>();
    for (const w of world.etcdModel.acknowledgedWrites()) last.set(w.key, w.value);
    return [...last].filter(([key, value]) => kv.get(key) !== value).map(([key]) => key);
  }

  it("recovers the same way when the first answer of each mutating call is lost after its effect (the seed's pod deleted, a pod created, the write taken)", async () => {
    const world = aWorld({ seed: 42, members: 3, nodes: 6, racks: 3, keys: 5 });
    const lostOnce = new Set(['kube.deletePod', 'kube.createPod', 'etcd.put']);
    const faulted: string[] = [];
    let armed = false;
    world.faults = (call) => {
      const key = `${call.port}.${call.method}`;
      if (!armed || !lostOnce.has(key)) return undefined;
      // The deletion that matters is the seed's own: its pod is gone when the step is retried.
      if (key === 'kube.deletePod' && call.args[1] !== survivor) return undefined;
      lostOnce.delete(key);
      faulted.push(`${key}(${String(call.args[1] ?? call.args[0])})`);
      return { kind: 'lost-response' };
    };
    const survivor = follower(world);
    const lost = names(voters(world)).filter((n) => n !== survivor);
    for (const m of lost) world.apply({ kind: 'node-down', node: nodeOfPod(world, m) ?? '?' });
    world.advance(45_000);
    const s: Scenario = { name: 'recovery-lost-answers', world, watch: { mutations: [], violations: [] }, pacer: new Pacer(world), taskQueue: `workflow-over-model-recovery-lost-${Date.now()}` };
    const { worker, running } = await workerFor(s, 'worker-lost-answers');
    s.pacer.start();
    try {
      armed = true;
      const handle = await client.workflow.start('recoverCluster', { taskQueue: s.taskQueue, workflowId: `recover-lost-${Date.now()}`, args: [{ cluster: SIM_CLUSTER, requestedBy: 'test' }] });
      const deadline = Date.now() + 60_000;
      while ((await handle.query<RecoveryProgress>('progress')).phase !== 'awaiting-approval') {
        if (Date.now() > deadline) throw new Error('no plan waiting for approval');
        await sleep(100);
      }
      await handle.signal('approve', { by: 'test' });
      const result = (await handle.result()) as RecoveryProgress;
      await checkHistory(s, handle, 'recover');
      expect(faulted.map((f) => f.split('(')[0]).sort()).toEqual(['etcd.put', 'kube.createPod', 'kube.deletePod']);
      expect(result.phase).toBe('succeeded');
      expect(voters(world)).toHaveLength(3);
      expect(names(healthyVoters(world))).toEqual(names(voters(world)));
      expect(names(learners(world))).toEqual([]);
      expect(names(voters(world))).toContain(survivor);
      expect(writesNotServed(world)).toEqual([]);
    } finally {
      s.pacer.stop();
      worker.shutdown();
      await running;
    }
  });

  it('recovers from the survivor after two of three nodes are lost for good, approved, finished by a new worker after the first is shut down while it grows: the survivor alone, then three voters, every acknowledged write served', async () => {
    const world = aWorld({ seed: 41, members: 3, nodes: 6, racks: 3, keys: 5 });
    const watch: Watch = { mutations: [], violations: [] };
    let gate = true;
    let promoteAttempts = 0;
    world.faults = (call) => {
      if (call.port === 'kube' && call.method === 'deletePod') watch.mutations.push(`delete pod ${String(call.args[1])}`);
      // Until the first worker is gone, the growth's first promotion gets no answer: the run waits there.
      if (!gate || call.port !== 'etcd' || call.method !== 'promoteMember') return undefined;
      promoteAttempts += 1;
      return { kind: 'error' };
    };
    for (let i = 0; i < 20; i++) expect(world.put(`before-${i}`, String(i)).ok).toBe(true);
    const survivor = follower(world);
    const lost = names(voters(world)).filter((n) => n !== survivor);
    const lostNodes = lost.map((m) => nodeOfPod(world, m) ?? '?');
    for (const node of lostNodes) world.apply({ kind: 'node-down', node });
    world.advance(45_000);
    expect(world.put('during', 'x').ok).toBe(false);
    const s: Scenario = { name: 'recovery', world, watch, pacer: new Pacer(world), taskQueue: `workflow-over-model-recovery-${Date.now()}` };
    const first = await workerFor(s, 'worker-before-crash');
    s.pacer.start();
    let second: Awaited<ReturnType<typeof workerFor>> | undefined;
    try {
      const handle = await client.workflow.start('recoverCluster', { taskQueue: s.taskQueue, workflowId: `recover-${Date.now()}`, args: [{ cluster: SIM_CLUSTER, requestedBy: 'test' }] });
      const progress = async (): Promise<RecoveryProgress> => handle.query<RecoveryProgress>('progress');
      const waitFor = async (what: string, done: (p: RecoveryProgress) => boolean): Promise<RecoveryProgress> => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const p = await progress();
          if (done(p)) return p;
          if (p.phase === 'failed' || Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(p)}`);
          await sleep(100);
        }
      };
      const waiting = await waitFor('no plan waiting for approval', (p) => p.phase === 'awaiting-approval');
      const plan = waiting.assessment?.plan;
      if (plan?.source !== 'survivor') throw new Error(`expected a survivor plan: ${JSON.stringify(plan)}`);
      expect(plan.seed.member).toBe(survivor);
      expect([...plan.window.unheard].sort()).toEqual(lost);
      // Nothing touched while it waits.
      expect(watch.mutations).toEqual([]);
      await handle.signal('approve', { by: 'test' });
      await waitFor('the growth never tried to promote', (p) => p.phase === 'growing' && promoteAttempts > 0);
      // The survivor alone: the lost members' pods gone, its own restarted twice.
      expect(names(voters(world))).toContain(survivor);
      expect(voters(world).filter((v) => lost.includes(v.name))).toEqual([]);
      first.worker.shutdown();
      await first.running;
      gate = false;
      second = await workerFor(s, 'worker-after-crash');
      const result = (await handle.result()) as RecoveryProgress;
      await checkHistory(s, handle, 'recover');
      expect(result.phase).toBe('succeeded');
      expect(result.steps.map((r) => r.step)).toEqual([
        're-plan',
        ...lost.map((m) => `stop ${m}`),
        `seed ${survivor}`,
        `restart ${survivor}`,
        'prove-write',
        'grow to 3 voters',
      ]);
      expect(watch.mutations.slice(0, lost.length).sort()).toEqual(lost.map((m) => `delete pod ${m}`));
      // Three voters, every one healthy, no learner left, none on a lost node; writes taken; nothing acknowledged lost.
      expect(voters(world)).toHaveLength(3);
      expect(names(healthyVoters(world))).toEqual(names(voters(world)));
      expect(names(learners(world))).toEqual([]);
      for (const v of voters(world)) expect(lostNodes).not.toContain(nodeOfPod(world, v.name));
      expect(world.put('after', 'ok').ok).toBe(true);
      expect(writesNotServed(world)).toEqual([]);
      await expectFinishedByBoth(handle);
    } finally {
      s.pacer.stop();
      await stopWorkers(first, second);
    }
  });
});
