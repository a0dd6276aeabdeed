import type { WorkflowHandle } from '@temporalio/client';

/** Monitor cycles as a workflow history records them. */

/** One event of a workflow history. */
export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function millis(event: HistoryEvent): number {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
}

/**
 * One monitor cycle: when it ended, and its activity time: fetchRaftMetrics scheduled to evaluateRisk completed (three
 * activities a cycle), or the time observeCycle measured itself (one local activity a cycle, its result in a marker).
 */
export interface Cycle {
  endedAt: number;
  ms: number;
  /** The index, in the history, of the event that ended it. */
  index: number;
}

/** The cycles of a monitorCluster history. */
export function cycles(events: readonly HistoryEvent[]): Cycle[] {
  const scheduled = new Map<number, string>();
  const found: Cycle[] = [];
  let cycleStart: number | undefined;
  for (const [index, e] of events.entries()) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) {
      scheduled.set(Number(e.eventId), type);
      if (type === 'fetchRaftMetrics') cycleStart = millis(e);
    }
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const total = localCycleMs(marker.details?.['result']?.payloads?.[0]?.data);
      if (total !== undefined) found.push({ endedAt: millis(e), ms: total, index });
      continue;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(Number(done.scheduledEventId)) === 'evaluateRisk' && cycleStart !== undefined) {
      found.push({ endedAt: millis(e), ms: millis(e) - cycleStart, index });
      cycleStart = undefined;
    }
  }
  return found;
}

/** The activity time of each cycle, in milliseconds. */
export function cycleTimes(events: readonly HistoryEvent[]): number[] {
  return cycles(events).map((c) => c.ms);
}

/** The activity time observeCycle reported in its result (JSON payload), if this marker is one. */
function localCycleMs(bytes: Uint8Array | null | undefined): number | undefined {
  if (!bytes) return undefined;
  try {
    const result = JSON.parse(new TextDecoder().decode(bytes)) as { timing?: { totalMs?: unknown } };
    return typeof result.timing?.totalMs === 'number' ? result.timing.totalMs : undefined;
  } catch {
    return undefined;
  }
}

/**
 * History events per cycle in the steady state: the events from the end of the first cycle to the end of the last,
 * over the cycles between (the run's start and its first look are left out).
 */
export function eventsPerCycle(events: readonly HistoryEvent[]): number | undefined {
  const found = cycles(events);
  const first = found[0];
  const last = found.at(-1);
  if (!first || !last || found.length < 2) return undefined;
  return (last.index - first.index) / (found.length - 1);
}
