import { dataFaultOf } from '../domain/data-fault';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { NodeCondition, NodeObservation, PodObservation, Taint } from '../domain/observation';
import { classifyWorkload } from '../domain/workload';
import { DATA_DIR_ANNOTATION, DATA_DIR_NOT_EMPTY_EXIT } from './member-pod';
import { cpuMillis, memoryBytes } from './quantity';

/** Label keys that carry a node's rack and failure domain. */
export interface TopologyLabels {
  rackLabel: string;
  domainLabel: string;
}

/** A pod with the addresses the membership join needs. */
export interface PodInfo extends PodObservation {
  hostIP?: string;
  podIP?: string;
}

const CONDITION_STATUS = new Set(['True', 'False', 'Unknown']);
const TAINT_EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
const PHASES = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

/** A Node object as the domain sees it (usage is filled in from metrics.k8s.io separately). */
export function toNodeObservation(node: V1Node, topology: TopologyLabels): NodeObservation {
  const labels = { ...(node.metadata?.labels ?? {}) };
  const conditions: NodeCondition[] = (node.status?.conditions ?? []).map((c) => {
    const condition: NodeCondition = { type: c.type, status: CONDITION_STATUS.has(c.status) ? (c.status as NodeCondition['status']) : 'Unknown' };
    if (c.reason) condition.reason = c.reason;
    return condition;
  });
  const taints: Taint[] = (node.spec?.taints ?? [])
    .filter((t) => TAINT_EFFECTS.has(t.effect))
    .map((t) => {
      const taint: Taint = { key: t.key, effect: t.effect as Taint['effect'] };
      if (t.value) taint.value = t.value;
      return taint;
    });
  const allocatable = node.status?.allocatable ?? node.status?.capacity ?? {};
  const observation: NodeObservation = {
    name: node.metadata?.name ?? '',
    labels,
    conditions,
    unschedulable: node.spec?.unschedulable === true,
    taints,
    allocatable: { cpuMillis: allocatable.cpu ? cpuMillis(allocatable.cpu) : 0, memoryBytes: allocatable.memory ? memoryBytes(allocatable.memory) : 0 },
  };
  const rack = labels[topology.rackLabel];
  const domain = labels[topology.domainLabel];
  const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (rack !== undefined) observation.rack = rack;
  if (domain !== undefined) observation.domain = domain;
  if (internalIP !== undefined) observation.internalIP = internalIP;
  return observation;
}

/** A Pod object as the domain sees it, with its addresses. */
export function toPodInfo(pod: V1Pod): PodInfo {
  const phase = pod.status?.phase ?? 'Unknown';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const restartCount = (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0);
  const info: PodInfo = {
    name: pod.metadata?.name ?? '',
    phase: PHASES.has(phase) ? (phase as PodInfo['phase']) : 'Unknown',
    ready,
    restartCount,
    terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
  };
  if (pod.spec?.nodeName) info.nodeName = pod.spec.nodeName;
  if (pod.metadata?.uid) info.uid = pod.metadata.uid;
  info.workload = classifyWorkload({ annotations: pod.metadata?.annotations ?? {}, ownerReferences: pod.metadata?.ownerReferences ?? [] });
  const refused = startRefusal(pod);
  if (refused !== undefined) info.startRefused = refused;
  const last = pod.status?.containerStatuses?.[0];
  const dataFault = dataFaultOf(last?.state?.terminated?.message ?? last?.lastState?.terminated?.message);
  if (dataFault !== undefined) info.dataFault = dataFault;
  const exited = last?.state?.terminated ?? last?.lastState?.terminated;
  if (exited !== undefined && typeof exited.exitCode === 'number') info.lastExit = { exitCode: exited.exitCode, ...(exited.reason ? { reason: exited.reason } : {}) };
  if (pod.status?.hostIP) info.hostIP = pod.status.hostIP;
  if (pod.status?.podIP) info.podIP = pod.status.podIP;
  return info;
}

/** A successor whose start guard refused a non-empty data directory: etcd never ran, and never will there. */
function startRefusal(pod: V1Pod): string | undefined {
  const dataDir = pod.metadata?.annotations?.[DATA_DIR_ANNOTATION];
  if (dataDir === undefined) return undefined;
  const status = pod.status?.containerStatuses?.[0];
  const exit = status?.state?.terminated?.exitCode ?? status?.lastState?.terminated?.exitCode;
  if (exit !== DATA_DIR_NOT_EMPTY_EXIT) return undefined;
  return `its data directory ${dataDir} on ${pod.spec?.nodeName ?? '?'} is not empty: its start guard did not start etcd (exit ${DATA_DIR_NOT_EMPTY_EXIT})`;
}
