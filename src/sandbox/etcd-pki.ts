import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { selfSignedCa, signedLeaf, type CertPair } from './pki';

/**
 * The etcd cluster's own PKI when the sandbox runs it with TLS, laid out as kubeadm does: a CA of its own (not the
 * Kubernetes CA), and on every node, in the hostPath directory /etc/kubernetes/pki/etcd, that node's server
 * certificate (naming the node's address), the CA certificate and a health-check client certificate. A member pod
 * mounts that directory, so a member created later on any node finds a certificate for the address it binds. The
 * guardian's client certificate stays in the state directory's pki/etcd; only its paths are handed out.
 */

/** The hostPath directory, and the mount path in the member's container, of a node's etcd certificates. */
export const ETCD_PKI_DIR = '/etc/kubernetes/pki/etcd';

/** File names inside ETCD_PKI_DIR. */
export const ETCD_PKI_FILES = {
  ca: 'ca.crt',
  /** The node's certificate: etcd serves clients and peers with it, and dials peers with it. */
  serverCert: 'server.crt',
  serverKey: 'server.key',
  /** The readiness probe's client certificate. */
  healthcheckCert: 'healthcheck-client.crt',
  healthcheckKey: 'healthcheck-client.key',
} as const;

/** The CN of the guardian's client certificate (what etcd's auth would see as the user). */
export const GUARDIAN_CLIENT_CN = 'etcd-guardian';

/** A node that gets a server certificate, and the host directory that stands for its ETCD_PKI_DIR. */
export interface EtcdPkiNode {
  name: string;
  address: string;
  pkiDir: string;
  /** The stable address of the cluster's Service, which clients may dial instead of a member's. */
  serviceAddress?: string;
}

/** Paths of the etcd PKI, as the sandbox keeps them. */
export interface EtcdPki {
  /** Signs every member's server certificate and every client certificate the members accept. */
  ca: CertPair;
  /** The guardian's client certificate. */
  guardianClient: CertPair;
  /** The sandbox's own health checks (and, copied to every node, the readiness probe's). */
  healthcheckClient: CertPair;
}

/**
 * The subjectAltNames of a node's server certificate: its address, which clients and peers dial, and its name. Also
 * 127.0.0.1: with peer client-certificate authentication etcd checks a dialling peer's certificate against the
 * connection's source address, and every sandbox node dials from loopback's primary address (the nodes share one
 * interface), where a real node would dial from its own.
 */
export function serverAltNames(node: Pick<EtcdPkiNode, 'name' | 'address' | 'serviceAddress'>): string[] {
  // A client of the Service reaches any member through the Service's address: every member's certificate names it.
  return [`IP:${node.address}`, 'IP:127.0.0.1', `DNS:${node.name}`, ...(node.serviceAddress ? [`IP:${node.serviceAddress}`] : [])];
}

/**
 * Makes the etcd CA and client certificates in `<pkiDir>/etcd`, and every node's certificates in its own directory.
 * P-256 keys through the openssl CLI, like the rest of the sandbox's PKI; keys are written mode 0600.
 */
export async function generateEtcdPki(pkiDir: string, nodes: readonly EtcdPkiNode[]): Promise<EtcdPki> {
  const dir = join(pkiDir, 'etcd');
  mkdirSync(dir, { recursive: true });
  const ca = await selfSignedCa(dir, 'ca', 'etcd-guardian-sandbox-etcd-ca');
  const clients = Promise.all([
    signedLeaf(dir, 'guardian-client', ca, `/CN=${GUARDIAN_CLIENT_CN}`, 'clientAuth'),
    signedLeaf(dir, 'healthcheck-client', ca, '/CN=etcd-healthcheck-client', 'clientAuth'),
  ]);
  const servers = Promise.all(
    nodes.map(async (node) => {
      mkdirSync(node.pkiDir, { recursive: true });
      await signedLeaf(node.pkiDir, basename(ETCD_PKI_FILES.serverCert, '.crt'), ca, `/CN=${node.name}`, 'serverAuth,clientAuth', serverAltNames(node));
    }),
  );
  const [[guardianClient, healthcheckClient]] = await Promise.all([clients, servers]);
  for (const node of nodes) {
    copyFileSync(ca.cert, join(node.pkiDir, ETCD_PKI_FILES.ca));
    copyFileSync(healthcheckClient.cert, join(node.pkiDir, ETCD_PKI_FILES.healthcheckCert));
    const key = join(node.pkiDir, ETCD_PKI_FILES.healthcheckKey);
    copyFileSync(healthcheckClient.key, key);
    chmodSync(key, 0o600);
  }
  return { ca, guardianClient, healthcheckClient };
}
