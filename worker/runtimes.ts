import type { ClusterRuntime } from '../activities/runtime';
import type { ClusterConfig, GuardianConfig } from '../src/config/schema';
import { toPolicy } from '../src/config/schema';
import type { Addressing } from '../src/domain/membership';
import { EtcdGateway, loadEtcdTls } from '../src/etcd/gateway';
import { KubeGateway, loadKubeConfig } from '../src/kube/gateway';

function addressingOf(cluster: ClusterConfig): Addressing {
  return cluster.addressing.mode === 'host-network'
    ? { mode: 'host-network' }
    : { mode: 'headless-service', serviceName: cluster.addressing.serviceName, namespace: cluster.namespace };
}

/**
 * Build one runtime per configured cluster: gateways with their TLS material loaded, and the domain policy. Every
 * cluster shares one Kubernetes gateway (its connection and its watches): `kube`, or a new one from the config.
 */
export function buildClusterRuntimes(config: GuardianConfig, kube: KubeGateway = new KubeGateway(loadKubeConfig(config.kubernetes))): Map<string, ClusterRuntime> {
  const runtimes = new Map<string, ClusterRuntime>();
  for (const cluster of config.clusters) {
    const tls = cluster.tls ? loadEtcdTls(cluster.tls) : undefined;
    const runtime: ClusterRuntime = {
      name: cluster.name,
      namespace: cluster.namespace,
      podSelector: cluster.podSelector,
      addressing: addressingOf(cluster),
      clientPort: cluster.ports.client,
      peerPort: cluster.ports.peer,
      scheme: tls ? 'https' : 'http',
      topology: cluster.topology,
      policy: toPolicy(cluster),
      seedEndpoints: [],
      etcd: new EtcdGateway({ endpoints: [], timeoutMs: cluster.endpointTimeout, ...(tls ? { tls } : {}) }),
      kube,
      histograms: new Map(),
      metricsFigures: new Map(),
      backup: cluster.backup,
      recovery: cluster.recovery,
      approval: cluster.approval,
      memberLabel: 'etcd-guardian.io/member',
      endpointTimeoutMs: cluster.endpointTimeout,
      metricsMaxAgeMs: cluster.metricsMaxAge,
    };
    runtimes.set(cluster.name, runtime);
  }
  return runtimes;
}
