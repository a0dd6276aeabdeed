import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { noop } from 'cockatiel';
import {
  Etcd3,
  EtcdPermissionDeniedError,
  GRPCAlreadyExistsError,
  GRPCFailedPreconditionError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  type IOptions,
} from 'etcd3';
import type { ConnectionPool } from 'etcd3/lib/connection-pool';
import { BackupDiskError } from '../backup/errors';
import { writeBackupFile } from '../backup/write';
import { errorText, TimeoutError, withTimeout } from '../errors';
import {
  classifyTlsFailure,
  EtcdRequestError,
  EtcdNoLeaderError,
  EtcdTlsError,
  EtcdUnavailableError,
  isDefinitiveTlsFailure,
  tlsFailureMessage,
  type TlsFailure,
} from './errors';
import { toDecimalId, toHexId } from './ids';
import type { EtcdPort } from './port';

/** Paths of the client TLS material for an etcd cluster. Only paths travel through config and history. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Loaded TLS material. Lives in the worker's memory only. */
export interface EtcdTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Where it was read from, so that a failed handshake names the file to fix. */
  files?: EtcdTlsFiles;
}

/** A member as `member list` reports it, with its id in hex. */
export interface EtcdMemberInfo {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** One endpoint's answer to a status request, or why it gave none. */
export interface EndpointStatus {
  endpoint: string;
  reachable: boolean;
  error?: string;
  memberId?: string;
  leaderId?: string;
  raftTerm?: number;
  raftIndex?: number;
  raftAppliedIndex?: number;
  dbSizeBytes?: number;
  /** Bytes of the database file holding live data (etcd 3.4+). */
  dbSizeInUseBytes?: number;
  version?: string;
}

/** An active alarm. */
export interface EtcdAlarm {
  memberId: string;
  alarm: string;
}

/**
 * The calls the gateway makes to read membership and status at one endpoint. etcd3's client has them; unit tests
 * inject fakes with scripted answers (a stale member, a silent one) through the gateway's `clientFor` option.
 */
export interface MemberClient {
  readonly maintenance: Pick<Etcd3['maintenance'], 'status'>;
  readonly cluster: Pick<Etcd3['cluster'], 'memberList'>;
}

/** How long a status answer from a member list's leader round may stand in for the next status call. */
const STATUS_REUSE_MS = 1000;

/** A leader id, or undefined when the member knows none (etcd says 0). */
function knownLeaderId(id: string | undefined): string | undefined {
  return id === undefined || id === '' || id === '0' ? undefined : id;
}

/**
 * The leader that a majority of the members that answered report, and whose own endpoint says it leads; undefined
 * when there is no such leader. One vote per member, however many endpoints reach it. A member cut off from its
 * peers reports no leader or its old one, and its old leader, having lost the others, no longer claims to lead.
 */
export function agreedLeader(statuses: readonly EndpointStatus[]): string | undefined {
  const believes = new Map<string, string | undefined>();
  for (const s of statuses) if (s.reachable && s.memberId !== undefined) believes.set(s.memberId, knownLeaderId(s.leaderId));
  const votes = new Map<string, number>();
  for (const leader of believes.values()) if (leader !== undefined) votes.set(leader, (votes.get(leader) ?? 0) + 1);
  for (const [leader, count] of votes) {
    if (count * 2 > believes.size && believes.get(leader) === leader) return leader;
  }
  return undefined;
}

/** What one endpoint said about the leader, for the error that says none is agreed. */
function leaderView(s: EndpointStatus): string {
  if (!s.reachable) return `no answer (${s.error ?? 'unknown error'})`;
  const term = s.raftTerm === undefined ? '' : ` (term ${s.raftTerm})`;
  const leader = knownLeaderId(s.leaderId);
  if (leader === undefined) return `member ${s.memberId ?? '?'} knows no leader${term}`;
  return leader === s.memberId ? `member ${leader} says it leads${term}` : `member ${s.memberId ?? '?'} follows ${leader}${term}`;
}

/** The refusal behind an etcd3 error, or undefined when the endpoint did not answer at all. */
function asRequestError(error: unknown, operation: string, endpoint: string): EtcdRequestError | undefined {
  const detail = errorText(error);
  if (error instanceof GRPCNotFoundError) return new EtcdRequestError('ETCD_NOT_FOUND', operation, endpoint, detail);
  if (error instanceof GRPCFailedPreconditionError) return new EtcdRequestError('ETCD_FAILED_PRECONDITION', operation, endpoint, detail);
  if (error instanceof GRPCAlreadyExistsError) return new EtcdRequestError('ETCD_ALREADY_EXISTS', operation, endpoint, detail);
  if (error instanceof GRPCInvalidArgumentError) return new EtcdRequestError('ETCD_INVALID_ARGUMENT', operation, endpoint, detail);
  if (error instanceof EtcdPermissionDeniedError) return new EtcdRequestError('ETCD_PERMISSION_DENIED', operation, endpoint, detail);
  if (error instanceof GRPCOutOfRangeError) return new EtcdRequestError('ETCD_OUT_OF_RANGE', operation, endpoint, detail);
  if (error instanceof GRPCResourceExhastedError) return new EtcdRequestError('ETCD_NO_SPACE', operation, endpoint, detail);
  return undefined;
}

/** etcd3 keeps its connection pool protected; HashKV needs it (see hashKv). */
function poolOf(client: Etcd3): ConnectionPool {
  return (client as unknown as { pool: ConnectionPool }).pool;
}

function toMemberInfo(m: { ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean }): EtcdMemberInfo {
  return { id: toHexId(m.ID), name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: Boolean(m.isLearner) };
}

/** Read the three TLS files, failing with a message that names the missing one. */
export function loadEtcdTls(files: EtcdTlsFiles): EtcdTls {
  const read = (label: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new EtcdTlsError(`etcd TLS ${label} ${path} cannot be read: ${errorText(error)}`);
    }
  };
  return { ca: read('caFile', files.caFile), cert: read('certFile', files.certFile), key: read('keyFile', files.keyFile), files: { ...files } };
}

/**
 * A thin, typed gateway over etcd3 and the members' /metrics endpoints. Every call has a deadline and makes one
 * attempt: retries belong to Temporal, so that history shows them. One client per endpoint, so that a frozen
 * member costs one timeout and never stalls the others.
 */
export class EtcdGateway implements EtcdPort {
  private readonly clients = new Map<string, Etcd3>();
  /** Status answers of the last member list's leader round, each reused once by endpointStatus while fresh. */
  private readonly recentStatus = new Map<string, { status: EndpointStatus; at: number }>();

  constructor(
    private readonly options: {
      endpoints: readonly string[];
      tls?: EtcdTls;
      timeoutMs: number;
      /** The client for membership reads and status calls at an endpoint; etcd3's by default. Tests inject fakes. */
      clientFor?: (endpoint: string) => MemberClient;
    },
  ) {}

  /** The configured seed endpoints. */
  get endpoints(): readonly string[] {
    return this.options.endpoints;
  }

  /** A client bound to one endpoint, created once. */
  client(endpoint: string): Etcd3 {
    let client = this.clients.get(endpoint);
    if (!client) {
      const options: IOptions = {
        hosts: [endpoint],
        dialTimeout: this.options.timeoutMs,
        faultHandling: { host: () => noop, global: noop },
      };
      if (this.options.tls) {
        options.credentials = { rootCertificate: this.options.tls.ca, certChain: this.options.tls.cert, privateKey: this.options.tls.key };
      }
      client = new Etcd3(options);
      this.clients.set(endpoint, client);
    }
    return client;
  }

  /** The client for membership reads and status calls: the injected one, or etcd3's. */
  private memberClient(endpoint: string): MemberClient {
    return this.options.clientFor ? this.options.clientFor(endpoint) : this.client(endpoint);
  }

  /** The TLS failure behind an error, when this gateway speaks TLS and the error is one. */
  private tlsFailure(error: unknown): TlsFailure | undefined {
    return this.options.tls ? classifyTlsFailure(errorText(error)) : undefined;
  }

  /** An endpoint's failure in one line: a TLS failure says which file and what to do, anything else as it came. */
  private failureText(error: unknown, endpoint: string, tls = this.tlsFailure(error)): string {
    return tls ? tlsFailureMessage(endpoint, tls, this.options.tls?.files) : errorText(error);
  }

  /** The error to throw for a failed call to one endpoint: EtcdTlsError when no retry can mend it. */
  private endpointError(error: unknown, endpoint: string): unknown {
    const tls = this.tlsFailure(error);
    return tls && isDefinitiveTlsFailure(tls) ? new EtcdTlsError(this.failureText(error, endpoint, tls), tls.kind) : error;
  }

  /** Endpoints that failed alike, said once: `etcd https://a, https://b: TLS certificate not trusted by ...`. */
  private tlsSummary(failures: readonly { endpoint: string; tls: TlsFailure }[]): string {
    const groups = new Map<string, { endpoints: string[]; tls: TlsFailure }>();
    for (const { endpoint, tls } of failures) {
      const key = `${tls.kind}\n${tls.reason}`;
      const group = groups.get(key) ?? { endpoints: [], tls };
      group.endpoints.push(endpoint);
      groups.set(key, group);
    }
    return [...groups.values()].map((group) => tlsFailureMessage(group.endpoints.join(', '), group.tls, this.options.tls?.files)).join('; ');
  }

  /**
   * Call `fn` on each endpoint in turn until one answers; the error lists every endpoint's failure. When every
   * endpoint refused the handshake for good (a wrong CA, a refused client certificate), it is an EtcdTlsError: no
   * retry mends that.
   */
  async firstAnswer<T>(
    operation: string,
    fn: (client: Etcd3, endpoint: string) => Promise<T>,
    endpoints = this.options.endpoints,
    timeoutMs = this.options.timeoutMs,
  ): Promise<{ value: T; endpoint: string }> {
    return this.eachInTurn(operation, (endpoint) => this.client(endpoint), fn, endpoints, timeoutMs);
  }

  /** firstAnswer over any kind of client. */
  private async eachInTurn<C, T>(
    operation: string,
    clientOf: (endpoint: string) => C,
    fn: (client: C, endpoint: string) => Promise<T>,
    endpoints: readonly string[],
    timeoutMs: number,
  ): Promise<{ value: T; endpoint: string }> {
    const failures: { endpoint: string; error: string; tls?: TlsFailure }[] = [];
    for (const endpoint of endpoints) {
      try {
        return { value: await withTimeout(fn(clientOf(endpoint), endpoint), timeoutMs, `${operation} at ${endpoint}`), endpoint };
      } catch (error) {
        const refusal = asRequestError(error, operation, endpoint);
        // etcd answered and said no: asking another member would get the same answer, or repeat a change.
        if (refusal) throw refusal;
        const tls = this.tlsFailure(error);
        failures.push({ endpoint, error: this.failureText(error, endpoint, tls), ...(tls ? { tls } : {}) });
      }
    }
    throw this.noAnswer(operation, failures);
  }

  /** No endpoint answered: EtcdTlsError when every one refused the handshake for good, else EtcdUnavailableError. */
  private noAnswer(operation: string, failures: readonly { endpoint: string; error: string; tls?: TlsFailure }[]): Error {
    const definitive = failures.flatMap((f) => (f.tls && isDefinitiveTlsFailure(f.tls) ? [{ endpoint: f.endpoint, tls: f.tls }] : []));
    if (failures.length > 0 && definitive.length === failures.length) {
      return new EtcdTlsError(`${operation}: ${this.tlsSummary(definitive)}`, definitive[0]?.tls.kind);
    }
    return new EtcdUnavailableError(operation, failures.map(({ endpoint, error }) => ({ endpoint, error })));
  }

  /**
   * The cluster's members as the leader sees them, so that a member cut off from its peers, which still serves its
   * old list, never supplies it. One round of status calls, in parallel, finds the leader (see agreedLeader); the
   * list is then read linearizably from the leader's endpoint (etcd 3.5+ honours that; 3.4 ignores the flag, and
   * the leader's own list is current there too), and only if that fails from the other endpoints of members that
   * follow the same leader. Throws EtcdNoLeaderError (retryable) when no leader is agreed, and EtcdUnavailableError
   * or EtcdTlsError when no endpoint answers: a failed list means "membership unknown", never "no members".
   * The status answers stand in for the next endpointStatus call of each endpoint (once, within a second), so that
   * an observation costs no extra round.
   */
  async memberList(endpoints: readonly string[] = this.options.endpoints): Promise<{ members: EtcdMemberInfo[]; endpoint: string }> {
    const answers = await Promise.all([...new Set(endpoints)].map((endpoint) => this.statusAnswer(endpoint)));
    const at = Date.now();
    for (const { status } of answers) this.recentStatus.set(status.endpoint, { status, at });
    const statuses = answers.map((a) => a.status);
    if (!statuses.some((s) => s.reachable)) {
      throw this.noAnswer('member list', answers.map(({ status, tls }) => ({ endpoint: status.endpoint, error: status.error ?? 'no answer', ...(tls ? { tls } : {}) })));
    }
    const leader = agreedLeader(statuses);
    if (leader === undefined) {
      throw new EtcdNoLeaderError('member list', statuses.map((s) => ({ endpoint: s.endpoint, said: leaderView(s) })));
    }
    const leaderFirst = [
      ...statuses.filter((s) => s.reachable && s.memberId === leader),
      ...statuses.filter((s) => s.reachable && s.memberId !== leader && knownLeaderId(s.leaderId) === leader),
    ].map((s) => s.endpoint);
    const { value, endpoint } = await this.eachInTurn(
      'member list',
      (e) => this.memberClient(e),
      (c) => c.cluster.memberList({ linearizable: true }),
      leaderFirst,
      this.options.timeoutMs,
    );
    return { members: value.members.map(toMemberInfo), endpoint };
  }

  /**
   * The status of one endpoint. Never throws: an endpoint that does not answer is reported unreachable. The answer
   * of the member list that just ran is used once, when less than a second old, instead of asking again.
   */
  async endpointStatus(endpoint: string): Promise<EndpointStatus> {
    const recent = this.recentStatus.get(endpoint);
    this.recentStatus.delete(endpoint);
    if (recent && Date.now() - recent.at <= STATUS_REUSE_MS) return { ...recent.status };
    return (await this.statusAnswer(endpoint)).status;
  }

  /** Ask one endpoint for its status, within the gateway's timeout; a failure is an answer too, with its TLS cause. */
  private async statusAnswer(endpoint: string): Promise<{ status: EndpointStatus; tls?: TlsFailure }> {
    try {
      const s = await withTimeout(this.memberClient(endpoint).maintenance.status(), this.options.timeoutMs, `status of ${endpoint}`);
      const status: EndpointStatus = {
        endpoint,
        reachable: true,
        memberId: toHexId(s.header.member_id),
        leaderId: toHexId(s.leader),
        raftTerm: Number(s.raftTerm),
        raftIndex: Number(s.raftIndex),
        raftAppliedIndex: Number(s.raftAppliedIndex),
        dbSizeBytes: Number(s.dbSize),
        version: s.version,
      };
      // etcd 3.4+ reports it; an older server leaves it out (etcd3 decodes that as "0" or undefined).
      const inUse = Number((s as { dbSizeInUse?: string }).dbSizeInUse ?? 0);
      if (inUse > 0) status.dbSizeInUseBytes = inUse;
      return { status };
    } catch (error) {
      const tls = this.tlsFailure(error);
      return { status: { endpoint, reachable: false, error: this.failureText(error, endpoint, tls) }, ...(tls ? { tls } : {}) };
    }
  }

  /** Active alarms of the whole cluster. */
  async alarms(endpoints?: readonly string[]): Promise<EtcdAlarm[]> {
    const { value } = await this.firstAnswer('alarm list', (c) => c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }), endpoints);
    return (value.alarms ?? []).map((a) => ({ memberId: toHexId(a.memberID), alarm: String(a.alarm).toUpperCase() }));
  }

  /** The raw Prometheus text of one member's /metrics endpoint. */
  async metricsText(endpoint: string): Promise<string> {
    try {
      return await withTimeout(this.httpGet(new URL('/metrics', endpoint)), this.options.timeoutMs, `metrics of ${endpoint}`);
    } catch (error) {
      throw this.endpointError(error, endpoint);
    }
  }

  private httpGet(url: URL): Promise<string> {
    return new Promise((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${url.href} answered ${res.statusCode}: ${body.slice(0, 200)}`));
        });
        res.on('error', reject);
      };
      const timeout = this.options.timeoutMs;
      const req =
        url.protocol === 'https:'
          ? https.get(url, { ca: this.options.tls?.ca, cert: this.options.tls?.cert, key: this.options.tls?.key, timeout }, onResponse)
          : http.get(url, { timeout }, onResponse);
      req.on('timeout', () => req.destroy(new Error(`GET ${url.href} timed out`)));
      req.on('error', reject);
    });
  }

  /** Add a learner with the given peer URL; returns its id and the membership after the change. */
  async addLearner(peerURL: string, endpoints?: readonly string[]): Promise<{ id: string; members: EtcdMemberInfo[] }> {
    const { value } = await this.firstAnswer('member add --learner', (c) => c.cluster.memberAdd({ peerURLs: [peerURL], isLearner: true }), endpoints);
    return { id: toHexId(value.member.ID), members: value.members.map(toMemberInfo) };
  }

  /** Remove a member by hex id. */
  async removeMember(id: string, endpoints?: readonly string[]): Promise<void> {
    await this.firstAnswer(`member remove ${id}`, (c) => c.cluster.memberRemove({ ID: toDecimalId(id) }), endpoints);
  }

  /** Promote a learner that has caught up. */
  async promoteMember(id: string, endpoints?: readonly string[]): Promise<void> {
    await this.firstAnswer(`member promote ${id}`, (c) => c.cluster.memberPromote({ ID: toDecimalId(id) }), endpoints);
  }

  /** Hand leadership to another voter; must be sent to the current leader's endpoint. */
  async moveLeader(leaderEndpoint: string, targetId: string): Promise<void> {
    await this.firstAnswer(`move-leader to ${targetId}`, (c) => c.maintenance.moveLeader({ targetID: toDecimalId(targetId) }), [leaderEndpoint]);
  }

  /**
   * HashKV of one member at a revision (0 = its latest). etcd3's maintenance.hashKV() asks gRPC for the wrong
   * method name, so the pool is called directly.
   */
  async hashKv(endpoint: string, revision: number, timeoutMs?: number): Promise<{ hash: string; revision: number; compactRevision: number }> {
    // HashKV reads the whole keyspace: on a large database it takes far longer than a status call.
    const { value } = await this.firstAnswer(
      `hashkv at ${endpoint}`,
      (c) => poolOf(c).exec<{ header: { revision: string }; hash: string; compact_revision: string }>('Maintenance', 'hashKv', { revision }),
      [endpoint],
      timeoutMs,
    );
    return { hash: String(value.hash), revision: Number(value.header.revision), compactRevision: Number(value.compact_revision) };
  }

  /** How many keys one endpoint holds at a revision (0 = its latest), read from that member alone. */
  async keyCount(endpoint: string, revision: number, timeoutMs?: number): Promise<number> {
    const { value } = await this.firstAnswer(
      `key count at ${endpoint}`,
      (c) =>
        poolOf(c).exec<{ count: string }>('KV', 'range', {
          key: Buffer.from([0]),
          range_end: Buffer.from([0]),
          count_only: true,
          serializable: true,
          revision,
        }),
      [endpoint],
      timeoutMs,
    );
    return Number(value.count);
  }

  /** The revision one member serves locally: a serializable read, which a member without quorum still answers. */
  async localRevision(endpoint: string): Promise<number> {
    const { value } = await this.firstAnswer(
      `local revision at ${endpoint}`,
      (c) => poolOf(c).exec<{ header: { revision: string } }>('KV', 'range', { key: Buffer.from('etcd-guardian/none'), serializable: true, limit: 1 }),
      [endpoint],
    );
    return Number(value.header.revision);
  }

  /** The current revision as seen by one endpoint. */
  async revision(endpoint: string): Promise<number> {
    const { value } = await this.firstAnswer(`revision at ${endpoint}`, (c) => c.get('etcd-guardian/none').exec(), [endpoint]);
    return Number(value.header.revision);
  }

  /**
   * Stream a snapshot from one endpoint into `path`, owner-only, through a temporary `.part` name renamed once
   * complete, so that a partial file never looks complete. Returns its revision, size and sha256. A disk that refuses
   * (full, read-only, not writable) rejects with BackupDiskError and a stream that breaks with SnapshotStreamError;
   * neither leaves a partial file, and neither can reach the process as an unhandled 'error' event.
   */
  async snapshot(endpoint: string, path: string, timeoutMs: number): Promise<{ revision: number; bytes: number; sha256: string }> {
    const client = this.client(endpoint);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new TimeoutError(`snapshot from ${endpoint}`, timeoutMs)), timeoutMs);
    let stream: Awaited<ReturnType<Etcd3['maintenance']['snapshot']>> | undefined;
    let revision = 0;
    try {
      stream = await withTimeout(client.maintenance.snapshot(), timeoutMs, `snapshot from ${endpoint}`);
      // etcd3 types the stream by its events only; it is a gRPC readable, whose iterator reads as fast as the disk writes.
      if (!(Symbol.asyncIterator in stream)) throw new Error('the etcd client returned a snapshot stream that cannot be read in order');
      const responses = stream as AsyncIterable<{ header?: { revision?: string }; blob: Uint8Array }>;
      const blobs = async function* (): AsyncGenerator<Uint8Array> {
        for await (const response of responses) {
          // The first header says the revision the snapshot was taken at.
          if (!revision && response.header?.revision) revision = Number(response.header.revision);
          yield Buffer.from(response.blob);
        }
      };
      const written = await writeBackupFile(path, blobs(), { source: `etcd ${endpoint}`, signal: deadline.signal });
      return { revision, ...written };
    } catch (error) {
      // A failed write stops the call on the server too, rather than leaving etcd streaming to nobody.
      (stream as { cancel?: () => void } | undefined)?.cancel?.();
      throw error instanceof BackupDiskError ? error : this.endpointError(error, endpoint);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Defragment one member's database. The member stops serving while bbolt rewrites its file: the caller decides
   * whether the cluster can spare it. Within `timeoutMs`, which must cover the rewrite of the whole database.
   */
  async defragment(endpoint: string, timeoutMs: number): Promise<void> {
    await this.firstAnswer(`defragment ${endpoint}`, (c) => c.maintenance.defragment(), [endpoint], timeoutMs);
  }

  /**
   * Compact the keyspace's history up to `revision`, physically (the call returns once the pages are free). A
   * revision already compacted is refused by etcd with ETCD_OUT_OF_RANGE-like text: the caller treats it as done.
   */
  async compact(revision: number, endpoints?: readonly string[], timeoutMs?: number): Promise<void> {
    await this.firstAnswer(`compact to revision ${revision}`, (c) => c.kv.compact({ revision, physical: true }), endpoints, timeoutMs);
  }

  /** Disarm one member's alarm (NOSPACE, CORRUPT). */
  async disarmAlarm(memberId: string, alarm: string, endpoints?: readonly string[]): Promise<void> {
    const type = alarm.toUpperCase() === 'NOSPACE' ? 'Nospace' : alarm.toUpperCase() === 'CORRUPT' ? 'Corrupt' : undefined;
    if (!type) throw new Error(`unknown alarm ${JSON.stringify(alarm)}: expected NOSPACE or CORRUPT`);
    await this.firstAnswer(`alarm disarm ${alarm} of ${memberId}`, (c) => c.maintenance.alarm({ action: 'Deactivate', memberID: toDecimalId(memberId), alarm: type }), endpoints);
  }

  /** Write one key; returns the revision of the write. */
  async put(key: string, value: string, endpoints?: readonly string[]): Promise<{ revision: number }> {
    const { value: answer } = await this.firstAnswer(`put ${key}`, (c) => c.put(key).value(value).exec(), endpoints);
    return { revision: Number(answer.header.revision) };
  }

  /** Close every client. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
