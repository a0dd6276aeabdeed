import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { TimeoutError } from '../../../src/errors';
import { EtcdRequestError, EtcdUnavailableError } from '../../../src/etcd/errors';
import type { EndpointStatus, EtcdAlarm, EtcdMemberInfo } from '../../../src/etcd/gateway';
import type { EtcdPort } from '../../../src/etcd/port';
import { GRPC_NUMBERS, type Answer, type EtcdModel, type GrpcCode } from './etcd-model';
import type { PortCalls } from './faults';

/**
 * The EtcdPort over the model, failing exactly as EtcdGateway does: one attempt per endpoint in order; a refusal
 * from etcd (NotFound, FailedPrecondition, AlreadyExists, InvalidArgument) is thrown at once as EtcdRequestError;
 * anything else (Unavailable such as "unhealthy cluster", a refused connection, a timeout) moves on to the next
 * endpoint, and EtcdUnavailableError lists them all when none answered. A timeout costs its deadline in virtual time.
 */

/** The codes asRequestError (src/etcd/gateway.ts) turns into EtcdRequestError; every other one is "no answer". */
const REQUEST_CODES: Partial<Record<GrpcCode, EtcdRequestError['code']>> = {
  NOT_FOUND: 'ETCD_NOT_FOUND',
  FAILED_PRECONDITION: 'ETCD_FAILED_PRECONDITION',
  ALREADY_EXISTS: 'ETCD_ALREADY_EXISTS',
  INVALID_ARGUMENT: 'ETCD_INVALID_ARGUMENT',
  OUT_OF_RANGE: 'ETCD_OUT_OF_RANGE',
  RESOURCE_EXHAUSTED: 'ETCD_NO_SPACE',
};

/** grpc-js's message for a status: "9 FAILED_PRECONDITION: etcdserver: ...". */
export function grpcText(code: GrpcCode, message: string): string {
  return `${GRPC_NUMBERS[code]} ${code}: ${message}`;
}

/** What the model's etcd port needs besides the model. */
export interface ModelEtcdPortOptions {
  /** The gateway's configured endpoints, used when a call names none (the worker configures none). */
  endpoints: readonly string[];
  /** The gateway's per-call deadline. */
  timeoutMs: number;
  /** Let virtual time pass while a call waits for an endpoint that never answers. */
  advance(ms: number): void;
}

/** EtcdPort over the in-memory model. */
export class ModelEtcdPort implements EtcdPort {
  constructor(
    private readonly model: EtcdModel,
    private readonly calls: PortCalls,
    private readonly options: ModelEtcdPortOptions,
  ) {}

  /** Mirror of EtcdGateway.firstAnswer. */
  private firstAnswer<T>(operation: string, ask: (endpoint: string) => Answer<T>, endpoints: readonly string[] = this.options.endpoints, timeoutMs = this.options.timeoutMs): { value: T; endpoint: string } {
    const failures: { endpoint: string; error: string }[] = [];
    for (const endpoint of endpoints) {
      const answer = ask(endpoint);
      if (answer.ok) return { value: answer.value, endpoint };
      if (answer.kind === 'status') {
        const code = REQUEST_CODES[answer.code];
        // etcd answered and said no: asking another member would get the same answer, or repeat a change.
        if (code) throw new EtcdRequestError(code, operation, endpoint, grpcText(answer.code, answer.message));
        failures.push({ endpoint, error: grpcText(answer.code, answer.message) });
      } else {
        failures.push({ endpoint, error: this.noAnswer(answer.why, answer.detail, `${operation} at ${endpoint}`, timeoutMs) });
      }
    }
    throw new EtcdUnavailableError(operation, failures);
  }

  /** The text of an endpoint that gave no answer; a timeout first lets its deadline pass. */
  private noAnswer(why: 'refused' | 'timeout', detail: string, operation: string, timeoutMs: number): string {
    if (why === 'timeout') {
      this.options.advance(timeoutMs);
      return new TimeoutError(operation, timeoutMs).message;
    }
    return `14 UNAVAILABLE: No connection established. Last error: ${detail}`;
  }

  private unavailable(operation: string, endpoints: readonly string[] | undefined) {
    return (message: string) => new EtcdUnavailableError(operation, (endpoints ?? this.options.endpoints).slice(0, 1).map((endpoint) => ({ endpoint, error: message })));
  }

  /** The member list, through the leader, from the first endpoint that answers. */
  memberList(endpoints?: readonly string[]): Promise<{ members: EtcdMemberInfo[]; endpoint: string }> {
    return this.calls.run('etcd', 'memberList', [endpoints], { error: this.unavailable('member list', endpoints) }, () => {
      const { value, endpoint } = this.firstAnswer('member list', (e) => this.model.memberList(e), endpoints);
      return { members: value, endpoint };
    });
  }

  /** The status of one endpoint; never throws. */
  endpointStatus(endpoint: string): Promise<EndpointStatus> {
    const asValue = (error: unknown): EndpointStatus => ({ endpoint, reachable: false, error: error instanceof Error ? error.message : String(error) });
    return this.calls.run('etcd', 'endpointStatus', [endpoint], { error: (m) => new Error(m), asValue }, () => {
      const answer = this.model.status(endpoint);
      if (answer.ok) return { endpoint, reachable: true, ...answer.value };
      const error = answer.kind === 'status' ? grpcText(answer.code, answer.message) : this.noAnswer(answer.why, answer.detail, `status of ${endpoint}`, this.options.timeoutMs);
      return { endpoint, reachable: false, error };
    });
  }

  /** Active alarms of the whole cluster. */
  alarms(endpoints?: readonly string[]): Promise<EtcdAlarm[]> {
    return this.calls.run('etcd', 'alarms', [endpoints], { error: this.unavailable('alarm list', endpoints) }, () => this.firstAnswer('alarm list', (e) => this.model.alarms(e), endpoints).value);
  }

  /** One member's /metrics text; a member that does not answer throws as the HTTP client does. */
  metricsText(endpoint: string): Promise<string> {
    return this.calls.run('etcd', 'metricsText', [endpoint], { error: (m) => new Error(m) }, () => {
      const answer = this.model.metrics(endpoint);
      if (answer.ok) return answer.value;
      if (answer.kind === 'no-answer' && answer.why === 'timeout') {
        this.options.advance(this.options.timeoutMs);
        throw new TimeoutError(`metrics of ${endpoint}`, this.options.timeoutMs);
      }
      throw new Error(answer.kind === 'status' ? answer.message : answer.detail);
    });
  }

  /** `member add --learner`. */
  addLearner(peerURL: string, endpoints?: readonly string[]): Promise<{ id: string; members: EtcdMemberInfo[] }> {
    return this.calls.run('etcd', 'addLearner', [peerURL, endpoints], { error: this.unavailable('member add --learner', endpoints) }, () => {
      return this.firstAnswer('member add --learner', (e) => this.model.addLearner(e, peerURL), endpoints).value;
    });
  }

  /** `member remove`. */
  removeMember(id: string, endpoints?: readonly string[]): Promise<void> {
    return this.calls.run('etcd', 'removeMember', [id, endpoints], { error: this.unavailable(`member remove ${id}`, endpoints) }, () => {
      this.firstAnswer(`member remove ${id}`, (e) => this.model.removeMember(e, id), endpoints);
    });
  }

  /** `member promote`. */
  promoteMember(id: string, endpoints?: readonly string[]): Promise<void> {
    return this.calls.run('etcd', 'promoteMember', [id, endpoints], { error: this.unavailable(`member promote ${id}`, endpoints) }, () => {
      this.firstAnswer(`member promote ${id}`, (e) => this.model.promoteMember(e, id), endpoints);
    });
  }

  /** `move-leader`, at the leader's endpoint only. */
  moveLeader(leaderEndpoint: string, targetId: string): Promise<void> {
    return this.calls.run('etcd', 'moveLeader', [leaderEndpoint, targetId], { error: this.unavailable(`move-leader to ${targetId}`, [leaderEndpoint]) }, () => {
      this.firstAnswer(`move-leader to ${targetId}`, (e) => this.model.moveLeader(e, targetId), [leaderEndpoint]);
    });
  }

  /** HashKV of one member. */
  hashKv(endpoint: string, revision: number, timeoutMs?: number): Promise<{ hash: string; revision: number; compactRevision: number }> {
    return this.calls.run('etcd', 'hashKv', [endpoint, revision], { error: this.unavailable(`hashkv at ${endpoint}`, [endpoint]) }, () => {
      return this.firstAnswer(`hashkv at ${endpoint}`, (e) => this.model.hashKv(e, revision), [endpoint], timeoutMs).value;
    });
  }

  /** The keys one member holds now: the model keeps no history, so a past revision reads as the latest. */
  keyCount(endpoint: string, revision: number, timeoutMs?: number): Promise<number> {
    return this.calls.run('etcd', 'keyCount', [endpoint, revision], { error: this.unavailable(`key count at ${endpoint}`, [endpoint]) }, () => {
      return this.firstAnswer(
        `key count at ${endpoint}`,
        (e) => {
          const answer = this.model.snapshot(e);
          return answer.ok ? { ok: true as const, value: answer.value.keys.length } : answer;
        },
        [endpoint],
        timeoutMs,
      ).value;
    });
  }

  /** The revision one member holds, read locally. */
  localRevision(endpoint: string): Promise<number> {
    return this.calls.run('etcd', 'localRevision', [endpoint], { error: this.unavailable(`local revision at ${endpoint}`, [endpoint]) }, () => {
      return this.firstAnswer(
        `local revision at ${endpoint}`,
        (e) => {
          const answer = this.model.snapshot(e);
          return answer.ok ? { ok: true as const, value: answer.value.revision } : answer;
        },
        [endpoint],
      ).value;
    });
  }

  /** The current revision, read linearizably at one endpoint. */
  revision(endpoint: string): Promise<number> {
    return this.calls.run('etcd', 'revision', [endpoint], { error: this.unavailable(`revision at ${endpoint}`, [endpoint]) }, () => {
      return this.firstAnswer(`revision at ${endpoint}`, (e) => this.model.linearizableRevision(e), [endpoint]).value;
    });
  }

  /** A snapshot: the member's keys, one `key=value` a line, written to a temporary name and renamed. */
  snapshot(endpoint: string, path: string, timeoutMs: number): Promise<{ revision: number; bytes: number; sha256: string }> {
    return this.calls.run('etcd', 'snapshot', [endpoint, path], { error: (m) => new Error(m) }, () => {
      const answer = this.model.snapshot(endpoint);
      if (!answer.ok) {
        if (answer.kind === 'no-answer' && answer.why === 'timeout') {
          this.options.advance(timeoutMs);
          throw new TimeoutError(`snapshot from ${endpoint}`, timeoutMs);
        }
        throw new Error(answer.kind === 'status' ? grpcText(answer.code, answer.message) : `14 UNAVAILABLE: No connection established. Last error: ${answer.detail}`);
      }
      const body = Buffer.from(`# etcd model snapshot at revision ${answer.value.revision}\n${answer.value.keys.map(([k, v]) => `${k}=${v}\n`).join('')}`);
      writeFileSync(`${path}.part`, body, { mode: 0o600 });
      renameSync(`${path}.part`, path);
      return { revision: answer.value.revision, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    });
  }

  /** Defragment one member; served locally. */
  defragment(endpoint: string, timeoutMs: number): Promise<void> {
    return this.calls.run('etcd', 'defragment', [endpoint], { error: this.unavailable(`defragment ${endpoint}`, [endpoint]) }, () => {
      this.firstAnswer(`defragment ${endpoint}`, (e) => this.model.defragment(e), [endpoint], timeoutMs);
    });
  }

  /** Compact history, through Raft. */
  compact(revision: number, endpoints?: readonly string[], timeoutMs?: number): Promise<void> {
    return this.calls.run('etcd', 'compact', [revision, endpoints], { error: this.unavailable(`compact to revision ${revision}`, endpoints) }, () => {
      this.firstAnswer(`compact to revision ${revision}`, (e) => this.model.compact(e, revision), endpoints, timeoutMs);
    });
  }

  /** Disarm one member's alarm. */
  disarmAlarm(memberId: string, alarm: string, endpoints?: readonly string[]): Promise<void> {
    return this.calls.run('etcd', 'disarmAlarm', [memberId, alarm, endpoints], { error: this.unavailable(`alarm disarm ${alarm} of ${memberId}`, endpoints) }, () => {
      this.firstAnswer(`alarm disarm ${alarm} of ${memberId}`, (e) => this.model.disarmAlarm(e, memberId, alarm), endpoints);
    });
  }

  /** A client write. */
  put(key: string, value: string, endpoints?: readonly string[]): Promise<{ revision: number }> {
    return this.calls.run('etcd', 'put', [key, endpoints], { error: this.unavailable(`put ${key}`, endpoints) }, () => {
      return this.firstAnswer(`put ${key}`, (e) => this.model.putAt(e, key, value), endpoints).value;
    });
  }

  /** Nothing to release. */
  close(): void {}
}
