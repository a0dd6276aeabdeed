import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** Kubeconfig files for the sandbox's API users: token authentication, the sandbox CA as the trusted root. */

/** The cluster and context name in every sandbox kubeconfig. */
export const KUBE_CONTEXT = 'etcd-guardian-sandbox';

/** Writes a kubeconfig for one user (mode 0600: it holds a bearer token). */
export function writeKubeconfig(params: {
  path: string;
  server: string;
  caPem: string;
  user: string;
  token: string;
  namespace?: string;
}): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: KUBE_CONTEXT,
        cluster: { server: params.server, 'certificate-authority-data': Buffer.from(params.caPem).toString('base64') },
      },
    ],
    users: [{ name: params.user, user: { token: params.token } }],
    contexts: [
      {
        name: KUBE_CONTEXT,
        context: { cluster: KUBE_CONTEXT, user: params.user, namespace: params.namespace ?? 'default' },
      },
    ],
    'current-context': KUBE_CONTEXT,
    preferences: {},
  };
  writeFileSync(params.path, stringify(config), { mode: 0o600 });
}
