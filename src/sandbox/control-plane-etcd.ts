import { join } from 'node:path';
import { findEtcdBinary } from './binaries';
import { type SandboxContext } from './context';
import { SandboxStartError } from './errors';
import { httpCall } from './http';
import { ManagedProcess } from './processes';
import { CONTROL_PLANE_HOST } from './ports';
import { waitFor } from './wait';

/**
 * The control plane's own single-member etcd, which kube-apiserver stores the Kubernetes objects in. It runs etcd 3.6
 * whatever the members run: Kubernetes 1.37 expects a current etcd (3.4 lacks the watch-progress requests its cache
 * relies on).
 */

/** The etcd minor of the control plane's own etcd. */
export const CONTROL_PLANE_ETCD_MINOR = '3.6';

/** Client URL of the control-plane etcd. */
export function controlPlaneEtcdUrl(ctx: SandboxContext): string {
  return `http://${CONTROL_PLANE_HOST}:${ctx.ports.etcdClient}`;
}

/** Starts it and waits until /health says true. */
export async function startControlPlaneEtcd(ctx: SandboxContext): Promise<ManagedProcess> {
  const clientUrl = controlPlaneEtcdUrl(ctx);
  const peerUrl = `http://${CONTROL_PLANE_HOST}:${ctx.ports.etcdPeer}`;
  const logPath = join(ctx.paths.logs, 'control-plane-etcd.log');
  const proc = await ManagedProcess.start({
    name: 'control-plane-etcd',
    command: findEtcdBinary(CONTROL_PLANE_ETCD_MINOR, 'etcd'),
    args: [
      '--name=control-plane',
      `--data-dir=${ctx.paths.controlPlaneEtcd}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=control-plane=${peerUrl}`,
      '--initial-cluster-state=new',
      // Kubernetes objects of a throwaway sandbox: a smaller quota keeps the preallocated db file small.
      '--quota-backend-bytes=1073741824',
    ],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
    logPath,
    pidFile: { dir: ctx.paths.run, file: 'control-plane-etcd' },
  });
  try {
    await waitFor(
      'control-plane etcd /health',
      async () => {
        const res = await httpCall({ url: `${clientUrl}/health`, timeoutMs: 1_000 });
        return res.status === 200 && res.text.includes('"true"') ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, abortIf: () => (proc.running ? undefined : 'etcd exited') },
    );
  } catch (error) {
    await proc.kill();
    throw new SandboxStartError('control-plane etcd', (error as Error).message, logPath);
  }
  ctx.logger.info({ clientUrl, pid: proc.pid }, 'control-plane etcd is healthy');
  return proc;
}
