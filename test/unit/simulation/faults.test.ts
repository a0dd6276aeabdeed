import { TimeoutError } from '../../../src/errors';
import { EtcdUnavailableError } from '../../../src/etcd/errors';
import { addMember, aWorld, SIM_NAMESPACE } from '../../simulation/model/builders';
import type { Fault, PortCall } from '../../simulation/model/faults';
import { learners, quorumState } from '../../simulation/model/invariants';
import type { World } from '../../simulation/model/world';

/** A hook that applies `fault` to the first call of `method`. */
function onFirst(method: string, fault: Fault): (call: PortCall) => Fault | undefined {
  let used = false;
  return (call) => {
    if (used || call.method !== method) return undefined;
    used = true;
    return fault;
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const endpoint = (world: World) => [world.endpointOf('etcd-0')];

describe('fault injection at the ports', () => {
  it('an error fails before any effect, as an unavailable cluster', async () => {
    const world = aWorld();
    world.faults = onFirst('addLearner', { kind: 'error' });
    const error = await failure(world.etcd.addLearner('http://127.20.0.4:2380', endpoint(world)));
    expect(error).toEqual(new EtcdUnavailableError('member add --learner', [{ endpoint: 'http://127.20.0.1:2379', error: 'etcd addLearner: injected failure' }]));
    expect(learners(world)).toEqual([]);
  });

  it('a timeout fails with TimeoutError, no effect, after the deadline', async () => {
    const world = aWorld();
    world.faults = onFirst('removeMember', { kind: 'timeout' });
    const before = world.elapsedMs();
    expect(await failure(world.etcd.removeMember(world.member('etcd-2').id, endpoint(world)))).toEqual(new TimeoutError('etcd removeMember', 2_000));
    expect(world.elapsedMs() - before).toBe(2_000);
    expect(quorumState(world).voters).toBe(3);
  });

  it('a lost response to member remove leaves the member removed', async () => {
    const world = aWorld();
    const id = world.member('etcd-2').id;
    world.faults = onFirst('removeMember', { kind: 'lost-response' });
    expect(await failure(world.etcd.removeMember(id, endpoint(world)))).toBeInstanceOf(TimeoutError);
    expect(quorumState(world).voters).toBe(2);
    expect((await world.etcd.memberList(endpoint(world))).members.map((m) => m.id)).not.toContain(id);
  });

  it('a lost response to pod creation leaves the pod created', async () => {
    const world = aWorld();
    world.faults = onFirst('createPod', { kind: 'lost-response' });
    expect(await failure(addMember(world, { name: 'etcd-3', node: 'node-3', via: world.endpointOf('etcd-0') }))).toBeInstanceOf(TimeoutError);
    expect((await world.kube.getPod(SIM_NAMESPACE, 'etcd-3'))?.metadata?.name).toBe('etcd-3');
  });

  it('an event happens before the call proceeds: a partition right before the member list', async () => {
    const world = aWorld();
    world.faults = onFirst('memberList', { kind: 'event', event: { kind: 'partition', member: 'etcd-0' } });
    expect(await failure(world.etcd.memberList(endpoint(world)))).toBeInstanceOf(EtcdUnavailableError);
  });

  it('methods that never throw report an injected failure in their value', async () => {
    const world = aWorld();
    world.faults = (call) => (call.method === 'endpointStatus' || call.method === 'nodeUsage' ? { kind: 'timeout' } : undefined);
    expect(await world.etcd.endpointStatus(world.endpointOf('etcd-0'))).toEqual({ endpoint: 'http://127.20.0.1:2379', reachable: false, error: 'etcd endpointStatus timed out after 2000 ms' });
    expect(await world.kube.nodeUsage()).toEqual({ ok: false, error: 'kube nodeUsage timed out after 2000 ms' });
  });

  it('every call is traced with its fault and outcome, and the schedule merges world events', async () => {
    const world = aWorld();
    world.faults = onFirst('removeMember', { kind: 'lost-response' });
    await world.etcd.memberList(endpoint(world));
    await failure(world.etcd.removeMember('abc', endpoint(world)));
    world.apply({ kind: 'kill', member: 'etcd-1' });
    expect(world.calls.format()).toBe(
      [
        '#0 +0ms etcd.memberList(["http://127.20.0.1:2379"]) -> ok',
        '#1 +0ms etcd.removeMember("abc", ["http://127.20.0.1:2379"]) [lost-response] -> EtcdRequestError: member remove abc at http://127.20.0.1:2379: 5 NOT_FOUND: etcdserver: member not found',
      ].join('\n'),
    );
    expect(world.schedule().split('\n').pop()).toBe('+0ms event: kill etcd-1');
  });
});

describe('determinism', () => {
  /** A run with random faults drawn from the world's own seed. */
  async function run(seed: number): Promise<string> {
    const world = aWorld({ seed });
    const kinds: Fault[] = [{ kind: 'error' }, { kind: 'timeout' }, { kind: 'lost-response' }, { kind: 'event', event: { kind: 'advance', ms: 3_000 } }];
    world.faults = () => (world.random.chance(0.3) ? world.random.pick(kinds) : undefined);
    for (let i = 0; i < 20; i++) {
      await world.etcd.memberList([world.endpointOf('etcd-0'), world.endpointOf('etcd-1')]).catch(() => undefined);
      await world.etcd.addLearner('http://127.20.0.4:2380', [world.endpointOf('etcd-1')]).catch(() => undefined);
      await world.kube.listPods(SIM_NAMESPACE, 'app.kubernetes.io/name=etcd').catch(() => undefined);
      world.advance(world.random.int(5_000));
    }
    return `${world.schedule()}\n${JSON.stringify(world.etcdModel.list())}`;
  }

  it('the same seed replays the same schedule and the same world; another seed differs', async () => {
    expect(await run(42)).toBe(await run(42));
    expect(await run(42)).not.toBe(await run(43));
  });
});
