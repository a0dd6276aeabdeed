import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { newS3Client } from './s3-client';
import { parse } from 'yaml';
import type { BackupMeta } from '../domain/backups';

/**
 * Where a cluster's backups live: an S3-compatible bucket, readable by every worker, or a directory. Each backup is
 * two objects, `<cluster>/<name>.db` (the snapshot) and `<cluster>/<name>.json` (its record: figures, and the
 * drill's verdict once it ran). The record is written after the snapshot, so a record always has its snapshot.
 */
export interface BackupStore {
  /** `s3://bucket/prefix` or the directory, for messages and `backup list`. */
  readonly location: string;
  /** Where one backup's snapshot is, in the same form. */
  urlOf(cluster: string, name: string): string;
  /** Upload a snapshot file, then its record. */
  put(file: string, meta: BackupMeta): Promise<void>;
  /** Replace a backup's record (the drill's verdict). */
  putMeta(meta: BackupMeta): Promise<void>;
  /** Every record of the cluster's backups; records that do not parse are left out. */
  list(cluster: string): Promise<BackupMeta[]>;
  /** One record, or undefined when there is none. */
  get(cluster: string, name: string): Promise<BackupMeta | undefined>;
  /** Download a snapshot into `file`; returns its size and sha256 as read. */
  download(cluster: string, name: string, file: string): Promise<{ bytes: number; sha256: string }>;
  /** Delete a backup: its record first, so that no record is ever left without its snapshot. */
  remove(cluster: string, name: string): Promise<void>;
  /** Read a snapshot through, without keeping it: its size and sha256 as stored now. */
  checksum(cluster: string, name: string): Promise<{ bytes: number; sha256: string }>;
  /**
   * Where a pod fetches the snapshot from, for a restore: a presigned GET URL valid `expiresSeconds` (the bucket's
   * endpoint must be reachable from the nodes as it is from the worker), or the absolute path of the directory store's
   * file (which a pod reads only where its node sees the same directory, as the sandbox's nodes do).
   */
  sourceFor(cluster: string, name: string, expiresSeconds: number): Promise<string>;
}

/** A backup the store does not hold. */
export class BackupNotFoundError extends Error {
  readonly code = 'BACKUP_NOT_FOUND';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BackupNotFoundError';
  }
}

/** The S3 settings of `backup.s3`. */
export interface S3Settings {
  bucket: string;
  endpoint?: string | undefined;
  region: string;
  prefix: string;
  forcePathStyle: boolean;
  credentialsFile?: string | undefined;
}

/** Counts bytes and hashes what streams through. */
function hashing(): { stream: Transform; result: () => { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** Read a stream through: its size and sha256. */
async function hashOf(body: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function parseMeta(text: string): BackupMeta | undefined {
  try {
    const value = JSON.parse(text) as Partial<BackupMeta>;
    return typeof value.name === 'string' && typeof value.takenAt === 'string' && typeof value.sha256 === 'string' ? (value as BackupMeta) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `accessKeyId` and `secretAccessKey` from a YAML or JSON file; a clear error naming the file otherwise. */
export function readS3Credentials(file: string): { accessKeyId: string; secretAccessKey: string } {
  let value: unknown;
  try {
    value = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`backup.s3.credentialsFile ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const record = (value ?? {}) as Record<string, unknown>;
  const accessKeyId = record['accessKeyId'];
  const secretAccessKey = record['secretAccessKey'];
  if (typeof accessKeyId !== 'string' || accessKeyId === '' || typeof secretAccessKey !== 'string' || secretAccessKey === '') {
    throw new Error(`backup.s3.credentialsFile ${file}: expected accessKeyId and secretAccessKey, each a non-empty string`);
  }
  return { accessKeyId, secretAccessKey };
}

/** Backups in an S3-compatible bucket, through the AWS SDK's S3 client. */
export class S3BackupStore implements BackupStore {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.location = `s3://${settings.bucket}/${settings.prefix}`;
    this.client = newS3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
      ...(settings.credentialsFile !== undefined ? { credentials: readS3Credentials(settings.credentialsFile) } : {}),
      maxAttempts: 2,
    });
  }

  private key(cluster: string, name: string, ext: 'db' | 'json'): string {
    return `${this.settings.prefix}${cluster}/${name}.${ext}`;
  }

  urlOf(cluster: string, name: string): string {
    return `s3://${this.settings.bucket}/${this.key(cluster, name, 'db')}`;
  }

  async put(file: string, meta: BackupMeta): Promise<void> {
    const { size } = await stat(file);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.key(meta.cluster, meta.name, 'db'),
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: 'application/octet-stream',
        // The figures ride on the object too, so that a bucket browser or `aws s3api head-object` shows them.
        Metadata: {
          cluster: meta.cluster,
          member: meta.member,
          'etcd-version': meta.etcdVersion,
          revision: String(meta.revision),
          keys: String(meta.keys),
          sha256: meta.sha256,
          'taken-at': meta.takenAt,
        },
      }),
    );
    await this.putMeta(meta);
  }

  async putMeta(meta: BackupMeta): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.key(meta.cluster, meta.name, 'json'),
        Body: JSON.stringify(meta, null, 2),
        ContentType: 'application/json',
      }),
    );
  }

  async list(cluster: string): Promise<BackupMeta[]> {
    const prefix = `${this.settings.prefix}${cluster}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) keys.push(object.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    const records = await Promise.all(keys.map((key) => this.getText(key)));
    return records.map((text) => (text === undefined ? undefined : parseMeta(text))).filter((meta): meta is BackupMeta => meta !== undefined);
  }

  async get(cluster: string, name: string): Promise<BackupMeta | undefined> {
    const text = await this.getText(this.key(cluster, name, 'json'));
    return text === undefined ? undefined : parseMeta(text);
  }

  private async getText(key: string): Promise<string | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return object.Body === undefined ? undefined : await object.Body.transformToString();
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  /** The snapshot's bytes as a stream; BackupNotFoundError when the bucket has none. */
  private async snapshotBody(cluster: string, name: string): Promise<Readable> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.key(cluster, name, 'db') }));
      return object.Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey) throw new BackupNotFoundError(`no snapshot ${this.urlOf(cluster, name)}`);
      throw error;
    }
  }

  async download(cluster: string, name: string, file: string): Promise<{ bytes: number; sha256: string }> {
    const body = await this.snapshotBody(cluster, name);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const counter = hashing();
    await pipeline(body, counter.stream, createWriteStream(file, { mode: 0o600 }));
    return counter.result();
  }

  async remove(cluster: string, name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.key(cluster, name, 'json') }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.key(cluster, name, 'db') }));
  }

  async checksum(cluster: string, name: string): Promise<{ bytes: number; sha256: string }> {
    return hashOf(await this.snapshotBody(cluster, name));
  }

  async sourceFor(cluster: string, name: string, expiresSeconds: number): Promise<string> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.key(cluster, name, 'db') }));
    } catch (error) {
      if (error instanceof NotFound || error instanceof NoSuchKey) throw new BackupNotFoundError(`no snapshot ${this.urlOf(cluster, name)}`);
      throw error;
    }
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.key(cluster, name, 'db') }), { expiresIn: expiresSeconds });
  }
}

/** Backups in a directory (`backup.directory`): `<directory>/<cluster>/<name>.db` and `.json`, owner-only. */
export class DirectoryBackupStore implements BackupStore {
  constructor(readonly location: string) {}

  private path(cluster: string, name: string, ext: 'db' | 'json'): string {
    return join(this.location, cluster, `${name}.${ext}`);
  }

  urlOf(cluster: string, name: string): string {
    return this.path(cluster, name, 'db');
  }

  async put(file: string, meta: BackupMeta): Promise<void> {
    const target = this.path(meta.cluster, meta.name, 'db');
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const part = `${target}.part`;
    await pipeline(createReadStream(file), createWriteStream(part, { mode: 0o600 }));
    await rename(part, target);
    await this.putMeta(meta);
  }

  async putMeta(meta: BackupMeta): Promise<void> {
    const target = this.path(meta.cluster, meta.name, 'json');
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(`${target}.part`, JSON.stringify(meta, null, 2), { mode: 0o600 });
    await rename(`${target}.part`, target);
  }

  async list(cluster: string): Promise<BackupMeta[]> {
    let names: string[];
    try {
      names = await readdir(join(this.location, cluster));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.get(cluster, n.slice(0, -'.json'.length))));
    return records.filter((meta): meta is BackupMeta => meta !== undefined);
  }

  async get(cluster: string, name: string): Promise<BackupMeta | undefined> {
    try {
      return parseMeta(await readFile(this.path(cluster, name, 'json'), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async download(cluster: string, name: string, file: string): Promise<{ bytes: number; sha256: string }> {
    const source = this.path(cluster, name, 'db');
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const counter = hashing();
    try {
      await pipeline(createReadStream(source), counter.stream, createWriteStream(file, { mode: 0o600 }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupNotFoundError(`no snapshot ${source}`);
      throw error;
    }
    return counter.result();
  }

  async remove(cluster: string, name: string): Promise<void> {
    await rm(this.path(cluster, name, 'json'), { force: true });
    await rm(this.path(cluster, name, 'db'), { force: true });
  }

  /** The snapshot's absolute path; BackupNotFoundError when the directory has none. */
  private async existingSnapshot(cluster: string, name: string): Promise<string> {
    const source = resolve(this.path(cluster, name, 'db'));
    try {
      await stat(source);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupNotFoundError(`no snapshot ${source}`);
      throw error;
    }
    return source;
  }

  async checksum(cluster: string, name: string): Promise<{ bytes: number; sha256: string }> {
    return hashOf(createReadStream(await this.existingSnapshot(cluster, name)));
  }

  async sourceFor(cluster: string, name: string): Promise<string> {
    return this.existingSnapshot(cluster, name);
  }
}

/** The store a cluster's backup config names: its bucket when `s3` is set, else its directory. */
export function backupStoreFor(backup: { directory: string; s3?: S3Settings | undefined }): BackupStore {
  return backup.s3 !== undefined ? new S3BackupStore(backup.s3) : new DirectoryBackupStore(backup.directory);
}
