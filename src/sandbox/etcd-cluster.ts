import { type V1Container, type V1Pod, type V1Probe, type V1Volume } from '@kubernetes/client-node';
import { livenessPath, parseEtcdVersion, readinessPath } from '../domain/etcd-version';
import { expandVars } from './pods/expansion';
import { ETCD_PKI_DIR, ETCD_PKI_FILES } from './etcd-pki';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from './ports';
import { type NodeLayout } from './topology';

/**
 * The sandbox's etcd cluster: pods created through the Kubernetes API, one per rack, host networking on their
 * node's address. The spec is the realistic kind a later migration copies: change the name, nodeName and the
 * address flags, and create the new member's pod the same way.
 */

/** Namespace of the etcd pods. */
export const ETCD_NAMESPACE = 'etcd';
/** The cluster's name, in the `etcd-guardian.io/cluster` label. */
export const ETCD_CLUSTER = 'main';
/** Labels of every member's pod. */
export const ETCD_LABELS = { 'app.kubernetes.io/name': 'etcd', 'etcd-guardian.io/cluster': ETCD_CLUSTER } as const;
/** The guardian's pod selector for the cluster. */
export const ETCD_SELECTOR = Object.entries(ETCD_LABELS)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');
/**
 * The image a real deployment of that etcd version would run (Kubernetes' own etcd image); the simulator runs the
 * `etcd` command from the component cache instead, so the tag only documents the version.
 */
export function etcdImage(version: string): string {
  return `registry.k8s.io/etcd:${version}-0`;
}

/** The version the sandbox's members run when none is given (Debian's etcd, what the cache links in its bin). */
export const DEFAULT_POD_ETCD_VERSION = '3.4.23';
/** Where the data directory is mounted in the "container". */
export const DATA_MOUNT = '/var/lib/etcd';

/** One member of the initial cluster. */
export interface EtcdMemberLayout {
  name: string;
  node: NodeLayout;
  clientUrl: string;
  peerUrl: string;
}

/**
 * Members etcd-0..etcd-(n-1) on the given nodes; with TLS, both their URLs are https. Another cluster on the same
 * nodes (a test of a fleet) takes another name prefix and other ports.
 */
export function memberLayout(
  nodes: readonly NodeLayout[],
  tls = false,
  naming: { prefix: string; clientPort: number; peerPort: number } = { prefix: 'etcd', clientPort: ETCD_CLIENT_PORT, peerPort: ETCD_PEER_PORT },
): EtcdMemberLayout[] {
  const scheme = tls ? 'https' : 'http';
  return nodes.map((node, index) => ({
    name: `${naming.prefix}-${index}`,
    node,
    clientUrl: `${scheme}://${node.address}:${naming.clientPort}`,
    peerUrl: `${scheme}://${node.address}:${naming.peerPort}`,
  }));
}

/** The port of a member's URL. */
function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A file of the node's etcd PKI directory, as the container sees it. */
function pkiFile(name: string): string {
  return `${ETCD_PKI_DIR}/${name}`;
}

/**
 * etcd's TLS flags, kubeadm's set: clients and peers must present a certificate signed by the etcd CA, and the
 * member serves both ports with its node's certificate (which also names the node's address for peers dialling it).
 */
export function etcdTlsArgs(): string[] {
  const ca = pkiFile(ETCD_PKI_FILES.ca);
  const cert = pkiFile(ETCD_PKI_FILES.serverCert);
  const key = pkiFile(ETCD_PKI_FILES.serverKey);
  return [
    '--client-cert-auth=true',
    `--trusted-ca-file=${ca}`,
    `--cert-file=${cert}`,
    `--key-file=${key}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${ca}`,
    `--peer-cert-file=${cert}`,
    `--peer-key-file=${key}`,
  ];
}

/**
 * kubeadm's timings for etcd's liveness probe (cmd/kubeadm/app/util/staticpod: initial delay 10 s, period 10 s,
 * timeout 15 s, 8 failures): a member that stops answering is killed and restarted by the kubelet after 8 failed
 * probes, 80 s when each fails fast, about 2 minutes when each waits out its 15 s timeout (a frozen process).
 */
const LIVENESS_TIMING = { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 8 } as const;

/**
 * The startup probe's timings. kubeadm gives etcd 24 probes 10 s apart after 10 s (its 4-minute control-plane
 * timeout) on the readiness path; the sandbox keeps that path, timeout and 4-minute budget but probes every second
 * from the start, the cadence of kubeadm's own readiness probe: a startup probe gates readiness, and kubeadm's would
 * hold every member start (sandbox start, every migration's new member, every restart) 10 to 20 s before Ready.
 */
const STARTUP_TIMING = { initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 15, failureThreshold: 240 } as const;

/** etcdctl's command that says the member's own process serves: a serializable read (what `/livez` checks), no quorum needed. */
const ETCDCTL_LIVENESS = ['etcdctl', 'get', 'health', '--consistency=s', '--dial-timeout=2s', '--command-timeout=5s'];
/** etcdctl's command that says the member can serve clients (a leader and a quorum read). */
const ETCDCTL_READINESS = ['etcdctl', 'endpoint', 'health', '--dial-timeout=1s', '--command-timeout=1s'];

/**
 * What a TLS member's container adds: the node's PKI directory mounted read-only, and probes that run `etcdctl` with
 * the health-check client certificate (a plain httpGet probe cannot present one, and the client port accepts nothing
 * else). The endpoint comes from the pod's host IP, so a copy of the pod on another node probes its own address.
 */
export function tlsContainer(clientPort = ETCD_CLIENT_PORT): Pick<V1Container, 'env' | 'readinessProbe' | 'livenessProbe' | 'startupProbe' | 'volumeMounts'> {
  return {
    env: [
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'ETCDCTL_ENDPOINTS', value: `https://$(HOST_IP):${clientPort}` },
      { name: 'ETCDCTL_CACERT', value: pkiFile(ETCD_PKI_FILES.ca) },
      { name: 'ETCDCTL_CERT', value: pkiFile(ETCD_PKI_FILES.healthcheckCert) },
      { name: 'ETCDCTL_KEY', value: pkiFile(ETCD_PKI_FILES.healthcheckKey) },
    ],
    readinessProbe: {
      exec: { command: ETCDCTL_READINESS },
      periodSeconds: 2,
      timeoutSeconds: 2,
      failureThreshold: 2,
      successThreshold: 1,
    },
    livenessProbe: { exec: { command: ETCDCTL_LIVENESS }, ...LIVENESS_TIMING },
    startupProbe: { exec: { command: ETCDCTL_READINESS }, ...STARTUP_TIMING },
    volumeMounts: [{ name: 'etcd-certs', mountPath: ETCD_PKI_DIR, readOnly: true }],
  };
}

/** The node's PKI directory; `Directory`, not `DirectoryOrCreate`: a node without certificates cannot run a member. */
export const TLS_VOLUME: V1Volume = { name: 'etcd-certs', hostPath: { path: ETCD_PKI_DIR, type: 'Directory' } };

/**
 * The probes of a member of `version`, on kubeadm's paths: readiness and startup on `/readyz` where etcd serves it
 * (3.5.11+: no corruption alarm, a local and a linearizable read succeed), `/health` before; liveness on `/livez`
 * (3.5.11+: a local read succeeds, whatever the cluster's state), `/health?serializable=true` before.
 */
export function httpProbes(version: string, clientPort = ETCD_CLIENT_PORT): Pick<V1Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const parsed = parseEtcdVersion(version);
  const ready = parsed === undefined ? '/health' : readinessPath(parsed);
  const live = parsed === undefined ? '/health' : livenessPath(parsed);
  const get = (path: string): Pick<V1Probe, 'httpGet'> => ({ httpGet: { path, port: clientPort, scheme: 'HTTP' } });
  return {
    readinessProbe: { ...get(ready), periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 2, successThreshold: 1 },
    livenessProbe: { ...get(live), ...LIVENESS_TIMING },
    startupProbe: { ...get(ready), ...STARTUP_TIMING },
  };
}

/**
 * The pod of one member of a new cluster running etcd `version` (image tag and probes follow it); `tls` adds etcd's
 * TLS flags, the certificates' volume and an exec probe; `quotaBytes` sets etcd's space quota; `clusterName` is the
 * value of its cluster label (the sandbox's own cluster unless a test adds another). Ports follow the members' URLs.
 */
export function etcdPodManifest(
  member: EtcdMemberLayout,
  cluster: readonly EtcdMemberLayout[],
  token: string,
  tls = false,
  version: string = DEFAULT_POD_ETCD_VERSION,
  quotaBytes?: number,
  clusterName: string = ETCD_CLUSTER,
): V1Pod {
  const initialCluster = cluster.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const clientPort = portOf(member.clientUrl);
  const secure = tls ? tlsContainer(clientPort) : undefined;
  const probes = secure ?? httpProbes(version, clientPort);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: member.name,
      namespace: ETCD_NAMESPACE,
      labels: { ...ETCD_LABELS, 'etcd-guardian.io/cluster': clusterName, 'etcd-guardian.io/member': member.name },
    },
    spec: {
      nodeName: member.node.name,
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      restartPolicy: 'Always',
      // etcd needs seconds to hand over leadership and close its WAL; the kubelet then kills it anyway.
      terminationGracePeriodSeconds: 10,
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'etcd',
          image: etcdImage(version),
          // A crash's cause (a lost or damaged data directory) in the pod's status: the end of the log, as etcd said it.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          command: ['etcd'],
          args: [
            `--name=${member.name}`,
            `--data-dir=${DATA_MOUNT}`,
            `--listen-client-urls=${member.clientUrl}`,
            `--advertise-client-urls=${member.clientUrl}`,
            `--listen-peer-urls=${member.peerUrl}`,
            `--initial-advertise-peer-urls=${member.peerUrl}`,
            `--initial-cluster=${initialCluster}`,
            '--initial-cluster-state=new',
            `--initial-cluster-token=${token}`,
            '--logger=zap',
            '--log-outputs=stderr',
            ...(quotaBytes !== undefined ? [`--quota-backend-bytes=${quotaBytes}`] : []),
            ...(tls ? etcdTlsArgs() : []),
          ],
          ...(secure?.env ? { env: secure.env } : {}),
          ports: [
            { name: 'client', containerPort: clientPort, protocol: 'TCP' },
            { name: 'peer', containerPort: portOf(member.peerUrl), protocol: 'TCP' },
          ],
          readinessProbe: probes.readinessProbe,
          livenessProbe: probes.livenessProbe,
          startupProbe: probes.startupProbe,
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }, ...(secure?.volumeMounts ?? [])],
        },
      ],
      volumes: [
        {
          name: 'data',
          // Named after the member, so that a member created later on the same node never finds stale data.
          hostPath: { path: `/var/lib/etcd-guardian/${clusterName}/${member.name}`, type: 'DirectoryOrCreate' },
        },
        ...(tls ? [TLS_VOLUME] : []),
      ],
    },
  };
}

/** The value of a `--flag=value` argument of a pod's first container. */
export function podFlag(pod: V1Pod, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  return pod.spec?.containers[0]?.args?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/**
 * A flag's value as the member's etcd sees it: `$(VAR)` references expanded from the container's env (values and the
 * downward API's pod name and IPs), so that a StatefulSet pod's `--name=$(POD_NAME)` reads as its name. Undefined while
 * a reference cannot be resolved yet (a pod has no IP before it runs).
 */
export function memberFlag(pod: V1Pod, flag: string): string | undefined {
  const raw = podFlag(pod, flag);
  if (raw === undefined || !raw.includes('$(')) return raw;
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  const env: Record<string, string | undefined> = {};
  for (const entry of pod.spec?.containers[0]?.env ?? []) {
    const path = entry.valueFrom?.fieldRef?.fieldPath;
    env[entry.name] = path === undefined ? expandVars(entry.value ?? '', (name) => env[name]) : fields[path];
  }
  const value = expandVars(raw, (name) => env[name]);
  return value.includes('$(') ? undefined : value;
}
