import { expectInvariantsHeld, GameDay } from './harness/gameday';
import { startGuardian, type GuardianHarness } from './harness/guardian';
import { Invariants } from './harness/migration';
import { until } from './harness/wait';

/**
 * Game day, 5 members on 8 nodes in 4 racks (rack-0 holds etcd-0 on node-0 and etcd-4 on node-4): a follower's node
 * down, then a whole rack down, which takes two members at once and leaves the cluster with no fault tolerance. The
 * guardian must replace both without dropping below quorum (etcd adds no member while a voter is disconnected, so
 * both leave before either successor joins) and end with five voters spread over the racks that are left. Each scenario runs the writer and the quorum sampler throughout and ends with the same audit
 * as the 3-member game day.
 */

jest.setTimeout(900_000);

const SIZE = 5;
const RACKS = 4;
const INTERVAL_MS = 1000;

let h: GuardianHarness;
let day: GameDay;
const figures: string[] = [];

beforeAll(async () => {
  h = await startGuardian({
    sandbox: { members: SIZE, nodes: 8, racks: RACKS, domains: 2 },
    tuning: { interval: `${INTERVAL_MS}ms`, endpointTimeout: '500ms', hysteresisSamples: 3, cooldown: '3s' },
  });
  day = await GameDay.start(h, { size: SIZE, intervalMs: INTERVAL_MS, workflowId: 'monitor-main-gameday-5' });
}, 300_000);

afterAll(async () => {
  process.stdout.write(`game day figures (5 members):\n${figures.join('\n')}\n`);
  await day?.monitor.terminate('test over').catch(() => undefined);
  await h?.stop();
});

/** Starts the writer and the sampler and waits for the first acknowledged writes. */
async function invariantsRunning(): Promise<Invariants> {
  const checks = await Invariants.ofCurrentMembers(h);
  checks.start();
  await until('the writer to be acknowledged', () => Promise.resolve(checks.writer.acked.length >= 10 ? true : undefined));
  return checks;
}

it("a follower's node down: replaced on a healthy node, five voters again", async () => {
  const { status, follower } = await day.roles();
  const node = GameDay.nodeOf(status, follower);
  const previous = await day.latestMigrationRun();
  const checks = await invariantsRunning();
  const faultAt = Date.now();
  await h.sandbox.fault('node-down', node);
  try {
    const { outcome } = await day.migrationAfter(previous);
    expect(outcome.result).toMatchObject({ member: follower, from: node, strategy: 'replace', dryRun: false });
    expect(outcome.result.verified?.voters).toHaveLength(SIZE);
    figures.push(`node down (${follower} on ${node}): detected ${((outcome.from - faultAt) / 1000).toFixed(1)} s, verified ${((outcome.to - faultAt) / 1000).toFixed(1)} s; ${outcome.result.newMember ?? '?'} on ${outcome.result.to ?? '?'}`);
  } finally {
    await h.sandbox.heal(node);
  }
  await day.healthyAgain(Date.now());
  const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: RACKS });
  figures[figures.length - 1] += `; ${audit.summary}`;
});

it('two nodes of one rack down at once: one migration removes both members, then replaces each, never below quorum', async () => {
  const { status } = await day.roles();
  const rackOf = new Map((await h.sandbox.status()).nodes.map((n) => [n.name, n.rack]));
  // The rack that holds two members.
  const byRack = new Map<string, string[]>();
  for (const m of status.members) {
    const rack = rackOf.get(GameDay.nodeOf(status, m.name)) ?? '?';
    byRack.set(rack, [...(byRack.get(rack) ?? []), m.name]);
  }
  const [rack, victims] = [...byRack.entries()].find(([, members]) => members.length === 2) ?? [];
  if (rack === undefined || victims === undefined) throw new Error(`no rack holds two members: ${JSON.stringify([...byRack])}`);
  const rackNodes = [...rackOf.entries()].filter(([, r]) => r === rack).map(([n]) => n);
  const previous = await day.latestMigrationRun();
  const checks = await invariantsRunning();
  const faultAt = Date.now();
  // The whole rack goes: its member nodes and any spare node in it.
  for (const node of rackNodes) await h.sandbox.fault('node-down', node);
  try {
    // etcd adds no member, not even a learner, while a voter is disconnected: one replace takes both dead voters
    // out first, then places a successor for each.
    const { outcome } = await day.migrationAfter(previous);
    const { result } = outcome;
    const moved = [{ member: result.member, to: result.to }, ...(result.alsoReplaced ?? [])];
    expect(result).toMatchObject({ strategy: 'replace', dryRun: false });
    expect(moved.map((m) => m.member).sort()).toEqual([...victims].sort());
    for (const m of moved) expect(rackNodes).not.toContain(m.to);
    const removals = result.steps.flatMap((s, i) => (s.step === 'remove-member' ? [{ i, status: s.status }] : []));
    expect(removals.map((r) => r.status)).toEqual(['done', 'done']);
    // Both removals come before the first new member is added.
    expect(Math.max(...removals.map((r) => r.i))).toBeLessThan(result.steps.findIndex((s) => s.step === 'schedule-pod'));
    expect(result.verified?.voters).toHaveLength(SIZE);
    figures.push(
      `${rack} down (${victims.join(', ')}): detected ${((outcome.from - faultAt) / 1000).toFixed(1)} s, both replaced and verified ${((outcome.to - faultAt) / 1000).toFixed(1)} s after the fault; ` +
        `new members ${[result.newMember ?? '?', ...(result.alsoReplaced ?? []).map((m) => m.newMember)].join(', ')} on ${moved.map((m) => m.to ?? '?').join(', ')}`,
    );
    await day.healthyAgain(Date.now());
    const audit = await expectInvariantsHeld(checks, { size: SIZE, racks: RACKS - 1 });
    figures[figures.length - 1] += `; ${audit.summary}`;
  } finally {
    for (const node of rackNodes) await h.sandbox.heal(node);
  }
  // With the rack back, nothing more moves: the members already sit as evenly as three racks allowed.
  const settled = await day.latestMigrationRun();
  await day.healthyAgain(Date.now());
  expect(await day.latestMigrationRun()).toBe(settled);
});
