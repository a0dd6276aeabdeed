import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DrillFigures } from '../domain/backups';
import { EtcdGateway } from '../etcd/gateway';

/**
 * The restore drill's machinery: what etcd's own tools say about a snapshot file, and a scratch etcd restored from
 * it on loopback, asked for its revision, key count and HashKV, then stopped and deleted. It runs the binaries of
 * `backup.drill.etcdBinDirectory`: etcdutl from 3.5, etcdctl on 3.4 (which has no etcdutl).
 */

const run = promisify(execFile);

/** A drill that could not run or whose restore etcd refused: the backup is not proven. */
export class DrillError extends Error {
  readonly code = 'DRILL_FAILED';
  constructor(
    message: string,
    /** A broken snapshot will not restore on a retry; a port taken or a slow start may. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DrillError';
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The snapshot tool of a bin directory: etcdutl when there is one, else etcdctl (etcd 3.4). */
export function snapshotTool(binDirectory: string): { path: string; env: NodeJS.ProcessEnv } {
  const etcdutl = join(binDirectory, 'etcdutl');
  if (executable(etcdutl)) return { path: etcdutl, env: {} };
  const etcdctl = join(binDirectory, 'etcdctl');
  if (executable(etcdctl)) return { path: etcdctl, env: { ETCDCTL_API: '3' } };
  throw new DrillError(
    `neither etcdutl nor etcdctl is in ${binDirectory} (backup.drill.etcdBinDirectory): put the cluster's etcd binaries there`,
    false,
  );
}

/** What `etcdutl snapshot status` reports of a file: its revision and the keys it holds (every revision's). */
export async function snapshotStatus(binDirectory: string, file: string): Promise<{ revision: number; totalKey: number; totalSize: number }> {
  const tool = snapshotTool(binDirectory);
  try {
    const { stdout } = await run(tool.path, ['snapshot', 'status', file, '--write-out', 'json'], { env: { ...process.env, ...tool.env }, timeout: 120_000 });
    const status = JSON.parse(stdout) as { revision: number; totalKey: number; totalSize: number };
    return { revision: Number(status.revision), totalKey: Number(status.totalKey), totalSize: Number(status.totalSize) };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new DrillError(`${tool.path} snapshot status ${file} failed: ${stderr || (error instanceof Error ? error.message : String(error))}`, false);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(-600);
  } catch {
    return '';
  }
}

/**
 * Restore `file` into a scratch data directory under `workDir`, start etcd on it on loopback, read its revision
 * (from its own status), its key count and HashKV there, then stop it and delete the directory. `heartbeat` is called
 * while waiting, so that a long restore keeps its activity alive.
 */
export async function restoreAndMeasure(options: {
  binDirectory: string;
  file: string;
  workDir: string;
  name: string;
  timeoutMs: number;
  heartbeat?: (detail: string) => void;
}): Promise<DrillFigures> {
  const { binDirectory, file, workDir, name, timeoutMs } = options;
  const etcd = join(binDirectory, 'etcd');
  if (!executable(etcd)) throw new DrillError(`no etcd in ${binDirectory} (backup.drill.etcdBinDirectory): put the cluster's etcd binaries there`, false);
  const tool = snapshotTool(binDirectory);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const dataDir = join(workDir, 'data');
  const logFile = join(workDir, 'etcd.log');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const member = 'drill';
  const cluster = ['--name', member, '--initial-cluster', `${member}=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl];
  let child: ChildProcess | undefined;
  const gateway = new EtcdGateway({ endpoints: [clientUrl], timeoutMs: 5_000 });
  try {
    try {
      options.heartbeat?.(`restoring ${file}`);
      await run(tool.path, ['snapshot', 'restore', file, '--data-dir', dataDir, ...cluster, '--initial-cluster-token', `drill-${name}`.slice(0, 60)], {
        env: { ...process.env, ...tool.env },
        timeout: timeoutMs,
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new DrillError(`the snapshot does not restore: ${tool.path} snapshot restore said: ${(stderr || (error instanceof Error ? error.message : String(error))).slice(-600)}`, false);
    }
    const log = openSync(logFile, 'a');
    try {
      child = spawn(
        etcd,
        [...cluster, '--data-dir', dataDir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl, '--listen-peer-urls', peerUrl, '--log-level', 'warn'],
        { stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `etcd exited (${signal ?? `code ${code}`})`));
    const deadline = Date.now() + timeoutMs;
    let revision: number | undefined;
    let lastError = '';
    while (revision === undefined) {
      if (exited !== undefined) throw new DrillError(`the restored etcd did not start: ${exited}: ${tail(logFile)}`, false);
      if (Date.now() > deadline) throw new DrillError(`the restored etcd did not answer within ${Math.round(timeoutMs / 1000)} s: ${lastError}`, true);
      const status = await gateway.endpointStatus(clientUrl);
      if (status.reachable && status.leaderId !== undefined && status.leaderId !== '' && status.leaderId !== '0') revision = await gateway.revision(clientUrl);
      else {
        lastError = status.error ?? 'no leader yet';
        options.heartbeat?.('waiting for the restored etcd');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const hash = await gateway.hashKv(clientUrl, revision, timeoutMs);
    const keys = await gateway.keyCount(clientUrl, revision, timeoutMs);
    return { revision, keys, hashKv: hash.hash, compactRevision: hash.compactRevision };
  } finally {
    gateway.close();
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exit = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exit;
    }
    await rm(workDir, { recursive: true, force: true });
  }
}
