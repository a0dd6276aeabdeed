import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { MissingBinaryError } from './errors';

/**
 * Where the real components live. scripts/install-components.sh puts them in a cache outside the repository; the
 * sandbox never looks anywhere else, so that a test always runs the pinned versions and never a stray system binary.
 */

/** The binaries the sandbox runs. */
export type ComponentBinary = 'etcd' | 'etcdctl' | 'temporal' | 'kube-apiserver';

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

/** PATH for processes the node simulator runs: the cache first, so a pod's `etcd` is the pinned one. */
export function podSearchPath(env: NodeJS.ProcessEnv = process.env): string {
  const inherited = env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';
  return [binDir(env), inherited].join(delimiter);
}
