import { type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { type TLSSocket } from 'node:tls';
import { kubeTime } from './kube';
import { type Logger } from './logger';
import { type UsageFractions, usageQuantities } from './nodes/usage';
import { FRONT_PROXY_CLIENT_CN, readPem, type Pki } from './pki';
import { CONTROL_PLANE_HOST } from './ports';
import { CLOCK_TICKS_PER_SECOND, readProcStat, residentBytes } from './proc';
import { type RunningPod } from './simulator';

/**
 * The metrics.k8s.io backend, reached only through kube-apiserver's aggregation layer: the apiserver proxies
 * /apis/metrics.k8s.io/v1beta1/... here over TLS with its proxy client certificate, and this server accepts no
 * other caller. Node usage comes from the simulator; pod usage is the real CPU and memory of the pod's process.
 */

const GROUP_VERSION = 'metrics.k8s.io/v1beta1';
const PREFIX = '/apis/metrics.k8s.io/v1beta1';
/** How often pod processes are sampled; a pod's CPU is the rate between its last two samples. */
const SAMPLE_INTERVAL_MS = 5_000;

/** Where the figures come from. */
export interface MetricsSource {
  /** Every node with its usage; a node without usage (down) is left out, as metrics-server leaves out a dead kubelet. */
  nodes(): Array<{ name: string; usage: UsageFractions | undefined }>;
  /** Pod processes that run now. */
  pods(): RunningPod[];
}

interface Sample {
  ticks: number;
  at: number;
  cpuCores?: number;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A Kubernetes Status object, the error body every API server sends. */
function failure(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function notFound(res: ServerResponse, what: string): void {
  failure(res, 404, 'NotFound', `${what} not found`);
}

const RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: GROUP_VERSION,
  resources: [
    { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
    { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
  ],
};

/** The HTTPS server behind the APIService v1beta1.metrics.k8s.io. */
export class MetricsApiServer {
  private readonly samples = new Map<number, Sample>();
  private sampler: NodeJS.Timeout | undefined;

  private readonly server: Server;

  private constructor(
    tls: { key: string; cert: string; ca: string },
    private readonly source: MetricsSource,
    private readonly logger: Logger,
  ) {
    // The aggregator authenticates with a client certificate signed by the request-header CA.
    this.server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => this.handle(req, res));
  }

  /** Listens on 127.0.0.1:`port`. */
  static async start(params: { port: number; pki: Pki; source: MetricsSource; logger: Logger }): Promise<MetricsApiServer> {
    const tls = {
      key: readPem(params.pki.metricsServer.key),
      cert: readPem(params.pki.metricsServer.cert),
      ca: readPem(params.pki.frontProxyCa.cert),
    };
    const api = new MetricsApiServer(tls, params.source, params.logger);
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(params.port, CONTROL_PLANE_HOST, () => resolve());
    });
    api.sampler = setInterval(() => api.sample(), SAMPLE_INTERVAL_MS);
    api.sample();
    return api;
  }

  /** Stops listening and sampling. */
  async stop(): Promise<void> {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private sample(): void {
    const now = Date.now();
    const live = new Set<number>();
    for (const pod of this.source.pods()) {
      live.add(pod.pid);
      const stat = readProcStat(pod.pid);
      if (stat === undefined) continue;
      const previous = this.samples.get(pod.pid);
      const seconds = previous === undefined ? 0 : (now - previous.at) / 1000;
      const cpuCores =
        previous === undefined || seconds <= 0 ? undefined : (stat.cpuTicks - previous.ticks) / CLOCK_TICKS_PER_SECOND / seconds;
      this.samples.set(pod.pid, { ticks: stat.cpuTicks, at: now, ...(cpuCores === undefined ? {} : { cpuCores }) });
    }
    for (const pid of this.samples.keys()) if (!live.has(pid)) this.samples.delete(pid);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    if (peer?.subject?.CN !== FRONT_PROXY_CLIENT_CN) {
      failure(res, 401, 'Unauthorized', 'only the aggregation layer may call this server');
      return;
    }
    const url = new URL(req.url ?? '/', 'https://metrics.local');
    const path = url.pathname.replace(/\/+$/, '');
    this.logger.debug({ path, user: req.headers['x-remote-user'] }, 'metrics request');
    if (req.method !== 'GET') {
      failure(res, 405, 'MethodNotAllowed', 'only get and list are served');
      return;
    }
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (path === PREFIX) {
      send(res, 200, RESOURCE_LIST);
      return;
    }
    const nodeMatch = /^\/apis\/metrics\.k8s\.io\/v1beta1\/nodes(?:\/([^/]+))?$/.exec(path);
    if (nodeMatch !== null) {
      this.serveNodes(res, nodeMatch[1]);
      return;
    }
    const podMatch = /^\/apis\/metrics\.k8s\.io\/v1beta1(?:\/namespaces\/([^/]+))?\/pods(?:\/([^/]+))?$/.exec(path);
    if (podMatch !== null) {
      this.servePods(res, podMatch[1], podMatch[2]);
      return;
    }
    notFound(res, path);
  }

  private serveNodes(res: ServerResponse, name: string | undefined): void {
    const now = new Date();
    const items = this.source
      .nodes()
      .filter((node): node is { name: string; usage: UsageFractions } => node.usage !== undefined)
      .filter((node) => name === undefined || node.name === name)
      .map((node) => ({
        metadata: { name: node.name, creationTimestamp: kubeTime(now) },
        timestamp: kubeTime(now),
        window: '10s',
        usage: usageQuantities(node.usage),
      }));
    if (name !== undefined) {
      if (items[0] === undefined) notFound(res, `nodemetrics ${name}`);
      else send(res, 200, { kind: 'NodeMetrics', apiVersion: GROUP_VERSION, ...items[0] });
      return;
    }
    send(res, 200, { kind: 'NodeMetricsList', apiVersion: GROUP_VERSION, metadata: {}, items });
  }

  private servePods(res: ServerResponse, namespace: string | undefined, name: string | undefined): void {
    const now = new Date();
    const items = this.source
      .pods()
      .filter((pod) => (namespace === undefined || pod.namespace === namespace) && (name === undefined || pod.name === name))
      .flatMap((pod) => {
        const cores = this.samples.get(pod.pid)?.cpuCores;
        const memory = residentBytes(pod.pid);
        // Like metrics-server, a pod appears once two samples give it a CPU rate.
        if (cores === undefined || memory === undefined) return [];
        return [
          {
            metadata: { name: pod.name, namespace: pod.namespace, creationTimestamp: kubeTime(now) },
            timestamp: kubeTime(now),
            window: `${SAMPLE_INTERVAL_MS / 1000}s`,
            containers: [
              { name: pod.container, usage: { cpu: `${Math.round(cores * 1e9)}n`, memory: `${Math.round(memory / 1024)}Ki` } },
            ],
          },
        ];
      });
    if (name !== undefined) {
      if (items[0] === undefined) notFound(res, `podmetrics ${namespace ?? ''}/${name}`);
      else send(res, 200, { kind: 'PodMetrics', apiVersion: GROUP_VERSION, ...items[0] });
      return;
    }
    send(res, 200, { kind: 'PodMetricsList', apiVersion: GROUP_VERSION, metadata: {}, items });
  }
}
