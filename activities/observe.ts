import type { KubeSnapshot, RaftMember, RaftSnapshot } from '../src/domain/assemble';
import { assembleObservation } from '../src/domain/assemble';
import { clientURLFor } from '../src/domain/membership';
import { plainCause } from '../src/domain/messages';
import { isMemberHealthy } from '../src/domain/quorum';
import type { ClusterObservation, RaftStatus } from '../src/domain/observation';
import { errorText } from '../src/errors';
import type { EtcdAlarm, EtcdMemberInfo } from '../src/etcd/gateway';
import { MembershipUnknownError } from './errors';
import type { PodInfo } from '../src/kube/convert';
import { metricsReadReason } from '../src/domain/metrics-freshness';
import { ETCD_FIGURE_METRICS, extractEtcdFigures, type HistogramMemory } from '../src/metrics/etcd-metrics';
import { parsePrometheusText } from '../src/metrics/prometheus';
import type { ClusterRuntime } from './runtime';

/** Reading a cluster's state through the gateways: shared by the monitor and the migration's guards. */

function seedEndpoints(runtime: ClusterRuntime, pods: readonly PodInfo[]): string[] {
  const fromPods = pods
    .filter((p) => !p.terminating && (runtime.addressing.mode === 'headless-service' || p.hostIP))
    .map((p) => clientURLFor({ podName: p.name, ...(p.hostIP ? { nodeIP: p.hostIP } : {}) }, runtime.addressing, runtime.clientPort, runtime.scheme));
  return [...new Set([...runtime.seedEndpoints, ...fromPods])];
}

function memoryFor(runtime: ClusterRuntime, memberId: string): HistogramMemory {
  let memory = runtime.histograms.get(memberId);
  if (!memory) {
    memory = new Map();
    runtime.histograms.set(memberId, memory);
  }
  return memory;
}

/**
 * How fresh an observation must be. `metricsMaxAgeMs`: how old members' /metrics figures and node usage may be (0, the
 * default, reads them on every call). `watched`: pods and nodes may come from the worker's watches of them (at most
 * WATCH_TIMING.maxQuietMs behind the API server); otherwise they are listed. The monitor's cycle allows both; a change's guards neither.
 */
export interface ReadOptions {
  metricsMaxAgeMs?: number;
  watched?: boolean;
}

/**
 * One member's status and /metrics figures; its alarms are the caller's to add. The metrics text may have been asked
 * for already; when it was not and the member's last figures are recent enough (metricsReadReason), they stand.
 */
async function observeMember(
  runtime: ClusterRuntime,
  member: EtcdMemberInfo,
  prefetched: { metrics: ReadonlyMap<string, Promise<string | undefined>>; atMs: number },
  metricsMaxAgeMs: number,
  nowMs: number,
): Promise<RaftMember> {
  const alarms: string[] = [];
  const endpoint = member.clientURLs[0];
  let status: RaftStatus;
  if (!endpoint) {
    status = { reachable: false, error: 'member has not started (no client URL yet)', alarms };
  } else {
    const s = await runtime.etcd.endpointStatus(endpoint);
    status = { reachable: s.reachable, alarms };
    if (s.error !== undefined) status.error = s.error;
    if (s.leaderId !== undefined) status.leaderId = s.leaderId;
    if (s.raftTerm !== undefined) status.raftTerm = s.raftTerm;
    if (s.raftIndex !== undefined) status.raftIndex = s.raftIndex;
    if (s.raftAppliedIndex !== undefined) status.raftAppliedIndex = s.raftAppliedIndex;
    if (s.dbSizeBytes !== undefined) status.dbSizeBytes = s.dbSizeBytes;
    if (s.dbSizeInUseBytes !== undefined) status.dbSizeInUseBytes = s.dbSizeInUseBytes;
    if (s.version !== undefined && s.version !== '') status.version = s.version;
    // Figures only of the member that answered as this one: an address reused by a successor is not its figures.
    if (s.reachable && (s.memberId === undefined || s.memberId === member.id)) {
      const now = { atMs: nowMs, endpoint, raftTerm: s.raftTerm, leaderId: s.leaderId };
      const last = runtime.metricsFigures.get(member.id);
      const early = prefetched.metrics.get(endpoint);
      if (early === undefined && last && metricsReadReason(last.reading, now, metricsMaxAgeMs) === undefined) {
        // The last figures stand; whether the member knows a leader is its status's, which is fresh.
        Object.assign(status, last.figures, s.leaderId !== undefined && last.figures.hasLeader !== undefined ? { hasLeader: s.leaderId !== '0' } : {});
      } else {
        // Asked early, or asked now that the status answered (usually the member list's, at once).
        const text = await (early ?? metricsOf(runtime, endpoint));
        runtime.metricsFigures.delete(member.id);
        if (text !== undefined) {
          try {
            const figures = extractEtcdFigures(parsePrometheusText(text, ETCD_FIGURE_METRICS), memoryFor(runtime, member.id));
            Object.assign(status, figures);
            // Read when it was asked: early, before the member list, or now.
            const readAtMs = early !== undefined ? prefetched.atMs : now.atMs;
            runtime.metricsFigures.set(member.id, { reading: { readAtMs, endpoint, raftTerm: s.raftTerm, leaderId: s.leaderId }, figures });
          } catch {
            // The status answered; missing figures are reported as a missing signal by the assessment.
          }
        }
      }
    } else {
      // A member that did not answer may come back restarted: its figures are read afresh then.
      runtime.metricsFigures.delete(member.id);
    }
  }
  return { ...member, status };
}

/** One endpoint's metrics text, or nothing when it does not answer (the assessment reports missing figures). */
function metricsOf(runtime: ClusterRuntime, endpoint: string): Promise<string | undefined> {
  return runtime.etcd.metricsText(endpoint).then(
    (text) => text,
    () => undefined,
  );
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The alarms by member id; a failed list is a missing signal. */
function alarmsById(alarms: Settled<EtcdAlarm[]>, missingSignals: string[]): Map<string, string[]> {
  if (!alarms.ok) {
    missingSignals.push('alarms');
    return new Map();
  }
  return alarms.value.reduce((map, a) => map.set(a.memberId, [...(map.get(a.memberId) ?? []), a.alarm]), new Map<string, string[]>());
}

/**
 * The calls an observation starts before the pods are listed, at the endpoints the last one found: the member list,
 * the alarms (where the last list was read) and every member's metrics.
 */
interface EarlyCalls {
  seeds: string[];
  list: Promise<Settled<{ members: EtcdMemberInfo[]; endpoint: string }>>;
  alarms: Promise<Settled<EtcdAlarm[]>>;
  metrics: Map<string, Promise<string | undefined>>;
  /** When they were started. */
  atMs: number;
}

function startEarly(runtime: ClusterRuntime, last: NonNullable<ClusterRuntime['lastMembership']>, metricsMaxAgeMs: number, atMs: number): EarlyCalls {
  const seeds = [...new Set([...runtime.seedEndpoints, ...last.clientURLs])];
  // Metrics early only of the members whose last figures are due by age or endpoint: a new term shows only in the status.
  const due = (last.members ?? last.clientURLs.map((clientURL) => ({ id: '', clientURL }))).filter(
    (m) => metricsReadReason(runtime.metricsFigures.get(m.id)?.reading, { atMs, endpoint: m.clientURL }, metricsMaxAgeMs) !== undefined,
  );
  return {
    seeds,
    list: settle(runtime.etcd.memberList(seeds)),
    alarms: settle(runtime.etcd.alarms([last.endpoint])),
    metrics: new Map(due.map((m) => [m.clientURL, metricsOf(runtime, m.clientURL)])),
    atMs,
  };
}

/**
 * Members, their Raft status and /metrics figures, and alarms. A member that does not answer is reported, not fatal.
 * When the member list cannot be read, the members are stand-ins for the pods and `membershipUnknown` says why.
 *
 * The member list is read from the endpoints of the configured seeds and the pods. When the last observation found
 * the members, the list is asked of their endpoints (and the seeds) at once, beside the pod listing: a list read from
 * the leader a majority of the answers agree on is the membership whichever endpoints were asked, so it is kept. Only
 * when it fails and the pods show endpoints it did not ask is the list asked again, of those too.
 */
export async function readRaft(
  runtime: ClusterRuntime,
  now: () => Date,
  listing: Promise<PodInfo[]> = listPods(runtime),
  options: ReadOptions = {},
): Promise<RaftSnapshot> {
  const metricsMaxAgeMs = options.metricsMaxAgeMs ?? 0;
  const early = runtime.lastMembership ? startEarly(runtime, runtime.lastMembership, metricsMaxAgeMs, now().getTime()) : undefined;
  const missingSignals: string[] = [];
  let pods: PodInfo[] = [];
  try {
    pods = await listing;
  } catch (error) {
    missingSignals.push('pods');
    if (runtime.seedEndpoints.length === 0 && early === undefined) {
      throw new Error(`cannot find etcd endpoints: listing pods failed (${plainCause(errorText(error))}) and no endpoints are configured`, { cause: error });
    }
  }
  const seeds = seedEndpoints(runtime, pods);
  const earlyList = early ? await early.list : undefined;
  const fromEarly = early !== undefined && (earlyList?.ok === true || seeds.every((s) => early.seeds.includes(s))) ? early : undefined;
  const listed = fromEarly && earlyList ? earlyList : await settle(runtime.etcd.memberList(seeds));
  if (!listed.ok) {
    // No member list: report every pod as an unreachable voter, so that the assessment says quorum is lost, and say
    // that the membership is unknown, so that no step takes a stand-in's missing peer URL for an absent member.
    delete runtime.lastMembership;
    const reason = errorText(listed.error);
    return {
      observedAt: now().toISOString(),
      source: `none: ${reason}`,
      missingSignals: [...missingSignals, 'member-list'],
      membershipUnknown: reason,
      members: pods.map((p) => ({ id: `pod:${p.name}`, name: p.name, peerURLs: [], clientURLs: [], isLearner: false, status: { reachable: false, error: reason, alarms: [] } })),
    };
  }
  const list = listed.value;
  // The alarms and every member's status and metrics at once: the cycle's time is its longest chain of round trips.
  const [alarms, observed] = await Promise.all([
    (fromEarly?.alarms ?? Promise.resolve(undefined)).then((early) => (early?.ok ? early : settle(runtime.etcd.alarms([list.endpoint])))),
    Promise.all(list.members.map((m) => observeMember(runtime, m, fromEarly ?? { metrics: new Map(), atMs: 0 }, metricsMaxAgeMs, now().getTime()))),
  ]);
  const byId = alarmsById(alarms, missingSignals);
  const members = observed.map((m) => ({ ...m, status: { ...m.status, alarms: byId.get(m.id) ?? [] } }));
  const listedMembers = list.members.flatMap((m) => m.clientURLs.slice(0, 1).map((clientURL) => ({ id: m.id, clientURL })));
  runtime.lastMembership = { endpoint: list.endpoint, clientURLs: listedMembers.map((m) => m.clientURL), members: listedMembers };
  for (const id of runtime.metricsFigures.keys()) if (!list.members.some((m) => m.id === id)) runtime.metricsFigures.delete(id);
  return { observedAt: now().toISOString(), source: list.endpoint, missingSignals, members };
}

/** Nodes (conditions, taints, allocatable, usage) and the cluster's pods. Missing usage is reported, not fatal. */
export async function readKube(runtime: ClusterRuntime, now: () => Date, listing: Promise<PodInfo[]> = listPods(runtime), options: ReadOptions = {}): Promise<KubeSnapshot> {
  // Node usage is metrics too: it may be as old as the etcd members' figures.
  const [nodes, pods, usage] = await Promise.all([
    runtime.kube.listNodes(runtime.topology, { watched: options.watched === true }),
    listing,
    runtime.kube.nodeUsage(options.metricsMaxAgeMs ?? 0),
  ]);
  const missingSignals: string[] = [];
  if (usage.ok) {
    for (const node of nodes) {
      const u = usage.usage.get(node.name);
      if (u) node.usage = u;
    }
  } else {
    missingSignals.push('node-usage');
  }
  return { observedAt: now().toISOString(), nodes, pods, missingSignals };
}

/** The cluster's pods, listed once for both halves of an observation. */
function listPods(runtime: ClusterRuntime, options: ReadOptions = {}): Promise<PodInfo[]> {
  return runtime.kube.listPods(runtime.namespace, runtime.podSelector, { watched: options.watched === true });
}

/** Both halves of an observation, at once, from one listing of the pods. */
export function readBoth(runtime: ClusterRuntime, now: () => Date, options: ReadOptions = {}): Promise<[RaftSnapshot, KubeSnapshot]> {
  const listing = listPods(runtime, options);
  // readRaft survives a failed listing and readKube reports it: neither leaves the rejection unobserved.
  return Promise.all([readRaft(runtime, now, listing, options), readKube(runtime, now, listing, options)]);
}

/** A fresh, joined observation of the whole cluster. */
export async function observeCluster(runtime: ClusterRuntime, now: () => Date): Promise<ClusterObservation> {
  const [raft, kube] = await readBoth(runtime, now);
  return assembleObservation(runtime.name, raft, kube, runtime.addressing);
}

/**
 * A fresh observation to base a change on: like observeCluster, but a membership that cannot be read is a retryable
 * MembershipUnknownError, never a list of stand-ins that would make a voter look absent.
 */
export async function observeForChange(runtime: ClusterRuntime, now: () => Date): Promise<ClusterObservation> {
  const obs = await observeCluster(runtime, now);
  if (obs.membershipUnknown !== undefined) {
    throw new MembershipUnknownError(`cluster ${runtime.name}: the membership is unknown, so no change is safe until a member list succeeds: ${obs.membershipUnknown}`);
  }
  return obs;
}

/** What the cluster looks like, in one line, for failure messages. */
export function describeCluster(obs: ClusterObservation): string {
  const members = obs.members
    .map((m) => `${m.name || m.id}${m.isLearner ? ' (learner)' : ''} on ${m.nodeName ?? '?'}: ${isMemberHealthy(m) ? 'healthy' : 'down'}`)
    .join(', ');
  return `members now: ${members || 'none'}`;
}

/** Client endpoints of the voters that answer, to send membership changes to. */
export function healthyEndpoints(obs: ClusterObservation): string[] {
  return obs.members.filter((m) => !m.isLearner && isMemberHealthy(m) && m.clientURLs[0]).map((m) => m.clientURLs[0] ?? '');
}

/** The voter to take a snapshot from: a healthy follower when there is one, so that the leader's disk is spared. */
export function snapshotSource(obs: ClusterObservation): (ClusterObservation['members'][number] & { endpoint: string }) | undefined {
  const candidates = obs.members.flatMap((m) => (!m.isLearner && isMemberHealthy(m) && m.clientURLs[0] !== undefined ? [{ ...m, endpoint: m.clientURLs[0] }] : []));
  return candidates.find((m) => m.status.leaderId !== m.id) ?? candidates[0];
}
