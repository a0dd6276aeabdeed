import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinDir, findEtcdBinary, podSearchPath } from '../../../src/sandbox/binaries';
import { etcdPodManifest, memberLayout } from '../../../src/sandbox/etcd-cluster';
import { resolveEtcdVersion, resolveOptions } from '../../../src/sandbox/options';
import { layoutNodes } from '../../../src/sandbox/topology';

describe('choosing the etcd version of the sandbox members', () => {
  it.each([
    ['no flag and no variable', undefined, {}, '3.6'],
    ['the flag', '3.4', {}, '3.4'],
    ['the variable', undefined, { ETCD_GUARDIAN_ETCD_VERSION: '3.5' }, '3.5'],
    ['the flag over the variable', '3.4', { ETCD_GUARDIAN_ETCD_VERSION: '3.5' }, '3.4'],
    ['an empty variable, as unset', undefined, { ETCD_GUARDIAN_ETCD_VERSION: '' }, '3.6'],
  ])('%s gives %s', (_name, flag, env, expected) => {
    expect(resolveEtcdVersion(flag, env)).toBe(expected);
  });

  it.each([
    ['3.7', {}, 'invalid --etcd-version "3.7": choose one of 3.4, 3.5, 3.6'],
    ['3.6.16', {}, 'invalid --etcd-version "3.6.16": choose one of 3.4, 3.5, 3.6'],
    [undefined, { ETCD_GUARDIAN_ETCD_VERSION: 'latest' }, 'invalid ETCD_GUARDIAN_ETCD_VERSION "latest": choose one of 3.4, 3.5, 3.6'],
  ])('%j is refused, naming where it came from', (flag, env, message) => {
    expect(() => resolveEtcdVersion(flag, env)).toThrow(message);
  });

  it('refuses a bad version among the options before anything starts', () => {
    expect(() => resolveOptions({ stateDir: '/tmp/never-used', etcdVersion: '2.3' })).toThrow('invalid --etcd-version "2.3": choose one of 3.4, 3.5, 3.6');
  });
});

describe('finding the etcd binaries of a version in the cache', () => {
  let cache: string;
  const env = (): NodeJS.ProcessEnv => ({ ETCD_GUARDIAN_CACHE: cache, PATH: '/usr/bin' });
  const fakeBinary = (dir: string, name: string): void => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  };

  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'etcd-guardian-cache-'));
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  it("3.4 is Debian's, linked in the cache's bin", () => {
    expect(etcdBinDir('3.4', env())).toBe(join(cache, 'bin'));
  });

  it('3.6 is the newest built patch that holds an etcd', () => {
    fakeBinary(join(cache, 'etcd', 'v3.6.9', 'bin'), 'etcd');
    fakeBinary(join(cache, 'etcd', 'v3.6.16', 'bin'), 'etcd');
    mkdirSync(join(cache, 'etcd', 'v3.6.20', 'bin'), { recursive: true }); // an interrupted build: no etcd
    fakeBinary(join(cache, 'etcd', 'v3.5.35', 'bin'), 'etcd');
    expect(etcdBinDir('3.6', env())).toBe(join(cache, 'etcd', 'v3.6.16', 'bin'));
    expect(etcdBinDir('3.5', env())).toBe(join(cache, 'etcd', 'v3.5.35', 'bin'));
  });

  it('a version never built is missing, naming the installer (3.5 is built only when asked for)', () => {
    expect(() => etcdBinDir('3.6', env())).toThrow(`etcd 3.6 is missing from ${join(cache, 'etcd', 'v3.6.<patch>', 'bin')}: run scripts/install-components.sh to install it`);
    expect(() => etcdBinDir('3.5', env())).toThrow(
      `etcd 3.5 is missing from ${join(cache, 'etcd', 'v3.5.<patch>', 'bin')}: run scripts/install-components.sh with ETCD_GUARDIAN_ETCD_BUILDS naming a 3.5 patch to build it (scripts/test-matrix.sh 3.5 does)`,
    );
  });

  it('etcdutl of 3.4 is missing (3.4 has none)', () => {
    fakeBinary(join(cache, 'bin'), 'etcd');
    expect(() => findEtcdBinary('3.4', 'etcdutl', env())).toThrow(`etcdutl (etcd 3.4) is missing from ${join(cache, 'bin')}`);
  });

  it("the pods' PATH starts with the version's directory, then the cache", () => {
    fakeBinary(join(cache, 'etcd', 'v3.6.16', 'bin'), 'etcd');
    expect(podSearchPath(env(), '3.6')).toBe([join(cache, 'etcd', 'v3.6.16', 'bin'), join(cache, 'bin'), '/usr/bin'].join(':'));
    expect(podSearchPath(env(), '3.4')).toBe([join(cache, 'bin'), '/usr/bin'].join(':'));
  });
});

describe('the member pods follow the etcd version', () => {
  const nodes = layoutNodes({ nodes: 3, racks: 3, domains: 2, slot: 7 });
  const members = memberLayout(nodes);
  const first = members[0];
  if (first === undefined) throw new Error('no member');

  it.each([
    ['3.4.23', 'registry.k8s.io/etcd:3.4.23-0', '/health'],
    ['3.5.35', 'registry.k8s.io/etcd:3.5.35-0', '/readyz'],
    ['3.6.16', 'registry.k8s.io/etcd:3.6.16-0', '/readyz'],
  ])('etcd %s: image %s, readiness on %s', (version, image, path) => {
    const container = etcdPodManifest(first, members, 'tok', false, version).spec?.containers[0];
    expect(container?.image).toBe(image);
    expect(container?.readinessProbe?.httpGet?.path).toBe(path);
  });

  it.each([
    ['3.4.23', '/health?serializable=true', '/health'],
    ['3.5.10', '/health?serializable=true', '/health'],
    ['3.5.11', '/livez', '/readyz'],
    ['3.6.16', '/livez', '/readyz'],
  ])("etcd %s: kubeadm's liveness probe on %s, a startup probe on %s", (version, live, ready) => {
    const container = etcdPodManifest(first, members, 'tok', false, version).spec?.containers[0];
    expect(container?.livenessProbe).toEqual({
      httpGet: { path: live, port: 2379, scheme: 'HTTP' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 15,
      failureThreshold: 8,
    });
    // kubeadm's path, timeout and 4-minute budget, probed every second (kubeadm: 24 probes 10 s apart).
    expect(container?.startupProbe).toEqual({
      httpGet: { path: ready, port: 2379, scheme: 'HTTP' },
      initialDelaySeconds: 0,
      periodSeconds: 1,
      timeoutSeconds: 15,
      failureThreshold: 240,
    });
  });
});
