import type { ClusterObservation } from './observation';

/**
 * Where clients find the cluster now. Every migration gives the moved member a new node (and, with host networking,
 * a new address), so the guardian publishes the voters' client URLs after every migration and every monitor cycle,
 * in an object named after the cluster that clients and tooling read.
 */

/** One voter as clients reach it. */
export interface ClientEndpoint {
  name: string;
  clientURL: string;
  node?: string;
}

/** The current client endpoints of a cluster: its voters, in name order. */
export interface ClientEndpoints {
  cluster: string;
  /** Client URLs of the voters, in the form `--etcd-servers` and `ETCDCTL_ENDPOINTS` take (joined with commas). */
  endpoints: string[];
  members: ClientEndpoint[];
}

/** The name of the ConfigMap that holds a cluster's client endpoints, in the members' namespace. */
export function endpointsConfigMapName(cluster: string): string {
  return `etcd-guardian-${cluster}-endpoints`;
}

/**
 * The endpoints clients should use, from an observation; undefined when it cannot be told: the member list was not
 * read (a guess must never replace what clients have), or no voter has a client URL yet. Learners are left out: they
 * refuse writes and linearizable reads.
 */
export function clientEndpointsOf(observation: Pick<ClusterObservation, 'cluster' | 'members' | 'membershipUnknown'>): ClientEndpoints | undefined {
  if (observation.membershipUnknown !== undefined) return undefined;
  const members = observation.members
    .filter((m) => !m.isLearner && m.clientURLs[0] !== undefined && m.clientURLs[0] !== '')
    .map((m): ClientEndpoint => ({ name: m.name || m.id, clientURL: m.clientURLs[0] ?? '', ...(m.nodeName ? { node: m.nodeName } : {}) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (members.length === 0) return undefined;
  return { cluster: observation.cluster, endpoints: members.map((m) => m.clientURL), members };
}

/** The ConfigMap's data: `endpoints` (comma-separated client URLs) and `members.json` (name, client URL, node). */
export function endpointsConfigMapData(endpoints: ClientEndpoints): Record<string, string> {
  return { endpoints: endpoints.endpoints.join(','), 'members.json': JSON.stringify(endpoints.members) };
}
