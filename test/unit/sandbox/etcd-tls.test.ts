import type { V1Pod } from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load';
import { sandboxConfigDocument, type SandboxFacts } from '../../../src/config/sandbox';
import { successorPod } from '../../../src/kube/member-pod';
import { serveArgs } from '../../../src/sandbox/daemon/launch';
import { etcdPodManifest, memberLayout } from '../../../src/sandbox/etcd-cluster';
import { ETCD_PKI_DIR, generateEtcdPki, serverAltNames } from '../../../src/sandbox/etcd-pki';
import { resolveOptions } from '../../../src/sandbox/options';
import { resolveCommand, resolveExecProbe, type PodPlacement } from '../../../src/sandbox/pods/container-command';
import { probeOnce, runExecProbe } from '../../../src/sandbox/pods/probes';
import { renderInfo } from '../../../src/sandbox/report';
import { layoutNodes } from '../../../src/sandbox/topology';
import type { SandboxInfo } from '../../../src/sandbox/types';

/**
 * The sandbox's TLS mode without starting anything: the member pods' flags, volume and probe, what a successor's pod
 * becomes on another node, the certificates each node gets, the flag that asks for it, and the guardian config.
 */

const nodes = layoutNodes({ nodes: 6, racks: 3, domains: 2, slot: 7 });
const members = memberLayout(nodes.slice(0, 3), true);
const first = members[0];
if (first === undefined) throw new Error('no member');

function placementOn(node: string, address: string): PodPlacement {
  return { nodeName: node, hostIP: address, podIP: address, hostPathRoot: `/state/nodes/${node}/hostpath`, podDir: `/state/nodes/${node}/pods/etcd_x` };
}

const TLS_FLAGS = [
  '--client-cert-auth=true',
  '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
  '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
  '--key-file=/etc/kubernetes/pki/etcd/server.key',
  '--peer-client-cert-auth=true',
  '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
  '--peer-cert-file=/etc/kubernetes/pki/etcd/server.crt',
  '--peer-key-file=/etc/kubernetes/pki/etcd/server.key',
];

describe('a member pod with TLS', () => {
  const pod = etcdPodManifest(first, members, 'tok', true);
  const container = pod.spec?.containers[0];

  it('serves https on both ports and requires client certificates on both, from the node\'s PKI directory', () => {
    expect(container?.args).toEqual([
      '--name=etcd-0',
      '--data-dir=/var/lib/etcd',
      '--listen-client-urls=https://127.27.0.1:2379',
      '--advertise-client-urls=https://127.27.0.1:2379',
      '--listen-peer-urls=https://127.27.0.1:2380',
      '--initial-advertise-peer-urls=https://127.27.0.1:2380',
      '--initial-cluster=etcd-0=https://127.27.0.1:2380,etcd-1=https://127.27.0.2:2380,etcd-2=https://127.27.0.3:2380',
      '--initial-cluster-state=new',
      '--initial-cluster-token=tok',
      '--logger=zap',
      '--log-outputs=stderr',
      ...TLS_FLAGS,
    ]);
    expect(container?.volumeMounts).toContainEqual({ name: 'etcd-certs', mountPath: ETCD_PKI_DIR, readOnly: true });
    expect(pod.spec?.volumes).toContainEqual({ name: 'etcd-certs', hostPath: { path: ETCD_PKI_DIR, type: 'Directory' } });
  });

  it('is probed with etcdctl and the health-check certificate, at its own host IP', () => {
    expect(container?.readinessProbe?.exec?.command).toEqual(['etcdctl', 'endpoint', 'health', '--dial-timeout=1s', '--command-timeout=1s']);
    expect(container?.readinessProbe?.httpGet).toBeUndefined();
    // Liveness: a serializable read, what /livez checks, so a member of a cluster without quorum is not killed.
    expect(container?.livenessProbe).toEqual({
      exec: { command: ['etcdctl', 'get', 'health', '--consistency=s', '--dial-timeout=2s', '--command-timeout=5s'] },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 15,
      failureThreshold: 8,
    });
    expect(container?.startupProbe?.exec?.command).toEqual(container?.readinessProbe?.exec?.command);
    expect(container?.env).toEqual([
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'ETCDCTL_ENDPOINTS', value: 'https://$(HOST_IP):2379' },
      { name: 'ETCDCTL_CACERT', value: '/etc/kubernetes/pki/etcd/ca.crt' },
      { name: 'ETCDCTL_CERT', value: '/etc/kubernetes/pki/etcd/healthcheck-client.crt' },
      { name: 'ETCDCTL_KEY', value: '/etc/kubernetes/pki/etcd/healthcheck-client.key' },
    ]);
  });

  it('leaves the default (plain http) pod exactly as it was', () => {
    const plain = etcdPodManifest(memberLayout(nodes.slice(0, 3))[0] ?? first, memberLayout(nodes.slice(0, 3)), 'tok');
    const args = plain.spec?.containers[0]?.args ?? [];
    expect(args.filter((arg) => arg.includes('https') || arg.includes('cert'))).toEqual([]);
    expect(args).toContain('--listen-client-urls=http://127.27.0.1:2379');
    expect(plain.spec?.containers[0]?.env).toBeUndefined();
    expect(plain.spec?.containers[0]?.readinessProbe?.httpGet).toEqual({ path: '/health', port: 2379, scheme: 'HTTP' });
    expect(plain.spec?.volumes?.map((v) => v.name)).toEqual(['data']);
  });
});

describe("a successor's pod, copied by the guardian onto another node", () => {
  const template: V1Pod = { ...etcdPodManifest(members[1] ?? first, members, 'tok', true), status: { hostIP: '127.27.0.2' } };
  const successor = successorPod(template, {
    oldMemberName: 'etcd-1',
    newMemberName: 'etcd-3',
    oldAddress: '127.27.0.2',
    newAddress: '127.27.0.5',
    nodeName: 'node-4',
    initialCluster: 'etcd-0=https://127.27.0.1:2380,etcd-1=https://127.27.0.2:2380,etcd-2=https://127.27.0.3:2380,etcd-3=https://127.27.0.5:2380',
  });

  it('keeps the TLS flags and swaps only the address in its https URLs', () => {
    const args = successor.spec?.containers[0]?.args ?? [];
    expect(args).toEqual(expect.arrayContaining([...TLS_FLAGS, '--listen-client-urls=https://127.27.0.5:2379', '--initial-advertise-peer-urls=https://127.27.0.5:2380']));
    expect(args.filter((arg) => arg.includes('127.27.0.2') && !arg.startsWith('--initial-cluster='))).toEqual([]);
  });

  it("finds the new node's own certificates, and probes the new node's address", () => {
    const placement = placementOn('node-4', '127.27.0.5');
    const run = resolveCommand(successor, placement);
    expect(run.args).toEqual(expect.arrayContaining(['--cert-file=/state/nodes/node-4/hostpath/etc/kubernetes/pki/etcd/server.crt', '--trusted-ca-file=/state/nodes/node-4/hostpath/etc/kubernetes/pki/etcd/ca.crt']));
    expect(run.mounts).toContainEqual({ mountPath: ETCD_PKI_DIR, hostDir: '/state/nodes/node-4/hostpath/etc/kubernetes/pki/etcd', create: false });
    const probe = resolveExecProbe(successor, placement, successor.spec?.containers[0]?.readinessProbe?.exec?.command ?? []);
    expect(probe.executable).toBe('etcdctl');
    expect(probe.env).toMatchObject({
      HOST_IP: '127.27.0.5',
      ETCDCTL_ENDPOINTS: 'https://127.27.0.5:2379',
      ETCDCTL_CERT: '/state/nodes/node-4/hostpath/etc/kubernetes/pki/etcd/healthcheck-client.crt',
    });
  });
});

describe('exec readiness probes in the node simulator', () => {
  const target = { podIP: '127.0.0.1', ports: [] };

  it.each([
    ['/bin/true', [], true],
    ['/bin/false', [], false],
    ['/bin/sh', ['-c', 'exit 3'], false],
  ])('%s %j passes: %s', async (executable, args, expected) => {
    expect(await runExecProbe({ executable, args, env: { PATH: '/usr/bin:/bin' }, cwd: tmpdir(), timeoutMs: 5000 })).toBe(expected);
  });

  it('fails a probe that outlives its timeout (and kills it)', async () => {
    expect(await runExecProbe({ executable: '/bin/sleep', args: ['5'], env: {}, cwd: tmpdir(), timeoutMs: 200 })).toBe(false);
  });

  it('hands an exec probe to the runner with its command and timeout', async () => {
    const calls: Array<[readonly string[], number]> = [];
    const exec = (command: readonly string[], timeoutMs: number): Promise<boolean> => {
      calls.push([command, timeoutMs]);
      return Promise.resolve(true);
    };
    expect(await probeOnce({ exec: { command: ['etcdctl', 'endpoint', 'health'] } }, { ...target, exec }, 1500)).toBe(true);
    expect(calls).toEqual([[['etcdctl', 'endpoint', 'health'], 1500]]);
  });
});

describe('the etcd certificates of a sandbox', () => {
  let dir: string;
  const pkiNodes = nodes.map((node) => ({ name: node.name, address: node.address, pkiDir: join('NODES', node.name, 'hostpath', ETCD_PKI_DIR) }));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-pki-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names each node's address, loopback's (peers dial from it) and the node's name", () => {
    expect(serverAltNames({ name: 'node-4', address: '127.27.0.5' })).toEqual(['IP:127.27.0.5', 'IP:127.0.0.1', 'DNS:node-4']);
  });

  it('gives every node a server certificate for its address, signed by the etcd CA, next to the CA and the probe certificate', async () => {
    const located = pkiNodes.map((node) => ({ ...node, pkiDir: join(dir, node.pkiDir) }));
    const pki = await generateEtcdPki(join(dir, 'pki'), located);
    const ca = new X509Certificate(readFileSync(pki.ca.cert));
    expect(pki.guardianClient).toEqual({ cert: join(dir, 'pki', 'etcd', 'guardian-client.crt'), key: join(dir, 'pki', 'etcd', 'guardian-client.key') });
    const guardian = new X509Certificate(readFileSync(pki.guardianClient.cert));
    expect(guardian.verify(ca.publicKey)).toBe(true);
    expect(guardian.subject).toBe('CN=etcd-guardian');
    expect(statSync(pki.guardianClient.key).mode & 0o077).toBe(0);
    for (const node of located) {
      const server = new X509Certificate(readFileSync(join(node.pkiDir, 'server.crt')));
      expect(server.verify(ca.publicKey)).toBe(true);
      expect(server.checkIP(node.address)).toBe(node.address);
      expect(server.checkIP(nodes.find((n) => n.name !== node.name)?.address ?? '')).toBeUndefined();
      expect(readFileSync(join(node.pkiDir, 'ca.crt'), 'utf8')).toBe(readFileSync(pki.ca.cert, 'utf8'));
      expect(new X509Certificate(readFileSync(join(node.pkiDir, 'healthcheck-client.crt'))).verify(ca.publicKey)).toBe(true);
      expect(statSync(join(node.pkiDir, 'server.key')).mode & 0o077).toBe(0);
      expect(statSync(join(node.pkiDir, 'healthcheck-client.key')).mode & 0o077).toBe(0);
    }
  });
});

describe('asking for TLS', () => {
  it('is off by default, and on when asked', () => {
    expect(resolveOptions({ stateDir: '/tmp/x' }).etcdTls).toBe(false);
    expect(resolveOptions({ stateDir: '/tmp/x', etcdTls: true }).etcdTls).toBe(true);
  });

  it.each([
    [{ stateDir: 'x', etcdTls: true }, ['sandbox', 'serve', '--state-dir', '/s', '--etcd-tls']],
    [{ stateDir: 'x', etcdTls: false }, ['sandbox', 'serve', '--state-dir', '/s']],
    [{ stateDir: 'x', members: 5, etcdTls: true, temporal: false }, ['sandbox', 'serve', '--state-dir', '/s', '--members', '5', '--no-temporal', '--etcd-tls']],
  ])('`sandbox up` passes %j to its background process as %j', (options, args) => {
    expect(serveArgs(options, '/s')).toEqual(args);
  });
});

describe('what the sandbox tells the guardian', () => {
  const facts: SandboxFacts = {
    temporalAddress: '127.0.0.1:20000',
    namespace: 'default',
    kubeconfig: '/s/kubeconfig',
    etcdNamespace: 'etcd',
    etcdCluster: 'main',
    selector: 'app=etcd',
    rackLabel: 'topology.kubernetes.io/rack',
    domainLabel: 'topology.kubernetes.io/zone',
    backupDirectory: '/s/backups',
  };
  const files = { caFile: '/s/pki/etcd/ca.crt', certFile: '/s/pki/etcd/guardian-client.crt', keyFile: '/s/pki/etcd/guardian-client.key' };

  it("puts the certificate paths in the cluster's tls section", () => {
    expect(parseConfig(sandboxConfigDocument({ ...facts, tls: files }), 'sandbox').clusters[0]?.tls).toEqual(files);
    expect(parseConfig(sandboxConfigDocument(facts), 'sandbox').clusters[0]?.tls).toBeUndefined();
  });

  it("names the StatefulSet as the cluster's workload when the members are one, and bare pods otherwise", () => {
    expect(parseConfig(sandboxConfigDocument({ ...facts, statefulSet: { name: 'etcd', claimTemplate: 'data' } }), 'sandbox').clusters[0]?.workload).toEqual({ kind: 'StatefulSet', name: 'etcd', volumeClaimTemplate: 'data' });
    expect(parseConfig(sandboxConfigDocument(facts), 'sandbox').clusters[0]?.workload).toEqual({ kind: 'pods' });
  });

  it('prints the paths and the etcdctl variables in `sandbox up`', () => {
    const info = {
      stateDir: '/s',
      kubeconfig: '/s/kubeconfig',
      apiServerUrl: 'https://127.0.0.1:20020',
      logsDir: '/s/logs',
      nodes: nodes.slice(0, 1),
      etcd: { namespace: 'etcd', cluster: 'main', selector: 'app=etcd', clientUrls: ['https://127.27.0.1:2379'], members: [], tls: files },
    } as unknown as SandboxInfo;
    const text = renderInfo(info);
    expect(text).toContain('  etcd TLS        CA /s/pki/etcd/ca.crt, client /s/pki/etcd/guardian-client.crt, key /s/pki/etcd/guardian-client.key');
    expect(text).toContain('  export ETCDCTL_CACERT=/s/pki/etcd/ca.crt ETCDCTL_CERT=/s/pki/etcd/guardian-client.crt ETCDCTL_KEY=/s/pki/etcd/guardian-client.key');
  });
});
