import { log } from '@temporalio/activity';
import { clientEndpointsOf, endpointsConfigMapData, endpointsConfigMapName } from '../src/domain/endpoints';
import type { ClusterObservation } from '../src/domain/observation';
import { errorText } from '../src/errors';
import type { ClusterRuntime } from './runtime';

/**
 * Publishing where clients find a cluster: the voters' client URLs in the ConfigMap `etcd-guardian-<cluster>-endpoints`
 * of the members' namespace, written after every migration and checked by every monitor cycle. Never fails the
 * activity that calls it: clients keep the last published endpoints, and the next cycle tries again.
 */

/** What was last written per cluster, and when: an unchanged membership costs no API call, yet is re-asserted now and then. */
const lastPublished = new WeakMap<ClusterRuntime, { data: string; at: number }>();

/** Even unchanged, the ConfigMap is checked this often, so an edit or a deletion by hand is put right. */
const REASSERT_MS = 60_000;

/** Labels of the ConfigMap, so that tooling finds it by cluster. */
function labelsFor(cluster: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'etcd-guardian', 'etcd-guardian.io/cluster': cluster };
}

/** Write the cluster's client endpoints when they changed; logs what it did, and a refusal as a warning. */
export async function publishClientEndpoints(runtime: ClusterRuntime, observation: ClusterObservation, now: Date): Promise<void> {
  const apply = runtime.kube.applyConfigMap?.bind(runtime.kube);
  const endpoints = clientEndpointsOf(observation);
  if (!apply || !endpoints) return;
  const data = endpointsConfigMapData(endpoints);
  const text = JSON.stringify(data);
  const last = lastPublished.get(runtime);
  if (last && last.data === text && now.getTime() - last.at < REASSERT_MS) return;
  const name = endpointsConfigMapName(runtime.name);
  try {
    const result = await apply(runtime.namespace, name, data, labelsFor(runtime.name));
    lastPublished.set(runtime, { data: text, at: now.getTime() });
    if (result !== 'unchanged') {
      log.info(`clients: ${result} ConfigMap ${runtime.namespace}/${name}: ${data['endpoints'] ?? ''}`, { step: 'client-endpoints', cluster: runtime.name, configMap: name, endpoints: endpoints.endpoints });
    }
  } catch (error) {
    log.warn(`clients: could not publish the client endpoints of ${runtime.name} in ConfigMap ${runtime.namespace}/${name}: ${errorText(error)}`, { step: 'client-endpoints', cluster: runtime.name, configMap: name });
  }
}
