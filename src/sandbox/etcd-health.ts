import { httpCall } from './http';

/** PEM of the etcd CA and of a client certificate and key, for members that serve https and require one. */
export interface EtcdClientTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * etcd's own health endpoint: GET /health is {"health":"true"} only when the member has a leader and a quorum read
 * succeeds, so "every member healthy" means the cluster serves; GET /readyz (etcd 3.5.11+) answers 200 on the same
 * condition and also fails on a corruption alarm. `path` is the member version's (domain/etcd-version readinessPath).
 * An https member is asked with `tls`.
 */
export async function etcdMemberHealthy(clientUrl: string, timeoutMs = 1_000, tls?: EtcdClientTls, path: '/health' | '/readyz' = '/health'): Promise<boolean> {
  try {
    const res = await httpCall({ url: `${clientUrl.replace(/\/$/, '')}${path}`, timeoutMs, ...(tls ?? {}) });
    return res.status === 200 && (path !== '/health' || res.text.includes('"true"'));
  } catch {
    return false;
  }
}
