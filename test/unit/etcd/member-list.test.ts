import type { IMember, IMemberListRequest, IMemberListResponse, IResponseHeader, IStatusResponse } from 'etcd3';
import { EtcdNoLeaderError, EtcdUnavailableError } from '../../../src/etcd/errors';
import { agreedLeader, EtcdGateway, type EndpointStatus, type MemberClient } from '../../../src/etcd/gateway';

/**
 * Where the gateway reads membership from. Each endpoint is a fake member with scripted answers: what it believes
 * about the leader, and the member list it would serve. Ids are decimal, as the gRPC API gives them (hex 1..4 alike).
 */

const url = (id: string): string => `http://127.0.9.${id}:2379`;

function member(id: string): IMember {
  return { ID: id, name: `etcd-${id}`, peerURLs: [`http://127.0.9.${id}:2380`], clientURLs: [url(id)], isLearner: false };
}

function header(id: string): IResponseHeader {
  return { cluster_id: '99', member_id: id, revision: '10', raft_term: '3' };
}

/** What a fake member does when asked. */
interface Script {
  /** The leader it believes in ('0': none). */
  leader: string;
  term?: number;
  /** The member ids of the list it serves. */
  members: string[];
  /** Its status call fails with this text, or never answers. */
  statusFails?: string;
  silent?: boolean;
  /** Its member list call fails with this text. */
  listFails?: string;
}

class FakeMember implements MemberClient {
  readonly listRequests: IMemberListRequest[] = [];
  statusCalls = 0;

  constructor(
    readonly id: string,
    private readonly script: Script,
  ) {}

  readonly maintenance = {
    status: (): Promise<IStatusResponse> => {
      this.statusCalls += 1;
      if (this.script.silent) return new Promise<never>(() => undefined);
      if (this.script.statusFails !== undefined) return Promise.reject(new Error(this.script.statusFails));
      const term = String(this.script.term ?? 3);
      return Promise.resolve({
        header: { ...header(this.id), raft_term: term },
        version: '3.4.30',
        dbSize: '20480',
        leader: this.script.leader,
        raftIndex: '100',
        raftTerm: term,
        raftAppliedIndex: '100',
        errors: [],
        dbSizeInUse: '20480',
        isLearner: false,
      } as IStatusResponse);
    },
  };

  readonly cluster = {
    memberList: (req: IMemberListRequest): Promise<IMemberListResponse> => {
      this.listRequests.push({ ...req });
      if (this.script.listFails !== undefined) return Promise.reject(new Error(this.script.listFails));
      return Promise.resolve({ header: header(this.id), members: this.script.members.map(member) });
    },
  };
}

/** A gateway over fake members, keyed by endpoint; also returns them to inspect what was asked. */
function gatewayOver(scripts: Record<string, Script>, timeoutMs = 200): { gateway: EtcdGateway; fakes: Map<string, FakeMember> } {
  const fakes = new Map(Object.entries(scripts).map(([id, script]) => [url(id), new FakeMember(id, script)]));
  const gateway = new EtcdGateway({
    endpoints: [...fakes.keys()],
    timeoutMs,
    clientFor: (endpoint) => {
      const fake = fakes.get(endpoint);
      if (!fake) throw new Error(`no fake member at ${endpoint}`);
      return fake;
    },
  });
  return { gateway, fakes };
}

const ids = (list: { members: { id: string }[] }): string[] => list.members.map((m) => m.id);

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/**
 * Member 1 was cut off from its peers while the others replaced it with member 4: it still serves the old list
 * [1, 2, 3]. Its pod sorts first, so a gateway that asks the endpoints in order asks it first.
 */
const current = ['2', '3', '4'];
const stale = ['1', '2', '3'];

describe('the member list', () => {
  it.each<[string, string]>([
    ['knows no leader', '0'],
    ['still believes in its old leader', '2'],
  ])("comes from the leader, not from a stale member listed first that %s", async (_name, staleBelief) => {
    const { gateway, fakes } = gatewayOver({
      '1': { leader: staleBelief, term: 2, members: stale },
      '2': { leader: '2', members: current },
      '3': { leader: '2', members: current },
      '4': { leader: '2', members: current },
    });
    const list = await gateway.memberList([url('1'), url('3'), url('4'), url('2')]);
    expect(ids(list)).toEqual(current);
    expect(list.endpoint).toBe(url('2'));
    expect(fakes.get(url('2'))?.listRequests).toEqual([{ linearizable: true }]);
    expect(fakes.get(url('1'))?.listRequests).toEqual([]);
  });

  it('falls back, linearizably, to a member that follows the agreed leader when the leader cannot list', async () => {
    const { gateway, fakes } = gatewayOver({
      '1': { leader: '0', members: stale },
      '2': { leader: '2', members: current, listFails: '14 UNAVAILABLE: connection reset' },
      '3': { leader: '2', members: current },
    });
    const list = await gateway.memberList([url('1'), url('2'), url('3')]);
    expect(ids(list)).toEqual(current);
    expect(list.endpoint).toBe(url('3'));
    expect(fakes.get(url('3'))?.listRequests).toEqual([{ linearizable: true }]);
    expect(fakes.get(url('1'))?.listRequests).toEqual([]);
  });

  it('never falls back to a member that does not follow the leader: the list is unknown then', async () => {
    const { gateway, fakes } = gatewayOver({
      '1': { leader: '0', members: stale },
      '2': { leader: '2', members: current, listFails: 'list timed out' },
      '3': { leader: '2', members: current, listFails: 'list timed out' },
    });
    const error = await failure(gateway.memberList([url('1'), url('2'), url('3')]));
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect(error).toMatchObject({ code: 'ETCD_UNAVAILABLE', retryable: true, failures: [{ endpoint: url('2') }, { endpoint: url('3') }] });
    expect(fakes.get(url('1'))?.listRequests).toEqual([]);
  });

  it('is refused, retryably, when the members that answer agree on no leader, saying what each said', async () => {
    const { gateway, fakes } = gatewayOver({
      '1': { leader: '0', term: 7, members: stale },
      '2': { leader: '3', term: 6, members: current },
      '3': { leader: '3', term: 6, members: current },
      '4': { leader: '4', term: 5, members: current },
    });
    const error = await failure(gateway.memberList([url('1'), url('2'), url('3'), url('4')]));
    expect(error).toBeInstanceOf(EtcdNoLeaderError);
    expect(error).toMatchObject({ code: 'ETCD_NO_LEADER', retryable: true });
    expect((error as Error).message).toBe(
      'member list: no leader is agreed by a majority of the members that answered (' +
        `${url('1')}: member 1 knows no leader (term 7); ${url('2')}: member 2 follows 3 (term 6); ` +
        `${url('3')}: member 3 says it leads (term 6); ${url('4')}: member 4 says it leads (term 5))`,
    );
    for (const fake of fakes.values()) expect(fake.listRequests).toEqual([]);
  });

  it('is refused when the leader the others follow does not answer itself', async () => {
    const { gateway } = gatewayOver({
      '1': { leader: '2', members: current },
      '2': { leader: '2', members: current, silent: true },
      '3': { leader: '2', members: current },
    }, 50);
    const error = await failure(gateway.memberList([url('1'), url('2'), url('3')]));
    expect(error).toBeInstanceOf(EtcdNoLeaderError);
    expect((error as Error).message).toContain(`${url('2')}: no answer (status of ${url('2')} timed out after 50 ms)`);
  });

  it('says no endpoint answered when none does, with each one\'s failure', async () => {
    const { gateway } = gatewayOver({
      '1': { leader: '1', members: current, statusFails: 'connect ECONNREFUSED 127.0.9.1:2379' },
      '2': { leader: '1', members: current, silent: true },
    }, 50);
    const error = await failure(gateway.memberList([url('1'), url('2')]));
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect(error).toMatchObject({
      retryable: true,
      failures: [
        { endpoint: url('1'), error: 'connect ECONNREFUSED 127.0.9.1:2379' },
        { endpoint: url('2'), error: `status of ${url('2')} timed out after 50 ms` },
      ],
    });
  });

  it('costs one status call per member, and the next status of each member reuses it once', async () => {
    const { gateway, fakes } = gatewayOver({
      '1': { leader: '2', members: current },
      '2': { leader: '2', members: current },
      '3': { leader: '2', members: current },
    });
    await gateway.memberList([url('1'), url('2'), url('3'), url('2')]);
    expect([...fakes.values()].map((f) => f.statusCalls)).toEqual([1, 1, 1]);
    const statuses = await Promise.all([url('1'), url('2'), url('3')].map((e) => gateway.endpointStatus(e)));
    expect(statuses.map((s) => [s.endpoint, s.memberId, s.leaderId])).toEqual([
      [url('1'), '1', '2'],
      [url('2'), '2', '2'],
      [url('3'), '3', '2'],
    ]);
    expect([...fakes.values()].map((f) => f.statusCalls)).toEqual([1, 1, 1]);
    await gateway.endpointStatus(url('1'));
    expect(fakes.get(url('1'))?.statusCalls).toBe(2);
  });
});

describe('the agreed leader', () => {
  const status = (endpoint: string, memberId: string, leaderId: string): EndpointStatus => ({ endpoint, reachable: true, memberId, leaderId });
  const silent = (endpoint: string): EndpointStatus => ({ endpoint, reachable: false, error: 'timed out' });

  it('is the one a majority of the members that answer follow, when it says so itself', () => {
    expect(agreedLeader([status('a', '1', '2'), status('b', '2', '2'), silent('c')])).toBe('2');
    expect(agreedLeader([status('a', '1', '1'), status('b', '2', '2'), status('c', '3', '2')])).toBe('2');
  });

  it('counts a member reached through two endpoints once', () => {
    expect(agreedLeader([status('a', '1', '1'), status('a2', '1', '1'), status('b', '2', '2')])).toBeUndefined();
  });

  it('is none without a majority, without its own word, or when nobody knows one', () => {
    expect(agreedLeader([status('a', '1', '1'), status('b', '2', '2')])).toBeUndefined();
    expect(agreedLeader([status('a', '1', '3'), status('b', '2', '3'), silent('c')])).toBeUndefined();
    expect(agreedLeader([status('a', '1', '0'), status('b', '2', '0')])).toBeUndefined();
    expect(agreedLeader([silent('a')])).toBeUndefined();
  });
});
