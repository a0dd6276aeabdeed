import { rmSync } from 'node:fs';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { settled } from '../test/integration/harness/gameday';
import type { BackupProgress } from '../workflows/backup';
import { dbSize, Loader } from './load';
import { seconds, writeReport } from './stats';

/**
 * What a backup and its restore drill cost as the data grows: the sandbox cluster, with its SeaweedFS bucket, is loaded
 * to 10 MB and then 200 MB, and after each load a backup is taken (snapshot of a follower, status, HashKV, upload)
 * and then drilled (download, sha256, restore into a scratch etcd, start, compare).
 */

jest.setTimeout(3_600_000);

const SIZES_MB = [10, 200];
const VALUE_BYTES = 100 * 1024;
const IN_FLIGHT = 4;

interface Result {
  dataMb: number;
  keys: number;
  dbSizeBytes: number;
  snapshotBytes: number;
  takeMs: number;
  drillMs: number;
  drillActivityMs: number;
}

const results: Result[] = [];
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
let h: GuardianHarness;
const loader = new Loader(VALUE_BYTES, IN_FLIGHT);

async function run(input: Record<string, unknown>): Promise<{ progress: BackupProgress; ms: number }> {
  const started = Date.now();
  const progress = await h.client.workflow.execute<(i: unknown) => Promise<BackupProgress>>('backupCluster', {
    workflowId: `bench-backup-${Date.now()}`,
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster: 'main', requestedBy: 'bench', ...input }],
  });
  return { progress, ms: Date.now() - started };
}

beforeAll(async () => {
  h = await startGuardian({ sandbox: { objectStore: true } });
}, 300_000);

afterAll(async () => {
  const stateDir = h?.sandbox.info.stateDir;
  await h?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  writeReport('backup', {
    title: 'Backup and restore drill by data size',
    method:
      'Measured by `npm run bench` (`npx jest -c jest.bench.config.js --runInBand bench/backup.bench.ts`), one run per size, on a 3-member sandbox ' +
      `(etcd 3.6) with the real worker and the sandbox's SeaweedFS S3 bucket on loopback. The cluster is loaded with ${VALUE_BYTES / 1024} KB values up to the size ` +
      'named. take is a backupCluster run with the drill skipped (snapshot of a follower to the worker\'s disk, etcdutl snapshot status, HashKV and key ' +
      'count at its revision, upload of snapshot and record, retention); drill is a backupCluster run that only verifies it (download with sha256, ' +
      'etcdutl snapshot restore, a one-member etcd started on it, revision, key count and HashKV compared), and drill activity the time the drill ' +
      'records itself. Workflow times from start to result, in seconds.',
    header: ['data (MB)', 'keys', 'db size (MB)', 'snapshot (MB)', 'take (s)', 'drill (s)', 'drill activity (s)'],
    rows: results.map((r) => [r.dataMb, r.keys, mb(r.dbSizeBytes), mb(r.snapshotBytes), seconds(r.takeMs), seconds(r.drillMs), seconds(r.drillActivityMs)]),
    data: results,
  });
});

it.each(SIZES_MB)('a backup and its drill with %i MB of data', async (dataMb) => {
  const endpoints = (await settled(h)).map((m) => m.clientUrl);
  await loader.loadTo(endpoints, dataMb);
  const dbSizeBytes = await dbSize(endpoints);
  const taken = await run({ reason: `bench ${dataMb} MB`, skipDrill: true });
  const name = taken.progress.backup?.name;
  if (name === undefined) throw new Error('the backup returned no record');
  const drilled = await run({ reason: 'bench drill', verify: name });
  const verified = drilled.progress.backup?.verified;
  if (!verified) throw new Error(`the drill of ${name} did not verify it`);
  results.push({
    dataMb,
    keys: loader.keys,
    dbSizeBytes,
    snapshotBytes: taken.progress.backup?.bytes ?? 0,
    takeMs: taken.ms,
    drillMs: drilled.ms,
    drillActivityMs: verified.tookMs,
  });
});
