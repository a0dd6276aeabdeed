import { aBackup } from '../../builders';
import type { BackupMeta } from '../../../src/domain/backups';
import { planRecovery, recoveryDue, type RecoveryInput, type RecoveryTrigger, type SurvivorFigures } from '../../../src/domain/recovery';

const NOW = Date.parse('2026-12-01T12:00:00Z');

function member(name: string, appliedIndex?: number, revision?: number): SurvivorFigures {
  return appliedIndex === undefined
    ? { member: name, id: `id-${name}`, node: `node-${name}`, answered: false, error: 'connection refused' }
    : { member: name, id: `id-${name}`, node: `node-${name}`, answered: true, appliedIndex, revision: revision ?? appliedIndex };
}

function backup(name: string, revision: number, minutesAgo: number, verdict: 'verified' | 'failed' | 'none' = 'verified'): BackupMeta {
  return aBackup(name, new Date(NOW - minutesAgo * 60_000), { revision, verdict });
}

function input(overrides: Partial<RecoveryInput>): RecoveryInput {
  return { cluster: 'main', from: 'auto', voters: 3, healthyVoters: 1, members: [], backups: [], nowMs: NOW, ...overrides };
}

describe('planRecovery', () => {
  it.each<[string, Partial<RecoveryInput>, string]>([
    ['two survivors: the one that applied the most', { members: [member('etcd-1', 90, 50), member('etcd-2', 120, 70), member('etcd-3')] }, 'survivor etcd-2'],
    ['equal applied index: the higher revision', { members: [member('etcd-1', 120, 69), member('etcd-2', 120, 70)] }, 'survivor etcd-2'],
    ['no member answers: the newest verified backup', { healthyVoters: 0, members: [member('etcd-1'), member('etcd-2'), member('etcd-3')], backups: [backup('old', 10, 120), backup('new', 40, 30)] }, 'backup new'],
    ['a drill-failed or undrilled backup is never chosen', { healthyVoters: 0, members: [member('etcd-1')], backups: [backup('good', 10, 120), backup('bad', 40, 30, 'failed'), backup('raw', 50, 10, 'none')] }, 'backup good'],
    ['the operator asks for a backup although a survivor answers', { from: 'backup', members: [member('etcd-1', 120, 70)], backups: [backup('new', 40, 30)] }, 'backup new'],
    ['a backup newer than every survivor wins under auto', { members: [member('etcd-1', 5, 3)], backups: [backup('new', 40, 30)] }, 'backup new'],
    ['a damaged backup is passed over for the next verified one', { healthyVoters: 0, members: [member('etcd-1')], backups: [backup('older', 10, 120), backup('newest', 40, 30)], refusedBackups: [{ name: 'newest', reason: 'sha256 mismatch' }] }, 'backup older'],
    ['under survivor, the survivor even when a backup is newer', { from: 'survivor', members: [member('etcd-1', 5, 3)], backups: [backup('new', 40, 30)] }, 'survivor etcd-1'],
  ])('%s', (_case, overrides, expected) => {
    const decision = planRecovery(input(overrides));
    if (!decision.ok) throw new Error(`refused: ${decision.reason}`);
    const plan = decision.plan;
    expect(plan.source === 'survivor' ? `survivor ${plan.seed.member}` : `backup ${plan.backup.name}`).toBe(expected);
  });

  it.each<[string, Partial<RecoveryInput>, 'QUORUM_HELD' | 'NO_SOURCE', string]>([
    [
      'quorum held',
      { healthyVoters: 2, members: [member('etcd-1', 1), member('etcd-2', 1)] },
      'QUORUM_HELD',
      'cluster main has quorum (2 of 3 voters healthy, 2 needed): a recovery would throw away a working cluster; migrate the members at risk instead',
    ],
    [
      'nothing answers and no verified backup',
      { healthyVoters: 0, members: [member('etcd-1'), member('etcd-2')], backups: [backup('bad', 40, 30, 'failed'), backup('raw', 50, 10, 'none')] },
      'NO_SOURCE',
      'no member of main answers with its data (etcd-1: connection refused, etcd-2: connection refused); and cluster main has no verified backup to restore (2 stored: 1 failed their drill, 1 never drilled): run `etcd-guardian backup verify` on one, or bring a member\'s data back',
    ],
    [
      'the only verified backup is damaged',
      { healthyVoters: 0, members: [member('etcd-1')], backups: [backup('only', 40, 30)], refusedBackups: [{ name: 'only', reason: 'its snapshot has sha256 abc, its record says def' }] },
      'NO_SOURCE',
      'no member of main answers with its data (etcd-1: connection refused); backup only refused: its snapshot has sha256 abc, its record says def; and cluster main has no verified backup to restore (1 stored: 0 failed their drill, 0 never drilled, 1 damaged): run `etcd-guardian backup verify` on one, or bring a member\'s data back',
    ],
    ['a survivor asked for, none answers', { from: 'survivor', healthyVoters: 0, members: [member('etcd-1')], backups: [backup('b', 1, 1)] }, 'NO_SOURCE', 'no member of main answers with its data (etcd-1: connection refused), and the operator asked for a survivor'],
  ])('refuses: %s', (_case, overrides, code, reason) => {
    expect(planRecovery(input(overrides))).toEqual({ ok: false, code, reason });
  });

  it('says the data-loss window from a survivor: the revisions other survivors hold beyond it, and who was not heard', () => {
    const decision = planRecovery(input({ from: 'survivor', members: [member('etcd-1', 200, 70), member('etcd-2', 150, 75), member('etcd-3')] }));
    if (!decision.ok) throw new Error(decision.reason);
    expect(decision.plan.window).toEqual({
      keptRevision: 70,
      highestSeenRevision: 75,
      lostRevisions: 5,
      unheard: ['etcd-3'],
      summary: 'revisions 71 to 75 (5) are lost; what etcd-3 held beyond that is unknown (they do not answer)',
    });
  });

  it('says the data-loss window from a backup: the time since it was taken', () => {
    const decision = planRecovery(input({ healthyVoters: 0, members: [member('etcd-1'), member('etcd-2'), member('etcd-3')], backups: [backup('b', 40, 90)] }));
    if (!decision.ok) throw new Error(decision.reason);
    expect(decision.plan.window.summary).toBe(
      'no member answers, so the revisions written after 40 are unknown; every write of the last 1h30m (since the backup) is lost; what etcd-1, etcd-2, etcd-3 held beyond that is unknown (they do not answer)',
    );
    expect(decision.plan.window.sinceBackupMs).toBe(90 * 60_000);
  });

  it('keeps everything when the seed holds the highest revision seen', () => {
    const decision = planRecovery(input({ members: [member('etcd-1', 200, 80), member('etcd-2')] }));
    if (!decision.ok) throw new Error(decision.reason);
    expect(decision.plan.window.lostRevisions).toBe(0);
    expect(decision.plan.reasons[0]).toBe('restart etcd-1 on node-etcd-1 with --force-new-cluster: it has applied the most (index 200, revision 80)');
  });
});

describe('recoveryDue: when the monitor starts a recovery', () => {
  const MIN = 60_000;
  const base = { nowMs: NOW, startAfterMs: 5 * MIN, operationRunning: false, cooldownMs: 10 * MIN };
  it.each<[string, Partial<RecoveryTrigger>, boolean]>([
    ['quorum lost for the configured time', { quorumLostSinceMs: NOW - 5 * MIN }, true],
    ['quorum lost, not for long enough yet', { quorumLostSinceMs: NOW - 4 * MIN }, false],
    ['quorum not lost', {}, false],
    ['no startAfter: the monitor only alerts', { quorumLostSinceMs: NOW - 60 * MIN, startAfterMs: undefined }, false],
    ['an operation runs (an operator\'s recovery, say)', { quorumLostSinceMs: NOW - 60 * MIN, operationRunning: true }, false],
    ['the last one ended within the cooldown (rejected, refused)', { quorumLostSinceMs: NOW - 60 * MIN, lastEndedMs: NOW - 9 * MIN }, false],
    ['the last one ended before the cooldown', { quorumLostSinceMs: NOW - 60 * MIN, lastEndedMs: NOW - 10 * MIN }, true],
  ])('%s', (_case, overrides, due) => {
    const trigger = { ...base, ...overrides } as RecoveryTrigger;
    if ('startAfterMs' in overrides && overrides.startAfterMs === undefined) delete trigger.startAfterMs;
    expect(recoveryDue(trigger)).toBe(due);
  });
});
