import { join } from 'node:path';
import { findBinary } from './binaries';
import { type SandboxContext } from './context';
import { SandboxStartError, messageOf } from './errors';
import { type KubeClients, toDate } from './kube';
import { type Pki } from './pki';
import { ManagedProcess } from './processes';
import { waitFor } from './wait';

/**
 * The real kube-controller-manager and kube-scheduler, beside the apiserver. They run the node lifecycle controller
 * (conditions Unknown, taints, taint-based eviction), the StatefulSet, ReplicaSet, garbage-collector, namespace,
 * PersistentVolume binder and protection, and ServiceAccount controllers, and the scheduler binds every pod created
 * without a node. Each talks to the apiserver as its own user (a token of the user RBAC's bootstrap policy binds to
 * its role), as kubeadm configures them with certificates.
 */

/** The users the bootstrap RBAC policy binds to `system:kube-controller-manager` and `system:kube-scheduler`. */
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const SCHEDULER_USER = 'system:kube-scheduler';

/**
 * Controllers the sandbox leaves off, because every pod IP is a loopback address (a node's own address) and the API
 * refuses loopback addresses in Endpoints and EndpointSlices: these controllers would fail on every Service with a
 * selector. The sandbox's service proxy (the kube-proxy stand-in) reads the pods itself.
 */
export const DISABLED_CONTROLLERS = ['endpoint', 'endpointslice', 'endpointslicemirroring'] as const;

/** Kubernetes' defaults, used unless the sandbox is told otherwise. */
export const DEFAULT_NODE_MONITOR_GRACE_SECONDS = 50;
const DEFAULT_NODE_MONITOR_PERIOD_SECONDS = 5;

/**
 * How often the node lifecycle controller looks at the nodes, for a grace period: the default 5 s at the default
 * 50 s, shorter for the sandbox's short grace periods (a tenth of it, at least 1 s), so that a node is marked within
 * about one period of its grace running out.
 */
export function nodeMonitorPeriodSeconds(gracePeriodSeconds: number): number {
  return Math.max(1, Math.min(DEFAULT_NODE_MONITOR_PERIOD_SECONDS, Math.floor(gracePeriodSeconds / 10)));
}

/** kube-controller-manager's command line. */
export function controllerManagerArgs(params: { kubeconfig: string; pki: Pki; gracePeriodSeconds: number }): string[] {
  return [
    `--kubeconfig=${params.kubeconfig}`,
    // No serving port: nothing scrapes it, and readiness is seen in the API (its leader lease).
    '--secure-port=0',
    '--leader-elect=true',
    `--controllers=*,${DISABLED_CONTROLLERS.map((name) => `-${name}`).join(',')}`,
    // One ServiceAccount per controller, as kubeadm runs it (the tokens come from the TokenRequest API).
    '--use-service-account-credentials=true',
    // At the default client rate limit (20/s) making those ServiceAccounts and tokens, one controller after the other,
    // held the sandbox's start 4.5 s (measured: 11.5 s to a healthy cluster, 7.6 s with this). One small cluster's
    // controllers never come near it after start.
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    `--service-account-private-key-file=${params.pki.serviceAccountKey}`,
    `--root-ca-file=${params.pki.ca.cert}`,
    `--node-monitor-grace-period=${params.gracePeriodSeconds}s`,
    `--node-monitor-period=${nodeMonitorPeriodSeconds(params.gracePeriodSeconds)}s`,
    '--profiling=false',
  ];
}

/** kube-scheduler's command line. */
export function schedulerArgs(params: { kubeconfig: string }): string[] {
  return [`--kubeconfig=${params.kubeconfig}`, '--secure-port=0', '--leader-elect=true', '--profiling=false'];
}

/** The lease a component holds once it runs its loops (leader election in kube-system). */
async function waitForLeaderLease(kube: KubeClients, lease: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  await waitFor(
    `${lease} leader lease`,
    async () => {
      const read = await kube.coordination.readNamespacedLease({ name: lease, namespace: 'kube-system' }).catch(() => undefined);
      const holder = read?.spec?.holderIdentity ?? '';
      const renewed = toDate(read?.spec?.renewTime);
      if (holder === '' || renewed === undefined) throw new Error('no leader yet');
      return true;
    },
    { timeoutMs, intervalMs: 200, abortIf: () => (proc.running ? undefined : `${lease} exited`) },
  );
}

/** Starts one control-plane component and waits until it holds its leader lease. */
async function startComponent(
  ctx: SandboxContext,
  kube: KubeClients,
  name: 'kube-controller-manager' | 'kube-scheduler',
  args: string[],
): Promise<ManagedProcess> {
  const logPath = join(ctx.paths.logs, `${name}.log`);
  const proc = await ManagedProcess.start({
    name,
    command: findBinary(name),
    args,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
    logPath,
    pidFile: { dir: ctx.paths.run, file: name },
  });
  try {
    await waitForLeaderLease(kube, name, proc, 60_000);
  } catch (error) {
    await proc.kill();
    throw new SandboxStartError(name, messageOf(error), logPath);
  }
  ctx.logger.info({ pid: proc.pid }, `${name} holds its leader lease`);
  return proc;
}

/** Starts kube-controller-manager; resolves once it runs its controllers. */
export function startControllerManager(
  ctx: SandboxContext,
  kube: KubeClients,
  params: { kubeconfig: string; pki: Pki; gracePeriodSeconds: number },
): Promise<ManagedProcess> {
  return startComponent(ctx, kube, 'kube-controller-manager', controllerManagerArgs(params));
}

/** Starts kube-scheduler; resolves once it schedules. */
export function startScheduler(ctx: SandboxContext, kube: KubeClients, params: { kubeconfig: string }): Promise<ManagedProcess> {
  return startComponent(ctx, kube, 'kube-scheduler', schedulerArgs(params));
}
