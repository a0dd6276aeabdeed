import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { KubeClients } from './kube';

/**
 * The sandbox's stand-in for kube-proxy in front of a ClusterIP Service that selects the etcd pods: a stable address
 * clients dial, each new TCP connection sent to one Ready, non-terminating member pod (a host-network pod's address
 * is its node's). Like kube-proxy it balances connections, not requests: a connection stays on its member until that
 * member goes, and the client's reconnect lands on a live one. It is a stand-in because the sandbox has neither
 * kube-proxy nor a routable service CIDR (nothing may dial a ClusterIP here), and EndpointSlices refuse loopback
 * addresses; it reads the pods as the EndpointSlice controller would.
 */

/** Where the backends come from: the pods of the Service's selector. */
export interface ServiceProxyOptions {
  kube: KubeClients;
  namespace: string;
  selector: string;
  /** The stable address and port clients dial. */
  host: string;
  port: number;
  /** The pods' port the Service targets. */
  targetPort: number;
  logger: Logger;
  /** How often the endpoints are read again (kube-proxy follows a watch; a short poll stands in for it). */
  refreshMs?: number;
}

/** How long a backend may take to accept before the next one is tried. */
const CONNECT_TIMEOUT_MS = 1_000;

/** A running proxy: its address, its current backends, and stop. */
export class ServiceProxy {
  private backends: string[] = [];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly options: ServiceProxyOptions,
  ) {}

  /** Starts listening once the first endpoints are read. */
  static async start(options: ServiceProxyOptions): Promise<ServiceProxy> {
    const server = createServer();
    const proxy = new ServiceProxy(server, options);
    await proxy.refresh();
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const tick = (): void => {
      proxy.timer = setTimeout(() => void proxy.refresh().finally(() => proxy.timer !== undefined && tick()), options.refreshMs ?? 500);
    };
    tick();
    return proxy;
  }

  /** The address clients dial, as a URL host:port. */
  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** The `host:port` of every pod a new connection may go to now. */
  get currentBackends(): readonly string[] {
    return this.backends;
  }

  private async refresh(): Promise<void> {
    const { kube, namespace, selector, targetPort, logger } = this.options;
    try {
      const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selector });
      const ready = pods.items
        .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.status?.podIP ?? p.status?.hostIP)
        .filter((ip): ip is string => ip !== undefined && ip !== '')
        .map((ip) => `${ip}:${targetPort}`)
        .sort();
      if (ready.join() !== this.backends.join()) logger.info({ backends: ready }, 'service proxy: endpoints changed');
      this.backends = ready;
    } catch (error) {
      // Like kube-proxy, keep routing to the last known endpoints while the API does not answer.
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'service proxy: endpoints not read');
    }
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = this.backends.length === 0 ? [] : this.backends.map((_, i) => this.backends[(this.next + i) % this.backends.length] ?? '');
    this.next = (this.next + 1) % Math.max(1, this.backends.length);
    this.dial(client, order);
  }

  /** Connect to the first backend that accepts; a client no backend accepts is closed, as a refused connection. */
  private dial(client: Socket, order: readonly string[]): void {
    const [target, ...rest] = order;
    if (target === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream = createConnection({ host, port, timeout: CONNECT_TIMEOUT_MS });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
    let failed = false;
    const fail = (): void => {
      if (connected || failed) return;
      failed = true;
      upstream.destroy();
      this.dial(client, rest);
    };
    upstream.once('timeout', fail);
    upstream.on('error', () => (connected ? client.destroy() : fail()));
  }

  /** Stops listening and closes every proxied connection. */
  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
