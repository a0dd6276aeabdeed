import { aBackup } from '../../builders';
import type { RunHistory } from '../../../src/report/history';
import { buildRecoveryReport } from '../../../src/report/recovery';
import type { RecoveryProgress } from '../../../workflows/recover';

const progress: RecoveryProgress = {
  cluster: 'main',
  phase: 'succeeded',
  assessment: {
    plan: {
      source: 'survivor',
      seed: { member: 'etcd-0', id: 'a1', node: 'node-0', answered: true, appliedIndex: 1042, revision: 152 },
      window: { keptRevision: 152, highestSeenRevision: 152, lostRevisions: 0, unheard: ['etcd-1', 'etcd-2'], summary: 'nothing any answering member holds is lost (revision 152 kept)' },
      reasons: ['restart etcd-0 on node-0 with --force-new-cluster: it has applied the most (index 1042, revision 152)'],
    },
    seedPod: { podName: 'etcd-0', nodeName: 'node-0', endpoint: 'http://127.20.0.1:2379' },
    otherPods: [],
    desiredVoters: 3,
    approval: { autoApprove: false, timeoutMs: 3_600_000 },
    observed: 'members now: …',
  },
  approval: { by: 'cli:alice', at: '2026-12-01T11:40:00.000Z' },
  steps: [{ step: 'prove-write', startedAt: '2026-12-01T11:40:04.000Z', endedAt: '2026-12-01T11:40:05.000Z', detail: 'revision 153' }],
  writable: { revision: 153, at: '2026-12-01T11:40:05.000Z' },
  repair: { kind: 'grow', additions: [{ name: 'etcd-3', plannedNode: 'node-2' }, { name: 'etcd-4', plannedNode: '(chosen when it runs)' }] },
};

function run(close: RunHistory['close']): RunHistory {
  return { close } as unknown as RunHistory;
}

describe('the report of a recovery', () => {
  it('says where it came back from, what was lost, who approved, and who was added, from the run\'s result', () => {
    expect(buildRecoveryReport(run({ kind: 'completed', atMs: 0, result: progress }))).toEqual({
      cluster: 'main',
      phase: 'succeeded',
      source: 'survivor',
      from: 'etcd-0 on node-0',
      dataLoss: 'nothing any answering member holds is lost (revision 152 kept)',
      reasons: ['restart etcd-0 on node-0 with --force-new-cluster: it has applied the most (index 1042, revision 152)'],
      approval: { by: 'cli:alice', at: '2026-12-01T11:40:00.000Z' },
      steps: progress.steps,
      writable: { revision: 153, at: '2026-12-01T11:40:05.000Z' },
      added: ['etcd-3', 'etcd-4'],
    });
  });

  it("reads a rejected run from its failure's details", () => {
    const rejected: RecoveryProgress = { ...progress, phase: 'rejected', rejection: { by: 'bob', at: '2026-12-01T11:41:00.000Z', reason: 'not now' }, steps: [] };
    delete rejected.approval;
    delete rejected.writable;
    delete rejected.repair;
    expect(buildRecoveryReport(run({ kind: 'failed', atMs: 0, details: [rejected] }))).toMatchObject({ phase: 'rejected', rejection: { by: 'bob', reason: 'not now' }, added: [] });
  });

  it('names the backup a restore came from, its revision, and the new member it went into', () => {
    const fromBackup: RecoveryProgress = {
      ...progress,
      assessment: {
        ...(progress.assessment as NonNullable<RecoveryProgress['assessment']>),
        plan: {
          source: 'backup',
          backup: aBackup('main-20261201T110000Z-ab', new Date('2026-12-01T11:00:00.000Z'), { revision: 140, verdict: 'verified' }),
          window: { keptRevision: 140, sinceBackupMs: 2_400_000, unheard: ['etcd-0', 'etcd-1', 'etcd-2'], summary: 'every write of the last 40m0s (since the backup) is lost' },
          reasons: ['restore main-20261201T110000Z-ab'],
        },
        seedPod: { podName: 'etcd-3', nodeName: 'node-4', endpoint: 'http://127.20.0.5:2379' },
      },
    };
    fromBackup.assessment = { ...(fromBackup.assessment as NonNullable<RecoveryProgress['assessment']>), restore: { pod: {}, backup: 'main-20261201T110000Z-ab', sha256: 'x', revision: 140, token: 't', node: 'node-4', nodeReason: 'rack-1 is free' } };
    expect(buildRecoveryReport(run({ kind: 'completed', atMs: 0, result: fromBackup }))).toMatchObject({
      source: 'backup',
      from: 'main-20261201T110000Z-ab',
      restored: { revision: 140, takenAt: '2026-12-01T11:00:00.000Z', into: 'etcd-3 on node-4' },
      dataLoss: 'every write of the last 40m0s (since the backup) is lost',
    });
  });

  it('has nothing to say of a run that recorded nothing', () => {
    expect(buildRecoveryReport(run({ kind: 'terminated', atMs: 0 }))).toBeUndefined();
  });
});
