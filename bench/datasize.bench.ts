import { rmSync } from 'node:fs';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { settled } from '../test/integration/harness/gameday';
import { migrateFollower, type Migrated } from './cluster';
import { dbSize, Loader } from './load';
import { seconds, writeReport } from './stats';

/**
 * How a `replace` migration grows with the data it moves: the sandbox cluster is loaded to 10 MB and then to 200 MB
 * of keys, and after each load a follower is replaced by hand; the new member has to catch up on all of it.
 */

jest.setTimeout(3_600_000);

const SIZES_MB = [10, 200];
const VALUE_BYTES = 100 * 1024;
const IN_FLIGHT = 4;
/** etcd's default backend quota (--quota-backend-bytes unset): loading past it would raise the NOSPACE alarm. */
const QUOTA_BYTES = 2 * 1024 ** 3;
const STEPS = ['backup-snapshot', 'remove-member', 'delete-pod', 'schedule-pod', 'rejoin', 'verify-member', 'verify-quorum'];

interface Result extends Migrated {
  dataMb: number;
  keys: number;
  loadMs: number;
  dbSizeBytes: number;
}

const results: Result[] = [];
const mb = (bytes: number): string => (Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(0) : '-');
let h: GuardianHarness;
const loader = new Loader(VALUE_BYTES, IN_FLIGHT);

beforeAll(async () => {
  h = await startGuardian();
}, 300_000);

afterAll(async () => {
  const stateDir = h?.sandbox.info.stateDir;
  await h?.stop();
  // Three copies of 200 MB and a snapshot: not worth leaving in /tmp.
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  writeReport('datasize', {
    title: 'Replace migration by data size',
    method:
      'Measured by `npm run bench` (`npx jest -c jest.bench.config.js --runInBand bench/datasize.bench.ts`), one run per size, on a 3-member sandbox ' +
      `with the real worker and no monitor. The cluster is loaded with ${VALUE_BYTES / 1024} KB values (${IN_FLIGHT} puts in flight) up to the size named, ` +
      'then a follower is moved by hand with `strategy: replace` (remove it, then add a learner on another node, which has to catch up on all the data ' +
      'before it is promoted). db size is the largest dbSize the members report before the migration (etcd default quota 2 GB, never approached). ' +
      'backup is the size of the snapshot the migration took. Step times come from the migration result, in seconds (rejoin ' +
      'retries after 1 s, then every 1.5 s or more, while the learner has not started or caught up, so it moves in steps of the retry interval); total is the ' +
      'migrateMember workflow from start to close.',
    header: ['data (MB)', 'keys', 'load (s)', 'db size (MB)', 'backup (MB)', ...STEPS.map((s) => `${s} (s)`), 'total (s)'],
    rows: results.map((r) => [r.dataMb, r.keys, seconds(r.loadMs), mb(r.dbSizeBytes), mb(r.backup?.bytes ?? Number.NaN), ...STEPS.map((s) => seconds(r.steps[s] ?? Number.NaN)), seconds(r.to - r.from)]),
    data: results,
  });
});

it.each(SIZES_MB)('a replace migration with %i MB of data', async (dataMb) => {
  const endpoints = (await settled(h)).map((m) => m.clientUrl);
  const loadStarted = Date.now();
  await loader.loadTo(endpoints, dataMb);
  const loadMs = Date.now() - loadStarted;
  const dbSizeBytes = await dbSize(endpoints);
  if (dbSizeBytes > QUOTA_BYTES / 2) throw new Error(`db size ${dbSizeBytes} bytes is past half of etcd's ${QUOTA_BYTES}-byte quota: lower SIZES_MB`);
  const migrated = await migrateFollower(h, 'replace');
  results.push({ dataMb, keys: loader.keys, loadMs, dbSizeBytes, ...migrated });
  await settled(h);
});
