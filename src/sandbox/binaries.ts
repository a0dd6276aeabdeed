import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type EtcdMinor } from '../domain/etcd-version';
import { MissingBinaryError } from './errors';

/**
 * Where the real components live. scripts/install-components.sh puts them in a cache outside the repository; the
 * sandbox never looks anywhere else, so that a test always runs the pinned versions and never a stray system binary.
 */

/** The binaries the sandbox runs. */
export type ComponentBinary = 'etcd' | 'etcdctl' | 'temporal' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

/** `${ETCD_GUARDIAN_CACHE:-~/.cache/etcd-guardian}`, the installer's cache. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['ETCD_GUARDIAN_CACHE'];
  return configured !== undefined && configured !== '' ? configured : join(homedir(), '.cache', 'etcd-guardian');
}

/** The directory holding the cached binaries. */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'bin');
}

/** The absolute path of a cached binary; throws MissingBinaryError, naming the installer, when it is absent. */
export function findBinary(name: ComponentBinary, env: NodeJS.ProcessEnv = process.env): string {
  const dir = binDir(env);
  const path = join(dir, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new MissingBinaryError(name, dir);
  }
  return path;
}

/** The etcd binaries, one set per version. */
export type EtcdBinary = 'etcd' | 'etcdctl' | 'etcdutl';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How to get a minor's build: the installer builds 3.6 by default; 3.5 when asked (scripts/test-matrix.sh asks). */
function installRemedy(minor: EtcdMinor): string {
  return minor === '3.6'
    ? 'run scripts/install-components.sh to install it'
    : `run scripts/install-components.sh with ETCD_GUARDIAN_ETCD_BUILDS naming a ${minor} patch to build it (scripts/test-matrix.sh ${minor} does)`;
}

/**
 * The directory of etcd's binaries for a minor version. 3.4 is Debian's, linked into the cache's bin directory;
 * 3.5 and later are built by the installer into `$CACHE/etcd/v<version>/bin`, and the newest patch there wins (the
 * installer pins one). Throws MissingBinaryError, naming the installer, when that version was never built.
 */
export function etcdBinDir(minor: EtcdMinor, env: NodeJS.ProcessEnv = process.env): string {
  if (minor === '3.4') return binDir(env);
  const root = join(cacheDir(env), 'etcd');
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    // No build yet: reported below.
  }
  const prefix = `v${minor}.`;
  const patches = entries
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)));
  for (const name of patches) {
    const dir = join(root, name, 'bin');
    if (isExecutable(join(dir, 'etcd'))) return dir;
  }
  throw new MissingBinaryError(`etcd ${minor}`, join(root, `v${minor}.<patch>`, 'bin'), installRemedy(minor));
}

/** The full version of the etcd a minor resolves to (`3.6.16`), as its own `etcd --version` prints it. */
export function etcdVersionOf(minor: EtcdMinor, env: NodeJS.ProcessEnv = process.env): string {
  const etcd = findEtcdBinary(minor, 'etcd', env);
  const out = execFileSync(etcd, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const version = /^etcd Version: *(\S+)/m.exec(out)?.[1];
  if (version === undefined) throw new MissingBinaryError(`etcd ${minor} (\`${etcd} --version\` prints no version)`, etcdBinDir(minor, env));
  return version;
}

/** The absolute path of etcd, etcdctl or etcdutl of a minor version; 3.4 has no etcdutl. */
export function findEtcdBinary(minor: EtcdMinor, name: EtcdBinary, env: NodeJS.ProcessEnv = process.env): string {
  const dir = etcdBinDir(minor, env);
  const path = join(dir, name);
  if (!isExecutable(path)) throw new MissingBinaryError(name === 'etcd' ? `etcd ${minor}` : `${name} (etcd ${minor})`, dir);
  return path;
}

/**
 * PATH for processes the node simulator runs: the chosen etcd version's directory, then the cache, so that a pod's
 * `etcd` and `etcdctl` (and `etcdutl` from 3.5) are the pinned ones of that version.
 */
export function podSearchPath(env: NodeJS.ProcessEnv = process.env, etcdMinor: EtcdMinor = '3.4'): string {
  const inherited = env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';
  const etcdDir = etcdBinDir(etcdMinor, env);
  return [...new Set([etcdDir, binDir(env)])].concat(inherited).join(delimiter);
}
