import { createMaintenanceActivities } from '../../activities/maintenance';
import { createMigrationActivities } from '../../activities/migration';
import type { MaintenancePlan } from '../../src/domain/maintenance';
import { DISARM_BELOW_QUOTA } from '../../src/domain/maintenance';
import { DEFAULT_SPACE_POLICY } from '../../src/domain/space';
import { failureType, rootMessage } from '../../workflows/failure-type';
import { runMaintenance, type MaintenanceInvoke } from '../../workflows/run-maintenance';
import { Saga, type StepRecord } from '../../workflows/saga';
import { MIGRATION_TIMING } from '../../workflows/timing';
import { SIM_CLUSTER, simDeps } from './deps';
import { aWorld } from './model/builders';
import type { WorldEvent } from './model/events';
import type { Fault, PortCall } from './model/faults';
import { lostAcknowledgedWrites, voters } from './model/invariants';
import { Random } from './model/random';
import type { World } from './model/world';
import { chaos } from './chaos';
import { retryingInvoke } from './retry';
import type { Violation } from './simulate';

/**
 * Deterministic simulation of the maintenance: the real runner (workflows/run-maintenance.ts) and activities over the
 * model, whose members' databases grow with each write, raise NOSPACE at the quota, free pages on compaction and shrink
 * on defragmentation. Faults at any port call (errors, timeouts, answers lost after the effect) and member deaths,
 * partitions or a node down; the invariants are checked at each destructive call and at the end.
 */

const MiB = 1024 * 1024;
/** The model's quota and sizes: a NOSPACE in about a hundred writes. */
const QUOTA = 8 * MiB;

/** What one seed exercises. */
export interface MaintenanceScenario {
  seed: number;
  members: number;
  nodes: number;
  racks: number;
  mode: 'nospace' | 'defragment';
  faultRate: number;
  disruptions: number;
}

/** The outcome of one seed. */
export interface MaintenanceSeedResult {
  scenario: MaintenanceScenario;
  outcome: 'succeeded' | 'failed';
  failure?: string;
  failureType?: string;
  violations: Violation[];
  steps: StepRecord[];
  schedule: string;
  virtualMs: number;
}

/** The scenario a seed draws. */
export function maintenanceScenarioFor(seed: number): MaintenanceScenario {
  const random = new Random(seed ^ 0xdef7a9);
  const members = random.chance(0.6) ? 3 : 5;
  return {
    seed,
    members,
    nodes: members + 2,
    racks: members,
    mode: random.chance(0.5) ? 'nospace' : 'defragment',
    faultRate: random.pick([0, 0.005, 0.01, 0.03]),
    disruptions: random.pick([0, 0, 1]),
  };
}

const MUTATING = new Set(['defragment', 'compact', 'disarmAlarm', 'put', 'moveLeader']);

/** Fill the cluster until etcd refuses (NOSPACE), or leave most of every database free pages (fragmented). */
async function prepare(world: World, mode: MaintenanceScenario['mode']): Promise<void> {
  if (mode === 'nospace') {
    for (let i = 0; i < 1000; i++) if (!world.put(`fill-${i % 4}`, String(i)).ok) return;
    throw new Error('the model never raised NOSPACE');
  }
  for (let i = 0; i < 80; i++) world.put(`churn-${i % 4}`, String(i));
  world.advance(1000);
  await world.etcd.compact(world.etcdModel.revision(), world.etcdModel.list().map((m) => m.clientURL));
  world.advance(1000);
}

/** Run one seed to the end and check every invariant. */
export async function simulateMaintenanceSeed(scenario: MaintenanceScenario): Promise<MaintenanceSeedResult> {
  const world = aWorld({
    members: scenario.members,
    nodes: scenario.nodes,
    racks: scenario.racks,
    seed: scenario.seed,
    keys: 3,
    etcd: { dbSizeBytes: 1 * MiB, quotaBytes: QUOTA, bytesPerWrite: 64 * 1024 },
  });
  await prepare(world, scenario.mode);
  const random = new Random(scenario.seed);
  const violations: Violation[] = [];
  /** The step running (the saga's), or 'end' once the run is over. */
  let ended = false;
  const violate = (invariant: string, detail: string): void => {
    const step = ended ? 'end' : saga.current;
    violations.push({ invariant, detail, atMs: world.elapsedMs(), ...(step ? { step } : {}) });
  };
  const votersBefore = voters(world).map((m) => m.id).sort();
  const disrupted = new Set<string>();

  const disruption = (): WorldEvent | undefined => {
    const candidates = voters(world).filter((m) => world.etcdModel.connected(m));
    if (candidates.length === 0) return undefined;
    const victim = random.pick(candidates);
    disrupted.add(victim.id);
    return random.pick([{ kind: 'kill', member: victim.id }, { kind: 'partition', member: victim.id }] as const);
  };

  const rest = chaos({ world, random, faultRate: scenario.faultRate, disruptionChance: 0.03, disruptions: scenario.disruptions, disruption, mutating: MUTATING });
  world.faults = (call: PortCall): Fault | undefined => {
    if (call.port === 'etcd' && call.method === 'defragment') {
      // Never with a voter down (unless the schedule took it down after the guard looked).
      const down = voters(world).filter((m) => !world.etcdModel.connected(m) && !disrupted.has(m.id));
      if (down.length > 0) violate('no member is defragmented while a voter is down', `defragment ${String(call.args[0])} while ${down.map((m) => m.name).join(', ')} down`);
    }
    if (call.port === 'etcd' && call.method === 'disarmAlarm') {
      const full = world.etcdModel.list().filter((m) => world.etcdModel.fileBytes(m) >= DISARM_BELOW_QUOTA * QUOTA);
      if (full.length > 0) violate('NOSPACE is disarmed only once every database is below 90 % of its quota', full.map((m) => `${m.name} ${world.etcdModel.fileBytes(m)} bytes`).join(', '));
    }
    return rest(call);
  };

  const deps = simDeps(world, {
    policy: { desiredVoters: scenario.members, space: { ...DEFAULT_SPACE_POLICY, fragmentedMinBytes: 2 * MiB }, maintenance: { auto: true, windows: [], pauseBetweenMembersMs: 2_000 } },
  });
  const activities = { ...createMaintenanceActivities(deps), ...createMigrationActivities(deps) };
  const invoke = retryingInvoke(world, activities) as MaintenanceInvoke;
  const records: StepRecord[] = [];
  const saga = new Saga({ now: () => world.now(), nonCancellable: (fn) => fn(), messageOf: rootMessage }, records);
  let outcome: MaintenanceSeedResult['outcome'] = 'succeeded';
  let failure: string | undefined;
  let type: string | undefined;
  let plan: MaintenancePlan | undefined;
  try {
    plan = await saga.step('plan', () => invoke('prepareMaintenance', MIGRATION_TIMING.quick, { cluster: SIM_CLUSTER, mode: scenario.mode }), (p) => `${p.mode}: ${p.steps.length} steps`);
    await runMaintenance(plan, { cluster: SIM_CLUSTER, invoke, saga, timing: MIGRATION_TIMING, sleep: (ms) => Promise.resolve(world.advance(ms)) });
  } catch (error) {
    outcome = 'failed';
    failure = rootMessage(error);
    type = failureType(error);
  }

  world.faults = undefined;
  ended = true;
  const succeededAfterAll = outcome === 'succeeded';
  world.apply({ kind: 'heal' });
  world.advance(60_000);
  const lost = lostAcknowledgedWrites(world);
  if (lost.length > 0) violate('every acknowledged write is still there', `${lost.length} lost, first: ${lost[0]?.key ?? '?'}`);
  const votersAfter = voters(world).map((m) => m.id).sort();
  if (votersAfter.join(',') !== votersBefore.join(',')) violate('a maintenance never changes the membership', `voters ${votersBefore.join(',')} -> ${votersAfter.join(',')}`);
  if (succeededAfterAll) {
    if (scenario.mode === 'nospace') {
      const alarms = await world.etcd.alarms(world.etcdModel.list().map((m) => m.clientURL).filter((u) => u !== ''));
      if (alarms.some((a) => a.alarm === 'NOSPACE')) violate('a NOSPACE recovery that succeeded leaves no NOSPACE alarm', JSON.stringify(alarms));
      if (!world.put('after', 'ok').ok) violate('a NOSPACE recovery that succeeded leaves the cluster writable', 'a write was refused');
    }
    for (const step of plan?.steps ?? []) {
      if (step.step !== 'defragment') continue;
      const member = world.etcdModel.find(step.args.member.id);
      if (member && !disrupted.has(member.id) && world.etcdModel.fileBytes(member) > 2 * world.etcdModel.inUseBytes(member) + MiB) {
        violate('a maintenance that succeeded leaves every planned member defragmented', `${member.name}: ${world.etcdModel.fileBytes(member)} bytes, ${world.etcdModel.inUseBytes(member)} in use`);
      }
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
  };
}
