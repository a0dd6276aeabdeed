import { type V1APIService, type V1Service } from '@kubernetes/client-node';
import { type KubeClients, tolerating } from './kube';
import { METRICS_SERVICE } from './pki';
import { waitFor } from './wait';

/**
 * Objects the sandbox puts into a fresh API server before anything runs: namespaces with their default
 * ServiceAccount (the controller-manager that would create it is absent), and the metrics.k8s.io registration.
 */

/** Creates a namespace (if missing) and its `default` ServiceAccount, so that the ServiceAccount admission plugin admits pods. */
export async function ensureNamespace(kube: KubeClients, name: string): Promise<void> {
  await tolerating([409], () => kube.core.createNamespace({ body: { metadata: { name } } }));
  await ensureDefaultServiceAccount(kube, name);
}

/** Creates the `default` ServiceAccount of an existing namespace. */
export async function ensureDefaultServiceAccount(kube: KubeClients, namespace: string): Promise<void> {
  const body = { metadata: { name: 'default', namespace } };
  await tolerating([409], () => kube.core.createNamespacedServiceAccount({ namespace, body }));
}

/**
 * Registers the metrics backend with the aggregation layer. Endpoints refuse loopback addresses, so the Service is
 * of type ExternalName `localhost`: with aggregator routing off (the default), kube-apiserver dials
 * https://<externalName>:<APIService port> and checks the certificate against the caBundle for `<svc>.<ns>.svc`.
 */
export async function registerMetricsApi(kube: KubeClients, params: { port: number; caPem: string }): Promise<void> {
  const { name, namespace } = METRICS_SERVICE;
  const labels = { 'app.kubernetes.io/name': 'metrics-server' };
  const service: V1Service = {
    metadata: { name, namespace, labels },
    spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: params.port, protocol: 'TCP' }] },
  };
  await tolerating([409], () => kube.core.createNamespacedService({ namespace, body: service }));
  const apiService: V1APIService = {
    metadata: { name: 'v1beta1.metrics.k8s.io', labels },
    spec: {
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      service: { namespace, name, port: params.port },
      caBundle: Buffer.from(params.caPem).toString('base64'),
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  };
  await tolerating([409], () => kube.apiRegistration.createAPIService({ body: apiService }));
}

/** Waits until the aggregator reports the metrics APIService Available (it probes the backend itself). */
export async function waitForMetricsApi(kube: KubeClients, timeoutMs: number): Promise<void> {
  await waitFor(
    'APIService v1beta1.metrics.k8s.io Available',
    async () => {
      const apiService = await kube.apiRegistration.readAPIService({ name: 'v1beta1.metrics.k8s.io' });
      const available = apiService.status?.conditions?.find((c) => c.type === 'Available');
      if (available?.status === 'True') return true;
      throw new Error(available === undefined ? 'no Available condition yet' : `${available.reason ?? ''}: ${available.message ?? ''}`);
    },
    { timeoutMs, intervalMs: 250 },
  );
}
