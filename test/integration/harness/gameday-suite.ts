import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultKind, PressureLevels } from '../../../src/sandbox';
import type { EtcdWorkload } from '../../../src/sandbox/options';
import type { MigrationResult } from '../../../workflows/migrate';
import type { MonitorStatus } from '../../../workflows/monitor';
import { kubeFor } from '../support/kube';
import { expectInvariantsHeld, GameDay, memberList, putOnce, type ListedMember } from './gameday';
import { builtCli } from './cli-worker';
import { startGuardian, writeConfigFile, type GuardianHarness } from './guardian';
import { runCli } from '../support/cli';
import { Invariants } from './migration';
import { until } from './wait';

/**
 * Game day, 3 members: real faults against the sandbox cluster watched by the real worker and monitor, for either
 * workload kind the guardian supports (bare member pods, or a StatefulSet with a claim per member). Every scenario
 * runs the writer and the quorum sampler throughout, waits for what the guardian should do, heals, waits
 * for a healthy cluster (3 healthy voters, no migration running) and audits (expectInvariantsHeld): every acknowledged key
 * readable, one HashKV on every member, no sample below quorum (unless losing quorum is the scenario), 3 voters and no
 * learner, members on distinct racks. One sandbox per suite: each scenario starts from the cluster the last left.
 */

const INTERVAL_MS = 1000;
const ENDPOINT_TIMEOUT_MS = 500;
/** Five samples: a flap healed as soon as the first sample sees it must be back before the fifth. */
const HYSTERESIS_SAMPLES = 5;
/** The longest a signal can take to be confirmed: each cycle waits the interval and, for a dead member, its timeout. */
const HYSTERESIS_WINDOW_MS = HYSTERESIS_SAMPLES * (INTERVAL_MS + ENDPOINT_TIMEOUT_MS);

const TUNING = { interval: `${INTERVAL_MS}ms`, endpointTimeout: `${ENDPOINT_TIMEOUT_MS}ms`, hysteresisSamples: HYSTERESIS_SAMPLES, cooldown: '3s' };

let h: GuardianHarness;
let day: GameDay;
const figures: string[] = [];

async function status(): Promise<MonitorStatus> {
  return day.status();
}

/** What one scenario knows: the cluster before the fault, the fault's targets, and the invariants running. */
interface Scene {
  checks: Invariants;
  before: MonitorStatus;
  membersBefore: ListedMember[];
  leader: string;
  /** A voter that is not the leader. */
  follower: string;
  previousRun: string | undefined;
  faultAt: number;
  /** Member whose node or pod the fault hit (the first one, for a two-node fault). */
  victim: string;
  victimNode: string;
  /** Nodes and pods to heal once the outcome is seen. */
  healTargets: string[];
}

/** What a scenario observed, for the report. */
interface Outcome {
  detectedMs: number;
  /** Fault to the guardian's outcome (a verified migration, or the quorum-lost alert). */
  outcomeMs: number;
  detail: string;
}

interface Scenario {
  name: string;
  /** Injects the fault; sets the victim and what to heal. */
  fault: (scene: Scene) => Promise<void>;
  /** Waits for what the guardian should do and asserts it. */
  expect: (scene: Scene) => Promise<Outcome>;
  /** Whether the guardian migrates a member (checked once the cluster is healthy again, over the whole scenario). */
  migrates: boolean;
  /** True only where losing quorum is the scenario: then samples below quorum are expected, elsewhere none is. */
  quorumLoss: boolean;
  /** The workloads it applies to (every one when absent). */
  workloads?: EtcdWorkload[];
}

function nodeOf(scene: Scene, member: string): string {
  return GameDay.nodeOf(scene.before, member);
}

/** A fault aimed at the node or the pod of the member `pick` chooses. */
function faultOn(kind: FaultKind, pick: (scene: Scene) => string, levels: PressureLevels = {}) {
  return async (scene: Scene): Promise<void> => {
    scene.victim = pick(scene);
    scene.victimNode = nodeOf(scene, scene.victim);
    const target = kind === 'pod-freeze' || kind === 'pod-crash' ? scene.victim : scene.victimNode;
    scene.faultAt = Date.now();
    await h.sandbox.fault(kind, target, levels);
    scene.healTargets = [target];
  };
}

/**
 * A follower's database file overwritten under its running etcd (a bad disk, a bad restore), and its process killed
 * once (a pod-crash fault healed at once): the kubelet restarts it on the damaged file and etcd stops with its own
 * data error every time after. A damaged file rather than a wiped directory: a wiped member whose flags still describe
 * the cluster rejoins with an empty log instead of crashing, so which follower is hit would decide the scenario.
 */
async function corruptFollowerData(scene: Scene): Promise<void> {
  scene.victim = scene.follower;
  scene.victimNode = nodeOf(scene, scene.victim);
  const { core } = kubeFor(h.sandbox.info);
  const pod = await core.readNamespacedPod({ namespace: h.sandbox.info.etcd.namespace, name: scene.victim });
  const path = pod.spec?.volumes?.find((v) => v.name === 'data')?.hostPath?.path;
  if (path === undefined) throw new Error(`pod ${scene.victim} has no hostPath volume "data"`);
  const db = join(h.sandbox.info.stateDir, 'nodes', scene.victimNode, 'hostpath', path, 'member', 'snap', 'db');
  if (!existsSync(db)) throw new Error(`no etcd database at ${db}`);
  scene.faultAt = Date.now();
  writeFileSync(db, randomBytes(256 * 1024));
  await h.sandbox.fault('pod-crash', scene.victim);
  await h.sandbox.heal(scene.victim);
  // Nothing to heal: the data is damaged for good.
  scene.healTargets = [];
}

/** The victim is replaced, and the post-mortem's findings that moved it name the cause etcd gave. */
function replacedNaming(cause: RegExp) {
  const moved = migrated();
  return async (scene: Scene): Promise<Outcome> => {
    const outcome = await moved(scene);
    const report = await runCli(builtCli(), ['report', 'migrate-main', '--config', writeConfigFile(h.sandbox, TUNING)], h.sandbox.info.stateDir);
    expect(report.stderr).toBe('');
    const triggers = report.stdout.slice(report.stdout.indexOf('Findings that triggered it:'));
    expect(triggers).toMatch(cause);
    return outcome;
  };
}

const follower = (scene: Scene): string => scene.follower;
const leader = (scene: Scene): string => scene.leader;

/** The workload kind of the suite running, set by defineGameDay. */
let workload: EtcdWorkload = 'pods';

/**
 * The victim is migrated off its node, with `strategy` for bare member pods (any, when undefined). A StatefulSet's
 * member is always replaced under its own name (its ordinal): a surge would need a second pod of the same ordinal.
 */
function migrated(strategy?: 'surge' | 'replace') {
  return async (scene: Scene): Promise<Outcome> => {
    const { outcome } = await day.migrationAfter(scene.previousRun);
    const { result, from, to } = outcome;
    expect(result).toMatchObject({ member: scene.victim, from: scene.victimNode, dryRun: false });
    expect(result.to).toEqual(expect.any(String));
    expect(result.to).not.toBe(scene.victimNode);
    if (workload === 'statefulset') {
      await expectOrdinalMoved(result);
      // Where a member pod would have been surged, the plan says why a StatefulSet's is replaced instead.
      if (strategy === 'surge') expect(result.plan.reasons.some((r) => r.startsWith(`replace, not surge: pod ${scene.victim} of StatefulSet`))).toBe(true);
    } else expect(result.strategy).toBe(strategy ?? result.strategy);
    return {
      detectedMs: from - scene.faultAt,
      outcomeMs: to - scene.faultAt,
      detail: `${result.strategy} ${result.member} ${result.from ?? '?'} -> ${result.newMember ?? '?'} on ${result.to ?? '?'}`,
    };
  };
}

/**
 * A StatefulSet member moved as the controller would have it: replaced under its own ordinal, the controller's pod on
 * the chosen node, its claim bound to a volume of that node, and no other volume of the ordinal left (the old one,
 * holding a removed member's data, released by the migration's last step).
 */
async function expectOrdinalMoved(result: MigrationResult): Promise<void> {
  expect(result).toMatchObject({ strategy: 'replace', newMember: result.member });
  expect(result.steps.filter((s) => s.status === 'done').map((s) => s.step)).toContain('release-volumes');
  const { core } = kubeFor(h.sandbox.info);
  const namespace = h.sandbox.info.etcd.namespace;
  const pod = await core.readNamespacedPod({ namespace, name: result.member });
  expect([pod.spec?.nodeName, pod.metadata?.ownerReferences?.[0]?.kind]).toEqual([result.to, 'StatefulSet']);
  const claim = await core.readNamespacedPersistentVolumeClaim({ namespace, name: `data-${result.member}` });
  const volume = await core.readPersistentVolume({ name: claim.spec?.volumeName ?? '?' });
  expect(volume.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values).toEqual([result.to]);
  const left = (await core.listPersistentVolume({ labelSelector: `etcd-guardian.io/member=${result.member}` })).items.map((v) => v.metadata?.name);
  expect(left).toEqual([claim.spec?.volumeName]);
}

/** The leader's node went down: migrated, another member leads, and a write is acknowledged again. */
async function leaderReplaced(scene: Scene): Promise<Outcome> {
  const outcome = await migrated()(scene);
  const newLeader = await until('a new leader', async () => {
    const name = (await status()).assessment?.leader?.name;
    return name !== undefined && name !== scene.leader ? name : undefined;
  });
  const ackedBefore = scene.checks.writer.acked.length;
  await putOnce(scene.checks.sampler.endpointsSeen(), 'gameday/after-leader-loss', 'written');
  await until('the writer to be acknowledged again', () => Promise.resolve(scene.checks.writer.acked.length > ackedBefore ? true : undefined));
  return { ...outcome, detail: `${outcome.detail}; new leader ${newLeader}, writes resumed` };
}

/** A node-down healed as soon as the monitor first sees it: never confirmed, and no migration starts. */
async function flapIgnored(scene: Scene): Promise<Outcome> {
  const pending = await until(
    `a pending member-unreachable finding for ${scene.victim}`,
    async () => (await status()).assessment?.findings.find((f) => f.kind === 'member-unreachable' && f.member === scene.victim),
    { timeoutMs: 30_000, everyMs: 100 },
  );
  const seenAt = Date.now();
  expect(pending.confirmed).toBe(false);
  await h.sandbox.heal(scene.victimNode);
  scene.healTargets = [];
  const healedAt = Date.now();
  // Watch for three hysteresis windows: the longest streak, and any decision to migrate.
  let longest = pending.samples;
  const decisions = new Set<string>();
  while (Date.now() - healedAt < 3 * HYSTERESIS_WINDOW_MS) {
    const s = await status();
    const f = s.assessment?.findings.find((x) => x.kind === 'member-unreachable' && x.member === scene.victim);
    longest = Math.max(longest, f?.samples ?? 0);
    if (s.decision) decisions.add(s.decision.kind);
    await sleep(200);
  }
  expect(longest).toBeLessThan(HYSTERESIS_SAMPLES);
  expect([...decisions]).not.toContain('migrate');
  expect(await day.latestMigrationRun()).toBe(scene.previousRun);
  return {
    detectedMs: seenAt - scene.faultAt,
    outcomeMs: healedAt - scene.faultAt,
    detail: `down ${healedAt - scene.faultAt} ms; longest member-unreachable streak ${longest}/${HYSTERESIS_SAMPLES}; decisions seen: ${[...decisions].join(', ')}; no migration`,
  };
}

/** Two of three nodes down at once. */
async function twoNodesDown(scene: Scene): Promise<void> {
  const others = scene.before.members.filter((m) => m.name !== scene.leader).map((m) => m.name);
  expect(others).toHaveLength(2);
  scene.victim = others[0] ?? '';
  scene.victimNode = nodeOf(scene, scene.victim);
  const nodes = others.map((m) => nodeOf(scene, m));
  scene.faultAt = Date.now();
  for (const node of nodes) await h.sandbox.fault('node-down', node);
  scene.healTargets = nodes;
}

/** Quorum lost: the monitor alerts and says why, membership stays as it was, and no migration starts. */
async function quorumLostAlerted(scene: Scene): Promise<Outcome> {
  const alerted = await until(
    'the monitor to report quorum lost',
    async () => {
      const s = await status();
      return s.health === 'quorum-lost' && s.decision?.kind === 'alert' ? s : undefined;
    },
    { timeoutMs: 120_000 },
  );
  const detectedMs = Date.now() - scene.faultAt;
  expect(alerted.decision).toMatchObject({ kind: 'alert', reason: 'quorum-lost', summary: expect.stringMatching(/^quorum lost \(\d\/3 healthy, 2 needed\): no destructive step is safe/) as unknown });
  // The survivor answers but knows no leader, so it does not count as a healthy voter either.
  expect(alerted.assessment?.quorum.healthyVoters).toBeLessThan(2);
  expect(alerted.assessment?.findings.find((f) => f.kind === 'quorum-lost')).toMatchObject({ confirmed: true, evidence: { voters: 3, quorum: 2 } });
  // The survivor still lists the three members: nothing was removed.
  const listed = await memberList(scene.checks.sampler.endpointsSeen(), false);
  expect(listed.map((m) => m.name).sort()).toEqual(scene.membersBefore.map((m) => m.name).sort());
  expect(await day.latestMigrationRun()).toBe(scene.previousRun);
  return { detectedMs, outcomeMs: detectedMs, detail: `alert: ${alerted.decision?.summary ?? ''}` };
}

const scenarios: Scenario[] = [
  { name: 'node memory pressure under a member', fault: faultOn('node-pressure', follower, { memory: 0.95 }), expect: migrated('surge'), migrates: true, quorumLoss: false },
  { name: 'node CPU pressure under a member', fault: faultOn('node-pressure', follower, { cpu: 0.97 }), expect: migrated('surge'), migrates: true, quorumLoss: false },
  { name: "a follower's pod frozen", fault: faultOn('pod-freeze', follower), expect: migrated('replace'), migrates: true, quorumLoss: false },
  { name: "a follower's pod crash-looping", fault: faultOn('pod-crash', follower), expect: migrated(), migrates: true, quorumLoss: false },
  {
    name: "a follower's database file damaged (it crash-loops with etcd's data error)",
    workloads: ['pods'],
    fault: corruptFollowerData,
    // The cause, in whichever finding moved it: the crash loop (two restarts) or the member that does not answer.
    // The data error at start (etcd cannot open it) or, when etcd hit the damage while running, its bbolt panic.
    expect: replacedNaming(/its database file \(member\/snap\/db\) is corrupt: etcd (cannot open it|crashed reading it)/),
    migrates: true,
    quorumLoss: false,
  },
  { name: "the leader's node down", fault: faultOn('node-down', leader), expect: leaderReplaced, migrates: true, quorumLoss: false },
  { name: 'a flapping node (down, healed within the hysteresis window)', fault: faultOn('node-down', follower), expect: flapIgnored, migrates: false, quorumLoss: false },
  { name: 'quorum already lost (two of three nodes down)', fault: twoNodesDown, expect: quorumLostAlerted, migrates: false, quorumLoss: true },
];

/** The scenario names, for a suite that runs some of them. */
export const GAME_DAY_SCENARIOS = scenarios.map((s) => s.name);

/**
 * Registers the game day for `kind` of workload: one sandbox whose members that workload runs, the real worker and
 * monitor, and the scenarios named in `only` (every one when undefined), in the table's order.
 */
export function defineGameDay(kind: EtcdWorkload, only?: readonly string[]): void {
  workload = kind;
  const unknown = (only ?? []).filter((name) => !GAME_DAY_SCENARIOS.includes(name));
  if (unknown.length > 0) throw new Error(`unknown game-day scenario(s) ${JSON.stringify(unknown)}: choose from ${JSON.stringify(GAME_DAY_SCENARIOS)}`);
  const chosen = (only === undefined ? scenarios : scenarios.filter((s) => only.includes(s.name))).filter((s) => s.workloads === undefined || s.workloads.includes(kind));

  beforeAll(async () => {
    h = await startGuardian({
      sandbox: { etcdWorkload: kind },
      tuning: TUNING,
    });
    if (kind === 'statefulset') expect(h.config.clusters[0]?.workload).toEqual({ kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' });
    day = await GameDay.start(h, { size: 3, intervalMs: INTERVAL_MS, workflowId: `monitor-main-gameday-${kind}` });
  }, 300_000);

  afterAll(async () => {
    process.stdout.write(`game day figures (3 members, ${kind === 'statefulset' ? 'StatefulSet' : 'member pods'}, etcd ${h?.sandbox.info.etcd.version ?? '?'}):\n${figures.join('\n')}\n`);
    await day?.monitor.terminate('test over').catch(() => undefined);
    await h?.stop();
  });

  it.each(chosen)('$name', runScenario);
}

async function runScenario(scenario: Scenario): Promise<void> {
  const { status: before, leader: leaderName, follower: followerName } = await day.roles();
  const checks = await Invariants.ofCurrentMembers(h);
  const scene: Scene = {
    checks,
    before,
    membersBefore: await memberList(h.sandbox.info.etcd.clientUrls.concat(checks.sampler.endpointsSeen()), true),
    leader: leaderName,
    follower: followerName,
    previousRun: await day.latestMigrationRun(),
    faultAt: 0,
    victim: '',
    victimNode: '',
    healTargets: [],
  };
  checks.start();
  await until('the writer to be acknowledged', () => Promise.resolve(checks.writer.acked.length >= 10 ? true : undefined));

  await scenario.fault(scene);
  const outcome = await scenario.expect(scene);
  const healAt = Date.now();
  await day.healAll(scene.healTargets);
  await day.healthyAgain(healAt);
  const healthyMs = Date.now() - healAt;

  const migrationsSince = (await day.latestMigrationRun()) !== scene.previousRun;
  const audit = await expectInvariantsHeld(checks, { size: 3, racks: 3, quorumLoss: scenario.quorumLoss });
  figures.push(
    `${scenario.name}: detected ${(outcome.detectedMs / 1000).toFixed(1)} s, outcome ${(outcome.outcomeMs / 1000).toFixed(1)} s, healthy ${(healthyMs / 1000).toFixed(1)} s after heal; ` +
      `${audit.summary}; ${outcome.detail}`,
  );
  expect(migrationsSince).toBe(scenario.migrates);
}
