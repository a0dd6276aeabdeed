import { formatBytes, formatDurationMs } from './space';

/**
 * The decisions about a cluster's backups in the object store: which to delete, whether a restore drill proved one,
 * whether the newest proven one is too old. Pure: the activities list the store and act on what these return.
 */

/** What the restore drill found in the scratch etcd it started from the backup. */
export interface DrillFigures {
  revision: number;
  keys: number;
  hashKv: string;
  compactRevision: number;
}

/** A backup's record, stored beside its snapshot (`<cluster>/<name>.json` next to `<cluster>/<name>.db`). */
export interface BackupMeta {
  name: string;
  cluster: string;
  /** The member the snapshot was streamed from, and its client URL. */
  member: string;
  endpoint: string;
  etcdVersion: string;
  /** Why it was taken: `scheduled`, `operator (cli:alice)`, `before migration migrate-main`. */
  reason: string;
  takenAt: string;
  bytes: number;
  sha256: string;
  /** The snapshot's revision, its live keys and HashKV there, as the source member answered right after it. */
  revision: number;
  keys: number;
  hashKv: string;
  compactRevision: number;
  /** Set by a drill whose restored etcd matched the figures above. */
  verified?: DrillFigures & { at: string; tookMs: number };
  /** Set by a drill that failed, with what did not match or could not be done. */
  drillFailed?: { at: string; reason: string };
}

/** How many of a cluster's backups to keep, for how long, and in how many bytes. */
export interface BackupRetention {
  count: number;
  maxAgeMs: number;
  /** Absent: no limit. */
  totalBytes?: number;
}

/** The retention decision: names kept (newest first) and names to delete with why. */
export interface BackupPruning {
  keep: string[];
  remove: { name: string; reason: string }[];
}

/**
 * The part of a workflow run id that tells two runs apart: its last 8 hex digits, random in a UUIDv4 and in a UUIDv7.
 * Not its first 8: a UUIDv7 (the run ids of current Temporal servers) starts with its time in milliseconds, so runs
 * started within about a minute share them, and two backups started in the same second got the same name, the
 * second overwriting the first in the store (CI, 2026-12-02).
 */
export function runIdSuffix(runId: string): string {
  return runId.replace(/-/g, '').slice(-8);
}

/** A backup's name: sortable by time, unique by the id of the workflow that took it. */
export function backupName(cluster: string, takenAt: Date, id: string): string {
  const stamp = takenAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = id.replace(/[^A-Za-z0-9-]/g, '-').slice(-40);
  return `${cluster}-${stamp}-${suffix}`;
}

function newestFirst(a: BackupMeta, b: BackupMeta): number {
  const t = Date.parse(b.takenAt) - Date.parse(a.takenAt);
  return t !== 0 ? t : a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

/**
 * Which backups to delete: beyond the newest `count`, older than `maxAgeMs`, then the oldest until the rest fit in
 * `totalBytes`. Never the newest backup, nor the newest verified one: a restore needs a proven backup more than the
 * store needs the bytes.
 */
export function chooseStoredBackupsToPrune(records: readonly BackupMeta[], nowMs: number, policy: BackupRetention): BackupPruning {
  const sorted = [...records].sort(newestFirst);
  const protectedNames = new Set<string>();
  if (sorted[0]) protectedNames.add(sorted[0].name);
  const newestVerified = sorted.find((r) => r.verified !== undefined);
  if (newestVerified) protectedNames.add(newestVerified.name);
  const removed = new Map<string, string>();
  sorted.forEach((record, index) => {
    if (protectedNames.has(record.name)) return;
    const age = nowMs - Date.parse(record.takenAt);
    if (age > policy.maxAgeMs) removed.set(record.name, `older than backup.retain.maxAge (${formatDurationMs(policy.maxAgeMs)}): taken ${record.takenAt}`);
    else if (index >= policy.count) removed.set(record.name, `beyond the newest ${policy.count} (backup.retain.count)`);
  });
  if (policy.totalBytes !== undefined) {
    let total = sorted.filter((r) => !removed.has(r.name)).reduce((sum, r) => sum + r.bytes, 0);
    for (const record of [...sorted].reverse()) {
      if (total <= policy.totalBytes) break;
      if (protectedNames.has(record.name) || removed.has(record.name)) continue;
      removed.set(record.name, `the backups took ${formatBytes(total)}, over backup.retain.totalSize (${formatBytes(policy.totalBytes)}): the oldest goes first`);
      total -= record.bytes;
    }
  }
  return {
    keep: sorted.filter((r) => !removed.has(r.name)).map((r) => r.name),
    remove: sorted.filter((r) => removed.has(r.name)).map((r) => ({ name: r.name, reason: removed.get(r.name) ?? '' })),
  };
}

/**
 * What a drill's restored etcd shows against what was recorded when the backup was taken: the differences, each in
 * words; empty when the backup is proven. HashKV is only comparable over the same compacted range.
 */
export function drillMismatches(recorded: Pick<BackupMeta, 'revision' | 'keys' | 'hashKv' | 'compactRevision'>, restored: DrillFigures): string[] {
  const problems: string[] = [];
  if (restored.revision !== recorded.revision) problems.push(`revision ${restored.revision} where the backup recorded ${recorded.revision}`);
  if (restored.keys !== recorded.keys) problems.push(`${restored.keys} keys where the backup recorded ${recorded.keys}`);
  if (restored.compactRevision !== recorded.compactRevision) {
    problems.push(`compacted at revision ${restored.compactRevision} where the source was at ${recorded.compactRevision}, so HashKV cannot be compared`);
  } else if (restored.hashKv !== recorded.hashKv) {
    problems.push(`HashKV ${restored.hashKv} at revision ${restored.revision} where the source member had ${recorded.hashKv}`);
  }
  return problems;
}

/** How fresh the newest verified backup is, against a schedule of one backup every `everyMs`. */
export interface BackupFreshness {
  newestVerified?: { name: string; takenAt: string; bytes: number; ageMs: number };
  /** Older than twice the schedule, or none at all. */
  stale: boolean;
  message: string;
}

/** The newest verified backup and whether it is stale: older than twice the schedule's interval, or missing. */
export function backupFreshness(records: readonly BackupMeta[], nowMs: number, everyMs: number, where: string): BackupFreshness {
  const newest = [...records].sort(newestFirst).find((r) => r.verified !== undefined);
  const limit = 2 * everyMs;
  if (!newest) {
    return { stale: true, message: `no verified backup in ${where}: a backup counts once a restore drill has proven it (backups every ${formatDurationMs(everyMs)})` };
  }
  const ageMs = Math.max(0, nowMs - Date.parse(newest.takenAt));
  const newestVerified = { name: newest.name, takenAt: newest.takenAt, bytes: newest.bytes, ageMs };
  if (ageMs > limit) {
    return {
      newestVerified,
      stale: true,
      message: `the newest verified backup (${newest.name}) is ${formatDurationMs(ageMs)} old, over twice the backup interval (${formatDurationMs(everyMs)})`,
    };
  }
  return { newestVerified, stale: false, message: `newest verified backup ${newest.name}, ${formatDurationMs(ageMs)} old` };
}
