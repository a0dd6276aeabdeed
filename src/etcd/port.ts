import type { EndpointStatus, EtcdAlarm, EtcdMemberInfo } from './gateway';

/**
 * Everything the guardian asks of etcd, as a narrow port: the real gateway (src/etcd/gateway.ts) and the in-memory
 * model of the simulation (test/simulation) both implement it, so the activities run unchanged over either.
 * Every call makes one attempt; retries belong to Temporal. Refusals are EtcdRequestError with etcd's reason.
 */
export interface EtcdPort {
  /**
   * The member list as the leader sees it: from the endpoint of the leader that a majority of the members that
   * answer agree on, read linearizably (where etcd supports it), else from another endpoint of a member following
   * that leader; never from a member cut off from its peers. Throws when no endpoint answers or no leader is agreed
   * (both retryable): a failed list means "membership unknown", never "no members".
   */
  memberList(endpoints?: readonly string[]): Promise<{ members: EtcdMemberInfo[]; endpoint: string }>;
  /** The status of one endpoint. Never throws: an endpoint that does not answer is reported unreachable. */
  endpointStatus(endpoint: string): Promise<EndpointStatus>;
  /** Active alarms of the whole cluster. */
  alarms(endpoints?: readonly string[]): Promise<EtcdAlarm[]>;
  /** The raw Prometheus text of one member's /metrics endpoint. */
  metricsText(endpoint: string): Promise<string>;
  /** Add a learner with the given peer URL; returns its id and the membership after the change. */
  addLearner(peerURL: string, endpoints?: readonly string[]): Promise<{ id: string; members: EtcdMemberInfo[] }>;
  /** Remove a member by hex id. */
  removeMember(id: string, endpoints?: readonly string[]): Promise<void>;
  /** Promote a learner that has caught up. */
  promoteMember(id: string, endpoints?: readonly string[]): Promise<void>;
  /** Hand leadership to another voter; sent to the current leader's endpoint. */
  moveLeader(leaderEndpoint: string, targetId: string): Promise<void>;
  /** HashKV of one member at a revision (0 = its latest), within `timeoutMs` when given. */
  hashKv(endpoint: string, revision: number, timeoutMs?: number): Promise<{ hash: string; revision: number; compactRevision: number }>;
  /** The current revision as seen by one endpoint. */
  revision(endpoint: string): Promise<number>;
  /** The revision one member serves locally (a serializable read): answered without quorum, for a recovery. */
  localRevision(endpoint: string): Promise<number>;
  /** How many keys one endpoint holds at a revision (0 = its latest), serializably, within `timeoutMs` when given. */
  keyCount(endpoint: string, revision: number, timeoutMs?: number): Promise<number>;
  /** Stream a snapshot from one endpoint into `path`; returns its revision, size and sha256. */
  snapshot(endpoint: string, path: string, timeoutMs: number): Promise<{ revision: number; bytes: number; sha256: string }>;
  /** Defragment one member's database; it stops serving meanwhile. */
  defragment(endpoint: string, timeoutMs: number): Promise<void>;
  /** Compact the keyspace's history up to `revision`, physically. */
  compact(revision: number, endpoints?: readonly string[], timeoutMs?: number): Promise<void>;
  /** Disarm one member's alarm (NOSPACE, CORRUPT). */
  disarmAlarm(memberId: string, alarm: string, endpoints?: readonly string[]): Promise<void>;
  /** Write one key; returns the revision of the write. */
  put(key: string, value: string, endpoints?: readonly string[]): Promise<{ revision: number }>;
  /** Release connections. */
  close(): void;
}
