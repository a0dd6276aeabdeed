import { BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../worker/bundle-options';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/**
 * Histories recorded from real runs (RECORD_HISTORIES=1 on the integration suites) replay against today's workflow
 * code: a change that breaks determinism for running workflows fails here. migrate-member.json and
 * monitor-cluster.json come from the sandbox; migrate-member.json predates the plan-is-the-program patch and replays
 * through workflows/legacy. The other migrate-*.json come from test/integration/workflow-over-model.test.ts, the
 * real workflow over the model: every step kind and failure path (a replace, a surge that moves leadership, a
 * placement undone and tried on the next node, a stale surge planned again as a replace, promoted successors taken
 * back until the migration fails, and a run finished by a second worker after the first was shut down).
 * maintain-nospace.json is a NOSPACE recovery over the model, finished by a second worker. backup-cluster.json is a
 * backup taken and drilled on the sandbox (backups-recovery.test.ts), under the backup-name-random-part patch.
 */

const dir = join(__dirname, '../fixtures/histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

jest.setTimeout(60_000);

// One bundle of today's workflow code for every history: bundling takes seconds, replaying milliseconds.
let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...BUNDLER_OPTIONS, logger: new DefaultLogger('WARN') });
});

it('has recorded histories of both workflows, and of every migration step kind and failure path, to replay', () => {
  expect(files.sort()).toEqual([
    'backup-cluster.json',
    'maintain-nospace.json',
    'migrate-compensate-promoted.json',
    'migrate-crash-replay.json',
    'migrate-member.json',
    'migrate-placement-retry.json',
    'migrate-plan-stale.json',
    'migrate-replace.json',
    'migrate-statefulset-placement-retry.json',
    'migrate-statefulset-replace.json',
    'migrate-surge.json',
    'monitor-cluster.json',
  ]);
});

it.each(files)('%s replays without non-determinism', async (file) => {
  const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history)).resolves.toBeUndefined();
});
