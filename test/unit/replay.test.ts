import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';

/**
 * Histories recorded from real runs against the sandbox (RECORD_HISTORIES=1 on the integration suites) replay
 * against today's workflow code: a change that breaks determinism for running workflows fails here.
 */

const dir = join(__dirname, '../fixtures/histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

jest.setTimeout(60_000);

it('has recorded histories of both workflows to replay', () => {
  expect(files.sort()).toEqual(['migrate-member.json', 'monitor-cluster.json']);
});

it.each(files)('%s replays without non-determinism', async (file) => {
  const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history)).resolves.toBeUndefined();
});
