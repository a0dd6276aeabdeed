/**
 * The sandbox's addresses. A slot number picks a block of 100 ports and a /16 of loopback addresses, so that
 * sandboxes started by parallel test suites never share a port or an address.
 */

/** How many slots there are: ports stay below Linux's ephemeral range (32768+) and node IPs inside 127.0.0.0/8. */
export const SLOT_COUNT = 100;

/** First port of slot 0. */
const BASE_PORT = 20_000;

/** Second octet of slot 0's node addresses (127.20.0.x); a slot's nodes live in 127.(20+slot).0.0/16. */
const BASE_NODE_OCTET = 20;

/** Every control-plane port of one sandbox, all on 127.0.0.1. */
export interface PortLayout {
  /** Temporal frontend (gRPC). */
  temporal: number;
  /** Temporal Web UI. */
  temporalUi: number;
  /** Temporal HTTP API; pinned so it cannot land on another sandbox's port. */
  temporalHttp: number;
  /** Temporal server's /metrics; pinned for the same reason. */
  temporalMetrics: number;
  /** The control plane's own etcd: client port. */
  etcdClient: number;
  /** The control plane's own etcd: peer port. */
  etcdPeer: number;
  /** kube-apiserver (HTTPS). */
  apiServer: number;
  /** metrics.k8s.io backend behind the aggregation layer (HTTPS). */
  metricsApi: number;
  /** The sandbox's control endpoint (faults, heal, status) used by the CLI. */
  control: number;
  /** The object store (SeaweedFS): its S3 API, then master, volume and filer, each HTTP then gRPC. */
  s3: number;
  s3Grpc: number;
  weedMaster: number;
  weedMasterGrpc: number;
  weedVolume: number;
  weedVolumeGrpc: number;
  weedFiler: number;
  weedFilerGrpc: number;
}

/** The ports of a slot: 20000 + slot*100 + a fixed offset per component. */
export function portsForSlot(slot: number): PortLayout {
  const base = BASE_PORT + slot * 100;
  return {
    temporal: base,
    temporalUi: base + 1,
    temporalHttp: base + 2,
    temporalMetrics: base + 3,
    etcdClient: base + 10,
    etcdPeer: base + 11,
    apiServer: base + 20,
    metricsApi: base + 30,
    control: base + 40,
    s3: base + 50,
    s3Grpc: base + 51,
    weedMaster: base + 52,
    weedMasterGrpc: base + 53,
    weedVolume: base + 54,
    weedVolumeGrpc: base + 55,
    weedFiler: base + 56,
    weedFilerGrpc: base + 57,
  };
}

/** Every port of a layout, for checks that they are free and, after stop, that nothing listens on them. */
export function allPorts(layout: PortLayout): number[] {
  const ports: Record<keyof PortLayout, number> = layout;
  return Object.values(ports);
}

/** The control plane's address. */
export const CONTROL_PLANE_HOST = '127.0.0.1';

/** Node i's InternalIP: 127.(20+slot).0.(i+1). Linux routes all of 127.0.0.0/8 to lo, so no setup is needed. */
export function nodeAddress(slot: number, index: number): string {
  return `127.${BASE_NODE_OCTET + slot}.0.${index + 1}`;
}

/**
 * The stable client address of the slot's etcd cluster: the sandbox's stand-in for a Service's ClusterIP, in the
 * slot's /16 but outside the node addresses (127.(20+slot).255.1).
 */
export function etcdServiceAddress(slot: number): string {
  return `127.${BASE_NODE_OCTET + slot}.255.1`;
}

/** The loopback /16 that holds a slot's node addresses, as a prefix such as "127.20.". */
export function nodeAddressPrefix(slot: number): string {
  return `127.${BASE_NODE_OCTET + slot}.`;
}

/** etcd's standard ports; members bind them on their node's address (host networking). */
export const ETCD_CLIENT_PORT = 2379;
/** etcd's standard peer port. */
export const ETCD_PEER_PORT = 2380;
