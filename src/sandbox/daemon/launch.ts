import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { findBinary, findEtcdBinary } from '../binaries';
import { SandboxArgumentError, SandboxStartError } from '../errors';
import { resolveOptions, type SandboxOptions } from '../options';
import { isRecordedProcessAlive, readPidFile, writePidFile } from '../pid-files';
import { statePaths } from '../state-dir';
import { type SandboxInfo } from '../types';
import { SERVE_PID_FILE, servePidPath, type ServeMessage } from './messages';
import { findRunningSandbox } from './running';

/**
 * `sandbox up`: start the sandbox in a detached background process (so it outlives the command), follow its progress
 * over an IPC channel, and return once it is ready. A sandbox that already runs in the directory is reported, not
 * started twice.
 */

/** How long `up` waits for the background process to report ready. */
const READY_TIMEOUT_MS = 180_000;

/** What `up` asks for. */
export interface LaunchRequest {
  /** Sandbox options; stateDir is resolved against the current directory. */
  options: Omit<SandboxOptions, 'onProgress'>;
  /** The CLI script to run as `<node> <script> sandbox serve ...`. */
  cliEntry: string;
  onProgress?: (message: string) => void;
}

/** What `up` found or started. */
export interface LaunchResult {
  info: SandboxInfo;
  alreadyRunning: boolean;
}

/** The `sandbox serve` command line for the options. */
export function serveArgs(options: LaunchRequest['options'], stateDir: string): string[] {
  const args = ['sandbox', 'serve', '--state-dir', stateDir];
  const numeric: Array<[string, number | undefined]> = [
    ['--members', options.members],
    ['--nodes', options.nodes],
    ['--racks', options.racks],
    ['--domains', options.domains],
    ['--grace-period', options.nodeGracePeriodSeconds],
    ['--slot', options.slot],
    ['--etcd-quota', options.etcdQuotaBytes],
  ];
  for (const [flag, value] of numeric) if (value !== undefined) args.push(flag, String(value));
  if (options.temporal === false) args.push('--no-temporal');
  if (options.objectStore !== undefined) args.push(options.objectStore ? '--object-store' : '--no-object-store');
  if (options.etcdTls === true) args.push('--etcd-tls');
  if (options.etcdVersion !== undefined) args.push('--etcd-version', options.etcdVersion);
  if (options.etcdWorkload !== undefined) args.push('--etcd-workload', options.etcdWorkload);
  return args;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts a sandbox in the background, or finds the one already running. */
export async function launchSandbox(request: LaunchRequest): Promise<LaunchResult> {
  // Every argument is checked here, before anything is spawned, so a bad one changes nothing.
  const opts = resolveOptions({ ...request.options });
  const paths = statePaths(opts.stateDir);
  const running = await findRunningSandbox(paths);
  if (running !== undefined) return { info: running.info, alreadyRunning: true };
  const serving = readPidFile(servePidPath(paths));
  if (serving !== undefined && isRecordedProcessAlive(serving)) {
    throw new SandboxArgumentError(
      `a sandbox is starting or stopping in ${paths.root} (pid ${serving.pid}): wait for it, or run \`etcd-guardian sandbox down --state-dir ${paths.root}\``,
    );
  }
  findBinary('etcd');
  findEtcdBinary(opts.etcdVersion, 'etcd');
  findBinary('kube-apiserver');
  if (opts.temporal) findBinary('temporal');
  // The TLS readiness probe and the StatefulSet's start script run etcdctl.
  if (opts.etcdTls || opts.etcdWorkload === 'statefulset') findEtcdBinary(opts.etcdVersion, 'etcdctl');

  mkdirSync(paths.root, { recursive: true });
  const log = openSync(paths.serveLog, 'w');
  const child = spawn(process.execPath, [request.cliEntry, ...serveArgs(request.options, paths.root)], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    cwd: paths.root,
  });
  closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? 0));
    child.once('error', reject);
  });
  writePidFile(paths.root, SERVE_PID_FILE, 'sandbox serve', pid, true);

  const info = await new Promise<SandboxInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      reject(new SandboxStartError('sandbox', `not ready after ${READY_TIMEOUT_MS / 1000} s`, paths.serveLog));
    }, READY_TIMEOUT_MS);
    child.on('message', (message: ServeMessage) => {
      if (message.type === 'progress') {
        request.onProgress?.(message.message);
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.info);
      } else {
        clearTimeout(timer);
        reject(message.code === 'INVALID_ARGUMENT' ? new SandboxArgumentError(message.message) : new Error(message.message));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = tail(paths.serveLog, 15);
      reject(
        new SandboxStartError(
          'sandbox',
          `the background process exited (${signal ?? `code ${code ?? '?'}`}) before it was ready${last === '' ? '' : `:\n${last}`}`,
          paths.serveLog,
        ),
      );
    });
  });
  // The background process lives on; this command must be free to exit.
  if (child.connected) child.disconnect();
  child.unref();
  return { info, alreadyRunning: false };
}
