import {
  ApiException,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  type Configuration,
  type RequestContext,
  type SecurityAuthentication,
  type V1ConfigMap,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Node,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { Resources } from '../domain/observation';
import { errorText } from '../errors';
import { toNodeObservation, toPodInfo, type PodInfo, type TopologyLabels } from './convert';
import type { KubePort } from './port';
import { cpuMillis, memoryBytes } from './quantity';
import { RecentAnswer } from './recent';
import { WatchedList, type WatchedListStats, type WatchedListTiming } from './watched-list';

/** Where to find the Kubernetes API: a kubeconfig path and context, or the default loading rules. */
export interface KubeAccess {
  kubeconfig?: string;
  context?: string;
}

/** Load a KubeConfig the way kubectl does, or from the given file. */
export function loadKubeConfig(access: KubeAccess): KubeConfig {
  const kc = new KubeConfig();
  if (access.kubeconfig) kc.loadFromFile(access.kubeconfig);
  else kc.loadFromDefault();
  if (access.context) kc.setCurrentContext(access.context);
  return kc;
}

/**
 * The kubeconfig's authentication, with the TLS connections kept and reused. client-node (1.4) gives every request a
 * new https.Agent, so every call opens a connection and shakes hands again: about 5 ms of CPU a call here, three calls
 * a cycle for every cluster watched, and as much again on the API server. This applies the kubeconfig exactly as
 * client-node does (headers, client certificate, CA, server name), then hands the request one keep-alive agent with
 * the same TLS options, made again only when they change (a rotated client certificate). Proxies and plain HTTP keep
 * client-node's own agent.
 */
export class ReusedConnections implements SecurityAuthentication {
  private current: { key: string; agent: https.Agent } | undefined;
  /** TLS connections opened to the API server so far. */
  connectionsOpened = 0;

  constructor(private readonly kubeConfig: KubeConfig) {}

  getName(): string {
    return 'kubeconfig authentication, connections reused';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (made instanceof https.Agent) context.setAgent(this.agentLike(made));
  }

  /** The kept agent when `made`'s TLS options are those it was made with; else a new kept agent. */
  private agentLike(made: https.Agent): https.Agent {
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = made.options;
    const material = createHash('sha256')
      .update(JSON.stringify([ca, cert, key, pfx, passphrase, rejectUnauthorized, servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : (v ?? null)))))
      .digest('hex');
    if (this.current?.key !== material) {
      const old = this.current?.agent;
      // Requests still on the old agent have a minute to finish before its connections close.
      if (old) setTimeout(() => old.destroy(), 60_000).unref();
      // An idle connection closes after 30 s, before the API server closes it (a request sent on a connection the
      // server is closing fails).
      const agent = new https.Agent({ ...made.options, keepAlive: true, timeout: 30_000 });
      const open = agent.createConnection.bind(agent);
      agent.createConnection = (options, callback) => {
        this.connectionsOpened += 1;
        return open(options, callback);
      };
      this.current = { key: material, agent };
    }
    return this.current.agent;
  }
}

/** An API client of `type` for the kubeconfig's current cluster, authenticated by `auth` (and its kept connections). */
export function apiClient<T>(kubeConfig: KubeConfig, auth: SecurityAuthentication, type: new (config: Configuration) => T): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return new type(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}

/** What metrics.k8s.io answers for the nodes, as far as the guardian reads it. */
interface NodeMetricsList {
  items?: { metadata?: { name?: string }; usage?: { cpu?: string; memory?: string } }[];
}

/** Node usage from metrics.k8s.io, or why it could not be read. */
export type NodeUsage = { ok: true; usage: Map<string, Resources> } | { ok: false; error: string };

/** The HTTP status of a Kubernetes API error, if it is one. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The object, or undefined when the API server answers 404. */
async function absent<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

/** True once the delete was accepted; false when the object was gone (404) or a precondition did not hold (409). */
async function gone(remove: () => Promise<unknown>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (error) {
    const status = apiStatus(error);
    if (status === 404 || status === 409) return false;
    throw error;
  }
}

/** How a list may be read: `watched`, from a watch the gateway keeps (at most WATCH_TIMING.maxQuietMs behind). */
export interface ListOptions {
  watched?: boolean;
}

/**
 * The watched lists' timing: each watch asks the server to end it after 50 s and is followed by the next from the
 * last version seen; one not heard from (connected, an event) for 60 s no longer vouches for its list, and the next
 * read lists afresh. A list that takes 10 s is no longer waited for by later reads.
 */
export const WATCH_TIMING: WatchedListTiming = { maxQuietMs: 60_000, watchSeconds: 50, listDeadlineMs: 10_000 };

/** A thin, typed gateway over the parts of the Kubernetes API the guardian reads. */
export class KubeGateway implements KubePort {
  readonly core: CoreV1Api;
  private readonly customObjects: CustomObjectsApi;
  /** How its requests reach the API server (they share kept connections). */
  readonly connections: ReusedConnections;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly watchTiming: WatchedListTiming = WATCH_TIMING,
  ) {
    this.connections = new ReusedConnections(kubeConfig);
    this.core = apiClient(kubeConfig, this.connections, CoreV1Api);
    this.customObjects = apiClient(kubeConfig, this.connections, CustomObjectsApi);
  }

  /** Every node, with rack and domain read from the configured labels; `watched`: from the worker's watch of them. */
  async listNodes(topology: TopologyLabels, options: ListOptions = {}) {
    const nodes = options.watched ? await this.watchedNodes().items() : (await this.core.listNode()).items;
    return nodes.map((n) => toNodeObservation(n, topology));
  }

  /** The pods of an etcd cluster, by label selector; `watched`: from the worker's watch of them. */
  async listPods(namespace: string, labelSelector: string, options: ListOptions = {}): Promise<PodInfo[]> {
    const pods = options.watched ? await this.watchedPods(namespace, labelSelector).items() : (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
    return pods.map(toPodInfo);
  }

  /** The watched lists this gateway keeps (nodes, and pods per namespace and selector). */
  private readonly watched = new Map<string, WatchedList<V1Node> | WatchedList<V1Pod>>();

  private watchedNodes(): WatchedList<V1Node> {
    return this.watchedList('nodes', '/api/v1/nodes', undefined, async () => {
      const list = await this.core.listNode();
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
    });
  }

  private watchedPods(namespace: string, labelSelector: string): WatchedList<V1Pod> {
    return this.watchedList(`pods ${namespace} ${labelSelector}`, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, labelSelector, async () => {
      const list = await this.core.listNamespacedPod({ namespace, labelSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
    });
  }

  private watchedList<T extends V1Node | V1Pod>(
    key: string,
    path: string,
    labelSelector: string | undefined,
    list: () => Promise<{ items: T[]; resourceVersion?: string | undefined }>,
  ): WatchedList<T> {
    this.dropUnread();
    let found = this.watched.get(key) as WatchedList<T> | undefined;
    if (!found) {
      const watch = new Watch(this.kubeConfig);
      found = new WatchedList<T>(
        {
          list,
          // The watch's objects are plain JSON: the fields the conversions read have the same names as in the typed ones.
          watch: (resourceVersion, timeoutSeconds, onEvent, onEnd) =>
            watch.watch(
              path,
              { resourceVersion, timeoutSeconds, allowWatchBookmarks: true, ...(labelSelector ? { labelSelector } : {}) },
              (type: string, object: T) => onEvent(type, object),
              onEnd,
            ),
        },
        this.watchTiming,
      );
      if (this.closed) found.close();
      this.watched.set(key, found as WatchedList<V1Node> | WatchedList<V1Pod>);
    }
    return found;
  }

  /** Stops and forgets the lists no read asked for in two quiet periods (a cluster removed or re-targeted by a reload). */
  private dropUnread(): void {
    const now = Date.now();
    for (const [key, list] of this.watched) {
      if (now - list.lastReadAtMs > 2 * this.watchTiming.maxQuietMs) {
        list.close();
        this.watched.delete(key);
      }
    }
  }

  /** What each watched list has done (lists, watches, events), by what it watches. */
  watchStats(): Record<string, WatchedListStats> {
    return Object.fromEntries([...this.watched].map(([key, list]) => [key, { ...list.stats }]));
  }

  private closed = false;

  /** Stops the watches; reads list every time after. */
  close(): void {
    this.closed = true;
    for (const list of this.watched.values()) list.close();
  }

  /** The pod objects themselves, for the migration to copy a member's spec. */
  async listPodObjects(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  /** One pod, or undefined when it does not exist. */
  async getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** Create a pod; returns what the API server stored. */
  async createPod(namespace: string, pod: V1Pod): Promise<V1Pod> {
    return this.core.createNamespacedPod({ namespace, body: pod });
  }

  /**
   * Delete a pod. Grace 0 removes the object at once: needed when its node is down, since no kubelet is left to
   * finish a graceful deletion. Returns false when the pod was already gone, or (with `uid`) when the name now
   * belongs to another pod: the API server's precondition answers 409 then.
   */
  async deletePod(namespace: string, name: string, gracePeriodSeconds?: number, uid?: string): Promise<boolean> {
    return gone(() =>
      this.core.deleteNamespacedPod({
        namespace,
        name,
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
        ...(uid !== undefined ? { body: { preconditions: { uid }, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) } } : {}),
      }),
    );
  }

  /** One PersistentVolumeClaim, or undefined when it does not exist. */
  async getClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    return absent(() => this.core.readNamespacedPersistentVolumeClaim({ namespace, name }));
  }

  /** Delete that very claim (a uid precondition); false when it is gone or the name belongs to a newer claim. */
  async deleteClaim(namespace: string, name: string, uid: string): Promise<boolean> {
    return gone(() => this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name, body: { preconditions: { uid } } }));
  }

  /** One PersistentVolume, or undefined when it does not exist. */
  async getVolume(name: string): Promise<V1PersistentVolume | undefined> {
    return absent(() => this.core.readPersistentVolume({ name }));
  }

  /** The PersistentVolumes matching a label selector. */
  async listVolumes(labelSelector: string): Promise<V1PersistentVolume[]> {
    return (await this.core.listPersistentVolume({ labelSelector })).items;
  }

  /** Create a PersistentVolume; returns what the API server stored. */
  async createVolume(volume: V1PersistentVolume): Promise<V1PersistentVolume> {
    return this.core.createPersistentVolume({ body: volume });
  }

  /** Delete a PersistentVolume; false when it was already gone (or, with `uid`, replaced by another). */
  async deleteVolume(name: string, uid?: string): Promise<boolean> {
    return gone(() => this.core.deletePersistentVolume({ name, ...(uid !== undefined ? { body: { preconditions: { uid } } } : {}) }));
  }

  /** A ConfigMap's data, or undefined when it does not exist. */
  async readConfigMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.core.readNamespacedConfigMap({ namespace, name })).data ?? {};
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Make a ConfigMap hold exactly `data`: created when missing, replaced (on the version read, so a concurrent
   * writer makes this attempt fail rather than be overwritten) when its data differs, left alone when equal.
   */
  async applyConfigMap(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'updated' | 'unchanged'> {
    let current: V1ConfigMap | undefined;
    try {
      current = await this.core.readNamespacedConfigMap({ namespace, name });
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
    }
    if (!current) {
      await this.core.createNamespacedConfigMap({ namespace, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data } });
      return 'created';
    }
    const same = JSON.stringify(Object.entries(current.data ?? {}).sort()) === JSON.stringify(Object.entries(data).sort());
    if (same) return 'unchanged';
    await this.core.replaceNamespacedConfigMap({ namespace, name, body: { ...current, metadata: { ...current.metadata, labels: { ...(current.metadata?.labels ?? {}), ...labels } }, data } });
    return 'updated';
  }

  /**
   * Node CPU and memory usage. Never throws: an absent or failing metrics API is reported, not fatal. With `maxAgeMs`,
   * an answer younger than that is reused (shared by every cluster of the worker): the metrics API refreshes its
   * figures only every metrics-server resolution (15 s by default).
   */
  nodeUsage(maxAgeMs = 0): Promise<NodeUsage> {
    return this.usage.get(maxAgeMs);
  }

  private readonly usage = new RecentAnswer<NodeUsage>(
    () => this.readNodeUsage(),
    (usage) => usage.ok,
  );

  private async readNodeUsage(): Promise<NodeUsage> {
    try {
      const list = (await this.customObjects.listClusterCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', plural: 'nodes' })) as NodeMetricsList;
      const usage = new Map<string, Resources>();
      for (const item of list.items ?? []) {
        const name = item.metadata?.name;
        if (name === undefined || item.usage?.cpu === undefined || item.usage.memory === undefined) continue;
        usage.set(name, { cpuMillis: cpuMillis(item.usage.cpu), memoryBytes: memoryBytes(item.usage.memory) });
      }
      return { ok: true, usage };
    } catch (error) {
      return { ok: false, error: errorText(error) };
    }
  }
}
