import { type V1Pod } from '@kubernetes/client-node';
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
/** The image a real deployment would run; the simulator runs the `etcd` command from the component cache instead. */
export const ETCD_IMAGE = 'quay.io/coreos/etcd:v3.4.23';
/** Where the data directory is mounted in the "container". */
const DATA_MOUNT = '/var/lib/etcd';

/** One member of the initial cluster. */
export interface EtcdMemberLayout {
  name: string;
  node: NodeLayout;
  clientUrl: string;
  peerUrl: string;
}

/** Members etcd-0..etcd-(n-1) on the given nodes. */
export function memberLayout(nodes: readonly NodeLayout[]): EtcdMemberLayout[] {
  return nodes.map((node, index) => ({
    name: `etcd-${index}`,
    node,
    clientUrl: `http://${node.address}:${ETCD_CLIENT_PORT}`,
    peerUrl: `http://${node.address}:${ETCD_PEER_PORT}`,
  }));
}

/** The pod of one member of a new cluster. */
export function etcdPodManifest(member: EtcdMemberLayout, cluster: readonly EtcdMemberLayout[], token: string): V1Pod {
  const initialCluster = cluster.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: member.name,
      namespace: ETCD_NAMESPACE,
      labels: { ...ETCD_LABELS, 'etcd-guardian.io/member': member.name },
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
          image: ETCD_IMAGE,
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
          ],
          ports: [
            { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
            { name: 'peer', containerPort: ETCD_PEER_PORT, protocol: 'TCP' },
          ],
          readinessProbe: {
            httpGet: { path: '/health', port: ETCD_CLIENT_PORT, scheme: 'HTTP' },
            periodSeconds: 2,
            timeoutSeconds: 1,
            failureThreshold: 2,
            successThreshold: 1,
          },
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
        },
      ],
      volumes: [
        {
          name: 'data',
          // Named after the member, so that a member created later on the same node never finds stale data.
          hostPath: { path: `/var/lib/etcd-guardian/${ETCD_CLUSTER}/${member.name}`, type: 'DirectoryOrCreate' },
        },
      ],
    },
  };
}

/** The value of a `--flag=value` argument of a pod's first container. */
export function podFlag(pod: V1Pod, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  return pod.spec?.containers[0]?.args?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}
