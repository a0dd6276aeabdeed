/**
 * Which pod (and so which node) runs which etcd member. etcd knows members by peer URL; Kubernetes knows pods by
 * name and address. The join follows the cluster's addressing mode.
 */

/** How members address each other: the node's address (kubeadm style) or the pod's name in a headless service. */
export type Addressing = { mode: 'host-network' } | { mode: 'headless-service'; serviceName: string; namespace: string };

/** What the join needs of a pod. */
export interface PodAddress {
  name: string;
  nodeName?: string;
  hostIP?: string;
  podIP?: string;
}

/** The host part of a URL, or undefined when the text is not a URL. */
export function urlHost(url: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]+\]|[^/:?#]+)/i.exec(url);
  return match?.[1]?.replace(/^\[|\]$/g, '').toLowerCase();
}

function podMatches(peerHost: string, pod: PodAddress, addressing: Addressing): boolean {
  if (addressing.mode === 'host-network') return peerHost === pod.hostIP || peerHost === pod.podIP;
  const prefix = `${pod.name}.${addressing.serviceName}`.toLowerCase();
  return peerHost === prefix || peerHost.startsWith(`${prefix}.${addressing.namespace}.`.toLowerCase()) || peerHost === `${prefix}.${addressing.namespace}`.toLowerCase();
}

/**
 * The pod of a member: the one its peer URL points at under the addressing mode, or else the pod named like the
 * member. Pods being deleted lose to live ones, so a replacement on the same address is found first.
 */
export function podOfMember<P extends PodAddress & { terminating?: boolean }>(
  member: { name: string; peerURLs: readonly string[] },
  pods: readonly P[],
  addressing: Addressing,
): P | undefined {
  const ordered = [...pods].sort((a, b) => Number(a.terminating ?? false) - Number(b.terminating ?? false));
  for (const url of member.peerURLs) {
    const host = urlHost(url);
    const pod = host === undefined ? undefined : ordered.find((p) => podMatches(host, p, addressing));
    if (pod) return pod;
  }
  return member.name ? ordered.find((p) => p.name === member.name) : undefined;
}

/** A member cannot be addressed the way the cluster's addressing mode requires. */
export class AddressingError extends Error {
  readonly code = 'ADDRESSING';
  constructor(message: string) {
    super(message);
    this.name = 'AddressingError';
  }
}

/** The peer URL a new member on this node or pod gets. */
export function peerURLFor(target: { nodeIP?: string; podName: string }, addressing: Addressing, peerPort: number, scheme: 'http' | 'https'): string {
  if (addressing.mode === 'host-network') {
    if (!target.nodeIP) throw new AddressingError(`node of pod ${target.podName} has no InternalIP, which host-network addressing needs`);
    return `${scheme}://${target.nodeIP}:${peerPort}`;
  }
  return `${scheme}://${target.podName}.${addressing.serviceName}.${addressing.namespace}.svc:${peerPort}`;
}

/** The client URL of a member on this node or pod. */
export function clientURLFor(target: { nodeIP?: string; podName: string }, addressing: Addressing, clientPort: number, scheme: 'http' | 'https'): string {
  return peerURLFor(target, addressing, clientPort, scheme);
}

/**
 * The `--initial-cluster` of a member joining: every member that has a name, the joining one (found by its peer
 * URL, since etcd lists it without a name until it starts) under its new name. Undefined when the joining member is
 * not in the list yet.
 */
export function initialClusterFor(members: readonly { name: string; peerURLs: readonly string[] }[], joining: { name: string; peerURL: string }): string | undefined {
  const entries = members
    .map((m) => (m.peerURLs.includes(joining.peerURL) ? `${joining.name}=${joining.peerURL}` : m.name ? `${m.name}=${m.peerURLs[0] ?? ''}` : ''))
    .filter((entry) => entry !== '');
  return entries.some((e) => e.startsWith(`${joining.name}=`)) ? entries.join(',') : undefined;
}
