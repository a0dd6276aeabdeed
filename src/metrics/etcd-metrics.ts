import type { RaftStatus } from '../domain/observation';
import { bucketDelta, histogramBuckets, histogramQuantile, sampleValue, type Buckets, type Sample } from './prometheus';

/** The Raft health figures the guardian reads from one member's /metrics endpoint: those fields of RaftStatus. */
export type EtcdMetricFigures = Pick<
  RaftStatus,
  'hasLeader' | 'leaderChangesSeen' | 'proposalsFailed' | 'proposalsPending' | 'walFsyncP99Seconds' | 'peerRoundTripP99Seconds'
>;

/** Histogram snapshots kept between two reads of the same member, so that p99 reflects recent observations. */
export type HistogramMemory = Map<string, Buckets>;

/** Fewer new observations than this and the recent p99 says little: fall back to the lifetime histogram. */
const MIN_RECENT_OBSERVATIONS = 20;

function p99(key: string, buckets: Buckets, memory: HistogramMemory | undefined): number | undefined {
  const previous = memory?.get(key);
  memory?.set(key, buckets);
  const recent = bucketDelta(buckets, previous);
  const recentCount = recent[recent.length - 1]?.count ?? 0;
  const value = histogramQuantile(0.99, recentCount >= MIN_RECENT_OBSERVATIONS ? recent : buckets);
  return value === undefined ? undefined : Number(value.toFixed(6));
}

/**
 * Extract the figures from parsed samples. `memory` (per member) turns lifetime histograms into recent ones;
 * the peer round trip is the slowest peer's p99.
 */
export function extractEtcdFigures(samples: readonly Sample[], memory?: HistogramMemory): EtcdMetricFigures {
  const figures: EtcdMetricFigures = {};
  const hasLeader = sampleValue(samples, 'etcd_server_has_leader');
  if (hasLeader !== undefined) figures.hasLeader = hasLeader === 1;
  const changes = sampleValue(samples, 'etcd_server_leader_changes_seen_total');
  if (changes !== undefined) figures.leaderChangesSeen = changes;
  const failed = sampleValue(samples, 'etcd_server_proposals_failed_total');
  if (failed !== undefined) figures.proposalsFailed = failed;
  const pending = sampleValue(samples, 'etcd_server_proposals_pending');
  if (pending !== undefined) figures.proposalsPending = pending;
  const fsync = histogramBuckets(samples, 'etcd_disk_wal_fsync_duration_seconds').get('');
  if (fsync) {
    const value = p99('wal-fsync', fsync, memory);
    if (value !== undefined) figures.walFsyncP99Seconds = value;
  }
  let slowestPeer: number | undefined;
  for (const [peer, buckets] of histogramBuckets(samples, 'etcd_network_peer_round_trip_time_seconds', 'To')) {
    const value = p99(`peer-rtt/${peer}`, buckets, memory);
    if (value !== undefined) slowestPeer = Math.max(slowestPeer ?? 0, value);
  }
  if (slowestPeer !== undefined) figures.peerRoundTripP99Seconds = slowestPeer;
  return figures;
}
