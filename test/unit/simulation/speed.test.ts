import { addMember, aWorld } from '../../simulation/model/builders';
import { lostAcknowledgedWrites, quorumState } from '../../simulation/model/invariants';

describe('speed of the model', () => {
  it('runs full add, catch-up, promote and remove cycles fast enough for thousands of seeds', async () => {
    const world = aWorld({ seed: 3 });
    const cycles = 300;
    const started = process.hrtime.bigint();
    for (let i = 0; i < cycles; i++) {
      const voters = world.etcdModel.list().filter((m) => !m.isLearner);
      const old = voters[i % voters.length];
      const via = voters.find((m) => m !== old)?.clientURL ?? '';
      const free = world.kubeModel.nodeList().find((n) => !world.etcdModel.list().some((m) => m.peerURL === `http://${n.ip}:2380`));
      if (!old || !free) throw new Error('no member or free node');
      const id = await addMember(world, { name: `m-${i}`, node: free.name, via });
      world.advance(world.etcdModel.catchUpMs() + 600);
      await world.etcd.promoteMember(id, [via]);
      if (world.etcdModel.leaderId() === old.id) await world.etcd.moveLeader(old.clientURL, id);
      await world.etcd.removeMember(old.id, [via]);
      await world.kube.deletePod('etcd', world.kubeModel.podOfMember(old.id) ?? '', 0);
      world.advance(5_000);
      world.put(`cycle-${i}`, String(i));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const perSecond = Math.round(cycles / seconds);
    process.stdout.write(`model speed: ${cycles} add/promote/remove cycles in ${seconds.toFixed(2)} s = ${perSecond} cycles/s\n`);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3, learners: 0 });
    expect(lostAcknowledgedWrites(world)).toEqual([]);
    expect(perSecond).toBeGreaterThan(50);
  });
});
