import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities, type BackupRecord } from '../../../activities/backup';
import { aBackupCluster, depsWith, ENDPOINT, RecordingLogger, REVISION, type FakeClusterOptions } from './fake-runtime';
import { aDirectory, faultyFiles, modeOf, namesIn, removeDirectory } from './files';

/** The backup step of a migration: a private snapshot, retention applied, and `backup.required` deciding a disk failure. */

const DAY = 86_400_000;
const INPUT = { cluster: 'main', migrationId: 'migrate-main-run1' };
const SNAPSHOT = 'main-migrate-main-run1.db';

async function* breaking(): AsyncGenerator<Uint8Array> {
  await setImmediate();
  yield Buffer.from('etcd ');
  throw new Error('14 UNAVAILABLE: Connection dropped');
}

let directory: string;
let logger: RecordingLogger;
beforeEach(() => {
  directory = aDirectory();
  logger = new RecordingLogger();
});
afterEach(() => removeDirectory(directory));

/** Run the activity once in a mock activity context, for cluster `main` as `options` say. */
async function backup(options: Omit<FakeClusterOptions, 'directory' | 'name'> & { directory?: string }): Promise<BackupRecord> {
  // The worker also watches main-2, whose snapshots share the directory and start with "main-".
  const activities = createBackupActivities(depsWith(aBackupCluster({ directory, ...options }), aBackupCluster({ name: 'main-2', directory, required: true })));
  return await new MockActivityEnvironment({}, { logger }).run(activities.backupSnapshot, INPUT);
}

/** What the activity fails with, as Temporal sees it. */
async function failure(run: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await run;
  } catch (error: unknown) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected the activity to fail, but it succeeded');
}

/** An old snapshot (and its record) of `name`, dated `daysAgo`. */
function anOldFile(name: string, daysAgo: number): void {
  const when = new Date(Date.now() - daysAgo * DAY);
  writeFileSync(join(directory, name), 'old');
  utimesSync(join(directory, name), when, when);
}

describe('taking the backup', () => {
  it('saves the snapshot and its record owner-only, and returns the record', async () => {
    const record = await backup({ required: true });
    const path = join(directory, SNAPSHOT);
    expect(record).toEqual({ path, revision: REVISION, bytes: 13, sha256: createHash('sha256').update('etcd snapshot').digest('hex'), endpoint: ENDPOINT });
    expect(JSON.parse(readFileSync(`${path}.json`, 'utf8'))).toEqual(record);
    expect(namesIn(directory)).toEqual([SNAPSHOT, `${SNAPSHOT}.json`]);
    expect([modeOf(path), modeOf(`${path}.json`)]).toEqual([0o600, 0o600]);
  });

  it('creates a missing backup directory, owner-only', async () => {
    const nested = join(directory, 'backups');
    const record = await backup({ required: true, directory: nested });
    expect(record.path).toBe(join(nested, SNAPSHOT));
    expect(modeOf(nested)).toBe(0o700);
  });

  it('tightens an existing backup directory that others can read to owner-only, and says so', async () => {
    chmodSync(directory, 0o755);
    await backup({ required: true });
    expect(modeOf(directory)).toBe(0o700);
    expect(logger.at('WARN')).toEqual([`backup-snapshot: ${directory} was mode 0755: tightened to 0700, since its snapshots hold every Secret of the cluster`]);
  });

  it('leaves an owner-only backup directory as it is, without a warning', async () => {
    chmodSync(directory, 0o700);
    await backup({ required: true });
    expect(modeOf(directory)).toBe(0o700);
    expect(logger.at('WARN')).toEqual([]);
  });

  it('answers a retry after the record was saved with that record, without a second snapshot', async () => {
    const first = await backup({ required: true });
    await expect(backup({ required: true, stream: breaking })).resolves.toEqual(first);
  });
});

describe('a backup that fails', () => {
  const full = faultyFiles({ write: { errno: 'ENOSPC', afterBytes: 5 } });

  it('stops the migration for good when backup.required is true, naming the cause and the setting', async () => {
    const error = await failure(backup({ required: true, files: full }));
    expect(error).toMatchObject({ type: 'BACKUP_REQUIRED', nonRetryable: true });
    expect(error.message).toBe(
      `the backup of cluster main failed and backup.required is true, so nothing destructive runs without one: no space left on device writing ${directory}/${SNAPSHOT}.part after 5 bytes: ENOSPC: no space left on device, write; free space in ${directory}, lower backup.retain.count or set backup.directory to another path`,
    );
    expect(namesIn(directory)).toEqual([]);
  });

  it('is reported and skipped when backup.required is false, so that the migration proceeds', async () => {
    const skipped = `no backup of cluster main before this migration (backup.required is false): no space left on device writing ${directory}/${SNAPSHOT}.part after 5 bytes: ENOSPC: no space left on device, write; free space in ${directory}, lower backup.retain.count or set backup.directory to another path`;
    await expect(backup({ required: false, files: full })).resolves.toEqual({ path: join(directory, SNAPSHOT), revision: 0, bytes: 0, sha256: '', endpoint: ENDPOINT, skipped });
    expect(logger.at('WARN')).toEqual([`backup-snapshot: ${skipped}`]);
    expect(namesIn(directory)).toEqual([]);
  });

  it('stops for good when the backup directory cannot be created', async () => {
    writeFileSync(join(directory, 'taken'), '');
    const error = await failure(backup({ required: true, directory: join(directory, 'taken', 'backups') }));
    expect(error).toMatchObject({ type: 'BACKUP_REQUIRED', nonRetryable: true });
    expect(error.message).toBe(
      `the backup of cluster main failed and backup.required is true, so nothing destructive runs without one: backup directory ${directory}/taken/backups is not a directory: ENOTDIR: not a directory, mkdir '${directory}/taken/backups'; remove what is there or set backup.directory to another path`,
    );
  });

  it.each([true, false])('is retried when the etcd stream breaks, whatever backup.required (%s) says', async (required) => {
    const error = await failure(backup({ required, stream: breaking }));
    expect(error).toMatchObject({ type: 'SNAPSHOT_STREAM', nonRetryable: false });
    expect(error.message).toBe(`the snapshot stream from etcd ${ENDPOINT} broke after 5 bytes: 14 UNAVAILABLE: Connection dropped; the partial file ${directory}/${SNAPSHOT}.part was discarded`);
    expect(namesIn(directory)).toEqual([]);
  });
});

describe('retention after a backup', () => {
  it('deletes the cluster\'s snapshots beyond count and age, and nothing of anyone else', async () => {
    anOldFile('main-a.db', 1);
    anOldFile('main-a.db.json', 1);
    anOldFile('main-b.db', 2);
    anOldFile('main-b.db.json', 2);
    anOldFile('main-c.db', 3);
    anOldFile('main-c.db.json', 3);
    anOldFile('main-2-old.db', 30);
    anOldFile('notes.txt', 30);
    await backup({ required: true, retain: { count: 2, maxAge: 7 * DAY } });
    expect(namesIn(directory)).toEqual(['main-2-old.db', 'main-a.db', 'main-a.db.json', SNAPSHOT, `${SNAPSHOT}.json`, 'notes.txt'].sort());
    expect(logger.at('INFO')).toContain('backup-snapshot: deleted main-b.db and main-b.db.json: beyond the newest 2 (backup.retain.count) of cluster main');
  });

  it('keeps a week and at most ten when backup.retain is left out', async () => {
    for (let day = 1; day <= 8; day++) anOldFile(`main-day${day}.db`, day - 0.5);
    await backup({ required: true });
    // Day 8 is past a week; the other seven and the new one are within ten.
    expect(namesIn(directory)).toEqual([...[1, 2, 3, 4, 5, 6, 7].map((d) => `main-day${d}.db`), SNAPSHOT, `${SNAPSHOT}.json`].sort());
  });

  it('leaves old snapshots alone when the backup was skipped', async () => {
    anOldFile('main-old.db', 30);
    await backup({ required: false, files: faultyFiles({ open: 'EACCES' }), retain: { count: 1, maxAge: DAY } });
    expect(namesIn(directory)).toEqual(['main-old.db']);
  });
});
