import { httpCall } from './http';

/**
 * etcd's own health endpoint: GET /health is {"health":"true"} only when the member has a leader and a quorum read
 * succeeds, so "every member healthy" means the cluster serves.
 */
export async function etcdMemberHealthy(clientUrl: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await httpCall({ url: `${clientUrl.replace(/\/$/, '')}/health`, timeoutMs });
    return res.status === 200 && res.text.includes('"true"');
  } catch {
    return false;
  }
}
