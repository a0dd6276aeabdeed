/**
 * How a member's pod is deployed, and so what the guardian may do with it. It moves only members whose pods it may
 * delete and recreate itself (bare pods). A kubeadm static pod is run by the kubelet from a file on its node: the API
 * shows a mirror of it, deleting the mirror stops nothing (the kubelet puts it back), and a copy of it elsewhere is
 * deleted by that node's kubelet. A pod a controller owns (a StatefulSet) is recreated by that controller.
 */

/** What the guardian may do with a member's pod. */
export type Workload =
  | { kind: 'movable' }
  /** Run by a kubelet from a manifest file; `evidence` is the annotation that says so. */
  | { kind: 'static'; evidence: string }
  | { kind: 'controller-owned'; ownerKind: string; ownerName: string };

/** The parts of a pod's metadata that tell its deployment model. */
export interface WorkloadMetadata {
  annotations?: Readonly<Record<string, string>>;
  ownerReferences?: readonly { kind: string; name: string; controller?: boolean }[];
}

/** Set by the kubelet on the API's mirror of a static pod (the hash of the manifest file). */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/** Set by the kubelet on every pod it runs: `file` for a static pod from its manifest directory, `api` otherwise. */
export const SOURCE_ANNOTATION = 'kubernetes.io/config.source';
/** The kubelet's own annotations (`config.mirror`, `config.source`, `config.hash`, `config.seen`): never copied. */
export const KUBELET_CONFIG_PREFIX = 'kubernetes.io/config.';

/** Classify a pod from its metadata. A static pod is static whoever else claims it (a mirror pod names its Node as owner). */
export function classifyWorkload(metadata: WorkloadMetadata): Workload {
  const annotations = metadata.annotations ?? {};
  const mirror = annotations[MIRROR_ANNOTATION];
  if (mirror !== undefined) return { kind: 'static', evidence: `${MIRROR_ANNOTATION}=${mirror}` };
  const source = annotations[SOURCE_ANNOTATION];
  if (source === 'file' || source === 'http') return { kind: 'static', evidence: `${SOURCE_ANNOTATION}=${source}` };
  const owner = (metadata.ownerReferences ?? []).find((o) => o.controller === true);
  if (owner) return { kind: 'controller-owned', ownerKind: owner.kind, ownerName: owner.name };
  return { kind: 'movable' };
}

/** The workload of a pod as observed; a pod observed before the guardian recorded workloads was a bare pod. */
export function workloadOf(pod: { workload?: Workload } | undefined): Workload {
  return pod?.workload ?? { kind: 'movable' };
}

/** One line for a status or a refusal: `a kubeadm static pod (kubernetes.io/config.mirror=abc)`. */
export function describeWorkload(workload: Workload): string {
  switch (workload.kind) {
    case 'movable':
      return 'a bare pod the guardian may replace';
    case 'static':
      return `a static pod run by its node's kubelet from a manifest file, as kubeadm deploys etcd (${workload.evidence})`;
    case 'controller-owned':
      return `a pod owned by ${workload.ownerKind} ${workload.ownerName}`;
  }
}

/** Why the guardian will not delete or copy a pod of this workload; undefined for a movable one. */
export function unmovableReason(podName: string, workload: Workload): string | undefined {
  switch (workload.kind) {
    case 'movable':
      return undefined;
    case 'static':
      return `pod ${podName} is ${describeWorkload(workload)}: deleting its mirror stops nothing and a copy elsewhere would be deleted by that node's kubelet, so the guardian only monitors, alerts, and removes a dead member when an operator approves`;
    case 'controller-owned':
      return `pod ${podName} is ${describeWorkload(workload)}: that controller recreates and places its pods, so the guardian does not delete or copy them; move the member through the ${workload.ownerKind}`;
  }
}

/** The model of a cluster: the most restrictive among its pods (static over controller-owned over movable). */
export function clusterWorkload(pods: readonly { name: string; workload?: Workload }[]): { workload: Workload; pod?: string } {
  const rank = { static: 2, 'controller-owned': 1, movable: 0 } as const;
  let worst: { workload: Workload; pod?: string } = { workload: { kind: 'movable' } };
  for (const pod of pods) {
    const w = workloadOf(pod);
    if (rank[w.kind] > rank[worst.workload.kind]) worst = { workload: w, pod: pod.name };
  }
  return worst;
}

/**
 * How the cluster's members are deployed, as the operator configures it (`clusters[].workload`): bare pods the
 * guardian deletes and copies itself, or the pods of one StatefulSet, moved through that controller.
 */
export type WorkloadConfig = { kind: 'pods' } | { kind: 'StatefulSet'; name: string; volumeClaimTemplate: string };

/** What the config means when it says nothing: bare pods. */
export const PODS_WORKLOAD: WorkloadConfig = { kind: 'pods' };

/**
 * How the guardian may move a member's pod: copy it (a bare pod), have the configured StatefulSet recreate it on a
 * volume reserved on the chosen node, or not at all (with the reason).
 */
export type MoveMode =
  | { kind: 'bare' }
  | { kind: 'statefulset'; statefulSet: string; volumeClaimTemplate: string }
  | { kind: 'refused'; code: 'static-pod' | 'controller-owned' | 'workload-mismatch'; reason: string };

/** The configured workload in words: `bare pods` or `StatefulSet etcd`. */
export function describeWorkloadConfig(config: WorkloadConfig): string {
  return config.kind === 'pods' ? 'bare pods' : `StatefulSet ${config.name}`;
}

/**
 * How a pod of this workload is moved under the cluster's configured workload. A pod owned by the configured
 * StatefulSet moves through it; a pod owned by any other controller is refused, naming the owner and what is
 * configured; a bare pod in a cluster configured as a StatefulSet is refused too: deleting it would lose it (no
 * controller brings it back), so the config or the cluster is not what the operator thinks.
 */
export function moveModeOf(podName: string, workload: Workload, config: WorkloadConfig = PODS_WORKLOAD): MoveMode {
  const configured = `the cluster's configured workload (clusters[].workload) is ${describeWorkloadConfig(config)}`;
  switch (workload.kind) {
    case 'static':
      return { kind: 'refused', code: 'static-pod', reason: unmovableReason(podName, workload) ?? '' };
    case 'controller-owned':
      if (config.kind === 'StatefulSet' && workload.ownerKind === 'StatefulSet' && workload.ownerName === config.name) {
        return { kind: 'statefulset', statefulSet: config.name, volumeClaimTemplate: config.volumeClaimTemplate };
      }
      return {
        kind: 'refused',
        code: 'controller-owned',
        reason:
          config.kind === 'StatefulSet'
            ? `pod ${podName} is ${describeWorkload(workload)}, but ${configured}: the guardian moves only that StatefulSet's pods; move the member through the ${workload.ownerKind}, or configure workload: { kind: ${workload.ownerKind}, name: ${workload.ownerName} } if it is a StatefulSet`
            : `${unmovableReason(podName, workload) ?? ''} (${configured}; a StatefulSet's members move through it when it is configured as workload: { kind: StatefulSet, name: <its name> })`,
      };
    case 'movable':
      if (config.kind === 'pods') return { kind: 'bare' };
      return {
        kind: 'refused',
        code: 'workload-mismatch',
        reason: `pod ${podName} is a bare pod owned by no controller, but ${configured}: deleting it would lose it, since no controller recreates it; fix clusters[].workload or the pod`,
      };
  }
}

/** The member a runbook is about. */
export interface RunbookMember {
  name: string;
  id: string;
  nodeName?: string;
  /** A client URL of a healthy member, for the etcdctl lines. */
  endpoint?: string;
}

/**
 * What an operator runs to replace the node of a kubeadm member: remove the dead member (approved through the
 * guardian, which checks quorum first), reset the old node if it is reachable, join a new control-plane node, check.
 */
export function kubeadmRunbook(cluster: string, member: RunbookMember): string[] {
  const node = member.nodeName ?? '<old node>';
  const endpoint = member.endpoint ?? 'https://<healthy member>:2379';
  const etcdctl = `ETCDCTL_API=3 etcdctl --endpoints=${endpoint} --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key`;
  return [
    `runbook: replace ${node}, the kubeadm control-plane node of etcd member ${member.name} (${member.id}) of ${cluster}`,
    `  1. remove the dead member (the guardian checks quorum first and records who approved): etcd-guardian repair ${cluster} --approve-removal ${member.name}`,
    `  2. if ${node} is reachable: on it, kubeadm reset -f (stops its static pods and clears /var/lib/etcd); then kubectl delete node ${node}`,
    `  3. on the new node: kubeadm join <control-plane endpoint> --control-plane --token <token> --discovery-token-ca-cert-hash sha256:<hash> --certificate-key <key> (kubeadm token create --print-join-command and kubeadm init phase upload-certs --upload-certs on a healthy control-plane node print them)`,
    `  4. check: ${etcdctl} member list -w table; then endpoint health --cluster`,
  ];
}
