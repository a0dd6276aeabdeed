import { join } from 'node:path';
import { findBinary } from './binaries';
import { type SandboxContext } from './context';
import { SandboxStartError, messageOf } from './errors';
import { httpCall } from './http';
import { FRONT_PROXY_CLIENT_CN, readPem, type Pki } from './pki';
import { CONTROL_PLANE_HOST } from './ports';
import { ManagedProcess } from './processes';
import { waitFor } from './wait';

/** kube-apiserver, the real one, on loopback only. Facts behind the flags: /work/shared/KUBE-SANDBOX.md. */

/**
 * The service CIDR kube-apiserver insists on. Configuration only: no Service of the sandbox has a ClusterIP anyone
 * connects to (the metrics backend is an ExternalName Service), and every client uses the kubeconfig's URL.
 */
const SERVICE_CIDR = '10.96.0.0/16';

/** The apiserver's URL. */
export function apiServerUrl(ctx: SandboxContext): string {
  return `https://${CONTROL_PLANE_HOST}:${ctx.ports.apiServer}`;
}

/** The apiserver's command line. */
export function apiServerArgs(params: { url: string; port: number; etcdUrl: string; pki: Pki; tokenFile: string; certDir: string }): string[] {
  const { pki } = params;
  return [
    `--etcd-servers=${params.etcdUrl}`,
    `--bind-address=${CONTROL_PLANE_HOST}`,
    `--secure-port=${params.port}`,
    // Without an explicit address the server looks for a non-loopback interface; with a loopback one, the endpoint
    // reconciler rejects it for the `kubernetes` Service's endpoints, so it is turned off.
    `--advertise-address=${CONTROL_PLANE_HOST}`,
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki.apiServer.cert}`,
    `--tls-private-key-file=${pki.apiServer.key}`,
    // Only written to when the TLS files above are missing; keeps anything the server makes inside the state dir.
    `--cert-dir=${params.certDir}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${params.tokenFile}`,
    '--anonymous-auth=false',
    `--service-account-issuer=${params.url}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--allow-privileged=true',
    // The aggregation layer: the apiserver proxies /apis/metrics.k8s.io to the metrics backend with this client
    // certificate and the user in X-Remote-* headers; the backend trusts the request-header CA.
    `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_CN}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
    `--proxy-client-key-file=${pki.frontProxyClient.key}`,
    '--profiling=false',
  ];
}

/** Starts kube-apiserver and waits until /readyz answers 200 to the admin token. */
export async function startKubeApiserver(
  ctx: SandboxContext,
  params: { etcdUrl: string; pki: Pki; tokenFile: string; adminToken: string },
): Promise<ManagedProcess> {
  const url = apiServerUrl(ctx);
  const logPath = join(ctx.paths.logs, 'kube-apiserver.log');
  const proc = await ManagedProcess.start({
    name: 'kube-apiserver',
    command: findBinary('kube-apiserver'),
    args: apiServerArgs({ ...params, url, port: ctx.ports.apiServer, certDir: join(ctx.paths.pki, 'apiserver-generated') }),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
    logPath,
    pidFile: { dir: ctx.paths.run, file: 'kube-apiserver' },
  });
  const ca = readPem(params.pki.ca.cert);
  try {
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const res = await httpCall({ url: `${url}/readyz`, token: params.adminToken, ca, timeoutMs: 2_000 });
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, abortIf: () => (proc.running ? undefined : 'kube-apiserver exited') },
    );
  } catch (error) {
    await proc.kill();
    throw new SandboxStartError('kube-apiserver', messageOf(error), logPath);
  }
  ctx.logger.info({ url, pid: proc.pid }, 'kube-apiserver is ready');
  return proc;
}
