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
    wait: (ms) => Promise.resolve(world.advance(ms)),
  };
}
