import { type V1APIService, type V1Service } from '@kubernetes/client-node';
import { type KubeClients, tolerating } from './kube';
import { METRICS_SERVICE } from './pki';
import { waitFor } from './wait';

/**
 * Objects the sandbox puts into a fresh API server before anything runs: its namespaces, and the metrics.k8s.io
 * registration. The `default` ServiceAccount the ServiceAccount admission plugin wants for every pod is made by the
 * controller-manager's serviceaccount controller, as in any cluster: the sandbox waits for it.
 */

/** Creates a namespace (if missing) and waits until its `default` ServiceAccount exists, so that pods are admitted. */
export async function ensureNamespace(kube: KubeClients, name: string): Promise<void> {
  await tolerating([409], () => kube.core.createNamespace({ body: { metadata: { name } } }));
  await waitForDefaultServiceAccount(kube, name);
}

/** Waits until the serviceaccount controller has made the `default` ServiceAccount of a namespace. */
export async function waitForDefaultServiceAccount(kube: KubeClients, namespace: string): Promise<void> {
  await waitFor(
    `ServiceAccount ${namespace}/default (made by kube-controller-manager)`,
    async () => ((await tolerating([404], () => kube.core.readNamespacedServiceAccount({ name: 'default', namespace }))) ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
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
