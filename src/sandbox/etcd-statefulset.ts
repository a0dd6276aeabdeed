import {
  type V1EnvVar,
  type V1PersistentVolume,
  type V1Service,
  type V1StatefulSet,
  type V1StorageClass,
} from '@kubernetes/client-node';
import {
  DATA_MOUNT,
  DEFAULT_POD_ETCD_VERSION,
  ETCD_CLUSTER,
  ETCD_LABELS,
  ETCD_NAMESPACE,
  etcdImage,
  etcdTlsArgs,
  httpProbes,
  TLS_VOLUME,
  tlsContainer,
  type EtcdMemberLayout,
} from './etcd-cluster';
import { LOCAL_STORAGE_CLASS, localVolume, VOLUME_CLUSTER_LABEL } from '../kube/local-volume';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from './ports';

/**
 * The sandbox's etcd cluster run as etcd-io/etcd-operator, etcd-druid and the common Helm charts run it: a StatefulSet
 * with one PersistentVolumeClaim per member, here on local PersistentVolumes that pin each member to one node. Whoever
 * decides where a member lives (the sandbox at creation, the guardian when it moves one) makes the PV on that node,
 * reserved for the member's claim; the StatefulSet controller's claim binds to it and the scheduler follows the PV's
 * node affinity. A start script in the pod decides between restart, join and bootstrap (see START_SCRIPT).
 */

/** The StatefulSet's name; its pods are etcd-0..etcd-(n-1). */
export const STATEFULSET_NAME = 'etcd';
/** The headless Service the StatefulSet names as its serviceName. */
export const HEADLESS_SERVICE_NAME = 'etcd';
/** The StorageClass of the members' claims and local volumes. */
export const STORAGE_CLASS_NAME = LOCAL_STORAGE_CLASS;
/** The StatefulSet's one volumeClaimTemplate; claims are `data-etcd-<ordinal>`. */
export const CLAIM_TEMPLATE_NAME = 'data';
/** The size of each member's volume (a sandbox member's data stays far below it). */
export const LOCAL_VOLUME_CAPACITY = '1Gi';

/** The pod name (and etcd member name) of an ordinal. */
export function statefulPodName(ordinal: number): string {
  return `${STATEFULSET_NAME}-${ordinal}`;
}

/** The claim the StatefulSet controller makes for an ordinal: `data-etcd-<ordinal>`. */
export function claimName(ordinal: number): string {
  return `${CLAIM_TEMPLATE_NAME}-${statefulPodName(ordinal)}`;
}

/** The local PersistentVolume of an ordinal on a node: `etcd-data-<ordinal>-<node>`. */
export function localVolumeName(ordinal: number, node: string): string {
  return `${STATEFULSET_NAME}-data-${ordinal}-${node}`;
}

/** The ordinal of a StatefulSet member name (`etcd-2` → 2), or undefined for any other name. */
export function ordinalOf(memberName: string): number | undefined {
  const match = new RegExp(`^${STATEFULSET_NAME}-(0|[1-9]\\d*)$`).exec(memberName);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** No provisioner: every volume is made by hand on the node it sits on; binding waits for the pod (as local volumes need). */
export function storageClassManifest(): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS_NAME, labels: { [VOLUME_CLUSTER_LABEL]: ETCD_CLUSTER } },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Retain',
  };
}

/** The headless Service that gives each member's pod a stable DNS name (`etcd-0.etcd.etcd.svc`). */
export function headlessServiceManifest(): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: HEADLESS_SERVICE_NAME, namespace: ETCD_NAMESPACE, labels: { ...ETCD_LABELS } },
    spec: {
      clusterIP: 'None',
      selector: { ...ETCD_LABELS },
      // Peers must find a member before it is ready: it is not ready until it has joined.
      publishNotReadyAddresses: true,
      ports: [
        { name: 'client', port: ETCD_CLIENT_PORT, targetPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
        { name: 'peer', port: ETCD_PEER_PORT, targetPort: ETCD_PEER_PORT, protocol: 'TCP' },
      ],
    },
  };
}

/**
 * The local PersistentVolume of member `etcd-<ordinal>` on `node`, reserved for the member's claim (a claimRef without a
 * uid): the claim the StatefulSet controller creates binds to it, and the scheduler then places the pod on `node`.
 */
export function localVolumeManifest(params: { ordinal: number; node: string; cluster?: string }): V1PersistentVolume {
  return localVolume({
    name: localVolumeName(params.ordinal, params.node),
    cluster: params.cluster ?? ETCD_CLUSTER,
    namespace: ETCD_NAMESPACE,
    podName: statefulPodName(params.ordinal),
    node: params.node,
    claimName: claimName(params.ordinal),
    storage: LOCAL_VOLUME_CAPACITY,
    storageClassName: STORAGE_CLASS_NAME,
  });
}

/** The exit code of the start script when it must not start etcd (yet): the kubelet restarts it with back-off. */
export const START_REFUSED_EXIT = 1;

/**
 * The container's start script (sh; etcd and etcdctl on PATH). `$@` is etcd's command line without the initial
 * cluster flags; the environment gives POD_NAME, MEMBER_PEER_URL, ETCD_CLUSTER_ENDPOINTS (the cluster's Service
 * address) and ETCD_INITIAL_CLUSTER (the members the cluster was created with). In order:
 *  1. the data directory holds `member/`: a restart, etcd needs no initial-cluster flags;
 *  2. the running cluster answers `member list`: if it lists this pod's peer URL (the guardian added it, as a
 *     learner), join it with `--initial-cluster-state=existing` and the started members plus this one; if not, exit 1
 *     until it does;
 *  3. nothing answers: bootstrap with ETCD_INITIAL_CLUSTER, only if it names this pod at this peer URL (a member
 *     moved to another node never bootstraps a cluster of its own); otherwise exit 1.
 * etcd refuses to start when an ETCD_* variable and its flag are both set, so the script's own variables are unset
 * before etcd runs; etcdctl gets its endpoint as ETCDCTL_ENDPOINTS (with TLS, the pod's ETCDCTL_CACERT/CERT/KEY).
 */
export const START_SCRIPT = [
  'set -u',
  'data=""',
  'for a in "$@"; do case "$a" in --data-dir=*) data="${a#--data-dir=}";; esac; done',
  'endpoints="$ETCD_CLUSTER_ENDPOINTS"; seed="$ETCD_INITIAL_CLUSTER"; me="$POD_NAME=$MEMBER_PEER_URL"',
  'unset ETCD_CLUSTER_ENDPOINTS ETCD_INITIAL_CLUSTER',
  'if [ -n "$data" ] && [ -d "$data/member" ]; then',
  '  echo "etcd-start: $data holds member data: restarting $POD_NAME" >&2',
  '  exec "$@"',
  'fi',
  'if list=$(ETCDCTL_ENDPOINTS="$endpoints" etcdctl --dial-timeout=2s --command-timeout=3s member list); then',
  '  cluster=""; found=""',
  // Lines of `member list`: "<id>, <status>, <name>, <peer URLs>, <client URLs>, <is learner>"; URLs joined by ",".
  '  while IFS= read -r line; do',
  '    [ -n "$line" ] || continue',
  '    rest="${line#*, }"; status="${rest%%, *}"; rest="${rest#*, }"; name="${rest%%, *}"; rest="${rest#*, }"; peers="${rest%%, *}"',
  '    case ",$peers," in *",$MEMBER_PEER_URL,"*) found=yes; continue;; esac',
  '    if [ "$status" = started ] && [ -n "$name" ]; then',
  '      old_ifs="$IFS"; IFS=","; for p in $peers; do cluster="$cluster,$name=$p"; done; IFS="$old_ifs"',
  '    fi',
  '  done <<EOF',
  '$list',
  'EOF',
  '  if [ -z "$found" ]; then',
  '    echo "etcd-start: the cluster at $endpoints does not list $MEMBER_PEER_URL: not starting until $POD_NAME is added (as a learner)" >&2',
  `    exit ${START_REFUSED_EXIT}`,
  '  fi',
  '  cluster="${cluster#,}"; cluster="${cluster:+$cluster,}$me"',
  '  echo "etcd-start: joining the running cluster as $me (initial cluster $cluster)" >&2',
  '  exec "$@" --initial-cluster-state=existing "--initial-cluster=$cluster"',
  'fi',
  'case ",$seed," in',
  '  *",$me,"*)',
  '    echo "etcd-start: no cluster answers at $endpoints: bootstrapping $me in $seed" >&2',
  '    exec "$@" --initial-cluster-state=new "--initial-cluster=$seed";;',
  'esac',
  'echo "etcd-start: no cluster answers at $endpoints and $me is not one of the initial members ($seed): not bootstrapping a new cluster" >&2',
  `exit ${START_REFUSED_EXIT}`,
].join('\n');

/** The name the script runs as (`$0`), seen in `ps` and in its messages' source. */
export const START_SCRIPT_NAME = 'etcd-start';

/** What the StatefulSet is made from. */
export interface StatefulSetParams {
  /** The initial members, in ordinal order (etcd-0 first), with the nodes the sandbox chose for them. */
  members: readonly EtcdMemberLayout[];
  token: string;
  tls?: boolean;
  version?: string;
  /** The cluster's Service address, host:port (the sandbox's kube-proxy stand-in). */
  serviceAddress: string;
  /** etcd's space quota (--quota-backend-bytes); absent: etcd's default. */
  quotaBytes?: number;
}

/**
 * The StatefulSet `etcd`: Parallel pod management (every member must start for the cluster to form), one claim per
 * member from the `data` template on the local StorageClass, and the start script in front of etcd. The pod's
 * address is its node's (host networking), read from the downward API, so one template serves every node.
 */
export function statefulSetManifest(params: StatefulSetParams): V1StatefulSet {
  const tls = params.tls ?? false;
  const version = params.version ?? DEFAULT_POD_ETCD_VERSION;
  const scheme = tls ? 'https' : 'http';
  const secure = tls ? tlsContainer() : undefined;
  const probes = secure ?? httpProbes(version);
  const clientUrl = `${scheme}://$(POD_IP):${ETCD_CLIENT_PORT}`;
  const peerUrl = `${scheme}://$(POD_IP):${ETCD_PEER_PORT}`;
  const env: V1EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'MEMBER_PEER_URL', value: peerUrl },
    { name: 'ETCD_CLUSTER_ENDPOINTS', value: `${scheme}://${params.serviceAddress}` },
    { name: 'ETCD_INITIAL_CLUSTER', value: params.members.map((m) => `${m.name}=${m.peerUrl}`).join(',') },
    ...(secure?.env ?? []),
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: STATEFULSET_NAME, namespace: ETCD_NAMESPACE, labels: { ...ETCD_LABELS } },
    spec: {
      serviceName: HEADLESS_SERVICE_NAME,
      replicas: params.members.length,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { ...ETCD_LABELS } },
      template: {
        metadata: { labels: { ...ETCD_LABELS } },
        spec: {
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 10,
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'etcd',
              image: etcdImage(version),
              // A crash's cause (a lost or damaged data directory) in the pod's status: the end of the log, as etcd said it.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              command: ['sh', '-c', START_SCRIPT, START_SCRIPT_NAME],
              args: [
                'etcd',
                '--name=$(POD_NAME)',
                `--data-dir=${DATA_MOUNT}`,
                `--listen-client-urls=${clientUrl}`,
                `--advertise-client-urls=${clientUrl}`,
                `--listen-peer-urls=${peerUrl}`,
                `--initial-advertise-peer-urls=${peerUrl}`,
                `--initial-cluster-token=${params.token}`,
                '--logger=zap',
                '--log-outputs=stderr',
                ...(params.quotaBytes !== undefined ? [`--quota-backend-bytes=${params.quotaBytes}`] : []),
                ...(tls ? etcdTlsArgs() : []),
              ],
              env,
              ports: [
                { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
                { name: 'peer', containerPort: ETCD_PEER_PORT, protocol: 'TCP' },
              ],
              // The bare pods' probes: kubeadm's liveness, a startup probe that gates it, readiness.
              readinessProbe: probes.readinessProbe,
              livenessProbe: probes.livenessProbe,
              startupProbe: probes.startupProbe,
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
              volumeMounts: [{ name: CLAIM_TEMPLATE_NAME, mountPath: DATA_MOUNT }, ...(secure?.volumeMounts ?? [])],
            },
          ],
          volumes: tls ? [TLS_VOLUME] : [],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: CLAIM_TEMPLATE_NAME, labels: { ...ETCD_LABELS } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: STORAGE_CLASS_NAME,
            resources: { requests: { storage: LOCAL_VOLUME_CAPACITY } },
          },
        },
      ],
    },
  };
}
