import { createMigrationActivities, type MigrationActivities } from '../../../activities/migration';
import { createStatefulSetActivities, reservedVolumeName, type StatefulSetActivities } from '../../../activities/statefulset';
import { aWorld, SIM_NAMESPACE, SIM_STATEFULSET } from '../../simulation/model/builders';
import type { Fault, PortCall } from '../../simulation/model/faults';
import { learners, voters } from '../../simulation/model/invariants';
import type { World } from '../../simulation/model/world';
import { SIM_CLUSTER, simDeps } from '../../simulation/deps';
import { failure, run } from './run-activity';

/**
 * The StatefulSet steps over the in-memory model (its StatefulSet controller, scheduler with volume binding and the
 * members' start script): each row sets up the move of one ordinal, runs the activities as Temporal would, and
 * checks the answer or the exact failure, and what the controller made of it. Seed 1: the same ids on every run.
 */

const cluster = SIM_CLUSTER;
const ordinal = { cluster, statefulSet: 'etcd', podName: 'etcd-2', claimName: 'data-etcd-2' };
/** Past the controller's reaction, the scheduler, the pod's start and a 20 MiB learner's catch-up. */
const SETTLED_MS = 5_000;

interface Move {
  world: World;
  act: MigrationActivities;
  sts: StatefulSetActivities;
}

function aMove(): Move {
  const world = aWorld({ seed: 1, workload: 'statefulset' });
  const deps = simDeps(world, { policy: { workload: { kind: 'StatefulSet', name: SIM_STATEFULSET.name, volumeClaimTemplate: SIM_STATEFULSET.volumeClaimTemplate } } });
  return { world, act: createMigrationActivities(deps), sts: createStatefulSetActivities(deps) };
}

const podNode = (world: World, name: string): string | undefined => world.kubeModel.getPod(SIM_NAMESPACE, name)?.spec?.nodeName;
const volumes = (world: World): string[] => world.kubeModel.listVolumes('etcd-guardian.io/member=etcd-2').map((v) => `${v.metadata?.name ?? '?'} ${v.status?.phase ?? '?'}`);

/** etcd-2 removed and its successor added as a learner at node-5's address: the state schedule-pod starts from. */
async function removedAndAdded({ world, act }: Move, node = 'node-5'): Promise<string> {
  await run(act.removeMember, { cluster, memberId: world.member('etcd-2').id, successorFollows: true });
  const { id } = await run(act.addLearner, { cluster, podName: 'etcd-2', peerURL: `http://${world.nodeIP(node)}:2380`, nodeName: node });
  return id;
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

describe('reserveVolume', () => {
  it('creates a local volume on the node, reserved for the claim by name (no uid), named after the learner; a repeat finds it', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const name = reservedVolumeName('etcd-2', 'node-5', id);

    expect(await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id })).toEqual({ volume: name, created: true });
    expect(await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id })).toEqual({ volume: name, created: false });
    const volume = move.world.kubeModel.getVolume(name);
    expect(volume?.metadata?.labels).toEqual({ 'etcd-guardian.io/cluster': 'main', 'etcd-guardian.io/member': 'etcd-2' });
    expect(volume?.spec).toMatchObject({
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'etcd-guardian-local',
      persistentVolumeReclaimPolicy: 'Retain',
      local: { path: `/var/lib/etcd-guardian/${name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-5'] }] }] } },
      claimRef: { namespace: 'etcd', name: 'data-etcd-2' },
    });
    expect(volume?.spec?.claimRef?.uid).toBeUndefined();
  });

  it('deletes an unbound volume an earlier attempt reserved for the claim elsewhere: the claim must bind to this one only', async () => {
    const move = aMove();
    const first = await removedAndAdded(move, 'node-4');
    await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-4', memberId: first });
    const second = 'ffffffffff123456';

    await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: second });
    expect(volumes(move.world)).toEqual(['etcd-data-2-node-2 Bound', `${reservedVolumeName('etcd-2', 'node-5', second)} Available`]);
  });
});

describe('recreateStatefulPod', () => {
  it('a member on a dead node: its claim and pod are deleted (the pod at once), the controller recreates both on the reserved volume, and etcd joins as the learner', async () => {
    const move = aMove();
    const { world } = move;
    world.apply({ kind: 'node-down', node: 'node-2' });
    world.advance(45_000);
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });

    const result = await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume });
    expect(result).toMatchObject({ claimsDeleted: 1, podsDeleted: 1 });
    expect(podNode(world, 'etcd-2')).toBe('node-5');
    expect(world.kubeModel.getClaim(SIM_NAMESPACE, 'data-etcd-2')?.spec?.volumeName).toBe(volume);
    expect(world.calls.trace.filter((t) => t.method === 'deletePod').map((t) => t.args)).toEqual([expect.stringMatching(/^"etcd", "etcd-2", 0, "uid-/)]);
    world.advance(SETTLED_MS);
    expect(learners(world).map((m) => [m.id, m.name, m.process])).toEqual([[id, 'etcd-2', 'running']]);
  });

  it('a member on a Ready node: its pod gets its grace period, as any pod does', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });

    await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume });
    expect(move.world.calls.trace.filter((t) => t.method === 'deletePod').map((t) => t.args)).toEqual([expect.stringMatching(/^"etcd", "etcd-2", -, "uid-/)]);
    expect(podNode(move.world, 'etcd-2')).toBe('node-5');
  });

  it('a node gone silent but not yet NotReady: the pod gets its grace period, then, still terminating (no kubelet), is deleted at once', async () => {
    const move = aMove();
    const { world } = move;
    world.apply({ kind: 'node-down', node: 'node-2' });
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });

    expect(await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume })).toMatchObject({ podsDeleted: 2 });
    expect(world.calls.trace.filter((t) => t.method === 'deletePod').map((t) => t.args.split(', ')[2])).toEqual(['-', '0']);
    expect(podNode(world, 'etcd-2')).toBe('node-5');
    expect(world.kubeModel.nodeList().find((n) => n.name === 'node-2')?.ready).toBe('True');
  });

  it('a lost answer to the claim\'s deletion: the repeat deletes no new claim (the uid precondition) and finishes the move', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    move.world.faults = onFirst('deleteClaim', { kind: 'lost-response' });

    expect(await failure(run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume }))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'kube deleteClaim timed out after 2000 ms' });
    expect(await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume })).toMatchObject({ claimsDeleted: 0, podsDeleted: 1 });
    expect(move.world.calls.trace.filter((t) => t.method === 'deleteClaim')).toHaveLength(1);
    expect(podNode(move.world, 'etcd-2')).toBe('node-5');
  });

  it('already done (the answer was lost): a repeat deletes nothing and answers with the same pod', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    const first = await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume });

    expect(await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume })).toEqual({ podUid: first.podUid, claimsDeleted: 0, podsDeleted: 0 });
  });

  it('never deletes the pod or claim of a voter: VOTER_POD, not retried, nothing deleted', async () => {
    const move = aMove();
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: 'aaaaaa' });

    const refused = await failure(run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume }));
    expect([refused.type, refused.nonRetryable]).toEqual(['VOTER_POD', true]);
    expect(refused.message).toMatch(/^will not delete pod etcd-2 on node-2: it runs etcd-2 \([0-9a-f]+\), still a voter of main/);
    expect(podNode(move.world, 'etcd-2')).toBe('node-2');
    expect(move.world.calls.trace.filter((t) => t.method === 'deleteClaim' || t.method === 'deletePod')).toEqual([]);
  });

  it('a pod another controller owns is refused, naming it and the configured StatefulSet', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    move.world.kubeModel.setPodMetadata(SIM_NAMESPACE, 'etcd-2', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'etcd-7d9f', uid: 'r', controller: true }] });

    expect(await failure(run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume }))).toEqual({
      type: 'CONTROLLER_OWNED',
      nonRetryable: true,
      message: 'will not delete pod etcd-2: it is owned by ReplicaSet etcd-7d9f, not a pod of StatefulSet etcd (clusters[].workload)',
    });
  });

  it('the chosen node turns unready: TARGET_LOST, so the next node is tried', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    move.world.kubeModel.setCondition('node-5', 'Ready', false);

    expect(await failure(run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume }))).toEqual({ type: 'TARGET_LOST', nonRetryable: true, message: 'node node-5 of the new member is not ready' });
  });
});

describe('the volumes left behind', () => {
  it('releaseReservedVolume (compensation) deletes a reservation no claim bound, and keeps one a claim is bound to', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    expect(await run(move.sts.releaseReservedVolume, { ...ordinal, nodeName: 'node-5' })).toEqual({ deleted: [volume] });

    const again = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume: again.volume });
    expect(await run(move.sts.releaseReservedVolume, { ...ordinal, nodeName: 'node-5' })).toEqual({ deleted: [] });
    expect(move.world.kubeModel.getVolume(again.volume)?.status?.phase).toBe('Bound');
  });

  it('releaseVolumes deletes the Released volume of the old node and keeps the one the claim holds now', async () => {
    const move = aMove();
    const id = await removedAndAdded(move);
    const { volume } = await run(move.sts.reserveVolume, { ...ordinal, nodeName: 'node-5', memberId: id });
    await run(move.sts.recreateStatefulPod, { ...ordinal, nodeName: 'node-5', volume });
    expect(volumes(move.world)).toEqual(['etcd-data-2-node-2 Released', `${volume} Bound`]);

    expect(await run(move.sts.releaseVolumes, { cluster, statefulSet: 'etcd', claims: [{ podName: 'etcd-2', claimName: 'data-etcd-2' }] })).toEqual({ deleted: ['etcd-data-2-node-2'], kept: [volume] });
    expect(volumes(move.world)).toEqual([`${volume} Bound`]);
    expect(voters(move.world)).toHaveLength(2);
  });
});

describe('prepareMigration and the configured workload', () => {
  const request = { cluster, member: 'etcd-2', strategy: 'auto' as const, reason: 'test' };

  it('plans a replace of a StatefulSet member when the StatefulSet is configured', async () => {
    const plan = await run(aMove().act.prepareMigration, request);
    expect([plan.strategy, plan.newMemberName, plan.steps.at(-1)?.step]).toEqual(['replace', 'etcd-2', 'release-volumes']);
  });

  it('refuses the same member when the cluster is configured as bare pods (CONTROLLER_OWNED), and a bare pod when configured as a StatefulSet (WORKLOAD_MISMATCH)', async () => {
    const statefulWorld = aWorld({ seed: 1, workload: 'statefulset' });
    const owned = await failure(run(createMigrationActivities(simDeps(statefulWorld)).prepareMigration, request));
    expect([owned.type, owned.nonRetryable]).toEqual(['CONTROLLER_OWNED', true]);
    expect(owned.message).toMatch(/^cannot move etcd-2: pod etcd-2 is a pod owned by StatefulSet etcd: /);

    const bareWorld = aWorld({ seed: 1 });
    const deps = simDeps(bareWorld, { policy: { workload: { kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' } } });
    const bare = await failure(run(createMigrationActivities(deps).prepareMigration, request));
    expect([bare.type, bare.nonRetryable]).toEqual(['WORKLOAD_MISMATCH', true]);
    expect(bare.message).toMatch(/^cannot move etcd-2: pod etcd-2 is a bare pod owned by no controller, but the cluster's configured workload \(clusters\[\]\.workload\) is StatefulSet etcd/);
  });
});
