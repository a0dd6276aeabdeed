import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxArgumentError } from './errors';

/**
 * The layout of a sandbox's state directory. Every path the sandbox writes is named here, so that wiping a previous
 * sandbox removes exactly what a sandbox made and nothing else a user keeps in the same directory.
 */

/** File whose presence says "a sandbox made this directory". */
const MARKER = '.etcd-guardian-sandbox';

/** The entries a sandbox owns, wiped when a new sandbox starts in the directory. */
const OWNED = [
  'pki',
  'control-plane',
  'nodes',
  'logs',
  'run',
  'kubeconfig',
  'kubeconfigs',
  'temporal.db',
  'temporal.db-shm',
  'temporal.db-wal',
  'sandbox.json',
] as const;

/** Paths inside one state directory. */
export interface StatePaths {
  root: string;
  /** Certificates, keys and the token file. */
  pki: string;
  /** The control plane's own etcd data. */
  controlPlaneEtcd: string;
  /** Per-node directories: hostPath volumes and pod working directories. */
  nodes: string;
  /** One log per process: components and pods. */
  logs: string;
  /** Pid files, the control token. */
  run: string;
  /** The admin kubeconfig. */
  kubeconfig: string;
  /** Kubeconfigs of extra users. */
  userKubeconfigs: string;
  /** Temporal's SQLite file. */
  temporalDb: string;
  /** The sandbox's description and phase, read by the CLI. */
  stateFile: string;
  /** The log of the CLI's background process (kept across restarts: `up` opens it before the wipe). */
  serveLog: string;
}

/** The paths of a state directory (absolute if `root` is). */
export function statePaths(root: string): StatePaths {
  return {
    root,
    pki: join(root, 'pki'),
    controlPlaneEtcd: join(root, 'control-plane', 'etcd'),
    nodes: join(root, 'nodes'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    kubeconfig: join(root, 'kubeconfig'),
    userKubeconfigs: join(root, 'kubeconfigs'),
    temporalDb: join(root, 'temporal.db'),
    stateFile: join(root, 'sandbox.json'),
    serveLog: join(root, 'serve.log'),
  };
}

/** The directory of a node's hostPath volumes. */
export function hostPathRoot(paths: StatePaths, node: string): string {
  return join(paths.nodes, node, 'hostpath');
}

/** The working directory of a pod's process. */
export function podWorkDir(paths: StatePaths, node: string, namespace: string, pod: string): string {
  return join(paths.nodes, node, 'pods', `${namespace}_${pod}`);
}

/**
 * Makes the directory ready for a new sandbox: creates it, wipes what a previous sandbox left, and refuses a
 * directory that holds files of the same names but no marker (it is somebody else's).
 */
export function prepareStateDir(paths: StatePaths): void {
  mkdirSync(paths.root, { recursive: true });
  const marked = existsSync(join(paths.root, MARKER));
  const present = new Set(readdirSync(paths.root));
  const clashing = OWNED.filter((entry) => present.has(entry));
  if (!marked && clashing.length > 0) {
    throw new SandboxArgumentError(
      `refusing to use ${paths.root} as a sandbox state directory: it holds ${clashing.join(', ')} but was not made by a sandbox; choose an empty directory`,
    );
  }
  for (const entry of clashing) rmSync(join(paths.root, entry), { recursive: true, force: true });
  writeFileSync(join(paths.root, MARKER), 'This directory holds an etcd-guardian sandbox; it is wiped on the next start.\n');
  for (const dir of [paths.pki, paths.controlPlaneEtcd, paths.nodes, paths.logs, paths.run, paths.userKubeconfigs]) {
    mkdirSync(dir, { recursive: true });
  }
}
