import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackupActivities, type BackupRecord } from '../../../activities/backup';
import { aWorld } from '../../simulation/model/builders';
import type { World } from '../../simulation/model/world';
import { aDirectory, modeOf, namesIn, removeDirectory } from '../backup/files';
import { failure, run } from './run-activity';
import { SIM_CLUSTER, simDeps } from '../../simulation/deps';

/** The backup step over the in-memory model: a snapshot of a healthy voter, or a retryable failure, never a crash. */

const INPUT = { cluster: SIM_CLUSTER, migrationId: 'migrate-main-run1' };

let directory: string;
beforeEach(() => {
  directory = aDirectory();
});
afterEach(() => removeDirectory(directory));

function backup(world: World): Promise<BackupRecord> {
  const activities = createBackupActivities(simDeps(world, { backup: { required: true, directory } }));
  return run(activities.backupSnapshot, INPUT);
}

describe('backupSnapshot over the model', () => {
  it('saves an owner-only snapshot of a healthy follower (the leader\'s disk spared), holding every key at the revision it reports', async () => {
    const world = aWorld({ seed: 1, keys: 3 });
    const leader = world.etcdModel.find(world.etcdModel.leaderId() ?? '');
    const record = await backup(world);

    // etcd-1 leads and comes first by id: the first healthy voter, which the snapshot came from before, is not taken.
    expect(leader?.clientURL).toBe('http://127.20.0.2:2379');
    expect(record).toMatchObject({ path: join(directory, 'main-migrate-main-run1.db'), revision: world.etcdModel.revision(), endpoint: 'http://127.20.0.1:2379' });
    expect(readFileSync(record.path, 'utf8')).toBe('# etcd model snapshot at revision 4\nkey-0=value-0\nkey-1=value-1\nkey-2=value-2\n');
    expect(modeOf(record.path)).toBe(0o600);
  });

  it('a voter that does not answer is skipped: the snapshot comes from a healthy one', async () => {
    const world = aWorld({ seed: 1 });
    // etcd-1 leads and comes first by id; frozen, the others elect a new leader.
    world.apply({ kind: 'freeze', member: 'etcd-1' });
    world.advance(2_000);
    const endpoint = (await backup(world)).endpoint;
    expect(['http://127.20.0.1:2379', 'http://127.20.0.3:2379']).toContain(endpoint);
    expect(endpoint).not.toBe(world.etcdModel.find(world.etcdModel.leaderId() ?? '')?.clientURL);
  });

  it('two of three members frozen (no quorum, no member list): NOT_READY_YET, retried, and no file is left', async () => {
    const world = aWorld({ seed: 1 });
    world.apply({ kind: 'freeze', member: 'etcd-0' });
    world.apply({ kind: 'freeze', member: 'etcd-1' });

    expect(await failure(backup(world))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: 'no healthy voter to take a snapshot from; members now: etcd-0 on node-0: down, etcd-1 on node-1: down, etcd-2 on node-2: down',
    });
    expect(namesIn(directory)).toEqual([]);
  });

  it('when no member list can be read: NOT_READY_YET, retried, and no file is left', async () => {
    const world = aWorld({ seed: 1 });
    world.faults = (call) => (call.method === 'memberList' ? { kind: 'error' } : undefined);

    expect(await failure(backup(world))).toEqual({
      type: 'NOT_READY_YET',
      nonRetryable: false,
      message: 'no healthy voter to take a snapshot from; members now: etcd-0 on node-0: down, etcd-1 on node-1: down, etcd-2 on node-2: down',
    });
    expect(namesIn(directory)).toEqual([]);
  });

  it('a snapshot that times out fails TIMEOUT, retried, leaving no file; the retry saves it', async () => {
    const world = aWorld({ seed: 1 });
    let failed = false;
    world.faults = (call) => {
      if (failed || call.method !== 'snapshot') return undefined;
      failed = true;
      return { kind: 'timeout' };
    };

    expect(await failure(backup(world))).toEqual({ type: 'TIMEOUT', nonRetryable: false, message: 'etcd snapshot timed out after 2000 ms' });
    expect(namesIn(directory)).toEqual([]);
    expect((await backup(world)).revision).toBe(world.etcdModel.revision());
    expect(namesIn(directory)).toEqual(['main-migrate-main-run1.db', 'main-migrate-main-run1.db.json']);
  });
});
