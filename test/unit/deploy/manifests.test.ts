import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE_ENV, ENV_OVERRIDES } from '../../../src/config/env';
import { parseConfig } from '../../../src/config/load';
import type { GuardianConfig } from '../../../src/config/schema';
import { dict, list, text, type Dict } from './shapes';

/**
 * The Kubernetes manifests in deploy/, read as kubectl would: every document of every file kustomization.yaml
 * lists. The permissions are compared rule for rule, so that a widened Role fails here before it ships.
 */

const ROOT = join(__dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const GUARDIAN_NAMESPACE = 'etcd-guardian';
const SERVICE_ACCOUNT = 'etcd-guardian';

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  body: Dict;
}

/** Files in deploy/ that are not Kubernetes manifests. */
const NOT_MANIFESTS = ['config.yaml', 'kustomization.yaml'];

const kustomization = dict(parse(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')), 'kustomization.yaml');
const manifestFiles = list(kustomization['resources'], 'resources').map((r) => text(r, 'resources[]'));

const manifests: Manifest[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${file} document ${index}: ${document.errors[0]?.message}`);
    const body = dict(document.toJS(), `${file} document ${index}`);
    const metadata = dict(body['metadata'], `${file} document ${index}: metadata`);
    return {
      file,
      apiVersion: text(body['apiVersion'], `${file}: apiVersion`),
      kind: text(body['kind'], `${file}: kind`),
      name: text(metadata['name'], `${file}: metadata.name`),
      ...(metadata['namespace'] === undefined ? {} : { namespace: text(metadata['namespace'], `${file}: namespace`) }),
      body,
    };
  }),
);

function the(kind: string, name = SERVICE_ACCOUNT): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  const [manifest] = found;
  if (!manifest) throw new Error(`no ${kind} ${name}`);
  return manifest;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function rulesOf(manifest: Manifest): Rule[] {
  return list(manifest.body['rules'], `${manifest.kind} ${manifest.name}: rules`).map((raw) => {
    const rule = dict(raw, 'rule');
    const strings = (key: string): string[] => list(rule[key] ?? [], key).map((v) => text(v, key));
    const names = rule['resourceNames'] === undefined ? {} : { resourceNames: strings('resourceNames') };
    return { apiGroups: strings('apiGroups'), resources: strings('resources'), verbs: strings('verbs'), ...names };
  });
}

const configMap = the('ConfigMap', 'etcd-guardian-config');
const deployment = the('Deployment');
const podSpec = dict(dict(dict(deployment.body['spec'], 'spec')['template'], 'template')['spec'], 'template.spec');
const containers = list(podSpec['containers'], 'containers').map((c) => dict(c, 'container'));
const worker = containers[0] ?? {};
const workerEnv = Object.fromEntries(
  list(worker['env'] ?? [], 'env').map((e) => {
    const entry = dict(e, 'env[]');
    return [text(entry['name'], 'env[].name'), entry['value']];
  }),
);
const volumes = list(podSpec['volumes'], 'volumes').map((v) => dict(v, 'volume'));
const mounts = list(worker['volumeMounts'], 'volumeMounts').map((m) => {
  const mount = dict(m, 'volumeMount');
  const name = text(mount['name'], 'volumeMount.name');
  const volume = volumes.find((v) => v['name'] === name);
  if (!volume) throw new Error(`volumeMount ${name} has no volume`);
  return { name, mountPath: text(mount['mountPath'], 'mountPath'), readOnly: mount['readOnly'] === true, volume };
});

/** The mount that holds `path`, if any. */
function mountHolding(path: string) {
  const normalized = posix.normalize(path);
  return mounts.find((m) => normalized.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
}

const configText = text(dict(configMap.body['data'], 'data')['config.yaml'], 'data["config.yaml"]');
const clusterConfig: GuardianConfig = parseConfig(parse(configText), 'deploy/configmap.yaml');

describe('deploy/ manifests', () => {
  it('lists in kustomization.yaml every manifest file of deploy/, and only those', () => {
    const yamlFiles = readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f) && !NOT_MANIFESTS.includes(f));
    expect([...manifestFiles].sort()).toEqual(yamlFiles.sort());
  });

  it('holds the Namespace, the ServiceAccount, the roles and bindings, the ConfigMaps and the Deployment', () => {
    expect(manifests.map((m) => `${m.kind}/${m.name}`).sort()).toEqual(
      [
        'ClusterRole/etcd-guardian',
        'ClusterRoleBinding/etcd-guardian',
        'ConfigMap/etcd-guardian-admission',
        'ConfigMap/etcd-guardian-config',
        'ConfigMap/etcd-guardian-control-plane-endpoints',
        'Deployment/etcd-guardian',
        'Namespace/etcd-guardian',
        'PersistentVolumeClaim/etcd-guardian-backups',
        'Role/etcd-guardian',
        'RoleBinding/etcd-guardian',
        'ServiceAccount/etcd-guardian',
        'ValidatingAdmissionPolicy/etcd-guardian-member-pods',
        'ValidatingAdmissionPolicyBinding/etcd-guardian-member-pods',
      ].sort(),
    );
  });

  it("puts every namespaced object of the guardian's own in its namespace, and the Role and the client endpoints beside the etcd pods", () => {
    for (const manifest of manifests) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(manifest.kind)) {
        expect(manifest.namespace).toBeUndefined();
      } else if (['Role', 'RoleBinding'].includes(manifest.kind) || (manifest.kind === 'ConfigMap' && (manifest.name === 'etcd-guardian-admission' || manifest.name.endsWith('-endpoints')))) {
        expect(manifest.namespace).toBe('kube-system');
      } else {
        expect(`${manifest.kind} ${manifest.namespace}`).toBe(`${manifest.kind} ${GUARDIAN_NAMESPACE}`);
      }
    }
  });

  it('enforces the restricted Pod Security Standard on its namespace', () => {
    const labels = dict(dict(the('Namespace').body['metadata'], 'metadata')['labels'], 'labels');
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  describe('least privilege', () => {
    it('lets the ClusterRole read nodes and node metrics, nothing else', () => {
      expect(rulesOf(the('ClusterRole'))).toEqual([
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['metrics.k8s.io'], resources: ['nodes'], verbs: ['get', 'list'] },
      ]);
    });

    it('lets the Role read, create and delete pods in the etcd namespace, and rewrite the client endpoints ConfigMap of each cluster, nothing else', () => {
      expect(rulesOf(the('Role'))).toEqual([
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: clusterConfig.clusters.map((c) => `etcd-guardian-${c.name}-endpoints`) },
      ]);
    });

    it('ships each cluster\'s client endpoints ConfigMap in its namespace, since the Role may not create ConfigMaps', () => {
      for (const cluster of clusterConfig.clusters) {
        expect(the('ConfigMap', `etcd-guardian-${cluster.name}-endpoints`).namespace).toBe(cluster.namespace);
      }
    });

    it.each(['ClusterRole', 'Role'])('gives the %s no wildcard, no secrets, no node writes and no escalation', (kind) => {
      for (const rule of rulesOf(the(kind))) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
        expect(rule.resources.filter((r) => r === 'secrets' || r.includes('/'))).toEqual([]);
        expect(rule.verbs.filter((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v))).toEqual([]);
        if (rule.resources.includes('nodes')) {
          expect(rule.verbs.filter((v) => ['update', 'patch', 'delete', 'create'].includes(v))).toEqual([]);
        }
      }
      expect(the(kind).body['aggregationRule']).toBeUndefined();
      expect(JSON.stringify(the(kind).body)).not.toContain('nonResourceURLs');
    });

    describe('admission policy', () => {
      const policy = the('ValidatingAdmissionPolicy', 'etcd-guardian-member-pods');
      const policySpec = dict(policy.body['spec'], 'spec');
      const binding = dict(the('ValidatingAdmissionPolicyBinding', 'etcd-guardian-member-pods').body['spec'], 'spec');
      const params = dict(the('ConfigMap', 'etcd-guardian-admission').body['data'], 'data');

      it("applies to the guardian's ServiceAccount creating and deleting pods, and fails closed", () => {
        expect(policySpec['failurePolicy']).toBe('Fail');
        expect(policySpec['matchConstraints']).toEqual({
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'DELETE'], resources: ['pods'] }],
        });
        expect(policySpec['matchConditions']).toEqual([
          expect.objectContaining({ expression: `request.userInfo.username == 'system:serviceaccount:${GUARDIAN_NAMESPACE}:${SERVICE_ACCOUNT}'` }),
        ]);
        expect(binding).toEqual({
          policyName: policy.name,
          validationActions: ['Deny'],
          paramRef: { name: 'etcd-guardian-admission', parameterNotFoundAction: 'Deny' },
        });
      });

      it('takes its parameters beside the Role, describing the members the config selects', () => {
        expect(the('ConfigMap', 'etcd-guardian-admission').namespace).toBe(the('Role').namespace);
        const [cluster] = clusterConfig.clusters;
        expect(params['memberLabels']).toBe(cluster?.podSelector);
        expect(params['hostNetwork']).toBe(cluster?.addressing.mode === 'host-network' ? 'true' : 'false');
        expect(params['privileged']).toBe('false');
        // Every value a string: a ConfigMap's data holds nothing else.
        expect(Object.values(params).every((v) => typeof v === 'string')).toBe(true);
      });
    });

    it('covers every namespace the config watches with the Role', () => {
      expect([...new Set(clusterConfig.clusters.map((c) => c.namespace))]).toEqual([the('Role').namespace]);
    });

    it.each([
      ['ClusterRoleBinding', 'ClusterRole'],
      ['RoleBinding', 'Role'],
    ])("binds the %s's role to the guardian's ServiceAccount alone", (bindingKind, roleKind) => {
      const binding = the(bindingKind);
      expect(binding.body['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: the(roleKind).name });
      expect(binding.body['subjects']).toEqual([{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: GUARDIAN_NAMESPACE }]);
      if (roleKind === 'Role') expect(binding.namespace).toBe(the('Role').namespace);
      expect(the('ServiceAccount').namespace).toBe(GUARDIAN_NAMESPACE);
    });
  });

  describe('config', () => {
    it('holds in the ConfigMap a kubeadm-style config that validates', () => {
      expect(clusterConfig.clusters).toEqual([
        expect.objectContaining({
          namespace: 'kube-system',
          podSelector: 'component=etcd,tier=control-plane',
          addressing: { mode: 'host-network' },
          tls: {
            caFile: '/etc/kubernetes/pki/etcd/ca.crt',
            certFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
            keyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
          },
          // A manual migration cannot put a member on a worker node.
          placement: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } },
        }),
      ]);
      expect(clusterConfig.kubernetes).toEqual({});
    });

    it('holds in deploy/config.yaml, the compose config, a config that validates', () => {
      const raw: unknown = parse(readFileSync(join(DEPLOY, 'config.yaml'), 'utf8'));
      expect(parseConfig(raw, 'deploy/config.yaml').clusters.length).toBeGreaterThan(0);
    });
  });

  describe('Deployment', () => {
    it('runs one worker with the ServiceAccount, from an image tagged with the package version', () => {
      const version = text(dict(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')), 'package.json')['version'], 'version');
      expect(dict(deployment.body['spec'], 'spec')['replicas']).toBe(1);
      expect(podSpec['serviceAccountName']).toBe(SERVICE_ACCOUNT);
      expect(containers).toHaveLength(1);
      expect(worker['image']).toBe(`etcd-guardian:${version}`);
      expect(worker['args']).toEqual(['worker']);
    });

    it('mounts the ConfigMap so that config.yaml is where ETCD_GUARDIAN_CONFIG points', () => {
      const path = text(workerEnv[CONFIG_FILE_ENV], CONFIG_FILE_ENV);
      expect(path).toBe('/etc/etcd-guardian/config.yaml');
      const mount = mountHolding(path);
      const source = dict(mount?.volume['configMap'], 'configMap volume');
      expect(source['name']).toBe(configMap.name);
      const items = list(source['items'], 'items').map((i) => dict(i, 'item'));
      expect(items).toContainEqual({ key: 'config.yaml', path: posix.relative(mount?.mountPath ?? '', path) });
      expect(mount?.readOnly).toBe(true);
    });

    it('sets only ETCD_GUARDIAN_* variables that the guardian reads', () => {
      const known = new Set([CONFIG_FILE_ENV, ...ENV_OVERRIDES.map((o) => o.name)]);
      expect(Object.keys(workerEnv).filter((key) => key.startsWith('ETCD_GUARDIAN_') && !known.has(key))).toEqual([]);
    });

    it('mounts the etcd client certificate files from a Secret, read-only', () => {
      for (const cluster of clusterConfig.clusters) {
        for (const file of [cluster.tls?.caFile, cluster.tls?.certFile, cluster.tls?.keyFile]) {
          const mount = file === undefined ? undefined : mountHolding(file);
          expect(mount?.readOnly).toBe(true);
          expect(dict(mount?.volume['secret'], 'secret volume')['secretName']).toBe('etcd-guardian-etcd-client');
        }
      }
    });

    it('keeps backups on the persistent volume, where the config writes them', () => {
      for (const cluster of clusterConfig.clusters) {
        const mount = mountHolding(`${cluster.backup.directory}/snapshot.db`);
        expect(mount?.readOnly).toBe(false);
        expect(dict(mount?.volume['persistentVolumeClaim'], 'backups volume')['claimName']).toBe(
          the('PersistentVolumeClaim', 'etcd-guardian-backups').name,
        );
      }
      // A ReadWriteOnce volume cannot be held by the old and the new pod of a rolling update at once.
      expect(dict(deployment.body['spec'], 'spec')['strategy']).toEqual({ type: 'Recreate' });
    });

    it("probes liveness on the metrics port of the config", () => {
      const ports = list(worker['ports'], 'ports').map((p) => dict(p, 'port'));
      expect(ports).toEqual([{ name: 'metrics', containerPort: clusterConfig.worker.metricsPort, protocol: 'TCP' }]);
      const probe = dict(dict(worker['livenessProbe'], 'livenessProbe')['httpGet'], 'httpGet');
      expect(probe).toEqual({ path: '/metrics', port: 'metrics' });
    });

    it('sets resource requests and limits', () => {
      const resources = dict(worker['resources'], 'resources');
      expect(Object.keys(dict(resources['requests'], 'requests')).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(dict(resources['limits'], 'limits')).sort()).toEqual(['cpu', 'memory']);
    });

    it('runs as a non-root user on a read-only root filesystem, without capabilities or privilege escalation', () => {
      const pod = dict(podSpec['securityContext'], 'pod securityContext');
      expect(pod).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      expect(dict(worker['securityContext'], 'container securityContext')).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(mounts.find((m) => m.mountPath === '/tmp')?.volume['emptyDir']).toBeDefined();
    });

    it('gives the pod longer to stop than the config gives running activities', () => {
      expect(Number(podSpec['terminationGracePeriodSeconds']) * 1000).toBeGreaterThan(clusterConfig.worker.shutdownGraceTime);
    });
  });
});
