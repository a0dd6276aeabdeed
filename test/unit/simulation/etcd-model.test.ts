import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdRequestError, EtcdUnavailableError } from '../../../src/etcd/errors';
import { extractEtcdFigures } from '../../../src/metrics/etcd-metrics';
import { parsePrometheusText } from '../../../src/metrics/prometheus';
import { addMember, aWorld } from '../../simulation/model/builders';
import { healthyVoters, learners, lostAcknowledgedWrites, missingWrites, quorumState } from '../../simulation/model/invariants';
import type { World } from '../../simulation/model/world';

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The rejection as [class, code, message], for exact assertions. */
async function refusal(promise: Promise<unknown>): Promise<[string, string, string]> {
  const error = await failure(promise);
  if (error instanceof EtcdRequestError || error instanceof EtcdUnavailableError) return [error.name, error.code, error.message];
  throw error;
}

const e = (world: World, member: string) => world.endpointOf(member);
const all = (world: World) => ['etcd-0', 'etcd-1', 'etcd-2'].map((m) => world.endpointOf(m));

/** A world whose learner etcd-3 runs on node-3 and has caught up. */
async function withCaughtUpLearner(world = aWorld()): Promise<{ world: World; id: string }> {
  const id = await addMember(world, { name: 'etcd-3', node: 'node-3', via: e(world, 'etcd-0') });
  world.advance(world.etcdModel.catchUpMs() + 1_000);
  return { world, id };
}

describe('the etcd model: leadership and reads', () => {
  it('a healthy world has a leader, three healthy voters, no learner and no lost write', () => {
    const world = aWorld({ seed: 7 });
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3, learners: 0, quorum: 2, hasQuorum: true, faultTolerance: 1 });
    expect(lostAcknowledgedWrites(world)).toEqual([]);
  });

  it('the member list names every member with its URLs, in id order', async () => {
    const world = aWorld();
    const { members, endpoint } = await world.etcd.memberList(all(world));
    expect(endpoint).toBe('http://127.20.0.1:2379');
    expect(members.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(members.find((m) => m.name === 'etcd-1')).toMatchObject({ peerURLs: ['http://127.20.0.2:2380'], clientURLs: ['http://127.20.0.2:2379'], isLearner: false });
    expect(members.map((m) => BigInt(`0x${m.id}`))).toEqual([...members.map((m) => BigInt(`0x${m.id}`))].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('killing the leader leaves the cluster leaderless for the election delay, then another voter leads', () => {
    const world = aWorld();
    const leader = quorumState(world).leader ?? '';
    world.apply({ kind: 'kill', member: leader, restart: false });
    expect(quorumState(world)).toMatchObject({ hasQuorum: false, healthyVoters: 0 });
    world.advance(1_000);
    expect(quorumState(world)).toMatchObject({ hasQuorum: true, healthyVoters: 2 });
    expect(quorumState(world).leader).not.toBe(leader);
  });

  it('two voters of three down: no leader, and no write is acknowledged', () => {
    const world = aWorld();
    world.apply({ kind: 'kill', member: 'etcd-1', restart: false });
    world.apply({ kind: 'kill', member: 'etcd-2', restart: false });
    world.advance(10_000);
    expect(quorumState(world).hasQuorum).toBe(false);
    expect(world.put('k', 'v')).toEqual({ ok: false, reason: 'etcdserver: no leader' });
    expect(world.etcdModel.acknowledgedWrites()).toHaveLength(10);
  });

  it("a partitioned member's endpoint gives no member list: it times out and the next endpoint answers", async () => {
    const world = aWorld({ endpointTimeoutMs: 2_000 });
    world.apply({ kind: 'partition', member: 'etcd-0' });
    const before = world.elapsedMs();
    expect(await refusal(world.etcd.memberList([e(world, 'etcd-0')]))).toEqual([
      'EtcdUnavailableError',
      'ETCD_UNAVAILABLE',
      'member list: no etcd endpoint answered (http://127.20.0.1:2379: no answer within 2000 ms)',
    ]);
    expect(world.elapsedMs() - before).toBe(2_000);
    expect((await world.etcd.memberList(all(world))).endpoint).toBe('http://127.20.0.2:2379');
  });

  it('with serializable reads a partitioned member answers with its stale list', async () => {
    const world = aWorld({ etcd: { memberListReads: 'serializable' } });
    const { id } = await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-1')]);
    world.apply({ kind: 'partition', member: 'etcd-0' });
    await world.etcd.removeMember(id, [e(world, 'etcd-1')]);
    expect((await world.etcd.memberList([e(world, 'etcd-0')])).members).toHaveLength(4);
    expect((await world.etcd.memberList([e(world, 'etcd-1')])).members).toHaveLength(3);
  });

  it.each([
    ['a stopped member refuses the connection at once', { kind: 'kill', member: 'etcd-1', restart: false } as const, 0, '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.20.0.2:2379'],
    ['a frozen member costs the whole deadline', { kind: 'freeze', member: 'etcd-1' } as const, 2_000, 'status of http://127.20.0.2:2379 timed out after 2000 ms'],
    ['a member on a node that is down costs the whole deadline', { kind: 'node-down', node: 'node-1' } as const, 2_000, 'status of http://127.20.0.2:2379 timed out after 2000 ms'],
  ])('endpoint status: %s', async (_name, event, waited, error) => {
    const world = aWorld();
    world.apply(event);
    const before = world.elapsedMs();
    expect(await world.etcd.endpointStatus(e(world, 'etcd-1'))).toEqual({ endpoint: 'http://127.20.0.2:2379', reachable: false, error });
    expect(world.elapsedMs() - before).toBe(waited);
  });

  it('a partitioned member still answers its status, with no leader', async () => {
    const world = aWorld();
    world.apply({ kind: 'partition', member: 'etcd-1' });
    expect(await world.etcd.endpointStatus(e(world, 'etcd-1'))).toMatchObject({ reachable: true, leaderId: '0', memberId: world.member('etcd-1').id });
  });

  it("the metrics text carries the figures the guardian reads", async () => {
    const world = aWorld();
    world.apply({ kind: 'partition', member: 'etcd-1' });
    world.advance(1_000);
    const figures = extractEtcdFigures(parsePrometheusText(await world.etcd.metricsText(e(world, 'etcd-1'))));
    expect(figures).toMatchObject({ hasLeader: false, leaderChangesSeen: 1, proposalsFailed: 0, proposalsPending: 0 });
    expect(extractEtcdFigures(parsePrometheusText(await world.etcd.metricsText(e(world, 'etcd-0')))).hasLeader).toBe(true);
  });

  it('HashKV is equal on members that applied the same writes and differs on one cut off before the last write', async () => {
    const world = aWorld();
    world.apply({ kind: 'partition', member: 'etcd-2' });
    world.put('late', 'x');
    const revision = await world.etcd.revision(e(world, 'etcd-0'));
    const [a, b] = await Promise.all([world.etcd.hashKv(e(world, 'etcd-0'), 0), world.etcd.hashKv(e(world, 'etcd-1'), 0)]);
    expect(a.hash).toBe(b.hash);
    expect(a.revision).toBe(revision);
    expect((await world.etcd.hashKv(e(world, 'etcd-2'), 0)).hash).not.toBe(a.hash);
    expect(await refusal(world.etcd.hashKv(e(world, 'etcd-2'), revision))).toEqual([
      'EtcdRequestError',
      'ETCD_OUT_OF_RANGE',
      `hashkv at http://127.20.0.3:2379 at http://127.20.0.3:2379: 11 OUT_OF_RANGE: etcdserver: mvcc: required revision is a future revision`,
    ]);
    expect(missingWrites(world, world.member('etcd-2')).map((w) => w.key)).toEqual(['late']);
    expect(lostAcknowledgedWrites(world)).toEqual([]);
  });

  it('a snapshot writes the member\'s keys to the file and reports its size and checksum', async () => {
    const world = aWorld({ keys: 2 });
    const path = join(mkdtempSync(join(tmpdir(), 'sim-snapshot-')), 'snap.db');
    const result = await world.etcd.snapshot(e(world, 'etcd-0'), path, 5_000);
    expect(readFileSync(path, 'utf8')).toBe('# etcd model snapshot at revision 3\nkey-0=value-0\nkey-1=value-1\n');
    expect(result).toMatchObject({ revision: 3, bytes: readFileSync(path).length });
  });
});

describe('the etcd model: member add', () => {
  it('a learner is added with no name and no client URL until its process starts', async () => {
    const world = aWorld();
    const { id, members } = await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')]);
    expect(members.find((m) => m.id === id)).toEqual({ id, name: '', peerURLs: ['http://127.20.0.4:2380'], clientURLs: [], isLearner: true });
  });

  it.each([
    [
      'a second learner is refused with etcd\'s message',
      'http://127.20.0.5:2380',
      ['EtcdRequestError', 'ETCD_FAILED_PRECONDITION', 'member add --learner at http://127.20.0.1:2379: 9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster'],
    ],
    [
      'a peer URL already in use is refused with etcd\'s message',
      'http://127.20.0.2:2380',
      ['EtcdRequestError', 'ETCD_FAILED_PRECONDITION', 'member add --learner at http://127.20.0.1:2379: 9 FAILED_PRECONDITION: etcdserver: Peer URLs already exists'],
    ],
  ])('%s', async (_name, peerURL, expected) => {
    const world = aWorld();
    await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')]);
    expect(await refusal(world.etcd.addLearner(peerURL, [e(world, 'etcd-0'), e(world, 'etcd-1')]))).toEqual(expected);
  });

  it.each([
    ['3.4.23', ['EtcdUnavailableError', 'ETCD_UNAVAILABLE', 'member add --learner: no etcd endpoint answered (http://127.20.0.4:2379: etcdserver: rpc not supported for learner)']],
    ['3.6.16', ['EtcdRequestError', 'ETCD_FAILED_PRECONDITION', 'member add --learner at http://127.20.0.4:2379: 9 FAILED_PRECONDITION: etcdserver: rpc not supported for learner']],
  ])('a learner of etcd %s refuses a member change as that version does', async (version, expected) => {
    const { world } = await withCaughtUpLearner(aWorld({ etcd: { version } }));
    expect(await refusal(world.etcd.addLearner('http://127.20.0.5:2380', [e(world, 'etcd-3')]))).toEqual(expected);
  });

  it('a voter connected for less than 5 s makes member add "unhealthy cluster" on every endpoint; after 5 s it is accepted', async () => {
    const world = aWorld();
    // The kubelet restarts a killed process after its 10 s back-off.
    world.apply({ kind: 'kill', member: 'etcd-2' });
    world.advance(10_000);
    expect(world.member('etcd-2').process).toBe('running');
    expect(await refusal(world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0'), e(world, 'etcd-1')]))).toEqual([
      'EtcdUnavailableError',
      'ETCD_UNAVAILABLE',
      'member add --learner: no etcd endpoint answered (http://127.20.0.1:2379: etcdserver: unhealthy cluster; http://127.20.0.2:2379: etcdserver: unhealthy cluster)',
    ]);
    world.advance(5_000);
    await expect(world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')])).resolves.toMatchObject({ members: expect.any(Array) as unknown });
  });

  it('a voter that is down makes member add "unhealthy cluster"', async () => {
    const world = aWorld();
    world.apply({ kind: 'kill', member: 'etcd-2', restart: false });
    expect((await refusal(world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')])))[2]).toContain('etcdserver: unhealthy cluster');
  });

  it('without a quorum member add is "unhealthy cluster" on every endpoint', async () => {
    const world = aWorld();
    world.apply({ kind: 'partition', member: 'etcd-0' });
    world.apply({ kind: 'partition', member: 'etcd-1' });
    world.advance(10_000);
    // Cut off, each member sees its peers inactive: strict reconfiguration answers before any proposal.
    expect((await refusal(world.etcd.addLearner('http://127.20.0.4:2380', all(world))))[2]).toBe(
      'member add --learner: no etcd endpoint answered (http://127.20.0.1:2379: etcdserver: unhealthy cluster; http://127.20.0.2:2379: etcdserver: unhealthy cluster; http://127.20.0.3:2379: etcdserver: unhealthy cluster)',
    );
    expect(learners(world)).toEqual([]);
  });
});

describe('the etcd model: member remove', () => {
  it('an unknown member is NotFound', async () => {
    const world = aWorld();
    expect(await refusal(world.etcd.removeMember('abc', [e(world, 'etcd-0')]))).toEqual([
      'EtcdRequestError',
      'ETCD_NOT_FOUND',
      'member remove abc at http://127.20.0.1:2379: 5 NOT_FOUND: etcdserver: member not found',
    ]);
  });

  it('a learner may be removed even while a voter is down', async () => {
    const world = aWorld();
    const { id } = await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')]);
    world.apply({ kind: 'kill', member: 'etcd-2', restart: false });
    await world.etcd.removeMember(id, [e(world, 'etcd-0')]);
    expect(learners(world)).toEqual([]);
  });

  it('without a quorum even a learner\'s removal times out on every endpoint', async () => {
    const world = aWorld();
    const { id } = await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')]);
    world.apply({ kind: 'partition', member: 'etcd-1' });
    world.apply({ kind: 'partition', member: 'etcd-2' });
    expect((await refusal(world.etcd.removeMember(id, [e(world, 'etcd-0'), e(world, 'etcd-1')])))[2]).toBe(
      `member remove ${id}: no etcd endpoint answered (http://127.20.0.1:2379: no answer within 2000 ms; http://127.20.0.2:2379: no answer within 2000 ms)`,
    );
    expect(learners(world).map((m) => m.id)).toEqual([id]);
  });

  it('removing a voter that would leave too few started members is refused', async () => {
    const world = aWorld({ unstartedVoters: 2 });
    expect(quorumState(world)).toMatchObject({ voters: 5, hasQuorum: true });
    expect(await refusal(world.etcd.removeMember(world.member('etcd-2').id, [e(world, 'etcd-0')]))).toEqual([
      'EtcdRequestError',
      'ETCD_FAILED_PRECONDITION',
      `member remove ${world.member('etcd-2').id} at http://127.20.0.1:2379: 9 FAILED_PRECONDITION: etcdserver: re-configuration failed due to not enough started members`,
    ]);
  });

  it('removing a healthy voter while another is down is "unhealthy cluster"; removing the dead one is accepted', async () => {
    const world = aWorld();
    world.apply({ kind: 'kill', member: 'etcd-2', restart: false });
    expect((await refusal(world.etcd.removeMember(world.member('etcd-1').id, [e(world, 'etcd-0')])))[2]).toContain('http://127.20.0.1:2379: etcdserver: unhealthy cluster');
    await world.etcd.removeMember(world.member('etcd-2').id, [e(world, 'etcd-0')]);
    expect(quorumState(world)).toMatchObject({ voters: 2, healthyVoters: 2, hasQuorum: true });
  });

  it('a removed member\'s process exits and its pod crash-loops', async () => {
    const world = aWorld();
    const id = world.member('etcd-1').id;
    await world.etcd.removeMember(id, [e(world, 'etcd-0')]);
    expect(world.member(id).process).toBe('stopped');
    world.advance(60_000);
    const pod = (await world.kube.listPods('etcd', 'app.kubernetes.io/name=etcd')).find((p) => p.name === 'etcd-1');
    expect(pod).toMatchObject({ phase: 'Running', ready: false });
    expect(pod?.restartCount).toBeGreaterThan(0);
    expect(world.kubeModel.getPod('etcd', 'etcd-1')?.status?.containerStatuses?.[0]?.lastState?.terminated?.message).toBe('the member has been permanently removed from the cluster');
  });

  it('a member removed while cut off keeps answering with its stale view until it hears its peers, then exits', async () => {
    const world = aWorld({ etcd: { memberListReads: 'serializable' } });
    world.apply({ kind: 'partition', member: 'etcd-2' });
    await world.etcd.removeMember(world.member('etcd-2').id, [e(world, 'etcd-0')]);
    expect((await world.etcd.memberList([e(world, 'etcd-2')])).members).toHaveLength(3);
    world.apply({ kind: 'heal', member: 'etcd-2' });
    expect(world.member('etcd-2').process).toBe('stopped');
  });
});

describe('the etcd model: promote and move-leader', () => {
  it('a learner promoted before it catches up is refused, after it catches up is accepted', async () => {
    const world = aWorld({ dbSizeBytes: 200 * 1024 * 1024 });
    const id = await addMember(world, { name: 'etcd-3', node: 'node-3', via: e(world, 'etcd-0') });
    world.advance(2_000);
    expect(world.member(id).name).toBe('etcd-3');
    expect(await refusal(world.etcd.promoteMember(id, [e(world, 'etcd-0')]))).toEqual([
      'EtcdRequestError',
      'ETCD_FAILED_PRECONDITION',
      `member promote ${id} at http://127.20.0.1:2379: 9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader`,
    ]);
    world.advance(world.etcdModel.catchUpMs());
    await world.etcd.promoteMember(id, [e(world, 'etcd-0')]);
    expect(quorumState(world)).toMatchObject({ voters: 4, healthyVoters: 4, learners: 0 });
  });

  it('a learner whose pod never started is never in sync', async () => {
    const world = aWorld();
    const { id } = await world.etcd.addLearner('http://127.20.0.4:2380', [e(world, 'etcd-0')]);
    world.advance(600_000);
    expect((await refusal(world.etcd.promoteMember(id, [e(world, 'etcd-0')])))[2]).toContain('which is in sync with leader');
  });

  it.each([
    ['an unknown member is NotFound', () => 'abc', 'ETCD_NOT_FOUND', '5 NOT_FOUND: etcdserver: member not found'],
    ['a voter cannot be promoted', (w: World) => w.member('etcd-1').id, 'ETCD_FAILED_PRECONDITION', '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member'],
  ])('promote: %s', async (_name, target, code, detail) => {
    const world = aWorld();
    const id = target(world);
    expect(await refusal(world.etcd.promoteMember(id, [e(world, 'etcd-0')]))).toEqual(['EtcdRequestError', code, `member promote ${id} at http://127.20.0.1:2379: ${detail}`]);
  });

  it('move-leader is refused at a follower with "not leader" and to a learner as a bad transferee; to a voter it moves', async () => {
    const { world, id } = await withCaughtUpLearner();
    const leader = world.member(quorumState(world).leader ?? '');
    const follower = healthyVoters(world).find((m) => m.id !== leader.id) ?? leader;
    expect((await refusal(world.etcd.moveLeader(follower.clientURL, leader.id)))[2]).toBe(
      `move-leader to ${leader.id} at ${follower.clientURL}: 9 FAILED_PRECONDITION: etcdserver: not leader`,
    );
    expect((await refusal(world.etcd.moveLeader(leader.clientURL, id)))[2]).toBe(`move-leader to ${id} at ${leader.clientURL}: 9 FAILED_PRECONDITION: etcdserver: bad leader transferee`);
    await world.etcd.moveLeader(leader.clientURL, follower.id);
    expect(world.etcdModel.leaderId()).toBe(follower.id);
  });

  it('a full surge keeps every acknowledged write: add, catch up, promote, move leadership, remove the old member', async () => {
    const { world, id } = await withCaughtUpLearner();
    await world.etcd.promoteMember(id, [e(world, 'etcd-0')]);
    world.put('during', 'surge');
    const old = world.member('etcd-0');
    if (world.etcdModel.leaderId() === old.id) await world.etcd.moveLeader(old.clientURL, id);
    await world.etcd.removeMember(old.id, [e(world, 'etcd-1')]);
    await world.kube.deletePod('etcd', 'etcd-0');
    world.advance(15_000);
    expect(quorumState(world)).toMatchObject({ voters: 3, healthyVoters: 3, learners: 0, hasQuorum: true });
    expect(lostAcknowledgedWrites(world)).toEqual([]);
    expect(missingWrites(world, world.member('etcd-3'))).toEqual([]);
  });
});
