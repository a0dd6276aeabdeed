import type { V1Pod } from '@kubernetes/client-node';
import type { TopologyLabels } from '../../../src/kube/convert';
import type { EtcdModelOptions } from './etcd-model';
import type { KubeModelOptions } from './kube-model';
import { World } from './world';

/** Builders for simulated worlds: a healthy default, with only what a test cares about overridden. */

/** The namespace of the etcd pods, as in the sandbox. */
export const SIM_NAMESPACE = 'etcd';
/** Labels of every member's pod, as in the sandbox. */
export const SIM_LABELS = { 'app.kubernetes.io/name': 'etcd', 'etcd-guardian.io/cluster': 'main' } as const;
/** The guardian's pod selector for the cluster. */
export const SIM_SELECTOR = Object.entries(SIM_LABELS)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
/** The pod label carrying the member's name (worker/runtimes.ts). */
export const SIM_MEMBER_LABEL = 'etcd-guardian.io/member';
/** The topology labels the configuration names by default. */
export const SIM_TOPOLOGY: TopologyLabels = { rackLabel: 'topology.kubernetes.io/rack', domainLabel: 'topology.kubernetes.io/zone' };

/** What aWorld() builds. */
export interface WorldShape {
  members?: number;
  nodes?: number;
  racks?: number;
  /** Failure domains (zones) the racks are cut into; as many as racks by default. */
  domains?: number;
  seed?: number;
  dbSizeBytes?: number;
  /** Keys written once the cluster is up. */
  keys?: number;
  etcd?: Partial<EtcdModelOptions>;
  kube?: Partial<KubeModelOptions>;
  endpointTimeoutMs?: number;
  /** Extra voters that were added but never started (no name, no pod): what etcd calls "not started". */
  unstartedVoters?: number;
  /**
   * How the members run: bare pods (the default), or StatefulSet `etcd` with a claim `data-etcd-<i>` per member on a
   * local volume of its node (the sandbox's `--etcd-workload statefulset`).
   */
  workload?: 'pods' | 'statefulset';
}

/** The StatefulSet of a `workload: 'statefulset'` world, its claim template and storage class (the sandbox's). */
export const SIM_STATEFULSET = { name: 'etcd', volumeClaimTemplate: 'data', storageClassName: 'etcd-guardian-local' } as const;

/** A node's InternalIP: distinct loopback addresses, as the sandbox gives its nodes. */
export function nodeIPFor(index: number): string {
  return `127.20.0.${index + 1}`;
}

/** The pod of one member, shaped like the sandbox's (host networking, etcd's flags, the member label). */
export function aMemberPod(params: { name: string; nodeName: string; nodeIP: string; initialCluster: string; state: 'new' | 'existing' }): V1Pod {
  const peer = `http://${params.nodeIP}:2380`;
  const client = `http://${params.nodeIP}:2379`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: params.name, namespace: SIM_NAMESPACE, labels: { ...SIM_LABELS, [SIM_MEMBER_LABEL]: params.name } },
    spec: {
      nodeName: params.nodeName,
      hostNetwork: true,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'etcd',
          image: 'quay.io/coreos/etcd:v3.4.23',
          command: ['etcd'],
          args: [
            `--name=${params.name}`,
            '--data-dir=/var/lib/etcd',
            `--listen-client-urls=${client}`,
            `--advertise-client-urls=${client}`,
            `--listen-peer-urls=${peer}`,
            `--initial-advertise-peer-urls=${peer}`,
            `--initial-cluster=${params.initialCluster}`,
            `--initial-cluster-state=${params.state}`,
          ],
        },
      ],
      volumes: [{ name: 'data', hostPath: { path: `/var/lib/etcd-guardian/main/${params.name}`, type: 'DirectoryOrCreate' } }],
    },
  };
}

/**
 * A healthy cluster: `members` voters named etcd-0.. on distinct nodes, one per rack while racks last, a leader
 * elected, every member connected for longer than etcd's health interval, and `keys` keys written.
 */
export function aWorld(shape: WorldShape = {}): World {
  const members = shape.members ?? 3;
  const nodes = shape.nodes ?? 6;
  const racks = shape.racks ?? 3;
  const domains = shape.domains ?? racks;
  if (members > nodes) throw new Error(`aWorld: ${members} members need at least as many nodes, not ${nodes}`);
  const world = new World({
    seed: shape.seed ?? 1,
    ...(shape.etcd || shape.dbSizeBytes !== undefined ? { etcd: { ...shape.etcd, ...(shape.dbSizeBytes !== undefined ? { dbSizeBytes: shape.dbSizeBytes } : {}) } } : {}),
    ...(shape.kube ? { kube: shape.kube } : {}),
    ...(shape.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: shape.endpointTimeoutMs } : {}),
  });
  const layout = Array.from({ length: nodes }, (_, index) => {
    const rack = index % racks;
    return { name: `node-${index}`, ip: nodeIPFor(index), rack: `rack-${rack}`, zone: `zone-${Math.floor((rack * domains) / racks)}` };
  });
  for (const node of layout) {
    world.kubeModel.addNode({
      name: node.name,
      ip: node.ip,
      labels: { 'kubernetes.io/hostname': node.name, [SIM_TOPOLOGY.rackLabel]: node.rack, [SIM_TOPOLOGY.domainLabel]: node.zone },
    });
  }
  // One node per rack, racks in turn (as the sandbox places its members).
  const byRack = new Map<string, typeof layout>();
  for (const node of layout) byRack.set(node.rack, [...(byRack.get(node.rack) ?? []), node]);
  const queues = [...byRack.values()];
  const placed: typeof layout = [];
  while (placed.length < members) {
    for (const queue of queues) {
      const next = queue.shift();
      if (next && placed.length < members) placed.push(next);
    }
  }
  const specs = placed.map((node, i) => ({ name: `etcd-${i}`, node, peerURL: `http://${node.ip}:2380`, clientURL: `http://${node.ip}:2379` }));
  const unstarted = Array.from({ length: shape.unstartedVoters ?? 0 }, (_, i) => ({ name: `never-${i}`, peerURL: `http://127.20.1.${i + 1}:2380`, clientURL: '', started: false }));
  const created = world.etcdModel.bootstrap([...specs, ...unstarted]);
  const initialCluster = specs.map((s) => `${s.name}=${s.peerURL}`).join(',');
  specs.forEach((s, i) => {
    const pod = aMemberPod({ name: s.name, nodeName: s.node.name, nodeIP: s.node.ip, initialCluster, state: 'new' });
    world.kubeModel.adoptPod(SIM_NAMESPACE, pod, created[i]?.id ?? '', world.now());
  });
  if (shape.workload === 'statefulset') {
    const template = aMemberPod({ name: 'etcd', nodeName: '', nodeIP: '', initialCluster, state: 'new' });
    world.kubeModel.adoptStatefulSet({
      namespace: SIM_NAMESPACE,
      name: SIM_STATEFULSET.name,
      template: { ...template, metadata: { labels: { ...SIM_LABELS } } },
      claimTemplate: SIM_STATEFULSET.volumeClaimTemplate,
      storageClassName: SIM_STATEFULSET.storageClassName,
      memberIds: specs.map((_, i) => created[i]?.id ?? ''),
      volumeLabels: (podName) => ({ 'etcd-guardian.io/cluster': 'main', 'etcd-guardian.io/member': podName }),
    });
  }
  for (let i = 0; i < (shape.keys ?? 10); i++) world.put(`key-${i}`, `value-${i}`);
  return world;
}

/**
 * What the guardian does to grow the cluster by one member: add a learner for the node's peer URL through the
 * given endpoint, then create its pod with the member list's --initial-cluster. Returns the learner's id.
 */
export async function addMember(world: World, params: { name: string; node: string; via: string }): Promise<string> {
  const ip = world.nodeIP(params.node);
  const peerURL = `http://${ip}:2380`;
  const { id, members } = await world.etcd.addLearner(peerURL, [params.via]);
  const initialCluster = members.map((m) => `${m.id === id ? params.name : m.name}=${m.peerURLs[0] ?? ''}`).join(',');
  await world.kube.createPod(SIM_NAMESPACE, aMemberPod({ name: params.name, nodeName: params.node, nodeIP: ip, initialCluster, state: 'existing' }));
  return id;
}
