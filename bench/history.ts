import type { WorkflowHandle } from '@temporalio/client';

/** Monitor cycles as a workflow history records them. */

/** One event of a workflow history. */
export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function millis(event: HistoryEvent): number {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
}

/** One monitor cycle: when it ended, and its activity time (fetchRaftMetrics scheduled to evaluateRisk completed). */
export interface Cycle {
  endedAt: number;
  ms: number;
}

/** The cycles of a monitorCluster history. */
export function cycles(events: readonly HistoryEvent[]): Cycle[] {
  const scheduled = new Map<number, string>();
  const found: Cycle[] = [];
  let cycleStart: number | undefined;
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) {
      scheduled.set(Number(e.eventId), type);
      if (type === 'fetchRaftMetrics') cycleStart = millis(e);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(Number(done.scheduledEventId)) === 'evaluateRisk' && cycleStart !== undefined) {
      found.push({ endedAt: millis(e), ms: millis(e) - cycleStart });
      cycleStart = undefined;
    }
  }
  return found;
}

/** The activity time of each cycle, in milliseconds. */
export function cycleTimes(events: readonly HistoryEvent[]): number[] {
  return cycles(events).map((c) => c.ms);
}
