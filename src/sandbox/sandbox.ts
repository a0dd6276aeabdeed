import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEtcdVersion, readinessPath } from '../domain/etcd-version';
import { etcdBinDir, etcdVersionOf, findBinary, findEtcdBinary, podSearchPath } from './binaries';
import { ensureNamespace, registerMetricsApi, waitForDefaultServiceAccount, waitForMetricsApi } from './bootstrap';
import { type SandboxContext } from './context';
import { controlTokenPath } from './control-client';
import { ControlServer } from './control-server';
import { CONTROL_PLANE_ETCD_MINOR, controlPlaneEtcdUrl, startControlPlaneEtcd } from './control-plane-etcd';
import { SandboxArgumentError, SandboxStartError, messageOf } from './errors';
import { ETCD_CLUSTER, ETCD_NAMESPACE, ETCD_SELECTOR, etcdPodManifest, memberLayout } from './etcd-cluster';
import { createEtcdStatefulSet, initialVolumes, statefulSetInfo } from './etcd-statefulset-setup';
import { etcdMemberHealthy, type EtcdClientTls } from './etcd-health';
import { ETCD_PKI_DIR, generateEtcdPki, type EtcdPki } from './etcd-pki';
import { parseFaultKind, type FaultKind, type PressureLevels } from './faults';
import { httpCall } from './http';
import { apiServerUrl, startKubeApiserver } from './kube-apiserver';
import { CONTROLLER_MANAGER_USER, SCHEDULER_USER, startControllerManager, startScheduler } from './kube-controllers';
import { kubeClients, type KubeClients } from './kube';
import { writeKubeconfig } from './kubeconfig';
import { createSandboxLogger } from './logger';
import { MetricsApiServer } from './metrics-api';
import { resolveOptions, type ResolvedOptions, type SandboxOptions } from './options';
import { generatePki, newToken, readPem, writeTokenFile, type TokenEntry } from './pki';
import { CONTROL_PLANE_HOST, ETCD_CLIENT_PORT, etcdServiceAddress, portsForSlot } from './ports';
import { isRecordedProcessAlive, readPidFiles } from './pid-files';
import { isRunning } from './proc';
import { type ManagedProcess } from './processes';
import { ServiceProxy } from './service-proxy';
import { NodeSimulator } from './simulator';
import { acquireSlot } from './slot-lock';
import { readStateFile, writeStateFile } from './state-file';
import { hostPathRoot, prepareStateDir, statePaths, type StatePaths } from './state-dir';
import { readStatus } from './status';
import { findWeed, startObjectStore } from './object-store';
import { startTemporal, TEMPORAL_NAMESPACE, temporalAddresses, waitForTemporal } from './temporal-server';
import { layoutNodes, placeMembers, type NodeLayout } from './topology';
import { type FaultRequest, type SandboxInfo, type SandboxStatus } from './types';
import { waitFor } from './wait';

/**
 * The local world the guardian is shown against: a real Temporal dev server, a real kube-apiserver on its own etcd,
 * simulated nodes that run pods as local processes, metrics.k8s.io through the aggregation layer, and a real etcd
 * cluster running as pods. `Sandbox.start()` returns once the etcd cluster is healthy.
 */

/**
 * Time a stopping pod gets between SIGTERM and SIGKILL when the whole sandbox stops. Followers close in about a
 * second; the leader tries to hand its leadership to a follower that is stopping too and would wait out any grace,
 * and its WAL is already synced, so a long grace only delayed every stop (3 s, measured).
 */
const STOP_POD_GRACE_MS = 1_500;
/** Time a control-plane process gets between SIGTERM and SIGKILL. */
const STOP_COMPONENT_GRACE_MS = 5_000;

/** Everything a running sandbox holds, in the order it was started. */
interface Parts {
  ctx: SandboxContext;
  releaseSlot: () => void;
  closeLog: () => void;
  temporal?: ManagedProcess;
  objectStore?: ManagedProcess;
  controlPlaneEtcd?: ManagedProcess;
  apiServer?: ManagedProcess;
  controllerManager?: ManagedProcess;
  scheduler?: ManagedProcess;
  metrics?: MetricsApiServer;
  simulator?: NodeSimulator;
  control?: ControlServer;
  /** The stand-in for kube-proxy in front of the etcd Service. */
  serviceProxy?: ServiceProxy;
  kube?: KubeClients;
  /** The sandbox's own client certificate for members that serve TLS. */
  etcdTls?: EtcdClientTls;
  /** The path that says a member is ready, for the members' etcd version (/readyz from 3.5.11, else /health). */
  etcdReadyPath?: '/health' | '/readyz';
}

/** The parts of a sandbox that finished starting. */
type RunningParts = Parts & { simulator: NodeSimulator; kube: KubeClients };

/** Stops whatever of `parts` is running, last started first. Never throws. */
async function stopParts(parts: Parts): Promise<void> {
  const log = (what: string) => (error: unknown) => parts.ctx.logger.warn({ err: messageOf(error) }, `stopping ${what} failed`);
  await parts.control?.stop().catch(log('the control endpoint'));
  await parts.serviceProxy?.stop().catch(log('the etcd service proxy'));
  await parts.simulator?.stop(STOP_POD_GRACE_MS).catch(log('the node simulator'));
  await parts.metrics?.stop().catch(log('the metrics API'));
  await Promise.all([
    parts.controllerManager?.stop({ graceMs: STOP_COMPONENT_GRACE_MS }).catch(log('kube-controller-manager')),
    parts.scheduler?.stop({ graceMs: STOP_COMPONENT_GRACE_MS }).catch(log('kube-scheduler')),
  ]);
  await Promise.all([
    parts.apiServer?.stop({ graceMs: STOP_COMPONENT_GRACE_MS }).catch(log('kube-apiserver')),
    parts.temporal?.stop({ graceMs: STOP_COMPONENT_GRACE_MS }).catch(log('temporal')),
    // Nothing writes to it by now, and weed takes seconds to wind down on SIGTERM: a second, then SIGKILL.
    parts.objectStore?.stop({ graceMs: 1_000 }).catch(log('the object store')),
  ]);
  await parts.controlPlaneEtcd?.stop({ graceMs: STOP_COMPONENT_GRACE_MS }).catch(log('control-plane etcd'));
  parts.releaseSlot();
}

/**
 * Refuses a state directory in which another live process runs a sandbox, or in which processes of an earlier one
 * still run (its owner died): wiping their files under them would leave them running on ports nobody tracks.
 */
function refuseIfRunning(stateDir: string): void {
  const paths = statePaths(stateDir);
  const state = readStateFile(paths);
  const stopFirst = `stop it first with \`etcd-guardian sandbox down --state-dir ${stateDir}\``;
  if (state?.phase === 'running' && state.info.pid !== process.pid && isRunning(state.info.pid)) {
    throw new SandboxArgumentError(`a sandbox is already running in ${stateDir} (pid ${state.info.pid}): ${stopFirst}`);
  }
  const leftovers = readPidFiles(paths.run).filter((file) => isRecordedProcessAlive(file.record));
  if (leftovers.length > 0) {
    const names = leftovers.map((file) => `${file.record.name} ${file.record.pid}`).join(', ');
    throw new SandboxArgumentError(`processes of an earlier sandbox still run in ${stateDir} (${names}): ${stopFirst}`);
  }
}

/** A running sandbox. */
export class Sandbox {
  private stopping: Promise<void> | undefined;
  private resolveStopped: () => void = () => undefined;
  /** Resolves once the sandbox has stopped (by `stop()` or through the control endpoint). */
  readonly stopped: Promise<void>;

  private constructor(
    /** Where everything is. */
    readonly info: SandboxInfo,
    private readonly parts: RunningParts,
  ) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  /** Starts a sandbox and resolves once its etcd cluster is healthy; on failure, stops what it started and rejects. */
  static async start(options: SandboxOptions): Promise<Sandbox> {
    const opts = resolveOptions(options);
    // A missing binary fails before anything starts or any file is touched.
    findEtcdBinary(CONTROL_PLANE_ETCD_MINOR, 'etcd');
    findEtcdBinary(opts.etcdVersion, 'etcd');
    findBinary('kube-apiserver');
    findBinary('kube-controller-manager');
    findBinary('kube-scheduler');
    if (opts.temporal) findBinary('temporal');
    if (opts.objectStore) findWeed();
    // The TLS members' readiness probe and the StatefulSet's start script run etcdctl.
    if (opts.etcdTls || opts.etcdWorkload === 'statefulset') findEtcdBinary(opts.etcdVersion, 'etcdctl');
    refuseIfRunning(opts.stateDir);
    const paths = statePaths(opts.stateDir);
    prepareStateDir(paths);
    const lease = await acquireSlot(paths.root, opts.slot);
    const log = createSandboxLogger(join(paths.logs, 'sandbox.log'));
    const logger = log.logger;
    const ctx: SandboxContext = { paths, ports: portsForSlot(lease.slot), slot: lease.slot, logger };
    const parts: Parts = { ctx, releaseSlot: () => lease.release(), closeLog: () => log.close() };
    logger.info({ options: { ...opts, onProgress: undefined }, slot: lease.slot }, 'starting sandbox');
    try {
      const sandbox = await Sandbox.bringUp(opts, parts);
      logger.info({ info: sandbox.info }, 'sandbox is ready');
      return sandbox;
    } catch (error) {
      logger.error({ err: messageOf(error) }, 'sandbox start failed; stopping what was started');
      await stopParts(parts);
      parts.closeLog();
      throw error;
    }
  }

  private static async bringUp(opts: ResolvedOptions, parts: Parts): Promise<Sandbox> {
    const { ctx } = parts;
    const { paths, logger } = ctx;
    const progress = (message: string): void => {
      logger.info(message);
      opts.onProgress(message);
    };
    const t0 = Date.now();
    const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

    // The members' etcd: its full version names the image and picks the readiness endpoint.
    const etcdVersion = etcdVersionOf(opts.etcdVersion);
    const parsedVersion = parseEtcdVersion(etcdVersion);
    parts.etcdReadyPath = parsedVersion === undefined ? '/health' : readinessPath(parsedVersion);
    // Temporal takes longest to come up and needs nothing else: start it first, wait for it last.
    if (opts.temporal) parts.temporal = await startTemporal(ctx);
    // The object store comes up beside everything else; it is waited for with Temporal, at the end.
    const objectStore = opts.objectStore
      ? startObjectStore(ctx).then((store) => {
          parts.objectStore = store.proc;
          return store;
        })
      : undefined;
    // A failure is reported where it is awaited; until then it must not count as unhandled.
    objectStore?.catch(() => undefined);
    const nodes = layoutNodes({ nodes: opts.nodes, racks: opts.racks, domains: opts.domains, slot: ctx.slot });
    const [pki, , etcdPki] = await Promise.all([
      generatePki(paths.pki),
      // Recorded as soon as it runs, so that a failure elsewhere in this step still stops it.
      startControlPlaneEtcd(ctx).then((proc) => (parts.controlPlaneEtcd = proc)),
      opts.etcdTls ? generateEtcdPki(paths.pki, etcdPkiNodes(paths, nodes, etcdServiceAddress(ctx.slot))) : Promise.resolve(undefined),
    ]);
    if (etcdPki !== undefined) parts.etcdTls = healthcheckTls(etcdPki);
    progress(`control-plane etcd healthy, certificates made${etcdPki === undefined ? '' : ' (etcd TLS too)'} (${elapsed()})`);

    const admin: TokenEntry = { token: newToken(), user: 'admin', groups: ['system:masters'] };
    const users = opts.users.map((user): TokenEntry => ({ token: newToken(), user: user.name, groups: user.groups ?? [] }));
    // The controller-manager and the scheduler authenticate as the users the bootstrap RBAC policy grants their roles.
    const components = [CONTROLLER_MANAGER_USER, SCHEDULER_USER].map((user): TokenEntry => ({ token: newToken(), user, groups: [] }));
    const tokenFile = join(paths.pki, 'tokens.csv');
    writeTokenFile(tokenFile, [admin, ...components, ...users]);
    parts.apiServer = await startKubeApiserver(ctx, { etcdUrl: controlPlaneEtcdUrl(ctx), pki, tokenFile, adminToken: admin.token });
    const server = apiServerUrl(ctx);
    const caPem = readPem(pki.ca.cert);
    writeKubeconfig({ path: paths.kubeconfig, server, caPem, user: admin.user, token: admin.token, namespace: ETCD_NAMESPACE });
    const userKubeconfigs = users.map((user) => {
      const path = join(paths.userKubeconfigs, user.user);
      writeKubeconfig({ path, server, caPem, user: user.user, token: user.token, namespace: ETCD_NAMESPACE });
      return { name: user.user, kubeconfig: path };
    });
    const [managerConfig, schedulerConfig] = components.map((component) => {
      const path = join(paths.pki, `${component.user.replace('system:', '')}.kubeconfig`);
      writeKubeconfig({ path, server, caPem, user: component.user, token: component.token });
      return path;
    }) as [string, string];
    progress(`kube-apiserver ready at ${server} (${elapsed()})`);

    const kube = kubeClients(paths.kubeconfig);
    parts.kube = kube;
    const version = await httpCall({ url: `${server}/version`, token: admin.token, ca: caPem });
    const gitVersion = (JSON.parse(version.text) as { gitVersion?: string }).gitVersion ?? 'v0.0.0';
    await Promise.all([
      startControllerManager(ctx, kube, { kubeconfig: managerConfig, pki, gracePeriodSeconds: opts.nodeGracePeriodSeconds }).then(
        (proc) => (parts.controllerManager = proc),
      ),
      startScheduler(ctx, kube, { kubeconfig: schedulerConfig }).then((proc) => (parts.scheduler = proc)),
    ]);
    progress(`kube-controller-manager and kube-scheduler running (${elapsed()})`);
    await Promise.all([ensureNamespace(kube, ETCD_NAMESPACE), waitForDefaultServiceAccount(kube, 'default')]);

    // The metrics backend must be up before the APIService is registered; it reads the simulator once that runs.
    parts.metrics = await MetricsApiServer.start({
      port: ctx.ports.metricsApi,
      pki,
      logger,
      source: {
        nodes: () => nodes.map((node) => ({ name: node.name, usage: parts.simulator?.usage(node.name) })),
        pods: () => parts.simulator?.runningPods() ?? [],
      },
    });
    await registerMetricsApi(kube, { port: ctx.ports.metricsApi, caPem });
    const simulator = await NodeSimulator.start({
      kube,
      paths,
      logger,
      nodes,
      searchPath: podSearchPath(process.env, opts.etcdVersion),
      versions: { kubelet: gitVersion },
      gracePeriodMs: opts.nodeGracePeriodSeconds * 1000,
    });
    parts.simulator = simulator;
    progress(`${nodes.length} nodes Ready (${elapsed()})`);

    const members = memberLayout(placeMembers(nodes, opts.members), opts.etcdTls);
    const token = `etcd-guardian-${ETCD_CLUSTER}-${Date.now().toString(36)}`;
    const statefulSet = opts.etcdWorkload === 'statefulset';
    if (statefulSet) {
      const serviceAddress = `${etcdServiceAddress(ctx.slot)}:${ETCD_CLIENT_PORT}`;
      await createEtcdStatefulSet(kube, { members, token, tls: opts.etcdTls, version: etcdVersion, serviceAddress, ...(opts.etcdQuotaBytes !== undefined ? { quotaBytes: opts.etcdQuotaBytes } : {}) });
    } else {
      for (const member of members) {
        await kube.core.createNamespacedPod({ namespace: ETCD_NAMESPACE, body: etcdPodManifest(member, members, token, opts.etcdTls, etcdVersion, opts.etcdQuotaBytes) });
      }
    }
    await waitForEtcd(kube, members.map((m) => m.clientUrl), paths.logs, parts.etcdTls, parts.etcdReadyPath);
    progress(`etcd cluster of ${members.length} healthy (etcd ${etcdVersion}${statefulSet ? ', StatefulSet etcd' : ''}): ${members.map((m) => m.clientUrl).join(', ')} (${elapsed()})`);
    parts.serviceProxy = await ServiceProxy.start({
      kube,
      namespace: ETCD_NAMESPACE,
      selector: ETCD_SELECTOR,
      host: etcdServiceAddress(ctx.slot),
      port: ETCD_CLIENT_PORT,
      targetPort: ETCD_CLIENT_PORT,
      logger,
    });
    const serviceUrl = `${opts.etcdTls ? 'https' : 'http'}://${parts.serviceProxy.address}`;

    await waitForMetricsApi(kube, 30_000);
    if (parts.temporal !== undefined) {
      await waitForTemporal(ctx, parts.temporal);
      progress(`Temporal ready at ${temporalAddresses(ctx).address} (${elapsed()})`);
    }
    const store = await objectStore;
    if (store !== undefined) progress(`object store ready at ${store.info.endpoint}, bucket ${store.info.bucket} (${elapsed()})`);

    const info: SandboxInfo = {
      stateDir: paths.root,
      slot: ctx.slot,
      pid: process.pid,
      startedAt: new Date(t0).toISOString(),
      kubeconfig: paths.kubeconfig,
      apiServerUrl: server,
      ...(opts.temporal ? { temporal: { ...temporalAddresses(ctx), namespace: TEMPORAL_NAMESPACE } } : {}),
      ...(store !== undefined ? { objectStore: store.info } : {}),
      controlPlaneEtcdUrl: controlPlaneEtcdUrl(ctx),
      metricsApiUrl: `https://${CONTROL_PLANE_HOST}:${ctx.ports.metricsApi}`,
      controlUrl: `http://${CONTROL_PLANE_HOST}:${ctx.ports.control}`,
      logsDir: paths.logs,
      nodeGracePeriodSeconds: opts.nodeGracePeriodSeconds,
      nodes,
      etcd: {
        namespace: ETCD_NAMESPACE,
        cluster: ETCD_CLUSTER,
        selector: ETCD_SELECTOR,
        version: etcdVersion,
        binDirectory: etcdBinDir(opts.etcdVersion),
        clientUrls: members.map((m) => m.clientUrl),
        serviceUrl,
        workload: opts.etcdWorkload,
        ...(statefulSet ? { statefulSet: statefulSetInfo() } : {}),
        members: members.map((m) => ({
          name: m.name,
          pod: m.name,
          node: m.node.name,
          clientUrl: m.clientUrl,
          peerUrl: m.peerUrl,
          ...(statefulSet ? { volume: initialVolumes(members)[m.name] } : {}),
        })),
        ...(etcdPki === undefined
          ? {}
          : { tls: { caFile: etcdPki.ca.cert, certFile: etcdPki.guardianClient.cert, keyFile: etcdPki.guardianClient.key } }),
      },
      users: userKubeconfigs,
    };
    const sandbox = new Sandbox(info, parts as RunningParts);
    const controlToken = newToken();
    writeFileSync(controlTokenPath(paths), controlToken, { mode: 0o600 });
    parts.control = await ControlServer.start({
      port: ctx.ports.control,
      token: controlToken,
      logger,
      handlers: {
        info: () => sandbox.info,
        status: () => sandbox.status(),
        fault: (request: FaultRequest) => sandbox.fault(request.kind, request.target, request),
        heal: (target) => sandbox.heal(target),
        shutdown: () => void sandbox.stop(),
      },
    });
    writeStateFile(paths, { phase: 'running', info });
    return sandbox;
  }

  /** Nodes (conditions, taints, usage) and etcd members (phase, readiness, restarts, health), read from the real APIs. */
  async status(): Promise<SandboxStatus> {
    const { simulator, kube, etcdTls, etcdReadyPath } = this.parts;
    return readStatus({
      kube,
      stateDir: this.info.stateDir,
      etcdVersion: this.info.etcd.version,
      ...(this.info.etcd.workload === undefined ? {} : { etcdWorkload: this.info.etcd.workload }),
      ...(etcdReadyPath === undefined ? {} : { readyPath: etcdReadyPath }),
      usage: (node) => simulator.usage(node),
      faults: simulator.faults(),
      ...(etcdTls === undefined ? {} : { etcdTls }),
    });
  }

  /**
   * Injects a fault: `node-down <node>`, `node-pressure <node>` with `{ cpu, memory }` fractions, `pod-freeze <pod>`,
   * `pod-crash <pod>`. Resolves with a sentence saying what happened; a wrong kind or target is a
   * SandboxArgumentError and changes nothing.
   */
  async fault(kind: FaultKind, target: string, levels: PressureLevels = {}): Promise<string> {
    const parsed = parseFaultKind(String(kind));
    return this.parts.simulator.fault(parsed, target, { cpu: levels.cpu, memory: levels.memory });
  }

  /** Undoes every fault of a node or pod; resolves with the faults removed (empty when it had none). */
  async heal(target: string): Promise<string[]> {
    return this.parts.simulator.heal(target);
  }

  /**
   * Stops the Temporal dev server, by SIGKILL as a crash would or by SIGTERM, and starts it again on the same SQLite
   * file and ports after `downMs`; resolves once it answers with the guardian's search attributes. Workflows, their
   * histories, timers and schedules survive; connected clients and workers see the server gone until then.
   */
  async restartTemporal(options: { kill?: boolean; downMs?: number } = {}): Promise<void> {
    const { ctx, temporal } = this.parts;
    if (temporal === undefined) throw new SandboxArgumentError('this sandbox runs no Temporal server (started with temporal: false)');
    ctx.logger.info({ kill: options.kill ?? false, downMs: options.downMs ?? 0 }, 'restarting the Temporal dev server');
    if (options.kill === true) await temporal.kill();
    else await temporal.stop({ graceMs: STOP_COMPONENT_GRACE_MS });
    if (options.downMs !== undefined && options.downMs > 0) await sleep(options.downMs);
    const restarted = await startTemporal(ctx);
    this.parts.temporal = restarted;
    await waitForTemporal(ctx, restarted);
  }

  /** Stops every process of the sandbox and frees its ports; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { ctx } = this.parts;
      ctx.logger.info('stopping sandbox');
      await stopParts(this.parts);
      writeStateFile(ctx.paths, { phase: 'stopped', info: this.info, stoppedAt: new Date().toISOString() });
      ctx.logger.info('sandbox stopped');
      this.parts.closeLog();
      this.resolveStopped();
    })();
    return this.stopping;
  }
}

/** Each node's etcd certificates go in the host directory that stands for its hostPath /etc/kubernetes/pki/etcd. */
function etcdPkiNodes(paths: StatePaths, nodes: readonly NodeLayout[], serviceAddress: string): Array<{ name: string; address: string; pkiDir: string; serviceAddress: string }> {
  return nodes.map((node) => ({ name: node.name, address: node.address, pkiDir: join(hostPathRoot(paths, node.name), ETCD_PKI_DIR), serviceAddress }));
}

/** The sandbox's own health checks present the health-check client certificate. */
function healthcheckTls(pki: EtcdPki): EtcdClientTls {
  return { ca: readPem(pki.ca.cert), cert: readPem(pki.healthcheckClient.cert), key: readPem(pki.healthcheckClient.key) };
}

/** Waits until every member answers its readiness path (/health or /readyz) and every member pod is Ready in the API. */
async function waitForEtcd(
  kube: KubeClients,
  clientUrls: readonly string[],
  logsDir: string,
  tls?: EtcdClientTls,
  readyPath: '/health' | '/readyz' = '/health',
): Promise<void> {
  try {
    await waitFor(
      'etcd cluster healthy',
      async () => {
        const health = await Promise.all(clientUrls.map((url) => etcdMemberHealthy(url, 1_000, tls, readyPath)));
        const healthy = health.filter(Boolean).length;
        if (healthy < clientUrls.length) throw new Error(`${healthy} of ${clientUrls.length} members healthy`);
        const pods = await kube.core.listNamespacedPod({ namespace: ETCD_NAMESPACE, labelSelector: ETCD_SELECTOR });
        const ready = pods.items.filter((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
        if (ready < clientUrls.length) throw new Error(`${ready} of ${clientUrls.length} pods Ready`);
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  } catch (error) {
    throw new SandboxStartError('etcd cluster', messageOf(error), logsDir);
  }
}
