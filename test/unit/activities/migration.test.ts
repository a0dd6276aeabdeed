import { createMigrationActivities, type ChosenNode, type MigrationActivities } from '../../../activities/migration';
import type { KubePort } from '../../../src/kube/port';
import { aWorld, SIM_NAMESPACE, type WorldShape } from '../../simulation/model/builders';
import type { Fault, PortCall } from '../../simulation/model/faults';
import { learners, quorumState, voters } from '../../simulation/model/invariants';
import type { World } from '../../simulation/model/world';
import { failure, run } from './run-activity';
import { SIM_CLUSTER, simDeps, type SimRuntimeOptions } from '../../simulation/deps';

/**
 * The migration's activities over the in-memory model of etcd and Kubernetes: each row sets up a world (a fault at
 * one call, a member down, a learner half-way), runs one activity as Temporal would, and checks what it answered or
 * the exact failure Temporal gets (its type, whether it is retried, its message) and what the world looks like after.
 * Waits inside an activity run on the world's virtual clock. Seed 1 throughout: member ids and their order
 * (etcd-1, etcd-0, etcd-2 by id) are the same on every run.
 */

const cluster = SIM_CLUSTER;
/** From a pod's creation to its etcd process running (the model's podStartMs is 500 ms), not yet caught up. */
const POD_STARTED_MS = 600;
/** Past a 20 MiB learner's catch-up (1.2 s in the model). */
const CAUGHT_UP_MS = 2_000;
/** Past an election after a leader is lost. */
const ELECTION_MS = 2_000;

/** A world and the migration's activities over it. */
interface Simulation {
  world: World;
  act: MigrationActivities;
}

function aSimulation(shape: WorldShape = {}, options: SimRuntimeOptions = {}): Simulation {
  const world = aWorld({ seed: 1, ...shape });
  return { world, act: createMigrationActivities(simDeps(world, options)) };
}

const idOf = (world: World, name: string): string => world.member(name).id;
const podExists = (world: World, name: string): boolean => world.kubeModel.getPod(SIM_NAMESPACE, name) !== undefined;
const isVoter = (world: World, name: string): boolean => voters(world).some((m) => m.name === name);
/** The etcd and Kubernetes calls that change something, in the order they were made (from call `since` on). */
const changes = (world: World, since = 0): string[] =>
  world.calls.trace.slice(since).filter((t) => ['addLearner', 'removeMember', 'promoteMember', 'createPod', 'deletePod'].includes(t.method)).map((t) => `${t.port}.${t.method} -> ${t.outcome}`);

/** A member's successor as a surge adds it: node chosen, learner added, pod created from the leaving member's. */
async function addSuccessor({ world, act }: Simulation, leaving: string, nodeName: string): Promise<ChosenNode & { id: string }> {
  const chosen = await run(act.chooseNode, { cluster, leaving: { memberId: idOf(world, leaving), name: leaving, nodeName }, excludedNodes: {}, usedNames: [] });
  const { id } = await run(act.addLearner, { cluster, podName: chosen.memberName, peerURL: chosen.peerURL, surge: true });
  await run(act.createMemberPod, { cluster, podName: chosen.memberName, nodeName: chosen.node, learnerPeerURL: chosen.peerURL, templateMember: leaving });
  return { ...chosen, id };
}

/** Kill a member for good (its pod is not restarted), and let the cluster elect a leader if it was the one. */
function killForGood(world: World, ...members: string[]): void {
  for (const member of members) world.apply({ kind: 'kill', member, restart: false });
  world.advance(ELECTION_MS);
}

/** The model's Kubernetes port with some Node objects deleted (the cloud removed the machines). */
function withoutNodes(kube: KubePort, deleted: readonly string[]): KubePort {
  return {
    listNodes: async (topology) => (await kube.listNodes(topology)).filter((n) => !deleted.includes(n.name)),
    listPods: (namespace, selector) => kube.listPods(namespace, selector),
    listPodObjects: (namespace, selector) => kube.listPodObjects(namespace, selector),
    getPod: (namespace, name) => kube.getPod(namespace, name),
    createPod: (namespace, pod) => kube.createPod(namespace, pod),
    deletePod: (namespace, name, grace, uid) => kube.deletePod(namespace, name, grace, uid),
    getClaim: (namespace, name) => kube.getClaim(namespace, name),
    deleteClaim: (namespace, name, uid) => kube.deleteClaim(namespace, name, uid),
    getVolume: (name) => kube.getVolume(name),
    listVolumes: (selector) => kube.listVolumes(selector),
    createVolume: (volume) => kube.createVolume(volume),
    deleteVolume: (name, uid) => kube.deleteVolume(name, uid),
    nodeUsage: () => kube.nodeUsage(),
  };
}

/** A hook that applies `fault` to the first call of `method` only. */
function onFirst(method: string, fault: Fault): (call: PortCall) => Fault | undefined {
  let used = false;
  return (call) => {
    if (used || call.method !== method) return undefined;
    used = true;
    return fault;
  };
}

describe('promoteLearner', () => {
  it('a learner whose pod is starting: the attempt tries again every 200 ms and promotes it once it has caught up, without waiting for a retry', async () => {
    const sim = aSimulation();
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    const since = world.calls.trace.length;
    const started = world.elapsedMs();
    expect(await run(act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName })).toEqual({ promoted: true });
    expect(isVoter(world, 'etcd-3')).toBe(true);
    // Refused while not in sync, then promoted: within the 500 ms start and 1.2 s catch-up, give or take a poll.
    const promotes = world.calls.trace.slice(since).filter((t) => t.method === 'promoteMember').map((t) => t.outcome);
    expect(promotes.at(-1)).toBe('ok');
    expect(world.elapsedMs() - started).toBeLessThan(2_500);
  });

  it('a learner far behind (400 MiB to catch up): etcd answers "not in sync" through the attempt\'s 10 s, NOT_READY_YET and retried; once virtual time passes its catch-up, the retry promotes it', async () => {
    const sim = aSimulation({ dbSizeBytes: 400 * 1024 * 1024 });
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    world.advance(POD_STARTED_MS);
    const input = { cluster, memberId: successor.id, podName: successor.memberName };

    expect(await failure(run(act.promoteLearner, input))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: `learner etcd-3 has not caught up yet (member promote ${successor.id} at http://127.20.0.2:2379: 9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader)`,
    });
    expect(learners(world).map((m) => m.name)).toEqual(['etcd-3']);

    world.advance(CAUGHT_UP_MS);
    expect(await run(act.promoteLearner, input)).toEqual({ promoted: true });
    expect(isVoter(world, 'etcd-3')).toBe(true);
    expect(quorumState(world)).toMatchObject({ voters: 4, healthyVoters: 4, learners: 0 });
  });

  it('a learner already promoted (the answer to the promote was lost): done, promoted:false', async () => {
    const sim = aSimulation();
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    sim.world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    sim.world.faults = onFirst('promoteMember', { kind: 'lost-response' });
    const input = { cluster, memberId: successor.id, podName: successor.memberName };

    expect(await failure(run(sim.act.promoteLearner, input))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'etcd promoteMember timed out after 2000 ms' });
    expect(await run(sim.act.promoteLearner, input)).toEqual({ promoted: false });
    expect(isVoter(sim.world, 'etcd-3')).toBe(true);
  });

  it('a learner whose pod is gone: TARGET_LOST, not retried (the next node is tried)', async () => {
    const { world, act } = aSimulation();
    const { id } = await world.etcd.addLearner('http://127.20.0.4:2380', [world.endpointOf('etcd-0')]);

    expect(await failure(run(act.promoteLearner, { cluster, memberId: id, podName: 'etcd-3' }))).toEqual({ type: 'TARGET_LOST', nonRetryable: true, message: 'pod etcd-3 of the new member is gone' });
    expect(learners(world).map((m) => m.id)).toEqual([id]);
  });

  it('the member being replaced died meanwhile and the learner has caught up: promoted, since the guard counts the learner as observed (finding 6)', async () => {
    const sim = aSimulation();
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    sim.world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    killForGood(sim.world, 'etcd-2');

    expect(await run(sim.act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName })).toEqual({ promoted: true });
    expect(quorumState(sim.world)).toMatchObject({ voters: 4, healthyVoters: 3, learners: 0, quorum: 3 });
  });

  it('the member being replaced died meanwhile and the learner has not caught up: NOT_READY_YET naming the projection, nothing promoted', async () => {
    // Far behind: its catch-up (20 s) outlasts the attempt's own polling.
    const sim = aSimulation({ dbSizeBytes: 400 * 1024 * 1024 });
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    sim.world.advance(POD_STARTED_MS);
    // etcd-2 does not lead (etcd-1 does), so no election delays the learner's catch-up.
    sim.world.apply({ kind: 'kill', member: 'etcd-2', restart: false });

    expect(await failure(run(sim.act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName }))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: 'learner etcd-3 has not caught up yet, and promoting it now would leave promote-learner etcd-3 would leave 2/4 healthy voters, quorum 3: below quorum (now 2/3 healthy voters, quorum 2)',
    });
    expect(learners(sim.world).map((m) => m.name)).toEqual(['etcd-3']);
  });
});

describe('moveLeader', () => {
  it('away from the leader: leadership goes to another healthy voter', async () => {
    const { world, act } = aSimulation();
    expect(await run(act.moveLeader, { cluster, awayFrom: idOf(world, 'etcd-1') })).toEqual({ moved: true, leader: 'etcd-0' });
    expect(quorumState(world).leader).toBe('etcd-0');
  });

  it('away from a member that does not lead: nothing moves', async () => {
    const { world, act } = aSimulation();
    expect(await run(act.moveLeader, { cluster, awayFrom: idOf(world, 'etcd-2') })).toEqual({ moved: false, leader: 'etcd-1' });
    expect(changes(world)).toEqual([]);
  });

  describe('a targetNode asked for by name keeps to the placement policy', () => {
    const allowed = { placement: { allowedNodes: ['node-0', 'node-1', 'node-2', 'node-3', 'node-4'], nodeSelector: { 'topology.kubernetes.io/rack': 'rack-0' } } };
    const rows = [
      {
        case: 'off the allow-list and the selector',
        targetNode: 'node-5',
        message: 'targetNode "node-5" breaks the placement policy of cluster main: not in placement.allowedNodes (node-0, node-1, node-2, node-3, node-4); label topology.kubernetes.io/rack is "rack-2", placement.nodeSelector requires "rack-0"',
      },
      {
        case: 'on the allow-list, off the selector',
        targetNode: 'node-4',
        message: 'targetNode "node-4" breaks the placement policy of cluster main: label topology.kubernetes.io/rack is "rack-1", placement.nodeSelector requires "rack-0"',
      },
      { case: 'not a node at all, off the allow-list', targetNode: 'node-9', message: 'targetNode "node-9" breaks the placement policy of cluster main: not in placement.allowedNodes (node-0, node-1, node-2, node-3, node-4)' },
    ];

    it.each(rows)('$case: PLACEMENT_POLICY, not retried, nothing changed', async ({ targetNode, message }) => {
      const { world, act } = aSimulation({}, { policy: allowed });
      const since = world.calls.trace.length;
      expect(await failure(run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'manual', targetNode }))).toEqual({ type: 'PLACEMENT_POLICY', nonRetryable: true, message });
      expect(changes(world, since)).toEqual([]);
    });

    it('a node the policy allows is planned as asked', async () => {
      const { act } = aSimulation({}, { policy: allowed });
      expect((await run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'manual', targetNode: 'node-3' })).target.node).toBe('node-3');
    });
  });

  it('when no member list can be read: MEMBERSHIP_UNKNOWN, retried', async () => {
    const { world, act } = aSimulation();
    world.faults = (call) => (call.method === 'memberList' ? { kind: 'error' } : undefined);
    expect(await failure(run(act.moveLeader, { cluster, awayFrom: idOf(world, 'etcd-1') }))).toEqual({
      type: 'MEMBERSHIP_UNKNOWN',
      nonRetryable: false,
      message: 'cannot tell who leads main: member list: no etcd endpoint answered (http://127.20.0.1:2379: etcd memberList: injected failure)',
    });
    expect(quorumState(world).leader).toBe('etcd-1');
  });
});

describe('removeMember', () => {
  it('a member absent from a member list that succeeded: done, removed:false, and no remove is sent', async () => {
    const { world, act } = aSimulation();
    const gone = idOf(world, 'etcd-2');
    await world.etcd.removeMember(gone, [world.endpointOf('etcd-0')]);
    const before = world.calls.count;

    expect(await run(act.removeMember, { cluster, memberId: gone })).toEqual({ removed: false });
    expect(world.calls.trace.slice(before).filter((t) => t.method === 'removeMember')).toEqual([]);
  });

  it("its response lost after the member was removed: the attempt fails TIMEOUT (retried), and the retry finds the member gone and answers removed:false", async () => {
    const { world, act } = aSimulation();
    const id = idOf(world, 'etcd-2');
    world.faults = onFirst('removeMember', { kind: 'lost-response' });

    expect(await failure(run(act.removeMember, { cluster, memberId: id }))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'etcd removeMember timed out after 2000 ms' });
    expect(await run(act.removeMember, { cluster, memberId: id })).toEqual({ removed: false });
    expect(quorumState(world)).toMatchObject({ voters: 2, healthyVoters: 2 });
  });

  it('a healthy voter while another voter is down: QUORUM_GUARD, retried (the voter that looks down may answer the next look), the message names the projection, nothing removed', async () => {
    const { world, act } = aSimulation();
    killForGood(world, 'etcd-0');
    const id = idOf(world, 'etcd-2');

    expect(await failure(run(act.removeMember, { cluster, memberId: id }))).toEqual({
      type: 'QUORUM_GUARD',
      nonRetryable: false,
      message: `quorum guard refused to remove ${id}: remove-member etcd-2 would leave 1/2 healthy voters, quorum 2: below quorum (now 2/3 healthy voters, quorum 2); members now: etcd-1 on node-1: healthy, etcd-0 on node-0: down, etcd-2 on node-2: healthy`,
    });
    expect(isVoter(world, 'etcd-2')).toBe(true);
  });

  it('a dead voter, while the others keep quorum: removed, and its pod then goes at once', async () => {
    const { world, act } = aSimulation();
    killForGood(world, 'etcd-0');
    const id = idOf(world, 'etcd-0');

    expect(await run(act.removeMember, { cluster, memberId: id, onlyIfDown: true })).toEqual({ removed: true });
    expect(await run(act.deletePod, { cluster, podName: 'etcd-0', memberId: id, memberDown: true })).toEqual({ deleted: true, forced: true, why: 'member down and removed' });
    expect(quorumState(world)).toMatchObject({ voters: 2, healthyVoters: 2 });
    expect(podExists(world, 'etcd-0')).toBe(false);
  });

  it('a member whose process restarts while the direct check times out (simulation seed 9895): asked again, it answers and stays', async () => {
    const { world, act } = aSimulation();
    world.apply({ kind: 'kill', member: 'etcd-2' });
    // The kubelet restarts it 10 s after the kill: the check below starts 9 s in and times out after 2 s.
    world.advance(9_000);
    const endpoint = world.endpointOf('etcd-2');
    let asked = 0;
    world.faults = (call) => (call.method === 'endpointStatus' && call.args[0] === endpoint && ++asked === 2 ? { kind: 'timeout' } : undefined);

    expect(await run(act.removeMember, { cluster, memberId: idOf(world, 'etcd-2'), onlyIfDown: true })).toEqual({ removed: false, answers: true });
    expect(isVoter(world, 'etcd-2')).toBe(true);
    expect(asked).toBe(3);
  });

  it('a member that was down but answers again, with onlyIfDown: it stays, answers:true', async () => {
    const { world, act } = aSimulation();
    expect(await run(act.removeMember, { cluster, memberId: idOf(world, 'etcd-2'), onlyIfDown: true })).toEqual({ removed: false, answers: true });
    expect(isVoter(world, 'etcd-2')).toBe(true);
  });

  describe('with successorFollows, when no successor could be added, refuses before removing anything', () => {
    const rows: { when: string; shape?: WorldShape; options?: (world: World) => SimRuntimeOptions; setup: (world: World) => Promise<void> | void; expected: (world: World) => { type: string; message: string } }[] = [
      {
        when: 'a learner is present (etcd allows one)',
        setup: async (world) => {
          await world.etcd.addLearner('http://127.20.0.4:2380', [world.endpointOf('etcd-0')]);
        },
        expected: (world) => {
          const learner = learners(world)[0]?.id ?? '?';
          return {
            type: 'LEARNER_PRESENT',
            message: `will not remove etcd-2: learner (not started) (${learner}) is in the cluster and etcd allows one learner, so no successor could join; remove it first (etcd-guardian repair main)`,
          };
        },
      },
      {
        when: 'no pod is left to copy the spec from (every pod terminating)',
        // With every pod terminating none gives an endpoint: the cluster is reached through configured ones.
        options: (world) => ({ seedEndpoints: ['etcd-0', 'etcd-1', 'etcd-2'].map((m) => world.endpointOf(m)) }),
        setup: (world) => {
          for (const pod of ['etcd-0', 'etcd-1', 'etcd-2']) world.kubeModel.deletePod(SIM_NAMESPACE, pod);
        },
        expected: () => ({ type: 'NO_TEMPLATE', message: "will not remove etcd-2: no pod of cluster main is left to copy the successor's spec from" }),
      },
      {
        when: 'no node is feasible (three nodes, each hosting a member)',
        shape: { nodes: 3 },
        setup: () => {},
        expected: () => ({
          type: 'NO_FEASIBLE_NODE',
          message:
            'will not remove etcd-2: its successor would have nowhere to go: no feasible node: node-0: already hosts member etcd-0 | node-1: already hosts member etcd-1 | node-2: hosts etcd-2, the member being moved',
        }),
      },
    ];

    it.each(rows)('$when', async ({ shape, options, setup, expected }) => {
      const world = aWorld({ seed: 1, ...shape });
      const act = createMigrationActivities(simDeps(world, options?.(world)));
      await setup(world);

      expect(await failure(run(act.removeMember, { cluster, memberId: idOf(world, 'etcd-2'), successorFollows: true }))).toEqual({ ...expected(world), nonRetryable: true });
      expect(isVoter(world, 'etcd-2')).toBe(true);
      expect(world.calls.trace.filter((t) => t.method === 'removeMember')).toEqual([]);
    });
  });
});

describe('when no member list can be read, every step fails MEMBERSHIP_UNKNOWN (retried) and never takes a member for absent', () => {
  const failures: { what: string; fail: (world: World) => void; reason: string }[] = [
    {
      what: 'every member list fails',
      fail: (world) => {
        world.faults = (call) => (call.method === 'memberList' ? { kind: 'error' } : undefined);
      },
      reason: 'member list: no etcd endpoint answered (http://127.20.0.1:2379: etcd memberList: injected failure)',
    },
    {
      what: 'every member is frozen',
      fail: (world) => ['etcd-0', 'etcd-1', 'etcd-2'].forEach((member) => world.apply({ kind: 'freeze', member })),
      reason:
        'member list: no etcd endpoint answered (http://127.20.0.1:2379: no answer within 2000 ms; http://127.20.0.2:2379: no answer within 2000 ms; http://127.20.0.3:2379: no answer within 2000 ms)',
    },
  ];
  const steps: { step: string; attempt: (sim: Simulation) => Promise<unknown> }[] = [
    { step: 'removeMember', attempt: ({ world, act }) => run(act.removeMember, { cluster, memberId: idOf(world, 'etcd-2') }) },
    { step: 'deletePod', attempt: ({ world, act }) => run(act.deletePod, { cluster, podName: 'etcd-2', memberId: idOf(world, 'etcd-2') }) },
    { step: 'addLearner', attempt: ({ act }) => run(act.addLearner, { cluster, podName: 'etcd-3', peerURL: 'http://127.20.0.4:2380', surge: true }) },
    {
      step: 'retireSuccessor',
      attempt: ({ world, act }) => run(act.retireSuccessor, { cluster, successor: { podName: 'etcd-2', peerURL: 'http://127.20.0.3:2380', memberId: idOf(world, 'etcd-2') } }),
    },
    {
      step: 'chooseNode',
      attempt: ({ world, act }) => run(act.chooseNode, { cluster, leaving: { memberId: idOf(world, 'etcd-2'), name: 'etcd-2', nodeName: 'node-2' }, excludedNodes: {}, usedNames: [] }),
    },
  ];
  const table = failures.flatMap((f) => steps.map((s) => ({ ...f, ...s })));

  it.each(table)('$step when $what', async ({ fail, reason, attempt }) => {
    const sim = aSimulation();
    fail(sim.world);

    expect(await failure(attempt(sim))).toEqual({
      type: 'MEMBERSHIP_UNKNOWN',
      nonRetryable: false,
      message: `cluster main: the membership is unknown, so no change is safe until a member list succeeds: ${reason}`,
    });
    expect(quorumState(sim.world)).toMatchObject({ voters: 3, learners: 0 });
    expect(['etcd-0', 'etcd-1', 'etcd-2'].filter((pod) => podExists(sim.world, pod))).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(changes(sim.world)).toEqual([]);
  });
});

describe('deletePod', () => {
  it('the pod of a member that is still a voter: VOTER_POD, not retried, and the pod stays', async () => {
    const { world, act } = aSimulation();
    const id = idOf(world, 'etcd-2');

    expect(await failure(run(act.deletePod, { cluster, podName: 'etcd-2', memberId: id }))).toEqual({
      type: 'VOTER_POD',
      nonRetryable: true,
      message: `will not delete pod etcd-2: it runs etcd-2 (${id}), still a voter of main; members now: etcd-1 on node-1: healthy, etcd-0 on node-0: healthy, etcd-2 on node-2: healthy`,
    });
    expect(podExists(world, 'etcd-2')).toBe(true);
  });

  it('the pod of a member already removed: deleted, waiting out its graceful termination on the virtual clock', async () => {
    const { world, act } = aSimulation();
    const id = idOf(world, 'etcd-2');
    await world.etcd.removeMember(id, [world.endpointOf('etcd-0')]);

    expect(await run(act.deletePod, { cluster, podName: 'etcd-2', memberId: id })).toEqual({ deleted: true, forced: false });
    expect(podExists(world, 'etcd-2')).toBe(false);
  });
});

describe('pods the guardian does not own: refused before any side effect', () => {
  const mirror = { annotations: { 'kubernetes.io/config.mirror': 'h', 'kubernetes.io/config.source': 'file' } };
  const owned = { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'etcd', uid: 'u', controller: true }] };

  it.each([
    ['a static (mirror) pod', mirror, 'STATIC_POD', "will not delete pod etcd-2: pod etcd-2 is a static pod run by its node's kubelet"],
    ['a pod a StatefulSet owns', owned, 'CONTROLLER_OWNED', 'will not delete pod etcd-2: pod etcd-2 is a pod owned by StatefulSet etcd'],
  ])('deletePod of %s, even of a member already removed: refused, not retried, and the pod stays', async (_what, metadata, type, message) => {
    const { world, act } = aSimulation();
    const id = idOf(world, 'etcd-2');
    await world.etcd.removeMember(id, [world.endpointOf('etcd-0')]);
    world.kubeModel.setPodMetadata(SIM_NAMESPACE, 'etcd-2', metadata);
    const since = world.calls.trace.length;

    const refused = await failure(run(act.deletePod, { cluster, podName: 'etcd-2', memberId: id, memberDown: true }));
    expect([refused.type, refused.nonRetryable]).toEqual([type, true]);
    expect(refused.message).toContain(message);
    expect(changes(world, since)).toEqual([]);
    expect(podExists(world, 'etcd-2')).toBe(true);
  });

  it.each([
    ['a static (mirror) pod', mirror, 'STATIC_POD'],
    ['a pod a StatefulSet owns', owned, 'CONTROLLER_OWNED'],
  ])('createMemberPod from %s: refused, and no pod is created', async (_what, metadata, type) => {
    const { world, act } = aSimulation();
    const chosen = await run(act.chooseNode, { cluster, leaving: { memberId: idOf(world, 'etcd-2'), name: 'etcd-2', nodeName: 'node-2' }, excludedNodes: {}, usedNames: [] });
    await run(act.addLearner, { cluster, podName: chosen.memberName, peerURL: chosen.peerURL, surge: true });
    world.kubeModel.setPodMetadata(SIM_NAMESPACE, 'etcd-2', metadata);
    const since = world.calls.trace.length;

    const refused = await failure(run(act.createMemberPod, { cluster, podName: chosen.memberName, nodeName: chosen.node, learnerPeerURL: chosen.peerURL, templateMember: 'etcd-2' }));
    expect([refused.type, refused.nonRetryable]).toEqual([type, true]);
    expect(refused.message).toContain(`will not make ${chosen.memberName} from a copy of pod etcd-2`);
    expect(changes(world, since)).toEqual([]);
    expect(podExists(world, chosen.memberName)).toBe(false);
  });

  it('prepareMigration of a static member: STATIC_POD up front, with the reason', async () => {
    const { world, act } = aSimulation();
    for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) world.kubeModel.setPodMetadata(SIM_NAMESPACE, name, mirror);
    const since = world.calls.trace.length;

    const refused = await failure(run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'test' }));
    expect([refused.type, refused.nonRetryable]).toEqual(['STATIC_POD', true]);
    expect(refused.message).toContain('cannot move etcd-2: pod etcd-2 is a static pod');
    expect(changes(world, since)).toEqual([]);
  });
});

describe('createMemberPod', () => {
  it("its response lost after the pod was created: the retry finds the pod on its node and answers created:false", async () => {
    const sim = aSimulation();
    const { world, act } = sim;
    const chosen = await run(act.chooseNode, { cluster, leaving: { memberId: idOf(world, 'etcd-2'), name: 'etcd-2', nodeName: 'node-2' }, excludedNodes: {}, usedNames: [] });
    await run(act.addLearner, { cluster, podName: chosen.memberName, peerURL: chosen.peerURL, surge: true });
    world.faults = onFirst('createPod', { kind: 'lost-response' });
    const input = { cluster, podName: chosen.memberName, nodeName: chosen.node, learnerPeerURL: chosen.peerURL, templateMember: 'etcd-2' };

    expect(await failure(run(act.createMemberPod, input))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'kube createPod timed out after 2000 ms' });
    expect(await run(act.createMemberPod, input)).toEqual({ created: false });
    expect(world.kubeModel.getPod(SIM_NAMESPACE, chosen.memberName)?.spec?.nodeName).toBe(chosen.node);
  });
});

describe('addLearner', () => {
  it('twice with the same peer URL: the second finds the first and answers added:false with the same id', async () => {
    const { world, act } = aSimulation();
    const input = { cluster, podName: 'etcd-3', peerURL: 'http://127.20.0.4:2380', surge: true };

    const first = await run(act.addLearner, input);
    expect(first).toEqual({ id: expect.any(String) as string, peerURL: 'http://127.20.0.4:2380', added: true });
    expect(await run(act.addLearner, input)).toEqual({ ...first, added: false });
    expect(learners(world).map((m) => m.id)).toEqual([first.id]);
  });

  it('its answer lost after the learner was added: the retry finds it by its peer URL', async () => {
    const { world, act } = aSimulation();
    world.faults = onFirst('addLearner', { kind: 'lost-response' });
    const input = { cluster, podName: 'etcd-3', peerURL: 'http://127.20.0.4:2380', surge: true };

    expect(await failure(run(act.addLearner, input))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'etcd addLearner timed out after 2000 ms' });
    const learner = learners(world)[0]?.id;
    expect(await run(act.addLearner, input)).toEqual({ id: learner, peerURL: 'http://127.20.0.4:2380', added: false });
  });

  it("within etcd's health interval of a voter's restart: etcd answers 'unhealthy cluster' on every endpoint, ETCD_UNAVAILABLE, retried", async () => {
    const { world, act } = aSimulation();
    // Killed, restarted by the kubelet after its 10 s back-off: connected again for less than 5 s.
    world.apply({ kind: 'kill', member: 'etcd-0' });
    world.advance(10_500);

    expect(await failure(run(act.addLearner, { cluster, podName: 'etcd-3', peerURL: 'http://127.20.0.4:2380' }))).toEqual({
      type: 'ETCD_UNAVAILABLE',
      nonRetryable: false,
      message:
        'member add --learner: no etcd endpoint answered (http://127.20.0.2:2379: etcdserver: unhealthy cluster; http://127.20.0.1:2379: etcdserver: unhealthy cluster; http://127.20.0.3:2379: etcdserver: unhealthy cluster)',
    });
    expect(learners(world)).toEqual([]);
  });

  it('while another learner (left by an interrupted migration) is in the cluster: LEARNER_PRESENT, not retried, naming it and the repair', async () => {
    const sim = aSimulation();
    const leftover = await addSuccessor(sim, 'etcd-2', 'node-3');

    expect(await failure(run(sim.act.addLearner, { cluster, podName: 'etcd-4', peerURL: 'http://127.20.0.5:2380' }))).toEqual({
      type: 'LEARNER_PRESENT',
      nonRetryable: true,
      message: `will not add etcd-4: learner (not started) (${leftover.id}) at ${leftover.peerURL} is already in the cluster and etcd allows one learner; remove it first (etcd-guardian repair main)`,
    });
    expect(learners(sim.world).map((m) => m.id)).toEqual([leftover.id]);
  });

  it('in a surge while a voter is down: PLAN_STALE, not retried, and no learner is added', async () => {
    const { world, act } = aSimulation();
    killForGood(world, 'etcd-0');

    expect(await failure(run(act.addLearner, { cluster, podName: 'etcd-3', peerURL: 'http://127.20.0.4:2380', surge: true }))).toEqual({
      type: 'PLAN_STALE',
      nonRetryable: true,
      message: 'voter etcd-0 went down before etcd-3 joined: etcd adds no member while a voter is down, so the surge is planned again (a down member is replaced)',
    });
    expect(learners(world)).toEqual([]);
  });
});

describe('retireSuccessor', () => {
  it('a successor already promoted to voter: removes the member first, then deletes its pod', async () => {
    const sim = aSimulation();
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    await run(act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName });
    expect(isVoter(world, 'etcd-3')).toBe(true);
    const before = world.calls.count;

    expect(await run(act.retireSuccessor, { cluster, successor: { podName: 'etcd-3', peerURL: successor.peerURL, memberId: successor.id } })).toEqual({ removed: true, podDeleted: true });
    expect(changes(world, before)).toEqual(['etcd.removeMember -> ok', 'kube.deletePod -> ok']);
    expect(world.etcdModel.find(successor.id)?.removed).toBe(true);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3, learners: 0 });
    expect(podExists(world, 'etcd-3')).toBe(false);
  });

  it('a promoted successor that leads: removed, its pod deleted once a new leader answers the member list', async () => {
    const sim = aSimulation();
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    await run(act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName });
    await world.etcd.moveLeader(world.endpointOf('etcd-1'), successor.id);

    expect(await run(act.retireSuccessor, { cluster, successor: { podName: 'etcd-3', peerURL: successor.peerURL, memberId: successor.id } })).toEqual({ removed: true, podDeleted: true });
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3, learners: 0, hasQuorum: true });
    expect(podExists(world, 'etcd-3')).toBe(false);
  });

  it("a learner whose removal's response was lost: the retry finds it gone and deletes its pod", async () => {
    const sim = aSimulation();
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    world.advance(POD_STARTED_MS);
    world.faults = onFirst('removeMember', { kind: 'lost-response' });
    const input = { cluster, successor: { podName: 'etcd-3', peerURL: successor.peerURL, memberId: successor.id } };

    expect(await failure(run(act.retireSuccessor, input))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'etcd removeMember timed out after 2000 ms' });
    expect(podExists(world, 'etcd-3')).toBe(true);
    expect(await run(act.retireSuccessor, input)).toEqual({ removed: false, podDeleted: true });
    expect(learners(world)).toEqual([]);
    expect(podExists(world, 'etcd-3')).toBe(false);
  });

  it('a promoted successor whose removal the quorum guard refuses: QUORUM_GUARD, not retried, and its pod is NOT deleted', async () => {
    // Four voters and a promoted successor: five; two of the others down leaves 3/5, and removing a healthy one 2/4.
    const sim = aSimulation({ members: 4, nodes: 6 });
    const { world, act } = sim;
    const successor = await addSuccessor(sim, 'etcd-3', 'node-3');
    world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    await run(act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName });
    killForGood(world, 'etcd-0', 'etcd-1');

    const refused = await failure(run(act.retireSuccessor, { cluster, successor: { podName: successor.memberName, peerURL: successor.peerURL, memberId: successor.id } }));
    expect(refused).toEqual({
      type: 'QUORUM_GUARD',
      nonRetryable: true,
      message:
        'cannot take back etcd-4: remove-member etcd-4 would leave 2/4 healthy voters, quorum 3: below quorum (now 3/5 healthy voters, quorum 3); its pod etcd-4 stays; members now: etcd-4 on node-4: healthy, etcd-1 on node-1: down, etcd-3 on node-3: healthy, etcd-0 on node-0: down, etcd-2 on node-2: healthy',
    });
    expect(isVoter(world, 'etcd-4')).toBe(true);
    expect(podExists(world, 'etcd-4')).toBe(true);
  });

  it("a learner whose id is unknown (add-learner's answer was lost) is found by its peer URL, even after its node object was deleted (finding 9)", async () => {
    const { world, act } = aSimulation();
    const chosen = await run(act.chooseNode, { cluster, leaving: { memberId: idOf(world, 'etcd-2'), name: 'etcd-2', nodeName: 'node-2' }, excludedNodes: {}, usedNames: [] });
    world.faults = onFirst('addLearner', { kind: 'lost-response' });
    expect(await failure(run(act.addLearner, { cluster, podName: chosen.memberName, peerURL: chosen.peerURL, surge: true }))).toMatchObject({ type: 'TIMEOUT', nonRetryable: false });
    expect(learners(world).map((m) => m.peerURL)).toEqual([chosen.peerURL]);
    // The cloud deletes the machine and its Node object.
    world.apply({ kind: 'node-down', node: chosen.node });
    const afterDeletion = createMigrationActivities(simDeps(world, { kube: withoutNodes(world.kube, [chosen.node]) }));

    expect(await run(afterDeletion.retireSuccessor, { cluster, successor: { podName: chosen.memberName, peerURL: chosen.peerURL } })).toEqual({ removed: true, podDeleted: false });
    expect(learners(world)).toEqual([]);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3 });
  });
});

describe('verifyMember', () => {
  it('a member still a learner: NOT_READY_YET saying so', async () => {
    const sim = aSimulation();
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    sim.world.advance(POD_STARTED_MS);
    expect(await failure(run(sim.act.verifyMember, { cluster, memberId: successor.id, podName: 'etcd-3' }))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: 'member etcd-3 is not a healthy voter yet (learner)',
    });
  });

  it('a voter that answers and knows the leader: verified by name', async () => {
    const { world, act } = aSimulation();
    expect(await run(act.verifyMember, { cluster, memberId: idOf(world, 'etcd-2'), podName: 'etcd-2' })).toEqual({ name: 'etcd-2' });
  });
});

describe('prepareMigration', () => {
  it('a live member: a surge to the best node, with the reasons', async () => {
    const { world, act } = aSimulation();
    const plan = await run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'slow disk' });
    expect({ member: plan.member.id, strategy: plan.strategy, target: plan.target.node, newMemberName: plan.newMemberName }).toEqual({ member: idOf(world, 'etcd-2'), strategy: 'surge', target: 'node-5', newMemberName: 'etcd-3' });
    expect(plan.reasons.slice(0, 2)).toEqual(['slow disk', 'surge: the member is alive, so its successor joins and is promoted before it leaves']);
  });

  it('a dead member: replaced', async () => {
    const { world, act } = aSimulation();
    killForGood(world, 'etcd-2');
    expect((await run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'node lost' })).strategy).toBe('replace');
  });

  it('when no member list can be read: MEMBERSHIP_UNKNOWN, retried', async () => {
    const { world, act } = aSimulation();
    world.faults = (call) => (call.method === 'memberList' ? { kind: 'error' } : undefined);
    expect(await failure(run(act.prepareMigration, { cluster, member: 'etcd-2', strategy: 'auto', reason: 'slow disk' }))).toMatchObject({ type: 'MEMBERSHIP_UNKNOWN', nonRetryable: false });
  });
});

describe('patient steps heartbeat while they work (finding 8)', () => {
  const steps: { step: string; first: string; attempt: (sim: Simulation, successor: ChosenNode & { id: string }) => Promise<unknown> }[] = [
    { step: 'addLearner', first: 'add learner etcd-3', attempt: ({ act }, s) => run(act.addLearner, { cluster, podName: s.memberName, peerURL: s.peerURL, surge: true }) },
    { step: 'promoteLearner', first: 'promote etcd-3', attempt: ({ act }, s) => run(act.promoteLearner, { cluster, memberId: s.id, podName: s.memberName }) },
    { step: 'verifyMember', first: 'verify etcd-3', attempt: ({ act }, s) => run(act.verifyMember, { cluster, memberId: s.id, podName: s.memberName }) },
    { step: 'verifyQuorum', first: 'verify main', attempt: ({ act }) => run(act.verifyQuorum, { cluster, expectedVoters: 4 }) },
  ];

  it.each(steps)('$step says "$first" as it starts', async ({ step, first, attempt }) => {
    const beats: unknown[] = [];
    const world = aWorld({ seed: 1 });
    const sim = { world, act: createMigrationActivities(simDeps(world, { heartbeat: (detail) => beats.push(detail) })) };
    const successor = await addSuccessor(sim, 'etcd-2', 'node-2');
    world.advance(POD_STARTED_MS + CAUGHT_UP_MS);
    if (step !== 'addLearner' && step !== 'promoteLearner') await run(sim.act.promoteLearner, { cluster, memberId: successor.id, podName: successor.memberName });
    beats.length = 0;

    await attempt(sim, successor);
    expect(beats[0]).toBe(first);
  });
});

describe('verifyQuorum', () => {
  it('a learner left: NOT_READY_YET naming it', async () => {
    const sim = aSimulation();
    await addSuccessor(sim, 'etcd-2', 'node-2');
    sim.world.advance(POD_STARTED_MS);

    expect(await failure(run(sim.act.verifyQuorum, { cluster, expectedVoters: 3 }))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: 'quorum not verified: learner(s) left: etcd-3',
    });
  });

  it('all converged: the voters, the leader, and one HashKV at a common revision', async () => {
    const { world, act } = aSimulation();
    const revision = world.etcdModel.revision();
    const { hash } = await world.etcd.hashKv(world.endpointOf('etcd-0'), revision);

    expect(await run(act.verifyQuorum, { cluster, expectedVoters: 3 })).toEqual({ voters: ['etcd-1', 'etcd-0', 'etcd-2'], leader: 'etcd-1', revision, hash });
    expect(quorumState(world).leader).toBe('etcd-1');
  });
});
