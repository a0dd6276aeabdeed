import type { ClusterObservation, MemberObservation } from './observation';

/**
 * Space: how full each member's database is against its quota, how much of it is free pages, and how fast it grows.
 * etcd refuses every write once a member's database file reaches its quota (the NOSPACE alarm); fragmentation grows
 * the file long before the data does, and a defragmentation gives the free pages back.
 */

/** etcd's quota when --quota-backend-bytes is not set: 2 GiB (etcd 3.4 to 3.6). */
export const ETCD_DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3;

/** The space thresholds of one cluster (`clusters[].space`). */
export interface SpacePolicy {
  /** In-use / total below which a database counts as fragmented. */
  fragmentedRatio: number;
  /** A database smaller than this is never called fragmented: defragmenting it gains too little to be worth it. */
  fragmentedMinBytes: number;
  /** Total / quota at or above which the database is near its quota (a warning). */
  quotaWarning: number;
  /** Total / quota at or above which it is critical. */
  quotaCritical: number;
  /** Growth that would reach the quota within this many milliseconds is a finding. */
  growthHorizonMs: number;
  /** The quota to assume when a member does not report its own (no /metrics); absent: etcd's default. */
  quotaBytes?: number;
}

/** OpenShift's defrag controller uses 45 % fragmentation and 100 MB; etcd's docs warn well before the quota. */
export const DEFAULT_SPACE_POLICY: SpacePolicy = {
  fragmentedRatio: 0.55,
  fragmentedMinBytes: 100 * 1024 * 1024,
  quotaWarning: 0.8,
  quotaCritical: 0.95,
  growthHorizonMs: 4 * 3_600_000,
};

/** The quota a member runs under: its own report, else the configured one, else etcd's default. */
export function memberQuotaBytes(member: MemberObservation, policy: SpacePolicy): number {
  return member.status.quotaBytes ?? policy.quotaBytes ?? ETCD_DEFAULT_QUOTA_BYTES;
}

/** `64.0 MiB`, `1.50 GiB`: sizes the way an operator reads them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit] ?? ''}`;
}

/** `3h20m`, `45m`, `30s`: a duration the way an operator reads it. */
export function formatDurationMs(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return s > 0 && m < 10 ? `${m}m${s}s` : `${m}m`;
  return `${s}s`;
}

/** The share of a member's database file that is free pages, when it reports both sizes. */
export function fragmentation(member: MemberObservation): { total: number; inUse: number; inUseRatio: number } | undefined {
  const total = member.status.dbSizeBytes;
  const inUse = member.status.dbSizeInUseBytes;
  if (total === undefined || inUse === undefined || total <= 0) return undefined;
  return { total, inUse, inUseRatio: inUse / total };
}

/** True when the member's database is large enough and holds enough free pages to be worth defragmenting. */
export function isFragmented(member: MemberObservation, policy: SpacePolicy): boolean {
  const f = fragmentation(member);
  return f !== undefined && f.total >= policy.fragmentedMinBytes && f.inUseRatio < policy.fragmentedRatio;
}

/** One point of a gauge's recent history: [time in ms, value]. */
export type GaugePoint = readonly [number, number];

/**
 * Growth of a database over the recorded points, in bytes per millisecond: from the first to the last point, so that a
 * sample's jitter does not swing it. Undefined with fewer than two points or no time between them. A defragmentation
 * in between shrinks the file: only the points since the smallest count, so the shrink is not read as negative growth
 * that hides the real one.
 */
export function growthRate(points: readonly GaugePoint[]): number | undefined {
  if (points.length < 2) return undefined;
  let start = 0;
  for (let i = 1; i < points.length; i++) if ((points[i]?.[1] ?? 0) < (points[start]?.[1] ?? 0)) start = i;
  const first = points[start];
  const last = points[points.length - 1];
  if (!first || !last || last[0] <= first[0]) return undefined;
  return (last[1] - first[1]) / (last[0] - first[0]);
}

/** What one member's space looks like, for the findings and the maintenance plan. */
export interface MemberSpace {
  member: MemberObservation;
  quotaBytes: number;
  /** Total / quota. */
  quotaRatio?: number;
  fragmented: boolean;
}

/** The space of every member that reports its database size. */
export function memberSpaces(obs: ClusterObservation, policy: SpacePolicy): MemberSpace[] {
  return obs.members
    .filter((m) => m.status.reachable && m.status.dbSizeBytes !== undefined)
    .map((member) => {
      const quotaBytes = memberQuotaBytes(member, policy);
      return {
        member,
        quotaBytes,
        quotaRatio: (member.status.dbSizeBytes ?? 0) / quotaBytes,
        fragmented: isFragmented(member, policy),
      };
    });
}

/** Members that raised a NOSPACE alarm, by name. */
export function nospaceMembers(obs: ClusterObservation): MemberObservation[] {
  return obs.members.filter((m) => m.status.alarms.includes('NOSPACE'));
}
