import type { KubeSnapshot, RaftMember, RaftSnapshot } from '../src/domain/assemble';
import { assembleObservation } from '../src/domain/assemble';
import { clientURLFor } from '../src/domain/membership';
import { plainCause } from '../src/domain/messages';
import { isMemberHealthy } from '../src/domain/quorum';
import type { ClusterObservation, RaftStatus } from '../src/domain/observation';
import { errorText } from '../src/errors';
import type { EtcdMemberInfo } from '../src/etcd/gateway';
import { MembershipUnknownError } from './errors';
import type { PodInfo } from '../src/kube/convert';
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

/** One member's status and /metrics figures; its alarms are the caller's to add. */
async function observeMember(runtime: ClusterRuntime, member: EtcdMemberInfo): Promise<RaftMember> {
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
    if (s.reachable) {
      try {
        Object.assign(status, extractEtcdFigures(parsePrometheusText(await runtime.etcd.metricsText(endpoint), ETCD_FIGURE_METRICS), memoryFor(runtime, member.id)));
      } catch {
        // The status answered; missing figures are reported as a missing signal by the assessment.
      }
    }
  }
  return { ...member, status };
}

/**
 * Members, their Raft status and /metrics figures, and alarms. A member that does not answer is reported, not fatal.
 * When the member list cannot be read, the members are stand-ins for the pods and `membershipUnknown` says why.
 */
export async function readRaft(runtime: ClusterRuntime, now: () => Date, listing: Promise<PodInfo[]> = listPods(runtime)): Promise<RaftSnapshot> {
  const missingSignals: string[] = [];
  let pods: PodInfo[] = [];
  try {
    pods = await listing;
  } catch (error) {
    missingSignals.push('pods');
    if (runtime.seedEndpoints.length === 0) {
      throw new Error(`cannot find etcd endpoints: listing pods failed (${plainCause(errorText(error))}) and no endpoints are configured`, { cause: error });
    }
  }
  const seeds = seedEndpoints(runtime, pods);
  let list: { members: EtcdMemberInfo[]; endpoint: string };
  try {
    list = await runtime.etcd.memberList(seeds);
  } catch (error) {
    // No member list: report every pod as an unreachable voter, so that the assessment says quorum is lost, and say
    // that the membership is unknown, so that no step takes a stand-in's missing peer URL for an absent member.
    const reason = errorText(error);
    return {
      observedAt: now().toISOString(),
      source: `none: ${reason}`,
      missingSignals: [...missingSignals, 'member-list'],
      membershipUnknown: reason,
      members: pods.map((p) => ({ id: `pod:${p.name}`, name: p.name, peerURLs: [], clientURLs: [], isLearner: false, status: { reachable: false, error: reason, alarms: [] } })),
    };
  }
  // The alarms and every member's status and metrics at once: the cycle's time is its longest chain of round trips.
  const [alarmsById, observed] = await Promise.all([
    runtime.etcd.alarms([list.endpoint]).then(
      (alarms) => alarms.reduce((map, a) => map.set(a.memberId, [...(map.get(a.memberId) ?? []), a.alarm]), new Map<string, string[]>()),
      () => {
        missingSignals.push('alarms');
        return new Map<string, string[]>();
      },
    ),
    Promise.all(list.members.map((m) => observeMember(runtime, m))),
  ]);
  const members = observed.map((m) => ({ ...m, status: { ...m.status, alarms: alarmsById.get(m.id) ?? [] } }));
  return { observedAt: now().toISOString(), source: list.endpoint, missingSignals, members };
}

/** Nodes (conditions, taints, allocatable, usage) and the cluster's pods. Missing usage is reported, not fatal. */
export async function readKube(runtime: ClusterRuntime, now: () => Date, listing: Promise<PodInfo[]> = listPods(runtime)): Promise<KubeSnapshot> {
  const [nodes, pods, usage] = await Promise.all([runtime.kube.listNodes(runtime.topology), listing, runtime.kube.nodeUsage()]);
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
function listPods(runtime: ClusterRuntime): Promise<PodInfo[]> {
  return runtime.kube.listPods(runtime.namespace, runtime.podSelector);
}

/** Both halves of an observation, at once, from one listing of the pods. */
export function readBoth(runtime: ClusterRuntime, now: () => Date): Promise<[RaftSnapshot, KubeSnapshot]> {
  const listing = listPods(runtime);
  // readRaft survives a failed listing and readKube reports it: neither leaves the rejection unobserved.
  return Promise.all([readRaft(runtime, now, listing), readKube(runtime, now, listing)]);
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
