import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The sandbox's certificates and keys, made with the openssl CLI. P-256 keys: they take milliseconds to generate,
 * where RSA keys would cost seconds of a 2-core machine's start-up.
 */

const run = promisify(execFile);

/** The openssl binary; Debian puts it here, and PATH may not have /usr/bin first. */
const OPENSSL = process.env['OPENSSL'] ?? '/usr/bin/openssl';

/** The service and namespace of the metrics backend: its serving certificate must name `<svc>.<ns>.svc`. */
export const METRICS_SERVICE = { namespace: 'kube-system', name: 'metrics-server' } as const;

/** The CN of the aggregator's proxy client certificate; the apiserver accepts only this name in request headers. */
export const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

/** A key pair: key and certificate files. */
export interface CertPair {
  cert: string;
  key: string;
}

/** Paths of everything generated. */
export interface Pki {
  /** Signs the serving certificates of kube-apiserver and of the metrics backend; kubeconfigs trust it. */
  ca: CertPair;
  apiServer: CertPair;
  metricsServer: CertPair;
  /** The aggregation layer's request-header CA and the proxy client certificate it signs. */
  frontProxyCa: CertPair;
  frontProxyClient: CertPair;
  /** Service-account token signing key (private) and verification key (public). */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA `<dir>/<name>.crt` and `.key` with the given common name. */
export async function selfSignedCa(dir: string, name: string, cn: string): Promise<CertPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await run(OPENSSL, [
    'req', '-x509', '-new', ...EC_KEY, '-keyout', pair.key, '-out', pair.cert, '-days', '3650', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return pair;
}

/** What a leaf certificate may be used for; a member's certificate is both (it dials its peers with it). */
export type LeafUsage = 'serverAuth' | 'clientAuth' | 'serverAuth,clientAuth';

/** A certificate `<dir>/<name>.crt` and its key, signed by `ca`, with subjectAltNames such as `IP:127.0.0.1`. */
export async function signedLeaf(
  dir: string,
  name: string,
  ca: CertPair,
  subject: string,
  usage: LeafUsage,
  altNames: readonly string[] = [],
): Promise<CertPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const san = altNames.length === 0 ? [] : ['-addext', `subjectAltName=${altNames.join(',')}`];
  await run(OPENSSL, [
    'req', '-x509', '-new', ...EC_KEY, '-keyout', pair.key, '-out', pair.cert, '-days', '825', '-subj', subject,
    '-CA', ca.cert, '-CAkey', ca.key,
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext', `extendedKeyUsage=${usage}`, ...san,
  ]);
  return pair;
}

async function serviceAccountKeys(dir: string): Promise<{ key: string; pub: string }> {
  const key = join(dir, 'sa.key');
  const pub = join(dir, 'sa.pub');
  await run(OPENSSL, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await run(OPENSSL, ['pkey', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}

/** Generates every certificate and key the control plane needs into `dir`. */
export async function generatePki(dir: string): Promise<Pki> {
  const [ca, frontProxyCa, sa] = await Promise.all([
    selfSignedCa(dir, 'ca', 'etcd-guardian-sandbox-ca'),
    selfSignedCa(dir, 'front-proxy-ca', 'etcd-guardian-sandbox-front-proxy-ca'),
    serviceAccountKeys(dir),
  ]);
  const metricsHost = `${METRICS_SERVICE.name}.${METRICS_SERVICE.namespace}.svc`;
  const [apiServer, metricsServer, frontProxyClient] = await Promise.all([
    signedLeaf(dir, 'apiserver', ca, '/CN=kube-apiserver', 'serverAuth', [
      'IP:127.0.0.1',
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ]),
    signedLeaf(dir, 'metrics-server', ca, `/CN=${metricsHost}`, 'serverAuth', [
      `DNS:${metricsHost}`,
      'DNS:localhost',
      'IP:127.0.0.1',
    ]),
    signedLeaf(dir, 'front-proxy-client', frontProxyCa, `/CN=${FRONT_PROXY_CLIENT_CN}`, 'clientAuth'),
  ]);
  return {
    ca,
    apiServer,
    metricsServer,
    frontProxyCa,
    frontProxyClient,
    serviceAccountKey: sa.key,
    serviceAccountPub: sa.pub,
  };
}

/** A random bearer token. */
export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** One line of kube-apiserver's static token file. */
export interface TokenEntry {
  token: string;
  user: string;
  groups: readonly string[];
}

/** Writes kube-apiserver's token file: `token,user,uid,"group1,group2"` per line. */
export function writeTokenFile(path: string, entries: readonly TokenEntry[]): void {
  const lines = entries.map((e) => `${e.token},${e.user},${e.user},"${e.groups.join(',')}"`);
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** A PEM file's content, for kubeconfigs and TLS options. */
export function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
