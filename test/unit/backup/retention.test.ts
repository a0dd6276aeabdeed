import { chooseBackupsToPrune, isSnapshotOf, type DirectoryEntry, type RetentionPolicy, type RetentionScope } from '../../../src/backup/retention';

/** Which of a cluster's snapshots retention deletes: by count, by age, never the newest, never anyone else's. */

const NOW = Date.parse('2026-11-24T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK: RetentionPolicy = { count: 10, maxAgeMs: 7 * DAY };
const MAIN: RetentionScope = { cluster: 'main', clusters: ['main', 'main-2', 'events'] };

/** A snapshot of `cluster` written `daysAgo` days before NOW, with its record beside it unless told otherwise. */
function aSnapshot(name: string, daysAgo: number, options: { record?: boolean } = {}): DirectoryEntry[] {
  const modifiedMs = NOW - daysAgo * DAY;
  const snapshot = { name: `${name}.db`, modifiedMs };
  return options.record === false ? [snapshot] : [snapshot, { name: `${name}.db.json`, modifiedMs }];
}

/** Snapshots `main-1` … `main-n`, one a day, `main-n` the newest (written today). */
function daily(n: number): DirectoryEntry[] {
  return Array.from({ length: n }, (_, i) => aSnapshot(`main-${i + 1}`, n - 1 - i)).flat();
}

describe('choosing the snapshots to prune', () => {
  it.each<[string, DirectoryEntry[], RetentionPolicy, string[][]]>([
    ['nothing is deleted while every snapshot is within count and age', daily(5), WEEK, []],
    ['the oldest go once there are more than count, with their records', daily(5), { ...WEEK, count: 3 }, [['main-2.db', 'main-2.db.json'], ['main-1.db', 'main-1.db.json']]],
    ['those older than maxAge go even within count', daily(9), WEEK, [['main-1.db', 'main-1.db.json']]],
    ['a snapshot exactly maxAge old is kept', daily(8), WEEK, []],
    ['the newest is kept however old, so that there is always one backup', [...aSnapshot('main-a', 30), ...aSnapshot('main-b', 40)], WEEK, [['main-b.db', 'main-b.db.json']]],
    ['a count of one keeps only the newest', daily(3), { ...WEEK, count: 1 }, [['main-2.db', 'main-2.db.json'], ['main-1.db', 'main-1.db.json']]],
    ['a snapshot without its record is deleted alone', [...aSnapshot('main-new', 0), ...aSnapshot('main-old', 9, { record: false })], WEEK, [['main-old.db']]],
    [
      'the snapshots of a cluster whose name starts with this one are not this cluster\'s',
      [...aSnapshot('main-new', 0), ...aSnapshot('main-2-migrate-main-2-abc', 30), ...aSnapshot('events-migrate-events-abc', 30)],
      WEEK,
      [],
    ],
    [
      'files the guardian did not write are left alone: other suffixes, partial writes, lookalike names',
      [
        ...aSnapshot('main-new', 0),
        { name: 'main-old.db.part', modifiedMs: NOW - 30 * DAY },
        { name: 'main-old.tar.gz', modifiedMs: NOW - 30 * DAY },
        { name: 'mainframe-old.db', modifiedMs: NOW - 30 * DAY },
        { name: 'main.db', modifiedMs: NOW - 30 * DAY },
        { name: 'README', modifiedMs: NOW - 30 * DAY },
      ],
      WEEK,
      [],
    ],
    ['snapshots written at the same time are ordered by name, so that the same directory gives the same answer', [...aSnapshot('main-a', 1), ...aSnapshot('main-b', 1)], { ...WEEK, count: 1 }, [['main-a.db', 'main-a.db.json']]],
  ])('%s', (_case, entries, policy, removed) => {
    expect(chooseBackupsToPrune(entries, MAIN, NOW, policy).remove.map((r) => r.names)).toEqual(removed);
  });

  it('keeps the snapshot just written even when a clock gone wrong dated another one later', () => {
    const entries = [...aSnapshot('main-future', -2), ...aSnapshot('main-now', 0)];
    expect(chooseBackupsToPrune(entries, { ...MAIN, current: 'main-now.db' }, NOW, { ...WEEK, count: 1 })).toEqual({ keep: ['main-future.db', 'main-now.db'], remove: [] });
  });

  it('says why each snapshot goes, naming the setting', () => {
    const entries = [...daily(3), ...aSnapshot('main-ancient', 8)];
    expect(chooseBackupsToPrune(entries, MAIN, NOW, { ...WEEK, count: 2 })).toEqual({
      keep: ['main-3.db', 'main-2.db'],
      remove: [
        { names: ['main-1.db', 'main-1.db.json'], reason: 'beyond the newest 2 (backup.retain.count) of cluster main' },
        { names: ['main-ancient.db', 'main-ancient.db.json'], reason: 'older than backup.retain.maxAge (168h): written 2026-11-16T12:00:00.000Z' },
      ],
    });
  });
});

describe('whose snapshot a file is', () => {
  it.each<[string, string, boolean]>([
    ['main-migrate-main-1f2e.db', 'main', true],
    ['main-2-migrate-main-2-1f2e.db', 'main', false],
    ['main-2-migrate-main-2-1f2e.db', 'main-2', true],
    ['main-migrate-main-1f2e.db.json', 'main', false],
    ['main-migrate-main-1f2e.db.part', 'main', false],
    ['events-migrate-events-1f2e.db', 'main', false],
  ])('%s belongs to cluster %s: %s', (name, cluster, expected) => {
    expect(isSnapshotOf(name, { cluster, clusters: MAIN.clusters })).toBe(expected);
  });
});
