import fc from 'fast-check';
import { activePressures, isNodeReady, repellingTaints } from '../../../src/domain/nodes';
import type { ClusterObservation, NodeObservation, Taint, Toleration } from '../../../src/domain/observation';
import { choosePlacement } from '../../../src/domain/placement';
import { buildMigrationPlan, planMigration } from '../../../src/domain/plan';
import { assessRisk } from '../../../src/domain/risk';
import { emptyWindow } from '../../../src/domain/window';
import { aDeadStatus, aMember, aNode, aPod, aPolicy, aStatus } from '../../builders';

const NOW = new Date('2026-11-24T12:00:00.000Z');
const policy = aPolicy({ hysteresisSamples: 1 });

const taintArb: fc.Arbitrary<Taint> = fc.record({
  key: fc.constantFrom('node.kubernetes.io/unreachable', 'dedicated', 'gpu'),
  effect: fc.constantFrom('NoSchedule', 'NoExecute', 'PreferNoSchedule'),
});

const nodeArb = (ordinal: number): fc.Arbitrary<NodeObservation> =>
  fc
    .record({
      // Weighted toward healthy nodes, so that plenty of random clusters do get a migration.
      ready: fc.oneof({ arbitrary: fc.constant('True' as const), weight: 6 }, fc.constantFrom('False' as const, 'Unknown' as const)),
      pressure: fc.option(fc.constantFrom('MemoryPressure', 'DiskPressure', 'PIDPressure'), { nil: undefined, freq: 4 }),
      unschedulable: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, fc.constant(true)),
      taints: fc.oneof({ arbitrary: fc.constant<Taint[]>([]), weight: 4 }, fc.array(taintArb, { maxLength: 2 })),
      cpu: fc.double({ min: 0, max: 1.2, noNaN: true }),
      memory: fc.double({ min: 0, max: 1.2, noNaN: true }),
      usageKnown: fc.boolean(),
      rack: fc.integer({ min: 0, max: 3 }),
      domain: fc.integer({ min: 0, max: 2 }),
    })
    .map((r) => {
      const base = aNode(ordinal);
      const node: NodeObservation = {
        ...base,
        rack: `r${r.rack}`,
        domain: `z${r.domain}`,
        conditions: [
          { type: 'Ready', status: r.ready },
          ...(r.pressure ? [{ type: r.pressure, status: 'True' as const }] : []),
        ],
        unschedulable: r.unschedulable,
        taints: r.taints,
        usage: { cpuMillis: r.cpu * base.allocatable.cpuMillis, memoryBytes: r.memory * base.allocatable.memoryBytes },
      };
      if (!r.usageKnown) delete node.usage;
      return node;
    });

/** A cluster of 1 to 7 members, some dead, some learners, on 3 to 10 nodes in every state. */
const clusterArb: fc.Arbitrary<ClusterObservation> = fc
  .integer({ min: 1, max: 7 })
  .chain((members) =>
    fc.record({
      members: fc.constant(members),
      nodeCount: fc.integer({ min: members, max: 10 }),
      dead: fc.array(fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, fc.constant(true)), { minLength: members, maxLength: members }),
      learner: fc.array(fc.boolean(), { minLength: members, maxLength: members }),
      leader: fc.integer({ min: 0, max: members - 1 }),
    }),
  )
  .chain((shape) =>
    fc.tuple(fc.constant(shape), fc.tuple(...Array.from({ length: shape.nodeCount }, (_, i) => nodeArb(i)))),
  )
  .map(([shape, nodes]) => ({
    cluster: 'prop',
    observedAt: NOW.toISOString(),
    members: Array.from({ length: shape.members }, (_, i) =>
      aMember(i, {
        isLearner: i !== shape.leader && shape.learner[i] === true,
        status: shape.dead[i] && i !== shape.leader ? aDeadStatus() : aStatus({ leaderId: String(shape.leader + 1) }),
      }),
    ),
    nodes,
    pods: Array.from({ length: shape.members }, (_, i) => aPod(i)),
    missingSignals: [],
  }));

function decideOnce(obs: ClusterObservation) {
  const { assessment } = assessRisk(obs, policy, emptyWindow());
  return planMigration(obs, assessment, policy, {}, NOW);
}

describe('invariants over random clusters', () => {
  it('no plan ever passes through a state below quorum', () => {
    let migrations = 0;
    fc.assert(
      fc.property(clusterArb, (obs) => {
        const decision = decideOnce(obs);
        if (decision.kind !== 'migrate') return;
        migrations += 1;
        for (const step of decision.plan.steps) {
          expect(step.projected.healthyVoters).toBeGreaterThanOrEqual(step.projected.quorum);
        }
      }),
      { numRuns: 500 },
    );
    // The property means something only if random clusters do produce migrations.
    expect(migrations).toBeGreaterThan(50);
  });

  it('no manual plan, for any member and strategy, passes through a state below quorum', () => {
    fc.assert(
      fc.property(clusterArb, fc.nat(), fc.constantFrom('auto', 'replace', 'surge' as const), (obs, pick, strategy) => {
        const member = obs.members[pick % obs.members.length]?.name ?? 'etcd-0';
        const result = buildMigrationPlan({ observation: obs, member, strategy, policy, now: NOW });
        if ('refusal' in result) return;
        for (const step of result.plan.steps) expect(step.projected.healthyVoters).toBeGreaterThanOrEqual(step.projected.quorum);
      }),
      { numRuns: 500 },
    );
  });

  it('a cluster that has lost quorum never gets a migration', () => {
    fc.assert(
      fc.property(clusterArb, (obs) => {
        const { assessment } = assessRisk(obs, policy, emptyWindow());
        if (!assessment.quorum.hasQuorum) expect(decideOnce(obs).kind).toBe('alert');
      }),
      { numRuns: 300 },
    );
  });

  it('placement never picks a node that is not ready, pressured, cordoned, repelling, excluded or occupied', () => {
    const tolerations: Toleration[] = [{ key: 'gpu', operator: 'Exists' }];
    fc.assert(
      fc.property(
        fc.tuple(...Array.from({ length: 8 }, (_, i) => nodeArb(i))),
        fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]),
        fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]),
        (nodes, occupied, excluded) => {
          const result = choosePlacement({
            nodes,
            remainingMembers: occupied.map((i) => ({ name: `etcd-${i}`, nodeName: `node-${i}` })),
            excludedNodes: new Map(excluded.map((i) => [`node-${i}`, 'excluded'])),
            tolerations,
            thresholds: policy.thresholds,
          });
          for (const candidate of result.candidates) {
            const node = nodes.find((n) => n.name === candidate.node);
            if (!node) throw new Error(`candidate ${candidate.node} is not a node`);
            expect(isNodeReady(node)).toBe(true);
            expect(activePressures(node)).toEqual([]);
            expect(node.unschedulable).toBe(false);
            expect(repellingTaints(node, tolerations)).toEqual([]);
            expect(occupied.map((i) => `node-${i}`)).not.toContain(node.name);
            expect(excluded.map((i) => `node-${i}`)).not.toContain(node.name);
          }
          expect(result.candidates.length + result.refused.length).toBe(nodes.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the same input always gives the same decision', () => {
    fc.assert(
      fc.property(clusterArb, (obs) => {
        const copy = JSON.parse(JSON.stringify(obs)) as ClusterObservation;
        expect(decideOnce(copy)).toEqual(decideOnce(obs));
      }),
      { numRuns: 300 },
    );
  });

  it('the order in which nodes are listed does not change the chosen node', () => {
    fc.assert(
      fc.property(clusterArb, (obs) => {
        const reversed = { ...obs, nodes: [...obs.nodes].reverse() };
        const a = decideOnce(obs);
        const b = decideOnce(reversed);
        expect(b.kind).toBe(a.kind);
        if (a.kind === 'migrate' && b.kind === 'migrate') expect(b.plan.target.node).toBe(a.plan.target.node);
      }),
      { numRuns: 300 },
    );
  });
});
