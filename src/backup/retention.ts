import { formatDuration } from '../config/duration';

/**
 * Which of a cluster's snapshots to delete: a pure decision over names and times (the activity lists the directory
 * and deletes what this returns), so that every rule of it is a row in a table test.
 */

/** How many snapshots of a cluster to keep, and for how long. */
export interface RetentionPolicy {
  /** Keep at most this many, newest first. */
  count: number;
  /** Delete those written longer ago than this. */
  maxAgeMs: number;
}

/** A file in the backup directory and when it was last written. */
export interface DirectoryEntry {
  name: string;
  modifiedMs: number;
}

/** Whose snapshots these are: the cluster, and the other clusters whose names it could be mistaken for. */
export interface RetentionScope {
  cluster: string;
  /** Every cluster this guardian knows; `main` must not prune `main-2-….db`, which belongs to `main-2`. */
  clusters: readonly string[];
  /** The snapshot just written: kept even if a clock gone wrong dated an older one later. */
  current?: string;
}

/** One snapshot to delete, with its record, and why. */
export interface Removal {
  /** The snapshot and, when present, its `.json` record. */
  names: string[];
  reason: string;
}

/** The decision: snapshots kept (newest first) and those to delete. */
export interface Pruning {
  keep: string[];
  remove: Removal[];
}

/** The name of the record written beside a snapshot. */
export function recordNameOf(snapshot: string): string {
  return `${snapshot}.json`;
}

/**
 * True when `name` is a snapshot the guardian wrote for `scope.cluster`: `<cluster>-*.db`, and not the snapshot of
 * another known cluster whose name starts with this one's.
 */
export function isSnapshotOf(name: string, scope: RetentionScope): boolean {
  if (!name.endsWith('.db') || !name.startsWith(`${scope.cluster}-`)) return false;
  return !scope.clusters.some((other) => other !== scope.cluster && other.startsWith(`${scope.cluster}-`) && name.startsWith(`${other}-`));
}

/**
 * The snapshots of `scope.cluster` to delete under `policy` at `nowMs`: those beyond the newest `count` and those
 * older than `maxAgeMs`. The newest is always kept, however old: an old backup is better than none. Every other file
 * in the directory is left alone.
 */
export function chooseBackupsToPrune(entries: readonly DirectoryEntry[], scope: RetentionScope, nowMs: number, policy: RetentionPolicy): Pruning {
  const names = new Set(entries.map((e) => e.name));
  const snapshots = entries
    .filter((e) => isSnapshotOf(e.name, scope))
    // Newest first; equal times by name, so that the same directory always gives the same answer.
    .sort((a, b) => b.modifiedMs - a.modifiedMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const pruning: Pruning = { keep: [], remove: [] };
  snapshots.forEach((snapshot, index) => {
    const reason = index === 0 || snapshot.name === scope.current ? undefined : whyRemove(snapshot, index, nowMs, policy, scope.cluster);
    if (reason === undefined) {
      pruning.keep.push(snapshot.name);
      return;
    }
    const record = recordNameOf(snapshot.name);
    pruning.remove.push({ names: names.has(record) ? [snapshot.name, record] : [snapshot.name], reason });
  });
  return pruning;
}

function whyRemove(snapshot: DirectoryEntry, index: number, nowMs: number, policy: RetentionPolicy, cluster: string): string | undefined {
  const age = nowMs - snapshot.modifiedMs;
  if (age > policy.maxAgeMs) {
    return `older than backup.retain.maxAge (${formatDuration(policy.maxAgeMs)}): written ${new Date(snapshot.modifiedMs).toISOString()}`;
  }
  if (index >= policy.count) return `beyond the newest ${policy.count} (backup.retain.count) of cluster ${cluster}`;
  return undefined;
}
