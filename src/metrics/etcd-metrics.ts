import type { RaftStatus } from '../domain/observation';
import { bucketDelta, histogramBuckets, histogramQuantile, sampleValue, type Buckets, type Sample } from './prometheus';

/** The Raft health figures the guardian reads from one member's /metrics endpoint: those fields of RaftStatus. */
export type EtcdMetricFigures = Pick<
  RaftStatus,
  'hasLeader' | 'leaderChangesSeen' | 'proposalsFailed' | 'proposalsPending' | 'walFsyncP99Seconds' | 'peerRoundTripP99Seconds' | 'quotaBytes'
>;

/** Per histogram: the snapshot a window started from, and the p99 of the last window that held enough observations. */
export type HistogramMemory = Map<string, { baseline: Buckets; last?: number }>;

const HAS_LEADER = 'etcd_server_has_leader';
const LEADER_CHANGES = 'etcd_server_leader_changes_seen_total';
const PROPOSALS_FAILED = 'etcd_server_proposals_failed_total';
const PROPOSALS_PENDING = 'etcd_server_proposals_pending';
const QUOTA = 'etcd_server_quota_backend_bytes';
const WAL_FSYNC = 'etcd_disk_wal_fsync_duration_seconds';
const PEER_RTT = 'etcd_network_peer_round_trip_time_seconds';

/** The metric names extractEtcdFigures reads, to parse only those (`parsePrometheusText(text, ETCD_FIGURE_METRICS)`). */
export const ETCD_FIGURE_METRICS: ReadonlySet<string> = new Set([HAS_LEADER, LEADER_CHANGES, PROPOSALS_FAILED, PROPOSALS_PENDING, QUOTA, `${WAL_FSYNC}_bucket`, `${PEER_RTT}_bucket`]);

/** Fewer new observations than this and a window's p99 says little: keep reporting the previous window's. */
const MIN_WINDOW_OBSERVATIONS = 10;

/**
 * The p99 of the observations made since the window's baseline. A histogram counts since its process started, so a
 * lifetime p99 would keep an incident's slow samples for ever (and a peer that was frozen once would look slow until
 * etcd restarts). The first read only sets the baseline and reports nothing; a window closes once it holds enough
 * observations, and until the next one does, the last closed window's figure stands.
 */
function p99(key: string, buckets: Buckets, memory: HistogramMemory | undefined): number | undefined {
  if (!memory) {
    const value = histogramQuantile(0.99, buckets);
    return value === undefined ? undefined : Number(value.toFixed(6));
  }
  const entry = memory.get(key);
  if (!entry) {
    memory.set(key, { baseline: buckets });
    return undefined;
  }
  const window = bucketDelta(buckets, entry.baseline);
  if ((window[window.length - 1]?.count ?? 0) < MIN_WINDOW_OBSERVATIONS) return entry.last;
  const value = histogramQuantile(0.99, window);
  const rounded = value === undefined ? undefined : Number(value.toFixed(6));
  memory.set(key, { baseline: buckets, ...(rounded !== undefined ? { last: rounded } : {}) });
  return rounded;
}

/**
 * Extract the figures from parsed samples. With `memory` (kept per member across reads) histogram figures cover
 * recent windows; without it, the lifetime. The peer round trip is the slowest peer's p99.
 */
export function extractEtcdFigures(samples: readonly Sample[], memory?: HistogramMemory): EtcdMetricFigures {
  const figures: EtcdMetricFigures = {};
  const hasLeader = sampleValue(samples, HAS_LEADER);
  if (hasLeader !== undefined) figures.hasLeader = hasLeader === 1;
  const changes = sampleValue(samples, LEADER_CHANGES);
  if (changes !== undefined) figures.leaderChangesSeen = changes;
  const failed = sampleValue(samples, PROPOSALS_FAILED);
  if (failed !== undefined) figures.proposalsFailed = failed;
  const pending = sampleValue(samples, PROPOSALS_PENDING);
  if (pending !== undefined) figures.proposalsPending = pending;
  // The member's own quota (--quota-backend-bytes, or its default), since etcd 3.4.
  const quota = sampleValue(samples, QUOTA);
  if (quota !== undefined && quota > 0) figures.quotaBytes = quota;
  const fsync = histogramBuckets(samples, WAL_FSYNC).get('');
  if (fsync) {
    const value = p99('wal-fsync', fsync, memory);
    if (value !== undefined) figures.walFsyncP99Seconds = value;
  }
  let slowestPeer: number | undefined;
  for (const [peer, buckets] of histogramBuckets(samples, PEER_RTT, 'To')) {
    const value = p99(`peer-rtt/${peer}`, buckets, memory);
    if (value !== undefined) slowestPeer = Math.max(slowestPeer ?? 0, value);
  }
  if (slowestPeer !== undefined) figures.peerRoundTripP99Seconds = slowestPeer;
  return figures;
}
