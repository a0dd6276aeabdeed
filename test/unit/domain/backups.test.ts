import { aBackup } from '../../builders';
import { backupFreshness, backupName, chooseStoredBackupsToPrune, runIdSuffix, drillMismatches, type BackupMeta, type BackupRetention } from '../../../src/domain/backups';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;

/** A backup taken `hoursAgo` before NOW, of `bytes`, verified or not. */
function backup(name: string, hoursAgo: number, options: { bytes?: number; verified?: boolean; failed?: boolean } = {}): BackupMeta {
  const verdict = options.verified === true ? 'verified' : options.failed === true ? 'failed' : 'none';
  return aBackup(name, new Date(NOW - hoursAgo * HOUR), { verdict, ...(options.bytes !== undefined ? { bytes: options.bytes } : {}) });
}

describe('chooseStoredBackupsToPrune', () => {
  const policy: BackupRetention = { count: 3, maxAgeMs: 24 * HOUR };

  it.each<[string, BackupMeta[], BackupRetention, string[], string[]]>([
    ['nothing to delete within the count and age', [backup('a', 1, { verified: true }), backup('b', 2, { verified: true })], policy, ['a', 'b'], []],
    [
      'beyond the newest three',
      [backup('a', 1, { verified: true }), backup('b', 2), backup('c', 3), backup('d', 4), backup('e', 5)],
      policy,
      ['a', 'b', 'c'],
      ['d', 'e'],
    ],
    ['older than maxAge', [backup('a', 1, { verified: true }), backup('old', 30, { verified: true })], policy, ['a'], ['old']],
    ['the newest kept however old', [backup('ancient', 300), backup('older', 400)], policy, ['ancient'], ['older']],
    [
      'the newest verified kept beyond the count: unverified ones are not proven',
      [backup('a', 1, { failed: true }), backup('b', 2), backup('c', 3), backup('d', 4, { verified: true }), backup('e', 5)],
      policy,
      ['a', 'b', 'c', 'd'],
      ['e'],
    ],
    [
      'the oldest first until the rest fit the total size',
      [backup('a', 1, { bytes: 400, verified: true }), backup('b', 2, { bytes: 400 }), backup('c', 3, { bytes: 400 })],
      { ...policy, totalBytes: 900 },
      ['a', 'b'],
      ['c'],
    ],
    [
      'the total size never takes the newest nor the newest verified',
      [backup('a', 1, { bytes: 1000 }), backup('b', 2, { bytes: 1000, verified: true }), backup('c', 3, { bytes: 1000 })],
      { ...policy, totalBytes: 10 },
      ['a', 'b'],
      ['c'],
    ],
  ])('%s', (_case, records, retention, keep, remove) => {
    const pruning = chooseStoredBackupsToPrune(records, NOW, retention);
    expect(pruning.keep).toEqual(keep);
    expect(pruning.remove.map((r) => r.name)).toEqual(remove);
  });

  it('says why each is deleted', () => {
    const pruning = chooseStoredBackupsToPrune([backup('a', 1), backup('b', 2), backup('old', 30)], NOW, { count: 1, maxAgeMs: 24 * HOUR, totalBytes: 50 });
    expect(pruning.remove).toEqual([
      { name: 'b', reason: 'beyond the newest 1 (backup.retain.count)' },
      { name: 'old', reason: `older than backup.retain.maxAge (24h): taken ${new Date(NOW - 30 * HOUR).toISOString()}` },
    ]);
  });
});

describe('drillMismatches', () => {
  const recorded = { revision: 10, keys: 3, hashKv: '42', compactRevision: 0 };
  it.each<[string, { revision: number; keys: number; hashKv: string; compactRevision: number }, string[]]>([
    ['a restore that matches', { ...recorded }, []],
    ['another revision', { ...recorded, revision: 9 }, ['revision 9 where the backup recorded 10']],
    ['keys missing', { ...recorded, keys: 2 }, ['2 keys where the backup recorded 3']],
    ['another HashKV', { ...recorded, hashKv: '7' }, ['HashKV 7 at revision 10 where the source member had 42']],
    ['another compaction, so no HashKV comparison', { ...recorded, compactRevision: 5, hashKv: '7' }, ['compacted at revision 5 where the source was at 0, so HashKV cannot be compared']],
  ])('%s', (_case, restored, problems) => {
    expect(drillMismatches(recorded, restored)).toEqual(problems);
  });
});

describe('backupFreshness', () => {
  it.each<[string, BackupMeta[], boolean, RegExp]>([
    ['none at all', [], true, /^no verified backup in s3:\/\/b\/: a backup counts once a restore drill has proven it \(backups every 1h\)$/],
    ['only unverified ones', [backup('a', 0.1), backup('b', 0.2, { failed: true })], true, /^no verified backup/],
    ['a verified one within twice the interval', [backup('a', 0.1), backup('v', 1.5, { verified: true })], false, /^newest verified backup v, 1h30m old$/],
    ['the newest verified older than twice the interval', [backup('a', 0.1), backup('v', 2.5, { verified: true })], true, /^the newest verified backup \(v\) is 2h30m old, over twice the backup interval \(1h\)$/],
  ])('%s', (_case, records, stale, message) => {
    const freshness = backupFreshness(records, NOW, HOUR, 's3://b/');
    expect(freshness.stale).toBe(stale);
    expect(freshness.message).toMatch(message);
  });
});

describe('backupName', () => {
  it('sorts by time and carries the id, with characters a key may hold', () => {
    expect(backupName('main', new Date('2026-12-01T10:48:05.123Z'), 'backup-main/2026 #1')).toBe('main-20261201T104805Z-backup-main-2026--1');
  });

  it('differs for two backups started in the same second, whose UUIDv7 run ids start alike (CI: one overwrote the other)', () => {
    // Two run ids a Temporal server gave 0.3 s apart: the same first 8 digits (their start time), random ends.
    const first = '01a234c5-994b-71b2-890b-2a3cbfeac59c';
    const second = '01a234c5-9adf-7c1e-a4d2-61f03b9e2d17';
    expect(first.slice(0, 8)).toBe(second.slice(0, 8));
    const at = new Date('2026-12-02T03:21:46.106Z');
    expect(backupName('main', at, runIdSuffix(first))).toBe('main-20261202T032146Z-bfeac59c');
    expect(backupName('main', at, runIdSuffix(first))).not.toBe(backupName('main', at, runIdSuffix(second)));
  });

  it('takes the random end of a UUIDv4 run id too', () => {
    expect(runIdSuffix('7d0f3c7e-4b1a-4c55-9a0e-2f6d8b1c9e42')).toBe('8b1c9e42');
  });
});
