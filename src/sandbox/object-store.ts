import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { newS3Client } from '../backup/s3-client';
import { binDir } from './binaries';
import { type SandboxContext } from './context';
import { MissingBinaryError, SandboxStartError, messageOf } from './errors';
import { CONTROL_PLANE_HOST } from './ports';
import { ManagedProcess } from './processes';
import { waitFor } from './wait';

/**
 * The sandbox's S3-compatible object store: SeaweedFS's `weed server` (master, volume, filer and S3 gateway in one
 * process) on loopback, with one identity whose keys go into a credentials file, and a bucket for the guardian's
 * backups. Its data lives in the state directory, so a backup outlives the workers that wrote it.
 */

/** The bucket the sandbox's guardian config names. */
export const SANDBOX_BUCKET = 'etcd-backups';

/** What the guardian needs to reach the store. */
export interface ObjectStoreInfo {
  endpoint: string;
  bucket: string;
  region: string;
  /** A YAML file with accessKeyId and secretAccessKey (the guardian config's `backup.s3.credentialsFile`). */
  credentialsFile: string;
}

/** The cached `weed`, or MissingBinaryError naming its installer. */
export function findWeed(env: NodeJS.ProcessEnv = process.env): string {
  const path = join(binDir(env), 'weed');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new MissingBinaryError('weed (the S3 object store)', binDir(env), 'run scripts/install-object-store.sh to build it (about 6 minutes)');
  }
  return path;
}

/** True when `weed` is installed (the CLI starts the store only then). */
export function weedInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    findWeed(env);
    return true;
  } catch {
    return false;
  }
}

/** A running object store. */
export interface RunningObjectStore {
  proc: ManagedProcess;
  info: ObjectStoreInfo;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Starts `weed server` with S3 on the slot's ports and waits until the bucket exists. */
export async function startObjectStore(ctx: SandboxContext): Promise<RunningObjectStore> {
  const root = join(ctx.paths.root, 'object-store');
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const credentials = { accessKeyId: `sandbox${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
  const s3Config = join(root, 's3.json');
  writeFileSync(
    s3Config,
    JSON.stringify({ identities: [{ name: 'guardian', credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }),
    { mode: 0o600 },
  );
  const credentialsFile = join(root, 'credentials.yaml');
  writeFileSync(credentialsFile, `accessKeyId: ${credentials.accessKeyId}\nsecretAccessKey: ${credentials.secretAccessKey}\n`, { mode: 0o600 });
  const p = ctx.ports;
  const host = CONTROL_PLANE_HOST;
  const logPath = join(ctx.paths.logs, 'object-store.log');
  const proc = await ManagedProcess.start({
    name: 'object-store',
    command: findWeed(),
    args: [
      'server',
      `-dir=${data}`,
      `-ip=${host}`,
      `-ip.bind=${host}`,
      `-master.port=${p.weedMaster}`,
      `-master.port.grpc=${p.weedMasterGrpc}`,
      // No network here, and nothing to report to.
      '-master.telemetry=false',
      // Small volumes: the default 30 GB preallocates nothing but caps how many fit on a small disk.
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${p.weedVolume}`,
      `-volume.port.grpc=${p.weedVolumeGrpc}`,
      `-filer.port=${p.weedFiler}`,
      `-filer.port.grpc=${p.weedFilerGrpc}`,
      '-s3',
      `-s3.port=${p.s3}`,
      `-s3.port.grpc=${p.s3Grpc}`,
      // Off: they would take fixed ports that two sandboxes would share.
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-s3.config=${s3Config}`,
    ],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root },
    logPath,
    pidFile: { dir: ctx.paths.run, file: 'object-store' },
  });
  const info: ObjectStoreInfo = { endpoint: `http://${host}:${p.s3}`, bucket: SANDBOX_BUCKET, region: 'us-east-1', credentialsFile };
  const client = newS3Client({ endpoint: info.endpoint, region: info.region, forcePathStyle: true, credentials, maxAttempts: 1 });
  try {
    await waitFor(
      `the object store's bucket ${SANDBOX_BUCKET}`,
      async () => {
        try {
          await client.send(new HeadBucketCommand({ Bucket: SANDBOX_BUCKET }));
        } catch {
          await client.send(new CreateBucketCommand({ Bucket: SANDBOX_BUCKET }));
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, abortIf: () => (proc.running ? undefined : 'weed exited') },
    );
  } catch (error) {
    await proc.stop({ graceMs: 2_000 }).catch(() => undefined);
    throw new SandboxStartError('object store (weed)', messageOf(error), logPath);
  } finally {
    client.destroy();
  }
  ctx.logger.info({ endpoint: info.endpoint, bucket: SANDBOX_BUCKET, pid: proc.pid }, 'object store is ready');
  return { proc, info, credentials };
}
