import { assembleObservation, type KubeSnapshot, type RaftMember, type RaftSnapshot } from '../src/domain/assemble';
import { clientURLFor } from '../src/domain/membership';
import type { RaftStatus } from '../src/domain/observation';
import { planMigration, type Decision, type MigrationState } from '../src/domain/plan';
import { assessRisk, type Assessment } from '../src/domain/risk';
import type { SampleWindow } from '../src/domain/window';
import { errorText } from '../src/errors';
import type { EtcdMemberInfo } from '../src/etcd/gateway';
import { extractEtcdFigures, type HistogramMemory } from '../src/metrics/etcd-metrics';
import { parsePrometheusText } from '../src/metrics/prometheus';
import type { PodInfo } from '../src/kube/convert';
import { withFailureTypes } from './failures';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/** Input of the fetch activities: the cluster's name; everything else comes from the worker's config. */
export interface ClusterRef {
  cluster: string;
}

/** Input of evaluateRisk: both halves of the observation and the state the monitor carries. */
export interface EvaluateRiskInput {
  cluster: string;
  raft: RaftSnapshot;
  kube: KubeSnapshot;
  window: SampleWindow;
  migration: MigrationState;
}

/** Output of evaluateRisk: what was found, what to do, and the window to carry to the next cycle. */
export interface EvaluateRiskResult {
  assessment: Assessment;
  decision: Decision;
  window: SampleWindow;
}

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

async function observeMember(runtime: ClusterRuntime, member: EtcdMemberInfo, alarms: string[]): Promise<RaftMember> {
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
    if (s.reachable) {
      try {
        Object.assign(status, extractEtcdFigures(parsePrometheusText(await runtime.etcd.metricsText(endpoint)), memoryFor(runtime, member.id)));
      } catch {
        // The status answered; missing figures are reported as a missing signal by the assessment.
      }
    }
  }
  return { ...member, status };
}

/**
 * The monitor's activities. Each makes one attempt with deadlines and returns small JSON; Temporal retries.
 */
export function createMonitorActivities(deps: ActivityDeps) {
  return withFailureTypes({
    /** Members, their Raft status and /metrics figures, and alarms. A member that does not answer is reported, not fatal. */
    async fetchRaftMetrics({ cluster }: ClusterRef): Promise<RaftSnapshot> {
      const runtime = runtimeOf(deps, cluster);
      const missingSignals: string[] = [];
      let pods: PodInfo[] = [];
      try {
        pods = await runtime.kube.listPods(runtime.namespace, runtime.podSelector);
      } catch (error) {
        missingSignals.push('pods');
        if (runtime.seedEndpoints.length === 0) {
          throw new Error(`cannot find etcd endpoints: listing pods failed (${errorText(error)}) and no endpoints are configured`, { cause: error });
        }
      }
      const seeds = seedEndpoints(runtime, pods);
      let list: { members: EtcdMemberInfo[]; endpoint: string };
      try {
        list = await runtime.etcd.memberList(seeds);
      } catch (error) {
        // No member answers: report every pod as an unreachable voter, so that the assessment says quorum is lost.
        const reason = errorText(error);
        return {
          observedAt: deps.now().toISOString(),
          source: `none: ${reason}`,
          missingSignals: [...missingSignals, 'member-list'],
          members: pods.map((p) => ({ id: `pod:${p.name}`, name: p.name, peerURLs: [], clientURLs: [], isLearner: false, status: { reachable: false, error: reason, alarms: [] } })),
        };
      }
      let alarmsById = new Map<string, string[]>();
      try {
        const alarms = await runtime.etcd.alarms([list.endpoint]);
        alarmsById = alarms.reduce((map, a) => map.set(a.memberId, [...(map.get(a.memberId) ?? []), a.alarm]), new Map<string, string[]>());
      } catch {
        missingSignals.push('alarms');
      }
      const members = await Promise.all(list.members.map((m) => observeMember(runtime, m, alarmsById.get(m.id) ?? [])));
      return { observedAt: deps.now().toISOString(), source: list.endpoint, missingSignals, members };
    },

    /** Nodes (conditions, taints, allocatable, usage) and the cluster's pods. Missing usage is reported, not fatal. */
    async fetchNodeMetrics({ cluster }: ClusterRef): Promise<KubeSnapshot> {
      const runtime = runtimeOf(deps, cluster);
      const [nodes, pods, usage] = await Promise.all([
        runtime.kube.listNodes(runtime.topology),
        runtime.kube.listPods(runtime.namespace, runtime.podSelector),
        runtime.kube.nodeUsage(),
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
      return { observedAt: deps.now().toISOString(), nodes, pods, missingSignals };
    },

    /** The pure assessment and decision from src/domain, recorded in history. */
    // eslint-disable-next-line @typescript-eslint/require-await -- an activity is async by contract
    async evaluateRisk(input: EvaluateRiskInput): Promise<EvaluateRiskResult> {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = assembleObservation(input.cluster, input.raft, input.kube, runtime.addressing);
      const { assessment, window } = assessRisk(observation, runtime.policy, input.window);
      const decision = planMigration(observation, assessment, runtime.policy, input.migration, deps.now());
      return { assessment, decision, window };
    },
  });
}

/** The monitor's activity functions, for `proxyActivities<MonitorActivities>()` in workflow code. */
export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
