import { addMember, aWorld, aMemberPod, SIM_NAMESPACE, SIM_SELECTOR, SIM_TOPOLOGY } from '../../simulation/model/builders';
import { quorumState } from '../../simulation/model/invariants';
import { KubeApiError } from '../../simulation/model/faults';

describe('the Kubernetes model', () => {
  it('nodes carry their InternalIP, rack and zone, Ready and free of pressure', async () => {
    const world = aWorld({ nodes: 6, racks: 3, domains: 2 });
    const nodes = await world.kube.listNodes(SIM_TOPOLOGY);
    expect(nodes.map((n) => [n.name, n.internalIP, n.rack, n.domain])).toEqual([
      ['node-0', '127.20.0.1', 'rack-0', 'zone-0'],
      ['node-1', '127.20.0.2', 'rack-1', 'zone-0'],
      ['node-2', '127.20.0.3', 'rack-2', 'zone-1'],
      ['node-3', '127.20.0.4', 'rack-0', 'zone-0'],
      ['node-4', '127.20.0.5', 'rack-1', 'zone-0'],
      ['node-5', '127.20.0.6', 'rack-2', 'zone-1'],
    ]);
    expect(nodes[0]).toMatchObject({ unschedulable: false, taints: [], allocatable: { cpuMillis: 4000, memoryBytes: 16 * 1024 ** 3 } });
    expect(nodes[0]?.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False']);
  });

  it('cordon, taints and pressure show on the node', async () => {
    const world = aWorld();
    world.kubeModel.cordon('node-4');
    world.kubeModel.taint('node-4', { key: 'maintenance', effect: 'NoSchedule' });
    world.kubeModel.setCondition('node-4', 'DiskPressure', true);
    const node = (await world.kube.listNodes(SIM_TOPOLOGY)).find((n) => n.name === 'node-4');
    expect(node).toMatchObject({ unschedulable: true, taints: [{ key: 'maintenance', effect: 'NoSchedule' }] });
    expect(node?.conditions.find((c) => c.type === 'DiskPressure')?.status).toBe('True');
  });

  it('member pods are found by the cluster selector, Running and ready on their nodes', async () => {
    const world = aWorld();
    expect(await world.kube.listPods(SIM_NAMESPACE, SIM_SELECTOR)).toEqual([
      { name: 'etcd-0', uid: 'uid-1', phase: 'Running', ready: true, restartCount: 0, terminating: false, nodeName: 'node-0', hostIP: '127.20.0.1', podIP: '127.20.0.1', workload: { kind: 'movable' } },
      { name: 'etcd-1', uid: 'uid-2', phase: 'Running', ready: true, restartCount: 0, terminating: false, nodeName: 'node-1', hostIP: '127.20.0.2', podIP: '127.20.0.2', workload: { kind: 'movable' } },
      { name: 'etcd-2', uid: 'uid-3', phase: 'Running', ready: true, restartCount: 0, terminating: false, nodeName: 'node-2', hostIP: '127.20.0.3', podIP: '127.20.0.3', workload: { kind: 'movable' } },
    ]);
    expect(await world.kube.listPods(SIM_NAMESPACE, 'etcd-guardian.io/member=etcd-1')).toHaveLength(1);
    expect(await world.kube.listPods('other', SIM_SELECTOR)).toEqual([]);
  });

  it("a created pod starts the learner whose peer URL it carries, which publishes the pod's name", async () => {
    const world = aWorld();
    const id = await addMember(world, { name: 'etcd-3', node: 'node-3', via: world.endpointOf('etcd-0') });
    expect((await world.kube.getPod(SIM_NAMESPACE, 'etcd-3'))?.status?.phase).toBe('Pending');
    world.advance(500);
    expect(world.member(id)).toMatchObject({ name: 'etcd-3', clientURL: 'http://127.20.0.4:2379', process: 'running', isLearner: true });
    expect((await world.kube.listPods(SIM_NAMESPACE, SIM_SELECTOR)).find((p) => p.name === 'etcd-3')).toMatchObject({ phase: 'Running', ready: true });
  });

  it.each([
    ['with no matching member', 'etcd-3=http://127.20.0.4:2380', 'member count is unequal: no member of the cluster has peer URL http://127.20.0.4:2380'],
  ])('a pod %s exits as etcd does and crash-loops', async (_name, initialCluster, reason) => {
    const world = aWorld();
    await world.kube.createPod(SIM_NAMESPACE, aMemberPod({ name: 'etcd-3', nodeName: 'node-3', nodeIP: '127.20.0.4', initialCluster, state: 'existing' }));
    world.advance(31_000);
    const pod = await world.kube.getPod(SIM_NAMESPACE, 'etcd-3');
    expect(pod?.status?.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 2, lastState: { terminated: { message: reason } } });
  });

  it('a new member whose --initial-cluster leaves out a member refuses to start', async () => {
    const world = aWorld();
    await world.etcd.addLearner('http://127.20.0.4:2380', [world.endpointOf('etcd-0')]);
    await world.kube.createPod(SIM_NAMESPACE, aMemberPod({ name: 'etcd-3', nodeName: 'node-3', nodeIP: '127.20.0.4', initialCluster: 'etcd-0=http://127.20.0.1:2380,etcd-3=http://127.20.0.4:2380', state: 'existing' }));
    world.advance(1_000);
    expect(world.kubeModel.getPod(SIM_NAMESPACE, 'etcd-3')?.status?.containerStatuses?.[0]?.lastState?.terminated?.message).toBe(
      'error validating peerURLs: member count is unequal (--initial-cluster has 2, the cluster 4)',
    );
  });

  it('creating a pod that exists is a 409', async () => {
    const world = aWorld();
    const pod = world.kubeModel.getPod(SIM_NAMESPACE, 'etcd-0');
    await expect(world.kube.createPod(SIM_NAMESPACE, pod ?? {})).rejects.toEqual(new KubeApiError(409, 'pods "etcd-0" already exists'));
  });

  it('deleting a pod stops its member once it has terminated, and the pod is gone', async () => {
    const world = aWorld();
    expect(await world.kube.deletePod(SIM_NAMESPACE, 'etcd-2')).toBe(true);
    expect((await world.kube.listPods(SIM_NAMESPACE, SIM_SELECTOR)).find((p) => p.name === 'etcd-2')?.terminating).toBe(true);
    world.advance(1_000);
    expect(world.member('etcd-2').process).toBe('stopped');
    expect(await world.kube.getPod(SIM_NAMESPACE, 'etcd-2')).toBeUndefined();
    expect(await world.kube.deletePod(SIM_NAMESPACE, 'etcd-2')).toBe(false);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 2 });
  });

  it('a node that goes down stops its member at once, turns NotReady after the grace, and keeps a deleted pod Terminating until grace 0', async () => {
    const world = aWorld();
    world.apply({ kind: 'node-down', node: 'node-2' });
    expect(world.member('etcd-2').process).toBe('stopped');
    world.advance(40_000);
    expect((await world.kube.listNodes(SIM_TOPOLOGY)).find((n) => n.name === 'node-2')?.conditions[0]).toEqual({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' });
    await world.kube.deletePod(SIM_NAMESPACE, 'etcd-2');
    world.advance(120_000);
    expect((await world.kube.getPod(SIM_NAMESPACE, 'etcd-2'))?.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await world.kube.deletePod(SIM_NAMESPACE, 'etcd-2', 0);
    expect(await world.kube.getPod(SIM_NAMESPACE, 'etcd-2')).toBeUndefined();
  });

  it('a node that comes back restarts its member, which rejoins as a healthy voter', () => {
    const world = aWorld();
    world.apply({ kind: 'node-down', node: 'node-1' });
    world.advance(60_000);
    world.apply({ kind: 'node-up', node: 'node-1' });
    world.advance(1_000);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3 });
    expect(world.kubeModel.getPod(SIM_NAMESPACE, 'etcd-1')?.status?.containerStatuses?.[0]?.restartCount).toBe(1);
  });

  it('node usage counts each node that is up, its etcd process included; an absent metrics API is reported', async () => {
    const world = aWorld();
    world.apply({ kind: 'node-down', node: 'node-5' });
    const usage = await world.kube.nodeUsage();
    expect(usage.ok && [...usage.usage.keys()]).toEqual(['node-0', 'node-1', 'node-2', 'node-3', 'node-4']);
    expect(usage.ok && usage.usage.get('node-0')).toEqual({ cpuMillis: 500, memoryBytes: 2 * 1024 ** 3 + 256 * 1024 ** 2 });
    const noMetrics = aWorld({ kube: { metricsAvailable: false } });
    expect(await noMetrics.kube.nodeUsage()).toEqual({ ok: false, error: 'the server could not find the requested resource (get nodes.metrics.k8s.io)' });
  });
});
