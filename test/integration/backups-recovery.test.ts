import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ScheduleNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Etcd3 } from 'etcd3';
import { DirectoryBackupStore, readS3Credentials, S3BackupStore, type BackupStore } from '../../src/backup/store';
import type { BackupMeta } from '../../src/domain/backups';
import type { MemberStatusReport } from '../../src/sandbox';
import { applyBackupSchedule, applyMonitorSchedule, backupScheduleIdFor, changeSchedules, scheduleIdFor } from '../../src/temporal/schedules';
import type { BackupProgress } from '../../workflows/backup';
import type { MonitorStatus } from '../../workflows/monitor';
import type { RecoveryProgress } from '../../workflows/recover';
import { builtCli } from './harness/cli-worker';
import { memberList, putOnce, settled } from './harness/gameday';
import { hashKvOfEveryMember, missingKeys } from './harness/invariants';
import { configFor, startGuardian, writeConfigFile, type GuardianHarness } from './harness/guardian';
import { failureOf, roles } from './harness/migration';
import { ackedWrites, awaitingApproval, expectRecovered, loseAllButOne, loseEveryMember, podUids, startRecovery } from './harness/recovery';
import { until } from './harness/wait';
import { runCli } from './support/cli';

/**
 * Backups and the day quorum is lost, on one sandbox with its real object store (SeaweedFS's S3 API): the store's
 * contract on S3 and on a directory; the backup workflow (snapshot from a follower, upload, restore drill into a
 * scratch etcd, retention), a backup whose bytes were damaged in the bucket refused by its drill, what a second
 * worker reads of them, the CLI and the schedule. Then the game day: two of three members' nodes go down for good and
 * their data directories are deleted; the recovery plans from the survivor and waits for a person. Refused while
 * quorum holds; rejected or not approved in time, it touches nothing; approved, it restarts the survivor with
 * --force-new-cluster, proves a write and grows back to three voters in distinct racks, every acknowledged key there.
 * Last, every member's node and data go: the recovery refuses the newest backup (damaged in the bucket after its
 * drill), restores the one before it into a new member, and grows back; every write up to that backup is there, every
 * write after it is not, as the plan said.
 */

jest.setTimeout(300_000);

/** How long a recovery waits for approval here: long enough for the CLI to answer, short enough to wait out. */
const APPROVAL_TIMEOUT_S = 10;

let h: GuardianHarness;
const cluster = 'main';

function s3Store(): S3BackupStore {
  const store = h.sandbox.info.objectStore;
  if (!store) throw new Error('the sandbox runs no object store: scripts/install-object-store.sh builds weed, and the test starts the sandbox with objectStore: true');
  return new S3BackupStore({ bucket: store.bucket, endpoint: store.endpoint, region: store.region, prefix: '', forcePathStyle: true, credentialsFile: store.credentialsFile });
}

async function backup(reason: string, extra: Record<string, unknown> = {}): Promise<BackupProgress> {
  const handle = await h.client.workflow.start<(input: unknown) => Promise<BackupProgress>>('backupCluster', {
    workflowId: `backup-${cluster}-${reason.replace(/\W+/g, '-')}-${Date.now()}`,
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster, reason, requestedBy: 'test', ...extra }],
  });
  const result = await handle.result();
  // RECORD_HISTORIES=1: the run's history, for test/unit/replay.test.ts (the last backup recorded is kept).
  if (process.env['RECORD_HISTORIES'] === '1') writeFileSync(join(__dirname, '../fixtures/histories/backup-cluster.json'), historyToJSON(await handle.fetchHistory()));
  return result;
}

async function writeKeys(prefix: string, count: number): Promise<void> {
  const client = new Etcd3({ hosts: h.sandbox.info.etcd.clientUrls });
  try {
    for (let i = 0; i < count; i++) await client.put(`${prefix}/${String(i).padStart(4, '0')}`).value(`value-${i}`);
  } finally {
    client.close();
  }
}

/** Damage a stored snapshot as a bad disk or a bad copy would: same size, some bytes flipped. */
async function damage(meta: BackupMeta): Promise<void> {
  const info = h.sandbox.info.objectStore;
  if (!info) throw new Error('no object store');
  const work = mkdtempSync(join(tmpdir(), 'guardian-corrupt-'));
  try {
    const file = join(work, 'snapshot.db');
    await s3Store().download(cluster, meta.name, file);
    const bytes = readFileSync(file);
    for (let i = 4096; i < 4196; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    const s3 = new S3Client({ endpoint: info.endpoint, region: info.region, forcePathStyle: true, credentials: readS3Credentials(info.credentialsFile) });
    await s3.send(new PutObjectCommand({ Bucket: info.bucket, Key: `${cluster}/${meta.name}.db`, Body: bytes }));
    s3.destroy();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

let monitor: WorkflowHandle;

const TUNING = {
  backupEvery: '1m',
  backupRetain: { count: 2, maxAge: '1h' },
  dryRun: true,
  interval: '1s',
  endpointTimeout: '500ms',
  recovery: { approvalTimeout: `${APPROVAL_TIMEOUT_S}s` },
};

async function monitorStatus(): Promise<MonitorStatus> {
  return monitor.query<MonitorStatus>('status');
}

beforeAll(async () => {
  h = await startGuardian({ sandbox: { objectStore: true }, tuning: TUNING });
  monitor = await h.client.workflow.start('monitorCluster', {
    workflowId: 'monitor-main-backups',
    taskQueue: h.config.temporal.taskQueue,
    args: [{ cluster, intervalMs: 1000, continueAsNewEvery: 100 }],
  });
}, 180_000);

afterAll(async () => {
  await h?.stop();
});

describe.each<[string, () => { store: BackupStore; cleanup: () => void }]>([
  ['the S3 bucket', () => ({ store: s3Store(), cleanup: () => undefined })],
  [
    'a directory',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'guardian-store-'));
      return { store: new DirectoryBackupStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
])('the backup store in %s', (_, make) => {
  it('keeps a snapshot and its record, lists, reads back the same bytes and deletes both', async () => {
    const { store, cleanup } = make();
    const work = mkdtempSync(join(tmpdir(), 'guardian-store-file-'));
    try {
      const file = join(work, 'in.db');
      const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
      writeFileSync(file, bytes);
      const meta: BackupMeta = {
        name: 'contract-20261201T000000Z-abc',
        cluster: 'contract',
        member: 'etcd-2',
        endpoint: 'http://127.0.0.1:2379',
        etcdVersion: '3.6.16',
        reason: 'contract',
        takenAt: '2026-12-01T00:00:00.000Z',
        bytes: bytes.length,
        sha256: 'not-checked-here',
        revision: 42,
        keys: 7,
        hashKv: '123',
        compactRevision: 0,
      };
      expect(await store.list('contract')).toEqual([]);
      await store.put(file, meta);
      expect(await store.list('contract')).toEqual([meta]);
      // Another cluster's listing never shows it.
      expect(await store.list('contract-2')).toEqual([]);
      const read = await store.download('contract', meta.name, join(work, 'out.db'));
      expect(read.bytes).toBe(bytes.length);
      expect(readFileSync(join(work, 'out.db')).equals(bytes)).toBe(true);
      expect(await store.checksum('contract', meta.name)).toEqual(read);
      // What a restoring pod is handed: a presigned URL anyone may GET for a while, or the file's absolute path.
      const source = await store.sourceFor('contract', meta.name, 60);
      const fetched = source.startsWith('/') ? readFileSync(source) : Buffer.from(await (await fetch(source)).arrayBuffer());
      expect(fetched.equals(bytes)).toBe(true);
      await store.putMeta({ ...meta, verified: { revision: 42, keys: 7, hashKv: '123', compactRevision: 0, at: '2026-12-01T00:01:00.000Z', tookMs: 5 } });
      expect((await store.get('contract', meta.name))?.verified?.at).toBe('2026-12-01T00:01:00.000Z');
      await store.remove('contract', meta.name);
      expect(await store.list('contract')).toEqual([]);
      await expect(store.download('contract', meta.name, join(work, 'gone.db'))).rejects.toThrow(/no snapshot .*contract-20261201T000000Z-abc\.db/);
      await expect(store.sourceFor('contract', meta.name, 60)).rejects.toThrow(/no snapshot .*contract-20261201T000000Z-abc\.db/);
    } finally {
      rmSync(work, { recursive: true, force: true });
      cleanup();
    }
  });
});

it('refuses credentials the object store does not know, naming the cause', async () => {
  const info = h.sandbox.info.objectStore;
  if (!info) throw new Error('no object store');
  const dir = mkdtempSync(join(tmpdir(), 'guardian-creds-'));
  try {
    const credentialsFile = join(dir, 'bad.yaml');
    writeFileSync(credentialsFile, 'accessKeyId: nobody\nsecretAccessKey: wrong\n');
    const store = new S3BackupStore({ bucket: info.bucket, endpoint: info.endpoint, region: info.region, prefix: '', forcePathStyle: true, credentialsFile });
    await expect(store.list(cluster)).rejects.toThrow(/access key|InvalidAccessKeyId|not exist|denied/i);
    writeFileSync(credentialsFile, 'accessKeyId: only-this\n');
    expect(() => readS3Credentials(credentialsFile)).toThrow(`backup.s3.credentialsFile ${credentialsFile}: expected accessKeyId and secretAccessKey, each a non-empty string`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the backup workflow', () => {
  let first: BackupProgress;

  it('without a verified backup, the monitor reports backup-stale and the cluster degraded', async () => {
    const status = await until('a backup-stale finding', async () => {
      const s = await monitorStatus();
      return s.assessment?.findings.some((f) => f.kind === 'backup-stale') === true ? s : undefined;
    });
    const finding = status.assessment?.findings.find((f) => f.kind === 'backup-stale');
    expect(finding).toMatchObject({ severity: 'warning', confirmed: true });
    expect(finding?.message).toBe('no verified backup in s3://etcd-backups/: a backup counts once a restore drill has proven it (backups every 1m)');
    expect(status.health).toBe('degraded');
    // A person's business, never a migration's.
    expect(status.decision?.kind).toBe('none');
  });

  it('takes a snapshot from a follower, stores it in the bucket and proves it by restoring it', async () => {
    await writeKeys('backups/before', 50);
    first = await backup('first');
    expect(first.phase).toBe('succeeded');
    const meta = first.backup;
    if (!meta) throw new Error('no backup record');
    expect(meta.keys).toBeGreaterThanOrEqual(50);
    expect(meta.verified).toMatchObject({ revision: meta.revision, keys: meta.keys, hashKv: meta.hashKv });
    // A follower's, when there is one: the leader's disk is spared.
    expect((await roles(h)).followers).toContain(meta.member);
    expect(meta.etcdVersion).toBe(h.sandbox.info.etcd.version);
    // Another worker, with nothing of the first one's disk, finds the same record and the same bytes.
    const other = s3Store();
    const listed = await other.list(cluster);
    expect(listed.map((b) => b.name)).toContain(meta.name);
    const work = mkdtempSync(join(tmpdir(), 'guardian-other-worker-'));
    try {
      expect(await other.download(cluster, meta.name, join(work, 'snapshot.db'))).toEqual({ bytes: meta.bytes, sha256: meta.sha256 });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // The monitor sees a verified backup: the finding clears.
    await until('the backup-stale finding to clear', async () => {
      const s = await monitorStatus();
      return s.assessment !== undefined && !s.assessment.findings.some((f) => f.kind === 'backup-stale') ? s : undefined;
    });
  });

  it('refuses a backup whose bytes changed in the bucket: its drill fails and it is never counted as verified', async () => {
    const taken = await backup('to-corrupt', { skipDrill: true });
    const meta = taken.backup;
    if (!meta) throw new Error('no backup record');
    expect(meta.verified).toBeUndefined();
    await damage(meta);
    // The drill of the damaged one, as `etcd-guardian backup verify` runs it.
    const failure = await failureOf(backup('verify', { verify: meta.name }));
    expect(failure.type).toBe('BACKUP_CORRUPT');
    expect(failure.message).toContain(`backup ${meta.name} of cluster ${cluster} failed its restore drill: its snapshot reads ${meta.bytes} bytes with sha256 `);
    const record = await s3Store().get(cluster, meta.name);
    expect(record?.verified).toBeUndefined();
    expect(record?.drillFailed?.reason).toMatch(/sha256/);
  });
});

describe('the migration and the operator', () => {
  it("puts the migration's pre-step backup in the same bucket", async () => {
    const member = (await roles(h)).followers[0];
    if (member === undefined) throw new Error('no follower');
    const result = await h.client.workflow.execute<(input: unknown) => Promise<{ backup?: { path: string; revision: number } }>>('migrateMember', {
      workflowId: 'migrate-main',
      taskQueue: h.config.temporal.taskQueue,
      args: [{ cluster, member, reason: 'backup store test', requestedBy: 'test' }],
    });
    // Named after the migration (its workflow id and run), so that the step's retries find it again.
    const name = /^s3:\/\/etcd-backups\/main\/(main-migrate-main-[0-9a-f-]+)\.db$/.exec(result.backup?.path ?? '')?.[1];
    expect(name).toBeDefined();
    const record = await s3Store().get(cluster, name ?? '?');
    expect(record).toMatchObject({ revision: result.backup?.revision, sha256: expect.any(String) as string });
    expect(record?.reason).toMatch(/^before migration migrate-main-/);
  });

  it('backs up from the CLI, lists every backup with its verdict, and prunes to backup.retain.count', async () => {
    const configFile = writeConfigFile(h.sandbox, TUNING);
    const before = (await s3Store().list(cluster)).map((b) => b.name);
    const now = await runCli(builtCli(), ['backup', 'now', cluster, '--config', configFile, '--reason', 'before the upgrade', '--json'], h.sandbox.info.stateDir);
    expect(now.stderr).toMatch(/started backup-main/);
    expect(now.code).toBe(0);
    const taken = JSON.parse(now.stdout) as BackupProgress;
    expect(taken.backup?.verified).toBeDefined();
    expect(taken.backup?.reason).toMatch(/^before the upgrade \(cli:/);
    // Two kept: the new one (newest and newest verified) and the one before it; every older one deleted.
    const after = (await s3Store().list(cluster)).map((b) => b.name).sort();
    expect(after).toHaveLength(2);
    expect(after).toContain(taken.backup?.name);
    expect(taken.pruned?.map((p) => p.name).sort()).toEqual(before.filter((name) => !after.includes(name)).sort());
    const list = await runCli(builtCli(), ['backup', 'list', cluster, '--config', configFile], h.sandbox.info.stateDir);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`2 backups in s3://etcd-backups/, newest first:`);
    expect(list.stdout).toMatch(new RegExp(`${taken.backup?.name ?? '?'} .* verified `));
    const unknown = await runCli(builtCli(), ['backup', 'list', 'nosuch', '--config', configFile], h.sandbox.info.stateDir);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown cluster "nosuch"; configured clusters: main');
  });

  it('the backup schedule starts proven backups, and goes when the config no longer asks for it', async () => {
    const spec = { cluster, taskQueue: h.config.temporal.taskQueue, everyMs: 3_600_000 };
    expect(await applyBackupSchedule(h.client, spec)).toBe('created');
    expect(await applyBackupSchedule(h.client, spec)).toBe('unchanged');
    // It triggers at once: the first scheduled backup does not wait an hour.
    const scheduled = await until('the first scheduled backup', async () => {
      const found = (await s3Store().list(cluster)).find((b) => b.reason === 'scheduled' && b.verified !== undefined);
      return found;
    }, { timeoutMs: 60_000 });
    expect(scheduled.verified?.hashKv).toBe(scheduled.hashKv);
    expect(await applyBackupSchedule(h.client, { ...spec, everyMs: undefined })).toBe('deleted');
    expect(await applyBackupSchedule(h.client, { ...spec, everyMs: undefined })).toBe('none');
  });

  it("schedule pause, resume and delete act on the monitor's schedule and the backup schedule together", async () => {
    const ids = [scheduleIdFor(cluster), backupScheduleIdFor(cluster)];
    const paused = async (): Promise<boolean[]> => Promise.all(ids.map(async (id) => (await h.client.schedule.getHandle(id).describe()).state.paused));
    const started = new Set<string>();
    /** The monitors the monitor's schedule started: they outlive it, and are stopped at the end. */
    const noteStarted = async (): Promise<void> => {
      const info = (await h.client.schedule.getHandle(scheduleIdFor(cluster)).describe()).info;
      for (const action of [...info.runningActions, ...info.recentActions.map((a) => a.action)]) started.add(action.workflow.workflowId);
    };
    const monitorSpec = { cluster, taskQueue: h.config.temporal.taskQueue, intervalMs: 1000, continueAsNewEvery: 100, everyMs: 3_600_000, catchupWindowMs: 60_000 };
    try {
      expect(await applyMonitorSchedule(h.client, monitorSpec)).toBe('created');
      expect(await applyBackupSchedule(h.client, { cluster, taskQueue: h.config.temporal.taskQueue, everyMs: 3_600_000 })).toBe('created');
      expect(await paused()).toEqual([false, false]);
      await changeSchedules(h.client, cluster, 'pause');
      expect(await paused()).toEqual([true, true]);
      await changeSchedules(h.client, cluster, 'resume');
      expect(await paused()).toEqual([false, false]);
      await noteStarted();
      await changeSchedules(h.client, cluster, 'delete');
      for (const id of ids) await expect(h.client.schedule.getHandle(id).describe()).rejects.toThrow(ScheduleNotFoundError);
      // A cluster without a backup schedule: only the monitor's is acted on.
      await applyMonitorSchedule(h.client, monitorSpec);
      await changeSchedules(h.client, cluster, 'pause');
      expect((await h.client.schedule.getHandle(ids[0] ?? '').describe()).state.paused).toBe(true);
      await noteStarted();
    } finally {
      // Whatever failed: no schedule left to start another monitor, and the monitors it started stopped (the
      // suite's own monitor stays).
      await noteStarted().catch(() => undefined);
      for (const id of ids) {
        await h.client.schedule
          .getHandle(id)
          .delete()
          .catch((error: unknown) => {
            if (!(error instanceof ScheduleNotFoundError)) throw error;
          });
      }
      for (const id of started) await h.client.workflow.getHandle(id).terminate('schedule test over').catch(() => undefined);
    }
  });
});

/** Keys acknowledged before the quorum loss: every one must be readable after the recovery. */
let acked: string[] = [];

describe('quorum lost for good', () => {
  let survivor: MemberStatusReport;
  let lost: MemberStatusReport[];

  beforeAll(async () => {
    await settled(h);
    acked = await ackedWrites(h, 100, 'recovery/before');
  }, 120_000);

  it('refuses to recover a cluster whose quorum holds, before touching anything', async () => {
    const before = await podUids(h);
    const failure = await failureOf(startRecovery(h, {}).then((handle) => handle.result()));
    expect(failure.type).toBe('QUORUM_HELD');
    expect(failure.message).toBe('recovery of main: cluster main has quorum (3 of 3 voters healthy, 2 needed): a recovery would throw away a working cluster; migrate the members at risk instead');
    expect(await podUids(h)).toEqual(before);
  });

  describe('two of three members gone, nodes and data', () => {
    beforeAll(async () => {
      ({ survivor, lost } = await loseAllButOne(h));
      expect(lost).toHaveLength(2);
    }, 120_000);

    it('plans from the survivor on the CLI (dry run): the seed and the data-loss window, nothing touched', async () => {
      const before = await podUids(h);
      const planned = await runCli(builtCli(), ['recover', cluster, '--dry-run', '--config', writeConfigFile(h.sandbox, TUNING)], h.sandbox.info.stateDir);
      expect(planned.code).toBe(0);
      expect(planned.stdout).toContain('recovery of main: planned');
      expect(planned.stdout).toContain(`restart ${survivor.name} on ${survivor.node} with --force-new-cluster: it has applied the most`);
      expect(planned.stdout).toContain(`what ${lost.map((m) => m.name).join(', ')} held beyond that is unknown (they do not answer)`);
      expect(await podUids(h)).toEqual(before);
    });

    it('a rejected recovery touches nothing, and neither does one nobody approves in time', async () => {
      const before = await podUids(h);
      const rejected = await startRecovery(h, {});
      const waiting = await awaitingApproval(rejected);
      const plan = waiting.assessment?.plan;
      if (plan?.source !== 'survivor') throw new Error('no survivor plan');
      expect(plan.seed.member).toBe(survivor.name);
      expect([...plan.window.unheard].sort()).toEqual(lost.map((m) => m.name).sort());
      await rejected.signal('reject', { by: 'test', reason: 'not now' });
      expect(await failureOf(rejected.result())).toEqual({ type: 'RECOVERY_REJECTED', message: 'recovery of main was rejected by test: not now; nothing was touched' });
      const ignored = await startRecovery(h, {});
      await awaitingApproval(ignored);
      expect(await failureOf(ignored.result())).toEqual({
        type: 'RECOVERY_NOT_APPROVED',
        message: `recovery of main was not approved within ${APPROVAL_TIMEOUT_S}s (recovery.approvalTimeout): nothing was touched`,
      });
      expect(await podUids(h)).toEqual(before);
    });

    it('the monitor starts it once quorum has been lost for recovery.startAfter; approved, it brings the survivor back alone, takes writes, and grows to three voters in distinct racks with every acknowledged key', async () => {
      // A monitor that acts (the suite's is a dry run), on a worker whose config starts a recovery after 10 s.
      await monitor.terminate('replaced by a monitor that acts');
      await h.stopWorker();
      await h.startWorker(configFor(h.sandbox, { ...TUNING, dryRun: false, recovery: { approvalTimeout: '2m', startAfter: '10s' } }));
      await h.client.workflow.start('monitorCluster', { workflowId: 'monitor-main-acting', taskQueue: h.config.temporal.taskQueue, args: [{ cluster, intervalMs: 1000, continueAsNewEvery: 100 }] });
      const handle = h.client.workflow.getHandle('migrate-main');
      const started = await until('the monitor to start a recovery', async () => {
        try {
          const description = await handle.describe();
          return description.type === 'recoverCluster' && description.status.name === 'RUNNING' ? description : undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 60_000 });
      expect(started.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe('monitor-main-acting');
      await awaitingApproval(handle);
      const approved = await runCli(builtCli(), ['approve', cluster, '--config', writeConfigFile(h.sandbox, TUNING)], h.sandbox.info.stateDir);
      expect(approved.stderr).toBe('');
      expect(approved.stdout).toMatch(/^recovery of main: approved by cli:/);
      const approvedAt = Date.now();
      const result = (await handle.result()) as RecoveryProgress;
      expect(result.phase).toBe('succeeded');
      expect(result.approval?.by).toMatch(/^cli:/);
      expect(result.writable?.revision).toBeGreaterThan(0);
      process.stdout.write(`recovery: approval to verified membership ${((Date.now() - approvedAt) / 1000).toFixed(1)} s; steps ${result.steps.map((s) => s.step).join(', ')}\n`);

      // Three voters in three racks, none on a lost node, every acknowledged key, one HashKV, and writes taken.
      await expectRecovered(h, survivor, lost, acked, 3);
      // The post-mortem, from the history alone.
      const report = await runCli(builtCli(), ['report', 'migrate-main', '--config', writeConfigFile(h.sandbox, TUNING)], h.sandbox.info.stateDir);
      expect(report.code).toBe(0);
      expect(report.stdout).toContain('# Post-mortem: recovery of cluster main from lost quorum');
      expect(report.stdout).toContain(`- from: survivor **${survivor.name} on ${survivor.node}**, restarted with --force-new-cluster`);
      expect(report.stdout).toMatch(/- approved by `cli:[^`]+` at /);
      expect(report.stdout).toMatch(/- members added: etcd-\d+, etcd-\d+/);
      expect(report.stdout).toMatch(/\| prove-write \| .* \| revision \d+ \|/);
    });
  });

  describe("every member's data gone", () => {
    let gone: MemberStatusReport[];
    let good: BackupMeta;
    let damaged: BackupMeta;
    let kept: string[];
    let lostWrites: string[];

    beforeAll(async () => {
      // The acting monitor would start its own recovery here; this one is the operator's.
      await h.client.workflow.getHandle('monitor-main-acting').terminate('the operator recovers by hand');
      // The two nodes lost before come back, empty: the restore and its growth need healthy nodes in free racks.
      for (const m of lost) await h.sandbox.heal(m.node);
      await until('the healed nodes to be Ready', async () => {
        const status = await h.sandbox.status();
        return lost.every((m) => status.nodes.find((n) => n.name === m.node)?.conditions['Ready'] === 'True') ? true : undefined;
      }, { timeoutMs: 60_000 });
      kept = await ackedWrites(h, 50, 'restore/before-backup');
      good = (await backup('before-the-loss')).backup ?? (() => { throw new Error('no backup record'); })();
      lostWrites = await ackedWrites(h, 20, 'restore/after-good-backup');
      damaged = (await backup('to-damage')).backup ?? (() => { throw new Error('no backup record'); })();
      expect(damaged.verified).toBeDefined();
      lostWrites.push(...(await ackedWrites(h, 20, 'restore/after-backups')));
      // The newest verified backup is damaged in the bucket after its drill proved it.
      await damage(damaged);
      gone = await loseEveryMember(h);
    }, 240_000);

    it('plans from the newest backup whose bytes still match, refuses the damaged one, and says what is lost; approved, it restores it into a new member and grows to three voters', async () => {
      const handle = await startRecovery(h, {});
      const waiting = await awaitingApproval(handle);
      const plan = waiting.assessment?.plan;
      if (plan?.source !== 'backup') throw new Error(`expected a backup plan, got ${JSON.stringify(plan)}`);
      expect(plan.backup.name).toBe(good.name);
      expect(plan.reasons).toContainEqual(expect.stringMatching(new RegExp(`^backup ${damaged.name} refused: its snapshot reads ${damaged.bytes} bytes with sha256 (?!${damaged.sha256})[0-9a-f]{64}, its record says ${damaged.bytes} bytes with ${damaged.sha256}$`)));
      // The window: the backup's revision kept, every write since it lost, nobody heard.
      expect(plan.window.keptRevision).toBe(good.revision);
      expect(plan.window.sinceBackupMs).toBeGreaterThan(0);
      expect([...plan.window.unheard].sort()).toEqual(gone.map((m) => m.name).sort());
      expect(waiting.assessment?.restore?.node).toBeDefined();
      expect(gone.map((m) => m.node)).not.toContain(waiting.assessment?.restore?.node);

      await handle.signal('approve', { by: 'test', reason: 'every member is gone' });
      const approvedAt = Date.now();
      const result = (await handle.result()) as RecoveryProgress;
      expect(result.phase).toBe('succeeded');
      process.stdout.write(`recovery from backup: approval to verified membership ${((Date.now() - approvedAt) / 1000).toFixed(1)} s; steps ${result.steps.map((s) => s.step).join(', ')}\n`);
      expect(result.steps.map((s) => s.step)).toContain(`restore ${good.name} into ${waiting.assessment?.seedPod?.podName ?? '?'}`);

      const running = (await h.sandbox.status()).members.filter((m) => !m.terminating && m.healthy);
      const endpoints = running.map((m) => m.clientUrl);
      const listed = await memberList(endpoints, true);
      expect(listed.filter((m) => !m.isLearner)).toHaveLength(3);
      expect(running.filter((m) => gone.some((g) => g.node === m.node))).toEqual([]);
      expect(new Set(running.map((m) => m.rack)).size).toBe(3);
      // Exactly what the plan said: every write up to the backup is there, every one after it is not.
      expect(await missingKeys(endpoints, [...acked, ...kept])).toEqual([]);
      expect((await missingKeys(endpoints, lostWrites)).sort()).toEqual([...lostWrites].sort());
      expect(new Set(Object.values(await hashKvOfEveryMember(endpoints))).size).toBe(1);
      await putOnce(endpoints, 'recovery/after-restore', 'ok');
      const report = await runCli(builtCli(), ['report', 'migrate-main', '--config', writeConfigFile(h.sandbox, TUNING)], h.sandbox.info.stateDir);
      expect(report.stdout).toContain(`- from: backup **${good.name}** (revision ${good.revision}, taken ${good.takenAt}), restored into new member **${waiting.assessment?.seedPod?.podName ?? '?'} on ${waiting.assessment?.restore?.node ?? '?'}**`);
      expect(report.stdout).toContain(`backup ${damaged.name} refused: its snapshot reads`);
    });
  });
});
