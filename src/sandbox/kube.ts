import {
  ApiException,
  ApiregistrationV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
} from '@kubernetes/client-node';
import { apiClient, ReusedConnections } from '../kube/gateway';

/** The Kubernetes clients the sandbox uses, built from its admin kubeconfig. */
export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  apiRegistration: ApiregistrationV1Api;
  /** StatefulSets (the `statefulset` etcd workload). */
  apps: AppsV1Api;
  /** StorageClasses (the `statefulset` etcd workload's local volumes). */
  storage: StorageV1Api;
}

/**
 * Clients for the kubeconfig at `path`, sharing kept connections: six simulated kubelets renew their leases and post
 * pod status all the time, and a TLS handshake for each call (client-node's way) loaded the machine the tests run on.
 */
export function kubeClients(path: string): KubeClients {
  const config = new KubeConfig();
  config.loadFromFile(path);
  const auth = new ReusedConnections(config);
  return {
    config,
    core: apiClient(config, auth, CoreV1Api),
    coordination: apiClient(config, auth, CoordinationV1Api),
    apiRegistration: apiClient(config, auth, ApiregistrationV1Api),
    apps: apiClient(config, auth, AppsV1Api),
    storage: apiClient(config, auth, StorageV1Api),
  };
}

/** Request options that send a patch as a JSON merge patch (client-node's default is a JSON patch). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a failed API call, or undefined for any other error. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Runs an API call, turning the given HTTP statuses (409 AlreadyExists, 404 NotFound, ...) into undefined. */
export async function tolerating<T>(statuses: readonly number[], call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const status = apiStatus(error);
    if (status !== undefined && statuses.includes(status)) return undefined;
    throw error;
  }
}

export { kubeTime, microTime } from './kube-time';

/** A timestamp read from the API: typed calls give Dates, watch events give strings. */
export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
