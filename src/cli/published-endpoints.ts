import { endpointsConfigMapName } from '../domain/endpoints';
import { errorText } from '../errors';

/** `status` reads what clients read: the ConfigMap of each cluster's client endpoints. */

/** What `status` says of a cluster's published client endpoints. */
export interface PublishedEndpoints {
  /** `<namespace>/<name>` of the ConfigMap. */
  configMap: string;
  endpoints?: string[];
  /** Why there are none to show: not published yet, or the ConfigMap could not be read. */
  problem?: string;
}

/** Read the ConfigMap of each cluster's client endpoints; a failure is told, never thrown. */
export async function collectPublishedEndpoints(read: (namespace: string, name: string) => Promise<Record<string, string> | undefined>, clusters: readonly { name: string; namespace: string }[]): Promise<Map<string, PublishedEndpoints>> {
  const result = new Map<string, PublishedEndpoints>();
  for (const cluster of clusters) {
    const name = endpointsConfigMapName(cluster.name);
    const configMap = `${cluster.namespace}/${name}`;
    try {
      const data = await read(cluster.namespace, name);
      const endpoints = data?.['endpoints'];
      result.set(cluster.name, endpoints ? { configMap, endpoints: endpoints.split(',') } : { configMap, problem: 'not published yet (the monitor publishes them every cycle, a migration when it ends)' });
    } catch (error) {
      result.set(cluster.name, { configMap, problem: `could not be read: ${errorText(error)}` });
    }
  }
  return result;
}
