import { type V1Lease, type V1Node } from '@kubernetes/client-node';
import { microTime } from '../kube-time';
import { release } from 'node:os';
import { LABELS, type NodeLayout } from '../topology';
import { NODE_RESOURCES } from './usage';

/** The Node object a simulated kubelet registers, and the parts of its status that never change. */

/** Version strings the simulated kubelet reports. */
export interface NodeVersions {
  /** The apiserver's gitVersion: a kubelet normally runs the control plane's version. */
  kubelet: string;
}

/** Capacity and allocatable, as quantities. */
export function nodeResources(): Record<string, string> {
  return {
    cpu: String(NODE_RESOURCES.cpuMillis / 1000),
    memory: `${NODE_RESOURCES.memoryBytes / 1024}Ki`,
    pods: String(NODE_RESOURCES.pods),
    'ephemeral-storage': `${100 * 1024 * 1024}Ki`,
  };
}

/** The labels of a node: hostname, OS, architecture, zone and rack. */
export function nodeLabels(node: NodeLayout): Record<string, string> {
  return {
    [LABELS.hostname]: node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    [LABELS.zone]: node.domain,
    [LABELS.rack]: node.rack,
    'etcd-guardian.io/sandbox': 'true',
  };
}

/** The status fields a kubelet sets once: addresses, capacity, allocatable, node info. */
export function staticNodeStatus(node: NodeLayout, versions: NodeVersions, bootId: string): Record<string, unknown> {
  return {
    addresses: [
      { type: 'InternalIP', address: node.address },
      { type: 'Hostname', address: node.name },
    ],
    capacity: nodeResources(),
    allocatable: nodeResources(),
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: `etcd-guardian-sandbox-${node.name}`,
      systemUUID: `etcd-guardian-sandbox-${node.name}`,
      bootID: bootId,
      kernelVersion: release(),
      osImage: 'etcd-guardian sandbox (processes on the host, no container runtime)',
      containerRuntimeVersion: 'sandbox://0.1.0',
      kubeletVersion: versions.kubelet,
      kubeProxyVersion: versions.kubelet,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/** The Node object to create at registration. */
export function nodeManifest(node: NodeLayout): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: node.name, labels: nodeLabels(node) }, spec: {} };
}

/** The namespace of node heartbeats. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The lease duration a kubelet writes. */
export const LEASE_DURATION_SECONDS = 40;

/**
 * The node's Lease as a kubelet creates it: held by the node and already renewed. A lease created without
 * `renewTime` and renewed a moment later can stop the node lifecycle controller from ever seeing the node's
 * heartbeats: if its informer hands it the lease between the two writes, it keeps that version, and it takes a later
 * version only when that one's renewTime is after the kept one's, which a missing renewTime never is (so the node's
 * grace runs out while it renews, and a node that really goes down is never marked).
 */
export function nodeLeaseManifest(node: NodeLayout, now: Date): V1Lease {
  const at = microTime(now);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: node.name, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: node.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, acquireTime: at, renewTime: at },
  } as unknown as V1Lease;
}
