import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_FILE_ENV, ENV_OVERRIDES } from '../../../src/config/env';
import { loadConfig } from '../../../src/config/load';
import type { GuardianConfig } from '../../../src/config/schema';
import { SEARCH_ATTRIBUTES } from '../../../src/config/search-attributes';
import { dict, isDict, list, text, type Dict } from './shapes';

/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is held to what `docker compose up` relies on:
 * pinned images, the start order, the ports, and a worker environment the guardian's config accepts.
 */

const ROOT = join(__dirname, '..', '..', '..');
const readText = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const compose = dict(parse(readText('docker-compose.yml')), 'docker-compose.yml');
const services = dict(compose['services'], 'services');
const service = (name: string): Dict => dict(services[name], `services.${name}`);
const packageVersion = text(dict(JSON.parse(readText('package.json')), 'package.json')['version'], 'version');

/** A service's environment as a map; compose also allows a list of KEY=VALUE. */
function environmentOf(name: string): Record<string, string> {
  const env = service(name)['environment'];
  if (env === undefined) return {};
  const entries: [string, string][] = Array.isArray(env)
    ? env.map((item): [string, string] => {
        const [key = '', ...rest] = text(item, `${name}.environment`).split('=');
        return [key, rest.join('=')];
      })
    : Object.entries(dict(env, `${name}.environment`)).map(([key, value]): [string, string] => [key, String(value)]);
  return Object.fromEntries(entries);
}

/**
 * Compose interpolation of `${VAR}`, `${VAR:-default}` and `${VAR-default}`, defaults nested, against `env`; `$$`
 * is a literal dollar. Enough to see the values the containers get when the user sets nothing.
 */
function interpolate(value: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    if (value.startsWith('$$', i)) {
      out += '$';
      i++;
    } else if (value.startsWith('${', i)) {
      let depth = 0;
      let end = i;
      for (; end < value.length; end++) {
        if (value[end] === '{') depth++;
        if (value[end] === '}' && --depth === 0) break;
      }
      const body = value.slice(i + 2, end);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s.exec(body);
      if (!match?.[1]) throw new Error(`unsupported interpolation \${${body}}`);
      const set = env[match[1]];
      const fallback = match[2] === undefined ? '' : interpolate(match[3] ?? '', env);
      out += set === undefined || (set === '' && match[2] === ':-') ? fallback : set;
      i = end;
    } else {
      out += value[i];
    }
  }
  return out;
}

interface Mount {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  createHostPath: boolean;
}

/** A service's volumes in one shape, short syntax (`src:dst:ro`) and long syntax alike, interpolated against `env`. */
function mountsOf(name: string, env: Readonly<Record<string, string>> = { HOME: '/home/user' }): Mount[] {
  return list(service(name)['volumes'] ?? [], `${name}.volumes`).map((entry) => {
    if (typeof entry === 'string') {
      const [source = '', target = '', mode = ''] = interpolate(entry, env).split(':');
      const type = /^[./~]/.test(source) ? 'bind' : 'volume';
      return { type, source, target, readOnly: mode.split(',').includes('ro'), createHostPath: true };
    }
    const long = dict(entry, `${name}.volumes[]`);
    const bind = isDict(long['bind']) ? long['bind'] : {};
    return {
      type: text(long['type'], `${name}.volumes[].type`),
      source: interpolate(text(long['source'], `${name}.volumes[].source`), env),
      target: text(long['target'], `${name}.volumes[].target`),
      readOnly: long['read_only'] === true,
      createHostPath: bind['create_host_path'] !== false,
    };
  });
}

function mountAt(name: string, target: string): Mount {
  const mount = mountsOf(name).find((m) => m.target === target);
  if (!mount) throw new Error(`${name} mounts nothing at ${target}`);
  return mount;
}

/** Whether `path` lies inside one of the service's mounts. */
function underMount(name: string, path: string): Mount | undefined {
  return mountsOf(name).find((m) => path === m.target || path.startsWith(`${m.target.replace(/\/$/, '')}/`));
}

/** `[host, container]` ports of a service's `ports`, short syntax (`[ip:]host:container`) or long. */
function portsOf(name: string): { published: number; target: number; hostIp?: string }[] {
  return list(service(name)['ports'] ?? [], `${name}.ports`).map((entry) => {
    if (isDict(entry)) {
      return { published: Number(entry['published']), target: Number(entry['target']) };
    }
    const parts = String(entry).split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    const hostIp = parts.pop();
    return { published, target, ...(hostIp === undefined ? {} : { hostIp }) };
  });
}

function dependsOn(name: string): Record<string, string> {
  const deps = service(name)['depends_on'];
  if (deps === undefined) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [text(d, `${name}.depends_on`), 'service_started']));
  return Object.fromEntries(
    Object.entries(dict(deps, `${name}.depends_on`)).map(([dep, spec]) => [dep, text(dict(spec, dep)['condition'], `${name}.depends_on.${dep}`)]),
  );
}

function imageOf(name: string): { repository: string; tag: string } {
  const image = text(service(name)['image'], `${name}.image`);
  const colon = image.lastIndexOf(':');
  if (colon === -1 || image.includes('@') || colon < image.lastIndexOf('/')) return { repository: image, tag: '' };
  return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
}

/** The config the compose worker runs with when the user sets no variable. */
function workerConfig(env: Readonly<Record<string, string>> = {}): GuardianConfig {
  const environment = Object.fromEntries(
    Object.entries(environmentOf('worker')).map(([key, value]) => [key, interpolate(value, env)]),
  );
  const configPath = environment[CONFIG_FILE_ENV];
  if (configPath === undefined) throw new Error(`the worker sets no ${CONFIG_FILE_ENV}`);
  const mount = mountAt('worker', configPath);
  return loadConfig({ file: join(ROOT, mount.source), env: environment });
}

describe('docker-compose.yml', () => {
  it('uses only top-level keys of the compose specification', () => {
    const allowed = new Set(['name', 'services', 'volumes', 'networks', 'configs', 'secrets', 'include']);
    expect(Object.keys(compose).filter((key) => !allowed.has(key) && !key.startsWith('x-'))).toEqual([]);
  });

  it('runs PostgreSQL, the schema job, the Temporal server, the namespace job, the UI and the worker', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['postgresql', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'].sort(),
    );
  });

  describe('images', () => {
    it.each(Object.keys(services))('%s pins an explicit version, never latest', (name) => {
      const { tag } = imageOf(name);
      expect(tag).not.toBe('');
      expect(tag).not.toMatch(/latest/);
      expect(tag).toMatch(/^\d+(\.\d+)+(-[a-z0-9.]+)?$/);
    });

    it('runs PostgreSQL 16 and the plain Temporal server image, not the deprecated auto-setup one', () => {
      expect(imageOf('postgresql')).toEqual({ repository: 'postgres', tag: expect.stringMatching(/^16\./) as unknown });
      expect(imageOf('temporal').repository).toBe('temporalio/server');
      expect(JSON.stringify(compose)).not.toContain('auto-setup');
    });

    it('runs the admin tools of the same Temporal release as the server, for both one-shot jobs', () => {
      const server = imageOf('temporal').tag;
      expect(imageOf('temporal-schema')).toEqual({ repository: 'temporalio/admin-tools', tag: server });
      expect(imageOf('temporal-namespace')).toEqual({ repository: 'temporalio/admin-tools', tag: server });
      expect(imageOf('temporal-ui').repository).toBe('temporalio/ui');
    });

    it('builds the worker from the Dockerfile and tags it with the package version', () => {
      const build = dict(service('worker')['build'], 'worker.build');
      expect(build['context']).toBe('.');
      expect(build['dockerfile']).toBe('Dockerfile');
      expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
      expect(imageOf('worker')).toEqual({ repository: 'etcd-guardian', tag: packageVersion });
    });
  });

  describe('start order', () => {
    it('starts the Temporal server only after the schema job completed successfully', () => {
      expect(dependsOn('temporal-schema')).toEqual({ postgresql: 'service_healthy' });
      expect(dependsOn('temporal')).toMatchObject({ 'temporal-schema': 'service_completed_successfully' });
    });

    it('registers the namespace once the server is healthy, and starts the UI then too', () => {
      expect(dependsOn('temporal-namespace')).toEqual({ temporal: 'service_healthy' });
      expect(dependsOn('temporal-ui')).toEqual({ temporal: 'service_healthy' });
    });

    it('starts the worker after the server is healthy and the namespace job completed successfully', () => {
      expect(dependsOn('worker')).toEqual({
        temporal: 'service_healthy',
        'temporal-namespace': 'service_completed_successfully',
      });
    });

    it.each(Object.keys(services))('%s waits for health only on services that have a healthcheck', (name) => {
      for (const [dep, condition] of Object.entries(dependsOn(name))) {
        expect(Object.keys(services)).toContain(dep);
        if (condition === 'service_healthy') expect(service(dep)['healthcheck']).toBeDefined();
      }
    });

    it('checks PostgreSQL over TCP, which the image opens only once initialisation is done', () => {
      const test = list(dict(service('postgresql')['healthcheck'], 'healthcheck')['test'], 'healthcheck.test');
      expect(test).toEqual(expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']));
    });

    it('does not restart the one-shot jobs, whose exit code the others wait for', () => {
      expect(service('temporal-schema')['restart']).toBe('no');
      expect(service('temporal-namespace')['restart']).toBe('no');
    });
  });

  describe('ports', () => {
    it('publishes the Temporal frontend on 7233, the UI on 8080 and the worker metrics, on loopback only', () => {
      expect(portsOf('temporal')).toEqual([{ hostIp: '127.0.0.1', published: 7233, target: 7233 }]);
      expect(portsOf('temporal-ui')).toEqual([{ hostIp: '127.0.0.1', published: 8080, target: 8080 }]);
      expect(portsOf('worker')).toEqual([{ hostIp: '127.0.0.1', published: 9464, target: 9464 }]);
      expect(portsOf('postgresql')).toEqual([]);
    });

    it("publishes the port the worker's config serves metrics on", () => {
      expect(portsOf('worker').map((p) => p.target)).toEqual([workerConfig().worker.metricsPort]);
    });
  });

  describe('Temporal on PostgreSQL', () => {
    const server = environmentOf('temporal');
    const schema = environmentOf('temporal-schema');

    it('points the server at the PostgreSQL service with the postgres12 plugin', () => {
      expect(server).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', DB_PORT: '5432' });
      expect(schema).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgresql', SQL_PORT: '5432' });
    });

    it('creates the databases the server uses, with the credentials PostgreSQL was started with', () => {
      const postgres = environmentOf('postgresql');
      expect({ user: server['POSTGRES_USER'], password: server['POSTGRES_PWD'] }).toEqual({
        user: postgres['POSTGRES_USER'],
        password: postgres['POSTGRES_PASSWORD'],
      });
      expect({ user: schema['SQL_USER'], password: schema['SQL_PASSWORD'] }).toEqual({
        user: postgres['POSTGRES_USER'],
        password: postgres['POSTGRES_PASSWORD'],
      });
      expect([schema['TEMPORAL_DB'], schema['VISIBILITY_DB']]).toEqual([server['DBNAME'], server['VISIBILITY_DBNAME']]);
      expect([server['DBNAME'], server['VISIBILITY_DBNAME']]).toEqual(['temporal', 'temporal_visibility']);
    });

    it("applies the versioned schemas from the admin-tools image's schema directory", () => {
      expect(schema['SCHEMA_ROOT']).toBe('/etc/temporal/schema/postgresql/v12');
      const script = readText('deploy/temporal/setup-schema.sh');
      expect(script).toContain('$SCHEMA_ROOT/temporal/versioned');
      expect(script).toContain('$SCHEMA_ROOT/visibility/versioned');
    });

    it('mounts a dynamic config file where DYNAMIC_CONFIG_FILE_PATH points, and that file parses', () => {
      const path = text(server['DYNAMIC_CONFIG_FILE_PATH'], 'DYNAMIC_CONFIG_FILE_PATH');
      const mount = mountAt('temporal', path);
      expect(mount.readOnly).toBe(true);
      expect(dict(parse(readText(mount.source)), 'dynamic config')).toHaveProperty(['limit.maxIDLength']);
    });

    it('binds the server on every interface, so that other containers reach it as temporal:7233', () => {
      expect(server['BIND_ON_IP']).toBe('0.0.0.0');
    });

    it.each(['temporal-schema', 'temporal-namespace'])('%s runs a script that is in the repository', (name) => {
      const entrypoint = list(service(name)['entrypoint'], `${name}.entrypoint`).map((part) => text(part, 'entrypoint'));
      const [shell, script = ''] = entrypoint;
      expect(shell).toBe('/bin/sh');
      const mount = mountAt(name, script);
      expect(mount.readOnly).toBe(true);
      expect(existsSync(join(ROOT, mount.source))).toBe(true);
    });
  });

  describe('namespace job', () => {
    const script = readText('deploy/temporal/create-namespace.sh');

    it("creates exactly the guardian's search attributes, with their types", () => {
      const created = [...script.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => ({ name: m[1], type: m[2] }));
      expect(created).toEqual(SEARCH_ATTRIBUTES.map(({ name, type }) => ({ name, type })));
    });

    it('registers the namespace the worker polls, on the server the worker connects to', () => {
      const job = environmentOf('temporal-namespace');
      const config = workerConfig();
      expect(job['NAMESPACE']).toBe('default');
      expect(config.temporal.namespace).toBe(job['NAMESPACE']);
      expect(config.temporal.address).toBe(job['TEMPORAL_ADDRESS']);
    });
  });

  describe('worker', () => {
    const environment = environmentOf('worker');

    it('sets only ETCD_GUARDIAN_* variables that the guardian reads', () => {
      const known = new Set([CONFIG_FILE_ENV, ...ENV_OVERRIDES.map((o) => o.name)]);
      const guardianVariables = Object.keys(environment).filter((key) => key.startsWith('ETCD_GUARDIAN_'));
      expect(guardianVariables.filter((key) => !known.has(key))).toEqual([]);
      expect(guardianVariables).toEqual(expect.arrayContaining(['ETCD_GUARDIAN_TEMPORAL_ADDRESS', 'ETCD_GUARDIAN_KUBECONFIG']));
    });

    it('reaches Temporal through the compose service, on its frontend port', () => {
      expect(environment['ETCD_GUARDIAN_TEMPORAL_ADDRESS']).toBe('temporal:7233');
      expect(Object.keys(services)).toContain('temporal');
    });

    it('mounts deploy/config.yaml read-only where ETCD_GUARDIAN_CONFIG points', () => {
      const path = text(environment[CONFIG_FILE_ENV], CONFIG_FILE_ENV);
      expect(path).toBe('/etc/etcd-guardian/config.yaml');
      expect(mountAt('worker', path)).toMatchObject({ type: 'bind', source: './deploy/config.yaml', readOnly: true });
    });

    it('mounts the kubeconfig where ETCD_GUARDIAN_KUBECONFIG points, without creating a missing one', () => {
      const mount = mountAt('worker', text(environment['ETCD_GUARDIAN_KUBECONFIG'], 'ETCD_GUARDIAN_KUBECONFIG'));
      expect(mount).toMatchObject({ type: 'bind', source: '/home/user/.kube/config', readOnly: true, createHostPath: false });
      const custom = mountsOf('worker', { HOME: '/home/user', GUARDIAN_KUBECONFIG: '/srv/admin.conf' });
      expect(custom.map((m) => m.source)).toContain('/srv/admin.conf');
    });

    it('validates with the config file and the environment together, in dry run by default', () => {
      const config = workerConfig();
      expect(config.temporal).toEqual({ address: 'temporal:7233', namespace: 'default', taskQueue: 'etcd-guardian' });
      expect(config.kubernetes.kubeconfig).toBe(environment['ETCD_GUARDIAN_KUBECONFIG']);
      expect(config.clusters.map((c) => c.dryRun)).toEqual(config.clusters.map(() => true));
      expect(workerConfig({ ETCD_GUARDIAN_DRY_RUN: 'false' }).clusters.map((c) => c.dryRun)).toEqual(
        config.clusters.map(() => false),
      );
    });

    it('mounts every file the config names, and a volume for the backups', () => {
      const config = workerConfig();
      for (const cluster of config.clusters) {
        for (const file of [cluster.tls?.caFile, cluster.tls?.certFile, cluster.tls?.keyFile]) {
          if (file !== undefined) expect(underMount('worker', posix.normalize(file))).toMatchObject({ readOnly: true });
        }
        expect(underMount('worker', cluster.backup.directory)).toMatchObject({ type: 'volume', readOnly: false });
      }
      expect(Object.keys(dict(compose['volumes'], 'volumes'))).toContain('guardian-backups');
    });

    it('gives the worker longer to stop than the config gives running activities', () => {
      const grace = /^(\d+)s$/.exec(text(service('worker')['stop_grace_period'], 'stop_grace_period'));
      expect(Number(grace?.[1]) * 1000).toBeGreaterThan(workerConfig().worker.shutdownGraceTime);
      expect(service('worker')['init']).toBe(true);
    });

    it('runs the worker command of the image', () => {
      expect(service('worker')['command']).toEqual(['worker']);
    });
  });

  it('mounts only repository files that exist', () => {
    for (const name of Object.keys(services)) {
      for (const mount of mountsOf(name)) {
        if (mount.source.startsWith('./')) expect(existsSync(join(ROOT, mount.source))).toBe(true);
      }
    }
  });
});
