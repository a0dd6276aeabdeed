import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { settled } from '../test/integration/harness/gameday';
import { startGuardian, type GuardianHarness } from '../test/integration/harness/guardian';
import { until } from '../test/integration/harness/wait';
import type { RecoveryProgress } from '../workflows/recover';
import { dbSize, Loader } from './load';
import { seconds, writeReport } from './stats';

/**
 * Quorum-loss recovery by cluster size and data: a sandbox of 3 or 5 members is loaded to 10 or 200 MB, a majority of
 * its members' nodes go down and their data directories are deleted, and a recovery from the survivor is approved;
 * or, from a backup, every member goes after a verified backup was taken. Measured from the approval: when the seed
 * takes writes again, and when the membership is verified at full size.
 */

jest.setTimeout(3_600_000);

const CASES: Array<{ source: 'survivor' | 'backup'; members: 3 | 5; dataMb: number }> = [
  { source: 'survivor', members: 3, dataMb: 10 },
  { source: 'survivor', members: 3, dataMb: 200 },
  { source: 'survivor', members: 5, dataMb: 10 },
  { source: 'survivor', members: 5, dataMb: 200 },
  { source: 'backup', members: 3, dataMb: 10 },
  { source: 'backup', members: 3, dataMb: 200 },
];
const VALUE_BYTES = 100 * 1024;
const IN_FLIGHT = 4;

interface Result {
  source: 'survivor' | 'backup';
  members: number;
  dataMb: number;
  dbSizeBytes: number;
  toWritableMs: number;
  toVerifiedMs: number;
  steps: Record<string, number>;
}

const results: Result[] = [];

afterAll(() => {
  writeReport('recovery', {
    title: 'Quorum-loss recovery from a survivor or a backup, by size and data',
    method:
      'Measured by `npm run bench` (`npx jest -c jest.bench.config.js --runInBand bench/recovery.bench.ts`), one run per case, each on a fresh sandbox ' +
      `(etcd 3.6; 3 members on 6 nodes in 3 racks, 5 on 10 nodes in 5 racks) with the real worker. The cluster is loaded with ${VALUE_BYTES / 1024} KB values to the size named; then the nodes of ` +
      'all members but one go down (node-down) and their data directories are deleted, and the test waits until those nodes are NotReady. A ' +
      'recoverCluster run plans from the survivor and is approved by signal the moment it waits. writable: from the approval to the seed\'s first ' +
      'acknowledged write (stop the other pods, restart the seed with --force-new-cluster, restart it without, prove a write); verified: to the ' +
      'end of the run, the membership grown back to full size (learners added and promoted one at a time, quorum and HashKV verified). From a ' +
      'backup: a verified backup is taken after the load (the sandbox runs its object store), then every member\'s node goes down and its data is ' +
      'deleted; writable then counts the restore into a new member (fetch through a presigned URL, sha256, etcdutl snapshot restore, start) and ' +
      'its restart without the restore script. Seconds.',
    header: ['source', 'members', 'data (MB)', 'db size (MB)', 'approval → writable (s)', 'approval → verified (s)'],
    rows: results.map((r) => [r.source, r.members, r.dataMb, (r.dbSizeBytes / 2 ** 20).toFixed(0), seconds(r.toWritableMs), seconds(r.toVerifiedMs)]),
    data: results,
  });
});

it.each(CASES)('recovery from a $source, $members members with $dataMb MB', async ({ source, members, dataMb }) => {
  const h: GuardianHarness = await startGuardian({ sandbox: { ...(members === 5 ? { members, nodes: 10, racks: 5, domains: 2 } : { members }), objectStore: source === 'backup' } });
  try {
    const endpoints = (await settled(h, members)).map((m) => m.clientUrl);
    await new Loader(VALUE_BYTES, IN_FLIGHT).loadTo(endpoints, dataMb);
    const dbSizeBytes = await dbSize(endpoints);
    if (source === 'backup') {
      await h.client.workflow.execute('backupCluster', { workflowId: 'backup-main-bench', taskQueue: h.config.temporal.taskQueue, args: [{ cluster: 'main', reason: 'bench', requestedBy: 'bench' }] });
    }
    const status = await h.sandbox.status();
    const running = status.members.filter((m) => !m.terminating);
    const [survivor, ...others] = running;
    if (!survivor) throw new Error('no members');
    const lost = source === 'backup' ? running : others;
    for (const m of lost) {
      await h.sandbox.fault('node-down', m.node);
      rmSync(join(h.sandbox.info.stateDir, 'nodes', m.node, 'hostpath', 'var/lib/etcd-guardian', 'main', m.name), { recursive: true, force: true });
    }
    await until('the lost nodes to be NotReady', async () => {
      const now = await h.sandbox.status();
      return lost.every((m) => now.nodes.find((n) => n.name === m.node)?.conditions['Ready'] !== 'True') ? true : undefined;
    }, { timeoutMs: 60_000 });
    const handle = await h.client.workflow.start('recoverCluster', { workflowId: 'migrate-main', taskQueue: h.config.temporal.taskQueue, args: [{ cluster: 'main', requestedBy: 'bench' }] });
    const waiting = await until('the recovery to wait for approval', async () => {
      const p = await handle.query<RecoveryProgress>('progress');
      if (p.phase === 'failed') throw new Error(`the recovery failed: ${p.error ?? '?'}`);
      return p.phase === 'awaiting-approval' ? p : undefined;
    }, { timeoutMs: 120_000 });
    if (waiting.assessment?.plan.source !== source) throw new Error(`planned from a ${waiting.assessment?.plan.source ?? '?'}, not a ${source}`);
    const approvedAt = Date.now();
    await handle.signal('approve', { by: 'bench' });
    // The first write the seed acknowledges, seen from outside: a client on the seed's address.
    const client = new Etcd3({ hosts: [waiting.assessment.seedPod?.endpoint ?? survivor.clientUrl], dialTimeout: 1000 });
    let writableAt = 0;
    const probe = (async () => {
      while (writableAt === 0) {
        try {
          await client.put('bench/recovery-probe').value('x').exec();
          writableAt = Date.now();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    const result = (await handle.result()) as RecoveryProgress;
    const verifiedAt = Date.now();
    await probe;
    client.close();
    const steps = Object.fromEntries(result.steps.map((s) => [s.step, s.endedAt ? Date.parse(s.endedAt) - Date.parse(s.startedAt) : Number.NaN]));
    results.push({ source, members, dataMb, dbSizeBytes, toWritableMs: writableAt - approvedAt, toVerifiedMs: verifiedAt - approvedAt, steps });
  } finally {
    const stateDir = h.sandbox.info.stateDir;
    await h.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
