import { type V1Pod } from '@kubernetes/client-node';
import { ETCD_NAMESPACE, ETCD_SELECTOR, memberFlag } from './etcd-cluster';
import { etcdMemberHealthy, type EtcdClientTls } from './etcd-health';
import { type KubeClients } from './kube';
import { type UsageFractions } from './nodes/usage';
import { LABELS } from './topology';
import { type MemberStatusReport, type NodeStatusReport, type SandboxStatus } from './types';

/** Builds `sandbox status` from the real APIs: nodes and pods from kube-apiserver, health from each member. */

function memberReport(pod: V1Pod, nodes: readonly NodeStatusReport[], faults: Record<string, string[]>): Omit<MemberStatusReport, 'healthy'> {
  const nodeName = pod.spec?.nodeName ?? '';
  const node = nodes.find((n) => n.name === nodeName);
  const podName = pod.metadata?.name ?? '';
  return {
    name: memberFlag(pod, 'name') ?? podName,
    pod: podName,
    node: nodeName,
    rack: node?.rack ?? '',
    domain: node?.domain ?? '',
    phase: pod.status?.phase ?? 'Pending',
    ready: pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    restartCount: pod.status?.containerStatuses?.[0]?.restartCount ?? 0,
    terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
    clientUrl: (memberFlag(pod, 'advertise-client-urls') ?? '').split(',')[0] ?? '',
    faults: faults[podName] ?? [],
  };
}

/** Reads nodes and etcd members; `usage` and `faults` come from the simulator. */
export async function readStatus(params: {
  kube: KubeClients;
  stateDir: string;
  usage: (node: string) => UsageFractions | undefined;
  faults: Record<string, string[]>;
  /** The health check's client certificate, when the members serve https. */
  etcdTls?: EtcdClientTls;
  /** The members' etcd version, and the path that says a member is ready for it (default /health). */
  etcdVersion?: string;
  /** How the members run. */
  etcdWorkload?: 'pods' | 'statefulset';
  readyPath?: '/health' | '/readyz';
}): Promise<SandboxStatus> {
  const { kube, faults } = params;
  const [nodeList, podList] = await Promise.all([
    kube.core.listNode(),
    kube.core.listNamespacedPod({ namespace: ETCD_NAMESPACE, labelSelector: ETCD_SELECTOR }),
  ]);
  const nodes: NodeStatusReport[] = nodeList.items.map((node) => {
    const name = node.metadata?.name ?? '';
    const labels = node.metadata?.labels ?? {};
    const usage = params.usage(name);
    return {
      name,
      address: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
      rack: labels[LABELS.rack] ?? '',
      domain: labels[LABELS.zone] ?? '',
      conditions: Object.fromEntries((node.status?.conditions ?? []).map((c) => [c.type, c.status])),
      taints: (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`),
      ...(usage === undefined ? {} : { usage }),
      faults: faults[name] ?? [],
    };
  });
  const reports = podList.items.map((pod) => memberReport(pod, nodes, faults));
  const health = await Promise.all(reports.map(async (report) => report.clientUrl !== '' && (await etcdMemberHealthy(report.clientUrl, 1_000, params.etcdTls, params.readyPath))));
  const members = reports
    .map((report, index) => ({ ...report, healthy: health[index] ?? false }))
    .sort((a, b) => a.pod.localeCompare(b.pod, undefined, { numeric: true }));
  nodes.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  return {
    stateDir: params.stateDir,
    observedAt: new Date().toISOString(),
    ...(params.etcdVersion === undefined ? {} : { etcdVersion: params.etcdVersion }),
    ...(params.etcdWorkload === undefined ? {} : { etcdWorkload: params.etcdWorkload }),
    nodes,
    members,
    faults,
  };
}
