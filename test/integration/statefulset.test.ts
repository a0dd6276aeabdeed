import { AppsV1Api, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD_SELECTOR, Sandbox, type SandboxInfo } from '../../src/sandbox';
import { claimName, localVolumeManifest, localVolumeName } from '../../src/sandbox/etcd-statefulset';
import { eventually } from './support/eventually';
import { condition, kubeFor, restartsOf, type Kube } from './support/kube';

/**
 * `--etcd-workload statefulset` against the real control plane: the StatefulSet controller makes the pods and claims,
 * the PV binder binds each claim to the local volume the sandbox reserved for it, the scheduler follows the volume's
 * node affinity, and the node simulator mounts the volume and runs the start script. Then etcd-1 is moved to another
 * node by hand, the way the guardian will (the contract in the guardian's README): remove the member, add a learner at
 * the target node's peer URL, make the target volume, delete the claim and the pod, promote once the recreated pod has
 * joined, delete the old volume.
 */

const NS = 'etcd';
const KEYS = 50;

describe('etcd as a StatefulSet on local volumes', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'etcd-guardian-statefulset-test-'));
  let starting: Promise<Sandbox> | undefined;
  let sandbox: Sandbox;
  let info: SandboxInfo;
  let kube: Kube;
  let apps: AppsV1Api;

  beforeAll(async () => {
    const started = Date.now();
    starting = Sandbox.start({ stateDir, temporal: false, etcdWorkload: 'statefulset' });
    sandbox = await starting;
    info = sandbox.info;
    kube = kubeFor(info);
    apps = kube.config.makeApiClient(AppsV1Api);
    process.stdout.write(`statefulset sandbox healthy in ${((Date.now() - started) / 1000).toFixed(1)} s (slot ${info.slot})\n`);
  });

  afterAll(async () => {
    await starting?.then(
      (started) => started.stop(),
      () => undefined,
    );
    rmSync(stateDir, { recursive: true, force: true });
  });

  const pods = async (): Promise<V1Pod[]> => (await kube.core.listNamespacedPod({ namespace: NS, labelSelector: ETCD_SELECTOR })).items;
  const podNamed = async (name: string): Promise<V1Pod | undefined> => (await pods()).find((p) => p.metadata?.name === name);
  const claim = async (name: string): Promise<V1PersistentVolumeClaim | undefined> =>
    (await kube.core.listNamespacedPersistentVolumeClaim({ namespace: NS })).items.find((c) => c.metadata?.name === name);
  const client = (): Etcd3 => new Etcd3({ hosts: info.etcd.clientUrls, dialTimeout: 2_000 });

  it('runs every member as a pod of the StatefulSet on its own volume, on the nodes and racks the sandbox chose', async () => {
    expect(info.etcd.workload).toBe('statefulset');
    const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'etcd' });
    expect(sts.status?.readyReplicas).toBe(3);
    const running = await pods();
    const placed = running.map((p) => [p.metadata?.name, p.spec?.nodeName, p.metadata?.ownerReferences?.[0]?.kind]).sort();
    expect(placed).toEqual(info.etcd.members.map((m) => [m.name, m.node, 'StatefulSet']).sort());
    expect(new Set(info.etcd.members.map((m) => info.nodes.find((n) => n.name === m.node)?.rack)).size).toBe(3);
    for (const [ordinal, member] of info.etcd.members.entries()) {
      expect((await claim(claimName(ordinal)))?.spec?.volumeName).toBe(localVolumeName(ordinal, member.node));
    }
    const status = await sandbox.status();
    expect(status.etcdWorkload).toBe('statefulset');
    expect(status.members.map((m) => [m.name, m.healthy, m.clientUrl])).toEqual(info.etcd.members.map((m) => [m.name, true, m.clientUrl]));
  });

  it('moves etcd-1 to another node the way the guardian will: a learner on a new volume, promoted, keys and members kept', async () => {
    const c = client();
    try {
      for (let i = 0; i < KEYS; i++) await c.put(`sts/${i}`).value(`v${i}`);
      const source = info.etcd.members[1];
      const sourceNode = info.nodes.find((n) => n.name === source?.node);
      // The free node on the member's rack keeps the members on three racks.
      const target = info.nodes.find((n) => n.rack === sourceNode?.rack && !info.etcd.members.some((m) => m.node === n.name));
      if (source === undefined || target === undefined) throw new Error('no member etcd-1 or no free node on its rack');
      const targetPeer = `http://${target.address}:2380`;
      const others = (await pods()).filter((p) => p.metadata?.name !== 'etcd-1').map((p) => `${p.metadata?.name}:${p.metadata?.uid}`);
      const old = await podNamed('etcd-1');
      const oldClaim = await claim(claimName(1));

      const before = await c.cluster.memberList({ linearizable: true });
      const leaving = before.members.find((m) => m.name === 'etcd-1');
      // etcd refuses a member change until the members have been connected for 5 s ("unhealthy cluster").
      await eventually(() => c.cluster.memberRemove({ ID: leaving?.ID ?? '' }), 30_000, 500);
      const added = await eventually(() => c.cluster.memberAdd({ peerURLs: [targetPeer], isLearner: true }), 30_000, 500);
      await kube.core.createPersistentVolume({ body: localVolumeManifest({ ordinal: 1, node: target.name }) });
      await kube.core.deleteNamespacedPersistentVolumeClaim({
        namespace: NS,
        name: claimName(1),
        body: { preconditions: { uid: oldClaim?.metadata?.uid ?? '' } },
      });
      await kube.core.deleteNamespacedPod({ namespace: NS, name: 'etcd-1' });

      // The controller recreates pod and claim; the claim binds to the reserved volume; the scheduler follows it.
      const recreated = await eventually(async () => {
        const pod = await podNamed('etcd-1');
        expect(pod?.metadata?.uid).not.toBe(old?.metadata?.uid);
        expect(pod?.spec?.nodeName).toBe(target.name);
        expect(pod?.status?.phase).toBe('Running');
        return pod;
      }, 60_000);
      expect((await claim(claimName(1)))?.spec?.volumeName).toBe(localVolumeName(1, target.name));
      // It joined as the learner: started under its name at the target's peer URL, not yet a voter.
      const joined = await eventually(async () => {
        const learner = (await c.cluster.memberList({ linearizable: true })).members.find((m) => m.ID === added.member.ID);
        expect([learner?.name, learner?.peerURLs, learner?.isLearner]).toEqual(['etcd-1', [targetPeer], true]);
        return learner;
      }, 30_000);
      await eventually(() => c.cluster.memberPromote({ ID: joined?.ID ?? '' }), 30_000, 500);

      const after = await eventually(async () => {
        const list = (await c.cluster.memberList({ linearizable: true })).members;
        expect(list.map((m) => [m.name, m.peerURLs[0], Boolean(m.isLearner)]).sort()).toEqual(
          [
            ['etcd-0', info.etcd.members[0]?.peerUrl, false],
            ['etcd-1', targetPeer, false],
            ['etcd-2', info.etcd.members[2]?.peerUrl, false],
          ].sort(),
        );
        const ready = await podNamed('etcd-1');
        expect(ready === undefined ? undefined : condition(ready, 'Ready')).toBe('True');
        return list;
      }, 30_000);
      expect(after).toHaveLength(3);

      // Every key, read from the moved member itself.
      const moved = new Etcd3({ hosts: `http://${target.address}:2379`, dialTimeout: 2_000 });
      try {
        const kept = await moved.getAll().prefix('sts/').strings();
        expect(Object.keys(kept)).toHaveLength(KEYS);
        expect(kept['sts/7']).toBe('v7');
      } finally {
        moved.close();
      }
      // The other members were never touched.
      const untouched = (await pods()).filter((p) => p.metadata?.name !== 'etcd-1');
      expect(untouched.map((p) => `${p.metadata?.name}:${p.metadata?.uid}`)).toEqual(others);
      expect(untouched.map(restartsOf)).toEqual([0, 0]);
      expect(recreated?.metadata?.ownerReferences?.[0]?.kind).toBe('StatefulSet');

      // The old volume is Released (its data is stale) and is deleted, as the guardian will.
      const oldVolume = localVolumeName(1, source.node);
      await eventually(async () => expect((await kube.core.readPersistentVolume({ name: oldVolume })).status?.phase).toBe('Released'));
      await kube.core.deletePersistentVolume({ name: oldVolume });
    } finally {
      c.close();
    }
  });
});
