import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackupActivities } from '../../activities/backup';
import { createMigrationActivities, type PrepareInput } from '../../activities/migration';
import { createStatefulSetActivities } from '../../activities/statefulset';
import { observeCluster } from '../../activities/observe';
import type { MigrationPlan } from '../../src/domain/plan';
import type { StrategyPreference } from '../../src/domain/policy';
import { assessRisk } from '../../src/domain/risk';
import type { PlannedStep } from '../../src/domain/steps';
import { emptyWindow } from '../../src/domain/window';
import { failureType, rootMessage } from '../../workflows/failure-type';
import { runPlan, type Invoke, type StepActivities } from '../../workflows/run-plan';
import { Saga, type StepRecord } from '../../workflows/saga';
import { MIGRATION_TIMING } from '../../workflows/timing';
import { SIM_CLUSTER, simDeps } from './deps';
import { aWorld, SIM_NAMESPACE, SIM_STATEFULSET } from './model/builders';
import type { WorldEvent } from './model/events';
import type { Fault, PortCall } from './model/faults';
import { learners, lostAcknowledgedWrites, voters } from './model/invariants';
import { Random } from './model/random';
import { chaos } from './chaos';
import { retryingInvoke } from './retry';
import type { World } from './model/world';

/**
 * Deterministic simulation: the real plan runner (workflows/run-plan.ts, the code the workflow runs) and the real
 * activities, over the in-memory model of etcd and Kubernetes, under a fault schedule drawn from a seed. Temporal's
 * retry rules are applied on the virtual clock (workflows/timing.ts), so a migration takes milliseconds. After every
 * step and at the end the safety invariants are checked; a failing seed prints its whole schedule and replays
 * exactly.
 */

/** What one seed exercises. */
export interface Scenario {
  seed: number;
  members: number;
  nodes: number;
  racks: number;
  /** The member the migration moves. */
  member: string;
  /** Its node is down before the migration starts (a replace), or it is alive (a surge). */
  memberDown: boolean;
  strategy: StrategyPreference;
  /** Chance of a fault at each port call. */
  faultRate: number;
  /** World events (member deaths, partitions, a node down) the schedule may inject: 0, 1 or 2. */
  disruptions: number;
  /** How the members run: bare pods, or StatefulSet etcd with a local volume per member. */
  workload: 'pods' | 'statefulset';
}

/** A broken invariant: what, when, and the step. */
export interface Violation {
  invariant: string;
  detail: string;
  atMs: number;
  step?: string;
}

/** The outcome of one seed. */
export interface SeedResult {
  scenario: Scenario;
  outcome: 'succeeded' | 'failed';
  failure?: string;
  failureType?: string;
  violations: Violation[];
  steps: StepRecord[];
  /** The schedule (port calls with their faults, and world events), for a failing seed. */
  schedule: string;
  virtualMs: number;
  replans: number;
}

/** The scenario a seed draws. */
export function scenarioFor(seed: number): Scenario {
  const random = new Random(seed ^ 0x5eed);
  const members = random.chance(0.7) ? 3 : 5;
  const racks = members === 3 ? 3 : 4;
  const nodes = members + 3 + random.int(2);
  const memberDown = random.chance(0.5);
  return {
    seed,
    members,
    nodes,
    racks,
    member: `etcd-${random.int(members)}`,
    memberDown,
    strategy: random.pick<StrategyPreference>(['auto', 'auto', 'replace', 'surge']),
    faultRate: random.pick([0, 0.005, 0.01, 0.03]),
    disruptions: random.pick([0, 0, 1, 1, 2]),
    // Drawn last, so that every seed's other draws stay what they were before StatefulSets.
    workload: random.chance(0.35) ? 'statefulset' : 'pods',
  };
}

const MUTATING = new Set(['addLearner', 'removeMember', 'promoteMember', 'moveLeader', 'createPod', 'deletePod', 'deleteClaim', 'createVolume', 'deleteVolume']);

/** Healthy voters as the invariants count them: running and connected, whether or not an election is under way. */
function aliveVoters(world: World): number {
  return voters(world).filter((m) => world.etcdModel.connected(m)).length;
}

/** The member a pod name runs, if it is a member. */
function memberOfPod(world: World, podName: string) {
  return world.etcdModel.list().find((m) => m.name === podName || m.pending?.name === podName);
}

/** Run one seed to the end and check every invariant. */
export async function simulateSeed(scenario: Scenario): Promise<SeedResult> {
  const world = aWorld({ members: scenario.members, nodes: scenario.nodes, racks: scenario.racks, seed: scenario.seed, keys: 5, workload: scenario.workload });
  const random = new Random(scenario.seed);
  // Named by the seed, not at random: the path is in the schedule, which must replay exactly.
  const backups = join(tmpdir(), `guardian-sim-${process.pid}`, String(scenario.seed));
  mkdirSync(backups, { recursive: true });
  const violations: Violation[] = [];
  const moving = world.member(scenario.member);
  const nodeOf = (memberId: string): string | undefined => {
    const pod = world.kubeModel.podOfMember(memberId);
    return pod ? world.kubeModel.getPod(SIM_NAMESPACE, pod)?.spec?.nodeName : undefined;
  };
  const movingNode = nodeOf(moving.id);
  let currentStep: string | undefined;
  const violate = (invariant: string, detail: string): void => {
    violations.push({ invariant, detail, atMs: world.elapsedMs(), ...(currentStep ? { step: currentStep } : {}) });
  };

  if (scenario.memberDown) {
    if (movingNode) world.apply({ kind: 'node-down', node: movingNode });
    else world.apply({ kind: 'kill', member: scenario.member, restart: false });
    world.advance(45_000);
  }
  const voterCount = voters(world).length;
  const quorum = Math.floor(voterCount / 2) + 1;
  const startAlive = aliveVoters(world);
  const spare = startAlive - quorum;
  /** Members the schedule itself disrupted: losing them is not the guardian's doing. */
  const disrupted = new Set<string>();
  let successor: string | undefined;
  /** The strategy the domain chose (it may plan again). */
  let strategy: string | undefined;

  const disruption = (): WorldEvent | undefined => {
    const candidates = voters(world).filter((m) => world.etcdModel.connected(m));
    if (candidates.length === 0) return undefined;
    const victim = random.pick(candidates);
    disrupted.add(victim.id);
    const kind = random.pick(['kill', 'kill', 'partition', 'node-down'] as const);
    if (kind === 'node-down') {
      const node = nodeOf(victim.id);
      if (node) return { kind: 'node-down', node };
    }
    if (kind === 'partition') return { kind: 'partition', member: victim.id };
    return { kind: 'kill', member: victim.id };
  };

  const rest = chaos({ world, random, faultRate: scenario.faultRate, disruptionChance: 0.02, disruptions: scenario.disruptions, disruption, mutating: MUTATING });
  world.faults = (call: PortCall): Fault | undefined => {
    // Safety checks before a destructive effect: these are the guardian's choices, whatever the faults.
    if (call.port === 'etcd' && call.method === 'removeMember') {
      const id = String(call.args[0]);
      const member = world.etcdModel.find(id);
      if (member && !member.isLearner && world.etcdModel.connected(member) && id !== moving.id && member.id !== successor) {
        violate('no healthy voter is removed except the member being moved', `removeMember ${member.name || id} while it is a connected voter`);
      }
      if (member && id === moving.id && strategy === 'surge' && world.etcdModel.connected(member)) {
        const next = successor ? world.etcdModel.find(successor) : undefined;
        if ((!next || next.isLearner || !world.etcdModel.connected(next)) && !(next && disrupted.has(next.id))) {
          violate('in a surge the member leaves only after its successor is a healthy voter', `removeMember ${member.name} while successor is ${next ? (next.isLearner ? 'a learner' : 'not connected') : 'absent'}`);
        }
      }
    }
    if (call.port === 'kube' && call.method === 'deletePod') {
      const pod = String(call.args[1]);
      const member = memberOfPod(world, pod);
      if (member && !member.isLearner && !member.removed && world.etcdModel.list().includes(member)) {
        violate('the pod of a voter is never deleted', `deletePod ${pod} while ${member.name || member.id} is a voter`);
      }
    }
    if (call.port === 'etcd' && call.method === 'addLearner') {
      // The successor is whoever joins at this peer URL.
      const url = String(call.args[0]);
      queueMicrotask(() => {
        const joined = world.etcdModel.list().find((m) => m.peerURL === url);
        if (joined) successor = joined.id;
      });
    }
    return rest(call);
  };

  const workload = scenario.workload === 'statefulset' ? { workload: { kind: 'StatefulSet' as const, name: SIM_STATEFULSET.name, volumeClaimTemplate: SIM_STATEFULSET.volumeClaimTemplate } } : {};
  const deps = simDeps(world, { policy: { desiredVoters: voterCount, ...workload }, backup: { required: false, directory: backups } });
  const activities: StepActivities = { ...createMigrationActivities(deps), ...createBackupActivities(deps), ...createStatefulSetActivities(deps) };
  const invoke = retryingInvoke(world, activities) as Invoke;

  const records: StepRecord[] = [];
  const saga = new Saga({ now: () => world.now(), nonCancellable: (fn) => fn(), messageOf: rootMessage }, records);
  const request: PrepareInput = { cluster: SIM_CLUSTER, member: scenario.member, strategy: scenario.strategy, reason: `simulation seed ${scenario.seed}` };
  let outcome: SeedResult['outcome'] = 'succeeded';
  let failure: string | undefined;
  let type: string | undefined;
  let replans = 0;
  const onStepDone = (step: PlannedStep): void => {
    currentStep = step.step;
    // Projections assume the worst; with nothing disrupted by the schedule, the cluster is never below them.
    if (disrupted.size === 0 && aliveVoters(world) < step.projected.healthyVoters) {
      violate('no step leaves fewer healthy voters than the plan projected', `${step.step}: ${aliveVoters(world)} connected voters, projected ${step.projected.healthyVoters}`);
    }
    if (disrupted.size < spare && aliveVoters(world) < Math.floor(voters(world).length / 2) + 1) {
      violate('never below quorum when the cluster had quorum to spare', `${step.step}: ${aliveVoters(world)}/${voters(world).length} connected voters`);
    }
  };
  try {
    let plan: MigrationPlan;
    try {
      plan = await saga.step('plan', () => invoke('prepareMigration', MIGRATION_TIMING.quick, request), (p) => `${p.strategy} ${p.member.name}`);
      strategy = plan.strategy;
    } catch (error) {
      outcome = 'failed';
      failure = rootMessage(error);
      type = failureType(error);
      return await finish();
    }
    try {
      const run = await runPlan(plan, { cluster: SIM_CLUSTER, request, migrationId: `sim-${scenario.seed}`, invoke, saga, timing: MIGRATION_TIMING, isCancellation: () => false, onStepDone, onPlan: (next) => (strategy = next.strategy) });
      replans = run.replans;
    } catch (error) {
      await saga.compensate();
      outcome = 'failed';
      failure = rootMessage(error);
      type = failureType(error);
    }
    return await finish();
  } finally {
    rmSync(backups, { recursive: true, force: true });
  }

  async function finish(): Promise<SeedResult> {
    world.faults = undefined;
    currentStep = 'end';
    // Let the world settle: killed members restart, partitions heal, elections end.
    world.apply({ kind: 'heal' });
    for (const node of world.kubeModel.nodeList()) if (node.name !== movingNode || !scenario.memberDown) world.apply({ kind: 'node-up', node: node.name });
    world.advance(120_000);
    const lost = lostAcknowledgedWrites(world);
    if (lost.length > 0) violate('every acknowledged write is still there', `${lost.length} lost, first: ${lost[0]?.key ?? '?'}`);
    const endVoters = voters(world).length;
    const endAlive = aliveVoters(world);
    if (outcome === 'succeeded') {
      if (endVoters !== voterCount || learners(world).length > 0 || endAlive !== endVoters) {
        violate('a migration that succeeded leaves the desired voters, all healthy, and no learner', `${endAlive}/${endVoters} healthy voters (desired ${voterCount}), ${learners(world).length} learner(s)`);
      }
      const leftBehind = world.kubeModel.listVolumes('etcd-guardian.io/cluster=main').filter((v) => v.status?.phase !== 'Bound');
      if (leftBehind.length > 0) {
        violate('a StatefulSet migration that succeeded leaves no volume behind', leftBehind.map((v) => `${v.metadata?.name ?? '?'} ${v.status?.phase ?? '?'}`).join(', '));
      }
    } else {
      if (endAlive - Math.floor(endVoters / 2) - 1 < startAlive - quorum - disrupted.size && disrupted.size === 0) {
        violate('a failed migration ends no weaker than it started', `fault tolerance ${endAlive - Math.floor(endVoters / 2) - 1} at the end, ${startAlive - quorum} at the start`);
      }
      const runtime = deps.clusters.get(SIM_CLUSTER);
      if (endVoters < voterCount && runtime) {
        const { assessment } = assessRisk(await observeCluster(runtime, deps.now), runtime.policy, emptyWindow());
        if (!assessment.findings.some((f) => f.kind === 'membership-short')) violate('a shortfall is named by a finding', `no membership-short finding with ${endVoters}/${voterCount} voters`);
      }
    }
    return {
      scenario,
      outcome,
      ...(failure !== undefined ? { failure } : {}),
      ...(type !== undefined ? { failureType: type } : {}),
      violations,
      steps: records,
      schedule: world.calls.format(),
      virtualMs: world.elapsedMs(),
      replans,
    };
  }
}
