import { urlHost } from '../../../src/domain/membership';
import { aMemberPod, SIM_NAMESPACE } from '../model/builders';
import type { World } from '../model/world';
import type { ScenarioTarget } from './scenario';

/** The model as a scenario target. */
export function modelTarget(world: World): ScenarioTarget {
  return {
    etcd: world.etcd,
    endpointOf: (member) => world.endpointOf(member),
    idOf: (member) => world.etcdModel.find(member)?.id ?? member,
    leader: () => Promise.resolve(world.etcdModel.leaderId() ?? 'no-leader'),
    nodeIP: (node) => world.nodeIP(node),
    apply: (event) => Promise.resolve(world.apply(event)),
    startMember: async ({ name, node, initialCluster }) => {
      await world.kube.createPod(SIM_NAMESPACE, aMemberPod({ name, nodeName: node, nodeIP: world.nodeIP(node), initialCluster, state: 'existing' }));
    },
    forceNewCluster: (member) => {
      const found = world.etcdModel.find(member);
      if (!found) throw new Error(`no member "${member}" in the model`);
      const started = world.etcdModel.startProcess({ name: found.name, peerURL: found.peerURL, clientURL: found.clientURL, forceNewCluster: true }, urlHost(found.peerURL) ?? '', found.id);
      if (!started.ok) throw new Error(`--force-new-cluster on ${member}: ${started.reason}`);
      // As the real target waits for its leader: an election's time.
      world.advance(world.etcdModel.options.electionDelayMs);
      return Promise.resolve();
    },
    wait: (ms) => Promise.resolve(world.advance(ms)),
  };
}
