import { createHash } from 'node:crypto';
import { urlHost } from '../../../src/domain/membership';
import { learnerRefusalCode, parseEtcdVersion } from '../../../src/domain/etcd-version';
import type { EndpointStatus, EtcdAlarm, EtcdMemberInfo } from '../../../src/etcd/gateway';
import type { VirtualClock } from './clock';
import type { Random } from './random';

/**
 * The in-memory model of one etcd cluster (3.4–3.6 with --strict-reconfig-check, the default): membership, Raft
 * leadership and progress, processes, partitions and a key-value store, answering at one endpoint the way etcd does.
 * It knows nothing of the gateway: answers are gRPC statuses or "no answer"; the port (etcd-port.ts) turns them into
 * what the real gateway throws.
 */

/** A member's process: never started, running, exited, or frozen by SIGSTOP (it holds its ports and answers nothing). */
export type ProcessState = 'none' | 'running' | 'stopped' | 'frozen';

/** The gRPC codes etcd answers membership and maintenance calls with. */
export type GrpcCode = 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'ALREADY_EXISTS' | 'INVALID_ARGUMENT' | 'UNAVAILABLE' | 'OUT_OF_RANGE' | 'RESOURCE_EXHAUSTED';

/** gRPC's numbers, as grpc-js prints them before the code's name ("9 FAILED_PRECONDITION: ..."). */
export const GRPC_NUMBERS: Record<GrpcCode, number> = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
};

/** etcd's own words (api/v3rpc/rpctypes/error.go), so that the model and real etcd say the same thing. */
export const ETCD_ERRORS = {
  tooManyLearners: { code: 'FAILED_PRECONDITION', message: 'etcdserver: too many learner members in cluster' },
  peerURLExists: { code: 'FAILED_PRECONDITION', message: 'etcdserver: Peer URLs already exists' },
  notEnoughStarted: { code: 'FAILED_PRECONDITION', message: 'etcdserver: re-configuration failed due to not enough started members' },
  memberNotFound: { code: 'NOT_FOUND', message: 'etcdserver: member not found' },
  notLearner: { code: 'FAILED_PRECONDITION', message: 'etcdserver: can only promote a learner member' },
  learnerNotReady: { code: 'FAILED_PRECONDITION', message: 'etcdserver: can only promote a learner member which is in sync with leader' },
  notLeader: { code: 'FAILED_PRECONDITION', message: 'etcdserver: not leader' },
  badLeaderTransferee: { code: 'FAILED_PRECONDITION', message: 'etcdserver: bad leader transferee' },
  unhealthy: { code: 'UNAVAILABLE', message: 'etcdserver: unhealthy cluster' },
  /** etcd 3.4 and 3.5; 3.6 says FAILED_PRECONDITION (the model follows its `version`). */
  learnerNotSupported: { code: 'UNAVAILABLE', message: 'etcdserver: rpc not supported for learner' },
  futureRevision: { code: 'OUT_OF_RANGE', message: 'etcdserver: mvcc: required revision is a future revision' },
  compacted: { code: 'OUT_OF_RANGE', message: 'etcdserver: mvcc: required revision has been compacted' },
  noSpace: { code: 'RESOURCE_EXHAUSTED', message: 'etcdserver: mvcc: database space exceeded' },
} as const satisfies Record<string, { code: GrpcCode; message: string }>;

/** What one endpoint did with one request: answered, answered with a gRPC error, or gave no answer at all. */
export type Answer<T> =
  | { ok: true; value: T }
  | { ok: false; kind: 'status'; code: GrpcCode; message: string }
  /** `refused`: nothing listens (connection refused, at once); `timeout`: nothing answers before the deadline. */
  | { ok: false; kind: 'no-answer'; why: 'refused' | 'timeout'; detail: string };

/** The tunables of the model; every duration is virtual. */
export interface EtcdModelOptions {
  /** From losing a leader (or gaining a quorum) to a new leader: etcd's election timeout and a round of votes. */
  electionDelayMs: number;
  /** etcd's HealthInterval: strict reconfiguration wants every peer connected for this long. */
  healthIntervalMs: number;
  /** The database size a learner must receive before it is in sync; also the base of every member's database. */
  dbSizeBytes: number;
  /** The members' space quota (--quota-backend-bytes): a write that would grow a database past it raises NOSPACE. */
  quotaBytes: number;
  /** What each revision a write adds to the database until compaction frees it. */
  bytesPerWrite: number;
  /** How fast a learner receives the leader's snapshot. */
  catchUpBytesPerSecond: number;
  /** The fixed part of a learner's catch-up (connecting, the first heartbeats). */
  catchUpBaseMs: number;
  /**
   * `linearizable`: a member list goes through the leader, so a member cut off from it gives no answer (the port's
   * contract). `serializable`: a member answers from its own, possibly stale, view (the bug in issue 11, item 7).
   */
  memberListReads: 'linearizable' | 'serializable';
  /** What the status call reports as the server version. */
  version: string;
  /**
   * etcd 3.5+: a member that is frozen or cut off (its connections open but silent) stays active in its peers'
   * transport, so their strict reconfiguration checks count it connected; 3.4 drops it after the 5 s stream read
   * timeout. (src/domain/etcd-version peersMarkSilentPeerInactive; found by the model contract on 3.6.)
   */
  silentPeersStayActive: boolean;
}

/** Defaults close to a small real cluster on one machine. */
export const DEFAULT_ETCD_OPTIONS: EtcdModelOptions = {
  electionDelayMs: 1_000,
  healthIntervalMs: 5_000,
  dbSizeBytes: 20 * 1024 * 1024,
  quotaBytes: 2 * 1024 ** 3,
  bytesPerWrite: 1024,
  catchUpBytesPerSecond: 20 * 1024 * 1024,
  catchUpBaseMs: 200,
  memberListReads: 'linearizable',
  version: '3.4.23',
  silentPeersStayActive: false,
};

/** One member of the model, with its process and its Raft progress. */
export interface ModelMember {
  id: string;
  /** Empty until its process has started and published it through Raft. */
  name: string;
  peerURL: string;
  /** Empty until published, like the name. */
  clientURL: string;
  isLearner: boolean;
  process: ProcessState;
  /** Cut off from every peer; it still answers its own endpoint. */
  partitioned: boolean;
  /** Log entries this member has applied. */
  applied: number;
  /**
   * Since when its peers' transport has seen it connected (virtual ms); undefined while cut off or down (with
   * `silentPeersStayActive`, only once its process stopped or its host went down).
   */
  connectedSince?: number;
  /** It has a data directory (it has run before): a restart does not validate --initial-cluster again. */
  hasData: boolean;
  /** It holds the leader's snapshot; a voter always does, a new learner after its catch-up. */
  caughtUp: boolean;
  catchUpFrom?: number;
  /** The name and client URL its process will publish once it reaches a leader. */
  pending?: { name: string; clientURL: string };
  leaderChangesSeen: number;
  proposalsFailed: number;
  /** It was removed from the cluster; its process exits as soon as it learns so. */
  removed: boolean;
  /** Its database file: grows with the data, shrinks only when defragmented (undefined: as large as its data). */
  fileBytes?: number;
}

type Entry =
  | { index: number; kind: 'put'; key: string; value: string; revision: number }
  | { index: number; kind: 'conf'; members: EtcdMemberInfo[] };

/** A write that the cluster acknowledged to its client. */
export interface AcknowledgedWrite {
  key: string;
  value: string;
  revision: number;
  index: number;
}

/** Why a process exited, for the kubelet's container status. */
export type ExitListener = (memberId: string, reason: string) => void;

/** What etcd's flags say about the member a process wants to be. */
export interface EtcdFlags {
  name?: string;
  peerURL?: string;
  clientURL?: string;
  initialCluster?: string;
  initialClusterState?: string;
  /** `--force-new-cluster`: the member starts alone in a new membership, on what it has applied. */
  forceNewCluster?: boolean;
}

/** Majority of n voters. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

const NO_LEADER = '0';

/** The model of one etcd cluster. */
export class EtcdModel {
  readonly options: EtcdModelOptions;
  private readonly members = new Map<string, ModelMember>();
  /** Removed members whose process may still run (partitioned or frozen when removed). */
  private readonly departed = new Map<string, ModelMember>();
  private readonly entries: Entry[] = [];
  private readonly acknowledged: AcknowledgedWrite[] = [];
  private readonly downHosts = new Set<string>();
  private readonly alarmList: EtcdAlarm[] = [];
  private leader: string | undefined;
  private term = 1;
  private electionAt: number | undefined;
  private revisionNow = 1;
  /** The revision history was compacted up to (1: never). */
  private compactedRevision = 1;
  private exitListeners: ExitListener[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: Random,
    options: Partial<EtcdModelOptions> = {},
  ) {
    this.options = { ...DEFAULT_ETCD_OPTIONS, ...options };
  }

  /** Be told when a process exits (the kubelet restarts it). */
  onExit(listener: ExitListener): void {
    this.exitListeners.push(listener);
  }

  // ---- bootstrap and inspection --------------------------------------------------------------------------------

  /**
   * A new cluster's members, all voters, started and connected, as `--initial-cluster-state=new` makes them; a
   * leader is elected at once (the builder's cluster has been up for a while).
   */
  bootstrap(members: readonly { name: string; peerURL: string; clientURL: string; started?: boolean }[]): ModelMember[] {
    const now = this.clock.nowMs() - this.options.healthIntervalMs;
    const created = members.map((m) => {
      const member: ModelMember = {
        id: this.newId(),
        // A voter that never started (added with `member add`, its process never ran) has no name yet.
        name: m.started === false ? '' : m.name,
        peerURL: m.peerURL,
        clientURL: m.started === false ? '' : m.clientURL,
        isLearner: false,
        process: m.started === false ? 'none' : 'running',
        partitioned: false,
        applied: 0,
        ...(m.started === false ? {} : { connectedSince: now }),
        hasData: m.started !== false,
        caughtUp: true,
        leaderChangesSeen: 0,
        proposalsFailed: 0,
        removed: false,
      };
      this.members.set(member.id, member);
      return member;
    });
    this.appendConf();
    this.elect(this.clock.nowMs());
    this.sync();
    return created;
  }

  /** Every current member, in etcd's order (by id). */
  list(): ModelMember[] {
    return [...this.members.values()].sort((a, b) => (BigInt(`0x${a.id}`) < BigInt(`0x${b.id}`) ? -1 : 1));
  }

  /** A member by id, name or peer URL; removed members too. */
  find(ref: string): ModelMember | undefined {
    const all = [...this.members.values(), ...this.departed.values()];
    return all.find((m) => m.id === ref) ?? all.find((m) => m.name === ref && m.name !== '') ?? all.find((m) => m.peerURL === ref);
  }

  /** The leader's id, if there is one. */
  leaderId(): string | undefined {
    return this.leader;
  }

  /** The current Raft term. */
  currentTerm(): number {
    return this.term;
  }

  /** Log entries committed so far (the leader's index). */
  commitIndex(): number {
    return this.entries.length;
  }

  /** The store's current revision. */
  revision(): number {
    return this.revisionNow;
  }

  /** Every write the cluster acknowledged, in order. */
  acknowledgedWrites(): readonly AcknowledgedWrite[] {
    return this.acknowledged;
  }

  /** The key-value state a member has applied. */
  kvOf(member: ModelMember, atRevision = Number.MAX_SAFE_INTEGER): Map<string, string> {
    const kv = new Map<string, string>();
    for (const entry of this.entries.slice(0, member.applied)) {
      if (entry.kind === 'put' && entry.revision <= atRevision) kv.set(entry.key, entry.value);
    }
    return kv;
  }

  /** The member's store revision: 1 plus the writes it has applied. */
  memberRevision(member: ModelMember): number {
    let revision = 1;
    for (const entry of this.entries.slice(0, member.applied)) if (entry.kind === 'put') revision = entry.revision;
    return revision;
  }

  /** Connected to its peers: running and not cut off, on a host that is up. */
  connected(member: ModelMember): boolean {
    return member.process === 'running' && !member.partitioned && !member.removed && !this.downHosts.has(this.hostOf(member));
  }

  /** It is connected and the cluster has a leader: what `etcd_server_has_leader` and /health say. */
  hasLeader(member: ModelMember): boolean {
    return this.leader !== undefined && this.connected(member);
  }

  /** The Raft match index of a member as the leader sees it (a learner's catch-up in progress included). */
  matchIndex(member: ModelMember): number {
    return member.applied;
  }

  /** Whether a learner is in sync: at least 90 % of the leader's index, etcd's readyPercent. */
  inSync(member: ModelMember): boolean {
    return this.connected(member) && member.applied >= this.commitIndex() * 0.9;
  }

  /** How long a learner needs to receive the leader's snapshot. */
  catchUpMs(): number {
    return this.options.catchUpBaseMs + Math.ceil((this.options.dbSizeBytes / this.options.catchUpBytesPerSecond) * 1000);
  }

  /**
   * The bytes of a member's database holding data: the base, plus every applied revision after the compaction
   * point, plus the keys the compaction kept.
   */
  inUseBytes(member: ModelMember): number {
    let revisions = 0;
    for (const entry of this.entries.slice(0, member.applied)) if (entry.kind === 'put' && entry.revision > this.compactedRevision) revisions++;
    const kept = this.compactedRevision > 1 ? this.kvOf(member, this.compactedRevision).size : 0;
    return this.options.dbSizeBytes + (revisions + kept) * this.options.bytesPerWrite;
  }

  /** The size of a member's database file: its data, or more when it has free pages. */
  fileBytes(member: ModelMember): number {
    const inUse = this.inUseBytes(member);
    if (member.fileBytes === undefined || member.fileBytes < inUse) member.fileBytes = inUse;
    return member.fileBytes;
  }

  /** The revision history is compacted up to. */
  compactRevision(): number {
    return this.compactedRevision;
  }

  /** Raise an alarm, as a full disk (NOSPACE) or a failed corruption check (CORRUPT) would. */
  raiseAlarm(memberId: string, alarm: string): void {
    this.alarmList.push({ memberId, alarm });
  }

  // ---- the world acting on processes and the network -----------------------------------------------------------

  /** The node with this address is down (its processes are stopped by the world) or back. */
  setHostDown(host: string, down: boolean): void {
    this.sync();
    if (down) this.downHosts.add(host);
    else this.downHosts.delete(host);
    this.sync();
  }

  /** Stop a member's process (killed, its pod deleted, its node gone). */
  stopProcess(id: string, reason: string): void {
    const member = this.find(id);
    if (!member || member.process === 'stopped' || member.process === 'none') return;
    this.sync();
    member.process = 'stopped';
    this.sync();
    this.exited(member, reason);
  }

  /** SIGSTOP: the process keeps its ports and answers nothing. */
  freeze(id: string): void {
    const member = this.find(id);
    if (member?.process !== 'running') return;
    this.sync();
    member.process = 'frozen';
    this.sync();
  }

  /** SIGCONT. */
  thaw(id: string): void {
    const member = this.find(id);
    if (member?.process !== 'frozen') return;
    this.sync();
    member.process = 'running';
    this.sync();
  }

  /** Cut a member off from every peer, or reconnect it. */
  setPartitioned(id: string, partitioned: boolean): void {
    const member = this.find(id);
    if (!member) return;
    this.sync();
    member.partitioned = partitioned;
    this.sync();
  }

  /**
   * A process starts with these flags on the node at `nodeIP`: it becomes the member whose peer URL it carries, or
   * exits as etcd would. `memberId` is the member this pod ran before (its data directory), if any.
   */
  startProcess(flags: EtcdFlags, nodeIP: string, memberId?: string): { ok: true; memberId: string } | { ok: false; reason: string } {
    this.sync();
    const peerURL = flags.peerURL ?? `http://${nodeIP}:2380`;
    const host = urlHost(peerURL);
    if (host !== nodeIP) return { ok: false, reason: `listen tcp ${host ?? peerURL}: bind: cannot assign requested address` };
    const previous = memberId === undefined ? undefined : this.find(memberId);
    if (previous?.removed) return { ok: false, reason: 'the member has been permanently removed from the cluster' };
    const member = previous ?? [...this.members.values()].find((m) => m.peerURL === peerURL);
    if (!member) {
      return { ok: false, reason: `member count is unequal: no member of the cluster has peer URL ${peerURL}` };
    }
    if (member.process === 'running' || member.process === 'frozen') return { ok: false, reason: `listen tcp ${host}:2380: bind: address already in use` };
    if (!member.hasData) {
      // A first boot with --initial-cluster-state=existing checks its --initial-cluster against the cluster's members.
      if (flags.initialClusterState !== 'existing') return { ok: false, reason: 'a new member must join with --initial-cluster-state=existing' };
      const listed = new Set((flags.initialCluster ?? '').split(',').filter((e) => e !== '').map((e) => e.slice(e.indexOf('=') + 1)));
      const actual = new Set([...this.members.values()].map((m) => m.peerURL));
      if (listed.size !== actual.size || [...actual].some((u) => !listed.has(u))) {
        return { ok: false, reason: `error validating peerURLs: member count is unequal (--initial-cluster has ${listed.size}, the cluster ${actual.size})` };
      }
      if (!flags.name) return { ok: false, reason: '--name is required to join an existing cluster' };
    }
    if (flags.forceNewCluster === true) {
      if (!member.hasData) return { ok: false, reason: '--force-new-cluster needs the data directory of a member that has run' };
      this.forceNewCluster(member);
    }
    member.process = 'running';
    member.hasData = true;
    if (member.name === '') member.pending = { name: flags.name ?? '', clientURL: flags.clientURL ?? `http://${nodeIP}:2379` };
    this.sync();
    return { ok: true, memberId: member.id };
  }

  /**
   * etcd's `--force-new-cluster`: the membership is rewritten to this member alone, which keeps what it has applied;
   * the log beyond it (entries it never applied, acknowledged writes among them) is gone. The other members are
   * removed: a process of theirs that hears the new cluster exits as a removed member does.
   */
  private forceNewCluster(member: ModelMember): void {
    this.entries.splice(member.applied);
    this.revisionNow = this.memberRevision(member);
    for (const other of [...this.members.values()]) {
      if (other === member) continue;
      this.members.delete(other.id);
      other.removed = true;
      this.departed.set(other.id, other);
    }
    member.isLearner = false;
    member.caughtUp = true;
    this.leader = undefined;
    this.electionAt = undefined;
    this.alarmList.splice(0, this.alarmList.length, ...this.alarmList.filter((a) => a.memberId === member.id));
    this.appendConf();
    // Its own log: the rewritten membership is applied at once.
    member.applied = this.entries.length;
  }

  // ---- client writes ------------------------------------------------------------------------------------------

  /** A client write: acknowledged only when a leader commits it to a quorum. */
  put(key: string, value: string): { ok: true; revision: number } | { ok: false; reason: string } {
    this.sync();
    if (this.leader === undefined) return { ok: false, reason: 'etcdserver: no leader' };
    // etcd's quota check: refused while NOSPACE is raised, and a write that would grow the leader's file past the
    // quota raises it.
    if (this.alarmList.some((a) => a.alarm === 'NOSPACE')) return { ok: false, reason: ETCD_ERRORS.noSpace.message };
    const leader = this.members.get(this.leader);
    if (leader && this.inUseBytes(leader) + this.options.bytesPerWrite > this.options.quotaBytes) {
      this.alarmList.push({ memberId: leader.id, alarm: 'NOSPACE' });
      return { ok: false, reason: ETCD_ERRORS.noSpace.message };
    }
    this.revisionNow += 1;
    const entry: Entry = { index: this.entries.length + 1, kind: 'put', key, value, revision: this.revisionNow };
    this.entries.push(entry);
    this.acknowledged.push({ key, value, revision: this.revisionNow, index: entry.index });
    this.sync();
    return { ok: true, revision: this.revisionNow };
  }

  // ---- requests at an endpoint ---------------------------------------------------------------------------------

  /** The member list at one endpoint: through the leader, or from the member's own view (see memberListReads). */
  memberList(endpoint: string): Answer<EtcdMemberInfo[]> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (this.options.memberListReads === 'linearizable' && !this.hasLeader(m)) return timeout(endpoint);
      return { ok: true, value: this.viewOf(m) };
    });
  }

  /** A member's status, served locally (a learner and a member cut off answer too). */
  status(endpoint: string): Answer<Omit<EndpointStatus, 'endpoint' | 'reachable' | 'error'>> {
    return this.serve(endpoint, (m) => ({
      ok: true,
      value: {
        memberId: m.id,
        leaderId: this.hasLeader(m) ? (this.leader ?? NO_LEADER) : NO_LEADER,
        raftTerm: this.term,
        raftIndex: m.applied,
        raftAppliedIndex: m.applied,
        dbSizeBytes: this.fileBytes(m),
        dbSizeInUseBytes: this.inUseBytes(m),
        version: this.options.version,
      },
    }));
  }

  /** The alarm list goes through Raft. */
  alarms(endpoint: string): Answer<EtcdAlarm[]> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (!this.hasLeader(m)) return timeout(endpoint);
      return { ok: true, value: this.alarmList.map((a) => ({ ...a })) };
    });
  }

  /** The member's /metrics text, served locally over HTTP. */
  metrics(endpoint: string): Answer<string> {
    return this.serve(endpoint, (m) => ({ ok: true, value: this.metricsOf(m) }));
  }

  /** A linearizable read of the current revision. */
  linearizableRevision(endpoint: string): Answer<number> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (!this.hasLeader(m)) return timeout(endpoint);
      return { ok: true, value: this.revisionNow };
    });
  }

  /** HashKV of the member's applied state at a revision (0 = its latest), served locally. */
  hashKv(endpoint: string, revision: number): Answer<{ hash: string; revision: number; compactRevision: number }> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      const current = this.memberRevision(m);
      if (revision > current) return status(ETCD_ERRORS.futureRevision);
      const at = revision === 0 ? current : revision;
      const hash = createHash('sha256');
      for (const [key, value] of [...this.kvOf(m, at)].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`${key}=${value}\n`);
      return { ok: true, value: { hash: String(parseInt(hash.digest('hex').slice(0, 8), 16)), revision: current, compactRevision: 0 } };
    });
  }

  /** The member's applied keys, as a snapshot stream would carry them, served locally. */
  snapshot(endpoint: string): Answer<{ revision: number; keys: [string, string][] }> {
    return this.serve(endpoint, (m) => ({ ok: true, value: { revision: this.memberRevision(m), keys: [...this.kvOf(m)].sort(([a], [b]) => (a < b ? -1 : 1)) } }));
  }

  /** A client write at one endpoint: through the leader, refused as etcd refuses it. */
  putAt(endpoint: string, key: string, value: string): Answer<{ revision: number }> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      const written = this.put(key, value);
      if (!written.ok) return written.reason === ETCD_ERRORS.noSpace.message ? status(ETCD_ERRORS.noSpace) : timeout(endpoint);
      return { ok: true, value: { revision: written.revision } };
    });
  }

  /** Compact history up to `revision`, through Raft (every member applies it). */
  compact(endpoint: string, revision: number): Answer<void> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      if (revision <= this.compactedRevision) return status(ETCD_ERRORS.compacted);
      if (revision > this.revisionNow) return status(ETCD_ERRORS.futureRevision);
      // The files keep the size the history gave them: compaction frees pages, it does not shrink a file.
      for (const member of this.members.values()) this.fileBytes(member);
      this.compactedRevision = revision;
      return { ok: true, value: undefined };
    });
  }

  /** Defragment the member at `endpoint`: its file shrinks to its data. Served locally, learners included. */
  defragment(endpoint: string): Answer<void> {
    return this.serve(endpoint, (m) => {
      m.fileBytes = this.inUseBytes(m);
      return { ok: true, value: undefined };
    });
  }

  /** Deactivate one member's alarm, through Raft. Disarming an alarm that is not raised is no error, as in etcd. */
  disarmAlarm(endpoint: string, memberId: string, alarm: string): Answer<void> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      for (let i = this.alarmList.length - 1; i >= 0; i--) {
        const a = this.alarmList[i];
        if (a && a.memberId === memberId && a.alarm === alarm) this.alarmList.splice(i, 1);
      }
      return { ok: true, value: undefined };
    });
  }

  /** `member add --learner`, with etcd's checks in etcd's order. */
  addLearner(endpoint: string, peerURL: string): Answer<{ id: string; members: EtcdMemberInfo[] }> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      // mayAddMember: every voter connected to this member for the last HealthInterval, learner or not.
      if (!this.connectedFullySince(m)) return status(ETCD_ERRORS.unhealthy);
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      if ([...this.members.values()].some((x) => x.peerURL === peerURL)) return status(ETCD_ERRORS.peerURLExists);
      if ([...this.members.values()].some((x) => x.isLearner)) return status(ETCD_ERRORS.tooManyLearners);
      const learner: ModelMember = {
        id: this.newId(),
        name: '',
        peerURL,
        clientURL: '',
        isLearner: true,
        process: 'none',
        partitioned: false,
        applied: 0,
        hasData: false,
        caughtUp: false,
        leaderChangesSeen: 0,
        proposalsFailed: 0,
        removed: false,
      };
      this.members.set(learner.id, learner);
      this.appendConf();
      this.sync();
      return { ok: true, value: { id: learner.id, members: this.viewOf(m) } };
    });
  }

  /** `member remove`, with etcd's strict reconfiguration checks (mayRemoveMember). */
  removeMember(endpoint: string, id: string): Answer<void> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      const target = this.members.get(id);
      if (target && !target.isLearner) {
        const others = this.voters().filter((v) => v.id !== id);
        // IsReadyToRemoveVotingMember: "started" is etcd's word for a member that has published its name.
        if (others.filter((v) => v.name !== '').length < quorumOf(others.length)) return status(ETCD_ERRORS.notEnoughStarted);
        const active = this.activeSince(m, target);
        // A member this one is not connected to is not part of the active quorum: removing it is always safe.
        if (active || target.id === m.id) {
          const voters = this.voters();
          const connected = voters.filter((v) => v.id === m.id || this.activeSince(m, v)).length;
          if (connected - 1 < 1 + Math.floor((voters.length - 1) / 2)) return status(ETCD_ERRORS.unhealthy);
        }
      }
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      if (!target) return status(ETCD_ERRORS.memberNotFound);
      this.members.delete(id);
      target.removed = true;
      this.departed.set(id, target);
      this.appendConf();
      this.sync();
      return { ok: true, value: undefined };
    });
  }

  /** `member promote`: only a learner, only in sync, forwarded to the leader. */
  promoteMember(endpoint: string, id: string): Answer<void> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      // Only the leader knows the learner's progress: the request is forwarded there and waits for one.
      if (!this.hasLeader(m)) return this.proposalTimeout(m, endpoint);
      const target = this.members.get(id);
      if (target?.isLearner === true) {
        if (target.applied < this.commitIndex() * 0.9) return status(ETCD_ERRORS.learnerNotReady);
        const voters = this.voters();
        // IsReadyToPromoteMember counts the learner as a started voter of the cluster after the change.
        if (voters.filter((v) => v.name !== '').length + 1 < quorumOf(voters.length + 1)) return status(ETCD_ERRORS.notEnoughStarted);
      }
      if (!target) return status(ETCD_ERRORS.memberNotFound);
      if (!target.isLearner) return status(ETCD_ERRORS.notLearner);
      target.isLearner = false;
      target.caughtUp = true;
      this.appendConf();
      this.sync();
      return { ok: true, value: undefined };
    });
  }

  /** `move-leader`: only the leader takes it; the target must be a voter that can take over. */
  moveLeader(endpoint: string, targetId: string): Answer<void> {
    return this.serve(endpoint, (m) => {
      if (m.isLearner) return status(this.learnerRefusal());
      if (this.leader !== m.id || !this.hasLeader(m)) return status(ETCD_ERRORS.notLeader);
      const target = this.members.get(targetId);
      if (!target || target.isLearner) return status(ETCD_ERRORS.badLeaderTransferee);
      if (target.id === m.id) return { ok: true, value: undefined };
      // The transfer waits for the target to catch up and campaign: one that cannot never takes over.
      if (!this.connected(target)) return timeout(endpoint);
      this.changeLeader(target.id, this.clock.nowMs());
      this.sync();
      return { ok: true, value: undefined };
    });
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  /**
   * Bring the model up to the clock: connection times, leader loss and elections, replication, a learner's
   * catch-up, names published, removed members exiting. Called before and after every change, and by the world
   * before each timer fires.
   */
  sync(): void {
    const now = this.clock.nowMs();
    for (const m of [...this.members.values(), ...this.departed.values()]) {
      if (this.activeToPeers(m)) m.connectedSince ??= now;
      else delete m.connectedSince;
    }
    // A removed member that can hear its peers again learns it was removed, and exits.
    for (const m of this.departed.values()) {
      if (m.process === 'running' && !m.partitioned && !this.downHosts.has(this.hostOf(m))) {
        m.process = 'stopped';
        this.exited(m, 'the member has been permanently removed from the cluster');
      }
    }
    const voters = this.voters();
    const connectedVoters = voters.filter((v) => this.connected(v));
    const hasQuorum = voters.length > 0 && connectedVoters.length >= quorumOf(voters.length);
    const leader = this.leader === undefined ? undefined : this.members.get(this.leader);
    // CheckQuorum: a leader that cannot hear a majority steps down; a removed or stopped one is simply gone.
    if (this.leader !== undefined && (!leader || leader.isLearner || !this.connected(leader) || !hasQuorum)) {
      this.leader = undefined;
    }
    if (this.leader === undefined) {
      if (!hasQuorum) {
        this.electionAt = undefined;
      } else if (this.electionAt === undefined) {
        this.electionAt = now + this.options.electionDelayMs;
        this.clock.schedule(this.options.electionDelayMs, 'etcd election', () => undefined);
      } else if (now >= this.electionAt) {
        this.elect(this.electionAt);
      }
    }
    if (this.leader !== undefined) this.replicate(now);
  }

  private replicate(now: number): void {
    let published = false;
    for (const m of this.members.values()) {
      if (!this.connected(m)) {
        // A learner cut off before it had the snapshot starts over.
        if (!m.caughtUp) delete m.catchUpFrom;
        continue;
      }
      if (m.caughtUp) {
        m.applied = this.entries.length;
      } else {
        if (m.catchUpFrom === undefined) {
          m.catchUpFrom = now;
          // Timers so that advance() stops at the moments the learner becomes promotable and caught up.
          this.clock.schedule(Math.ceil(this.catchUpMs() * 0.9), 'learner in sync', () => undefined);
          this.clock.schedule(this.catchUpMs(), 'learner caught up', () => undefined);
        }
        const fraction = Math.min(1, (now - m.catchUpFrom) / this.catchUpMs());
        if (fraction >= 1) {
          m.caughtUp = true;
          m.applied = this.entries.length;
        } else {
          m.applied = Math.floor(this.entries.length * fraction);
        }
      }
      if (m.pending && m.name === '') {
        m.name = m.pending.name;
        m.clientURL = m.pending.clientURL;
        delete m.pending;
        published = true;
      }
    }
    if (published) {
      this.appendConf();
      this.replicate(now);
    }
  }

  private elect(at: number): void {
    const candidates = this.voters().filter((v) => this.connected(v));
    if (candidates.length === 0) return;
    // Raft's election restriction: only a member with the most complete log can win.
    const best = Math.max(...candidates.map((c) => c.applied));
    this.changeLeader(this.random.pick(candidates.filter((c) => c.applied === best)).id, at);
  }

  private changeLeader(id: string, _at: number): void {
    this.leader = id;
    this.term += 1;
    this.electionAt = undefined;
    for (const m of this.members.values()) if (this.connected(m)) m.leaderChangesSeen += 1;
  }

  private appendConf(): void {
    const members = this.list().map(toInfo);
    this.entries.push({ index: this.entries.length + 1, kind: 'conf', members });
  }

  /** The membership as of the last configuration entry a member has applied: stale when it is cut off. */
  private viewOf(member: ModelMember): EtcdMemberInfo[] {
    for (let i = Math.min(member.applied, this.entries.length) - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry?.kind === 'conf') return entry.members.map((x) => ({ ...x, peerURLs: [...x.peerURLs], clientURLs: [...x.clientURLs] }));
    }
    return [];
  }

  private voters(): ModelMember[] {
    return [...this.members.values()].filter((m) => !m.isLearner);
  }

  /**
   * Whether its peers' transport counts the member active: connected, or (etcd 3.5+) frozen or cut off with its
   * connections still open. A stopped process or a host that went down closes them.
   */
  private activeToPeers(member: ModelMember): boolean {
    if (this.connected(member)) return true;
    if (!this.options.silentPeersStayActive || member.removed || this.downHosts.has(this.hostOf(member))) return false;
    return member.process === 'frozen' || (member.process === 'running' && member.partitioned);
  }

  /** A learner's refusal, with the gRPC code of the modelled version (domain/etcd-version learnerRefusalCode). */
  private learnerRefusal(): { code: GrpcCode; message: string } {
    const version = parseEtcdVersion(this.options.version);
    return version === undefined ? ETCD_ERRORS.learnerNotSupported : { ...ETCD_ERRORS.learnerNotSupported, code: learnerRefusalCode(version) };
  }

  /** The link between two members has been up for the last HealthInterval (etcd's transport.ActiveSince). */
  private activeSince(from: ModelMember, to: ModelMember): boolean {
    if (!this.connected(from) || !this.activeToPeers(to)) return false;
    const since = Math.max(from.connectedSince ?? Infinity, to.connectedSince ?? Infinity);
    return since <= this.clock.nowMs() - this.options.healthIntervalMs;
  }

  /** isConnectedFullySince: every other voter has been connected to `from` for the last HealthInterval. */
  private connectedFullySince(from: ModelMember): boolean {
    return this.voters().every((v) => v.id === from.id || this.activeSince(from, v));
  }

  private proposalTimeout<T>(member: ModelMember, endpoint: string): Answer<T> {
    member.proposalsFailed += 1;
    return timeout(endpoint);
  }

  private hostOf(member: ModelMember): string {
    return urlHost(member.peerURL) ?? '';
  }

  /** The process that listens at an endpoint's address, and whether anything answers there at all. */
  private serve<T>(endpoint: string, fn: (member: ModelMember) => Answer<T>): Answer<T> {
    this.sync();
    const host = urlHost(endpoint) ?? endpoint;
    // A machine that is down sends no reset: the client waits out its deadline.
    if (this.downHosts.has(host)) return timeout(endpoint);
    const member = [...this.members.values(), ...this.departed.values()].find(
      (m) => this.hostOf(m) === host && (m.process === 'running' || m.process === 'frozen'),
    );
    if (!member) return { ok: false, kind: 'no-answer', why: 'refused', detail: `connect ECONNREFUSED ${host}:${endpoint.split(':').pop() ?? ''}` };
    if (member.process === 'frozen') return timeout(endpoint);
    const answer = fn(member);
    this.sync();
    return answer;
  }

  private exited(member: ModelMember, reason: string): void {
    for (const listener of this.exitListeners) listener(member.id, reason);
  }

  private newId(): string {
    let id = this.random.hexId();
    while (this.members.has(id) || this.departed.has(id)) id = this.random.hexId();
    return id;
  }

  private metricsOf(m: ModelMember): string {
    const gauge = (name: string, help: string, type: 'gauge' | 'counter', value: number): string =>
      `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
    const fsync = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
    const count = m.applied;
    return [
      gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', 'gauge', this.hasLeader(m) ? 1 : 0),
      gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', 'gauge', this.leader === m.id ? 1 : 0),
      gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', 'gauge', m.isLearner ? 1 : 0),
      gauge('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.', 'counter', m.leaderChangesSeen),
      gauge('etcd_server_proposals_failed_total', 'The total number of failed proposals seen.', 'counter', m.proposalsFailed),
      gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', 'gauge', 0),
      gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', 'gauge', m.applied),
      gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', 'gauge', this.fileBytes(m)),
      gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', 'gauge', this.inUseBytes(m)),
      gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', 'gauge', this.options.quotaBytes),
      '# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.\n',
      '# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n',
      ...fsync.map((le) => `etcd_disk_wal_fsync_duration_seconds_bucket{le="${le}"} ${le >= 0.004 ? count : 0}\n`),
      `etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} ${count}\n`,
      `etcd_disk_wal_fsync_duration_seconds_sum ${(count * 0.003).toFixed(3)}\n`,
      `etcd_disk_wal_fsync_duration_seconds_count ${count}\n`,
    ].join('');
  }
}

/** What `member list` shows of a member. */
export function toInfo(m: ModelMember): EtcdMemberInfo {
  return { id: m.id, name: m.name, peerURLs: [m.peerURL], clientURLs: m.clientURL ? [m.clientURL] : [], isLearner: m.isLearner };
}

function status<T>(error: { code: GrpcCode; message: string }): Answer<T> {
  return { ok: false, kind: 'status', code: error.code, message: error.message };
}

function timeout<T>(endpoint: string): Answer<T> {
  return { ok: false, kind: 'no-answer', why: 'timeout', detail: `no answer from ${endpoint}` };
}
