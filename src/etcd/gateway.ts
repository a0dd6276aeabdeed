import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, renameSync } from 'node:fs';
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
  type IOptions,
} from 'etcd3';
import type { ConnectionPool } from 'etcd3/lib/connection-pool';
import { errorText, withTimeout } from '../errors';
import {
  classifyTlsFailure,
  EtcdRequestError,
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
  version?: string;
}

/** An active alarm. */
export interface EtcdAlarm {
  memberId: string;
  alarm: string;
}

/** The refusal behind an etcd3 error, or undefined when the endpoint did not answer at all. */
function asRequestError(error: unknown, operation: string, endpoint: string): EtcdRequestError | undefined {
  const detail = errorText(error);
  if (error instanceof GRPCNotFoundError) return new EtcdRequestError('ETCD_NOT_FOUND', operation, endpoint, detail);
  if (error instanceof GRPCFailedPreconditionError) return new EtcdRequestError('ETCD_FAILED_PRECONDITION', operation, endpoint, detail);
  if (error instanceof GRPCAlreadyExistsError) return new EtcdRequestError('ETCD_ALREADY_EXISTS', operation, endpoint, detail);
  if (error instanceof GRPCInvalidArgumentError) return new EtcdRequestError('ETCD_INVALID_ARGUMENT', operation, endpoint, detail);
  if (error instanceof EtcdPermissionDeniedError) return new EtcdRequestError('ETCD_PERMISSION_DENIED', operation, endpoint, detail);
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

  constructor(
    private readonly options: { endpoints: readonly string[]; tls?: EtcdTls; timeoutMs: number },
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
    const failures: { endpoint: string; error: string; tls?: TlsFailure }[] = [];
    for (const endpoint of endpoints) {
      try {
        return { value: await withTimeout(fn(this.client(endpoint), endpoint), timeoutMs, `${operation} at ${endpoint}`), endpoint };
      } catch (error) {
        const refusal = asRequestError(error, operation, endpoint);
        // etcd answered and said no: asking another member would get the same answer, or repeat a change.
        if (refusal) throw refusal;
        const tls = this.tlsFailure(error);
        failures.push({ endpoint, error: this.failureText(error, endpoint, tls), ...(tls ? { tls } : {}) });
      }
    }
    const definitive = failures.flatMap((f) => (f.tls && isDefinitiveTlsFailure(f.tls) ? [{ endpoint: f.endpoint, tls: f.tls }] : []));
    if (failures.length > 0 && definitive.length === failures.length) {
      throw new EtcdTlsError(`${operation}: ${this.tlsSummary(definitive)}`, definitive[0]?.tls.kind);
    }
    throw new EtcdUnavailableError(operation, failures.map(({ endpoint, error }) => ({ endpoint, error })));
  }

  /** The cluster's members, from the first endpoint that answers. */
  async memberList(endpoints?: readonly string[]): Promise<{ members: EtcdMemberInfo[]; endpoint: string }> {
    const { value, endpoint } = await this.firstAnswer('member list', (c) => c.cluster.memberList({ linearizable: false }), endpoints);
    return { members: value.members.map(toMemberInfo), endpoint };
  }

  /** The status of one endpoint. Never throws: an endpoint that does not answer is reported unreachable. */
  async endpointStatus(endpoint: string): Promise<EndpointStatus> {
    try {
      const s = await withTimeout(this.client(endpoint).maintenance.status(), this.options.timeoutMs, `status of ${endpoint}`);
      return {
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
    } catch (error) {
      return { endpoint, reachable: false, error: this.failureText(error, endpoint) };
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

  /** The current revision as seen by one endpoint. */
  async revision(endpoint: string): Promise<number> {
    const { value } = await this.firstAnswer(`revision at ${endpoint}`, (c) => c.get('etcd-guardian/none').exec(), [endpoint]);
    return Number(value.header.revision);
  }

  /**
   * Stream a snapshot from one endpoint into `path` (written to a temporary name, then renamed, so that a partial
   * file never looks complete). Returns its revision, size and sha256.
   */
  async snapshot(endpoint: string, path: string, timeoutMs: number): Promise<{ revision: number; bytes: number; sha256: string }> {
    const client = this.client(endpoint);
    const temporary = `${path}.part`;
    const run = async (): Promise<{ revision: number; bytes: number; sha256: string }> => {
      const stream = await client.maintenance.snapshot();
      const file = createWriteStream(temporary);
      const hash = createHash('sha256');
      let bytes = 0;
      let revision = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk) => {
          if (!revision && chunk.header?.revision) revision = Number(chunk.header.revision);
          const blob = Buffer.from(chunk.blob);
          bytes += blob.length;
          hash.update(blob);
          file.write(blob);
        });
        stream.on('end', () => file.end(() => resolve()));
        stream.on('error', (error) => {
          file.destroy();
          reject(error);
        });
      });
      renameSync(temporary, path);
      return { revision, bytes, sha256: hash.digest('hex') };
    };
    try {
      return await withTimeout(run(), timeoutMs, `snapshot from ${endpoint}`);
    } catch (error) {
      throw this.endpointError(error, endpoint);
    }
  }

  /** Close every client. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
