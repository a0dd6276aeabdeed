/**
 * When a member's /metrics must be read again. Its figures (leader changes, failed proposals, fsync and peer
 * round-trip p99s, its quota) are counters and histograms that a scraper reads every 15 to 30 s; the status beside them
 * is read every cycle. A monitor at a 1 s interval reading 170 KB of text from every member every second spends most of
 * its cycle on it, so between reads the last figures stand, for at most `maxAgeMs`. They are read at once whenever they
 * may have changed meaning: a member not read before, at a new endpoint, in a new term or under a new leader; and the
 * caller passes a `maxAgeMs` of 0 whenever a signal holds, so that confirming samples are all fresh.
 */

/** The default of a cluster's `metricsMaxAge`: a third of a typical 15 s scrape interval. */
export const DEFAULT_METRICS_MAX_AGE_MS = 5_000;

/** What a member's last /metrics read saw: when, where, and the term and leader its status gave then. */
export interface MetricsReading {
  readAtMs: number;
  endpoint: string;
  raftTerm?: number | undefined;
  leaderId?: string | undefined;
}

/** The member as this cycle sees it; the term and leader are unknown when asked before its status answered. */
export interface MetricsNow {
  atMs: number;
  endpoint: string;
  raftTerm?: number | undefined;
  leaderId?: string | undefined;
}

/** Why a member's metrics are read this cycle, or undefined when its last figures still stand. */
export function metricsReadReason(last: MetricsReading | undefined, now: MetricsNow, maxAgeMs: number): string | undefined {
  if (!last) return 'not read before';
  if (maxAgeMs <= 0) return 'read every cycle';
  // A clock stepped back makes every age negative: nothing read before then stands.
  if (now.atMs < last.readAtMs) return 'clock stepped back';
  if (last.endpoint !== now.endpoint) return `new endpoint ${now.endpoint}`;
  if (now.atMs - last.readAtMs >= maxAgeMs) return `older than ${maxAgeMs} ms`;
  if (last.raftTerm !== undefined && now.raftTerm !== undefined && now.raftTerm !== last.raftTerm) return `new term ${now.raftTerm}`;
  if (last.leaderId !== undefined && now.leaderId !== undefined && now.leaderId !== last.leaderId) return `new leader ${now.leaderId}`;
  return undefined;
}

/**
 * Whether any signal holds in the window (a streak of at least one sample: building up, or confirmed and still held):
 * then every sample is read afresh, so that a finding is confirmed on fresh figures.
 */
export function findingsBuilding(streaks: Readonly<Record<string, number>>): boolean {
  return Object.values(streaks).some((n) => n > 0);
}

/** Whether a monitor cycle reads everything afresh: while a signal holds, and always when one sample confirms a finding. */
export function readsAfresh(streaks: Readonly<Record<string, number>>, hysteresisSamples: number): boolean {
  return findingsBuilding(streaks) || hysteresisSamples <= 1;
}
