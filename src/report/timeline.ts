import type { SegmentKind, TimeAccounting, TimelineSegment } from './types';

/**
 * The timeline: the run's time cut into contiguous segments, each attributed to what was going on. An activity
 * owns its time from ActivityTaskScheduled to its close (retries and their backoff included); time when no
 * activity ran goes to a timer if one was pending, else to the workflow itself (workflow tasks, scheduling, waits).
 * Parallel activities share a segment. Each segment starts where the previous one ended, so the durations add up
 * to the run's duration exactly. Pure.
 */

/** Something that took time: an activity (by its scheduled event id) or a timer. */
export interface Span {
  id: number;
  startMs: number;
  endMs: number;
  label: string;
}

/** The label of time nothing else accounts for. */
export const WORKFLOW_LABEL = 'workflow (scheduling, waits)';

interface Piece {
  startMs: number;
  endMs: number;
  kind: SegmentKind;
  key: string;
  label: string;
  activities: number[];
}

function attribute(from: number, to: number, activities: readonly Span[], timers: readonly Span[]): Omit<Piece, 'startMs' | 'endMs'> {
  const running = activities.filter((a) => a.startMs <= from && a.endMs >= to && a.startMs < a.endMs);
  if (running.length > 0) {
    const ids = running.map((a) => a.id);
    return {
      kind: running.length === 1 ? 'activity' : 'parallel',
      key: `a:${ids.join(',')}`,
      label: running.map((a) => a.label).join(' ∥ '),
      activities: ids,
    };
  }
  const timer = timers.find((t) => t.startMs <= from && t.endMs >= to && t.startMs < t.endMs);
  if (timer) return { kind: 'timer', key: `t:${timer.id}`, label: timer.label, activities: [] };
  return { kind: 'workflow', key: 'w', label: WORKFLOW_LABEL, activities: [] };
}

/**
 * Cut [startMs, endMs] into segments. Spans are clamped to the run; an activity that took no measurable time
 * still gets its own zero-length segment, so that every step is named.
 */
export function buildTimeline(startMs: number, endMs: number, activitySpans: readonly Span[], timerSpans: readonly Span[]): TimelineSegment[] {
  const end = Math.max(startMs, endMs);
  const clamp = (s: Span): Span => ({ ...s, startMs: Math.min(Math.max(s.startMs, startMs), end), endMs: Math.min(Math.max(s.endMs, s.startMs, startMs), end) });
  const activities = activitySpans.map(clamp);
  const timers = timerSpans.map(clamp);
  const points = [...new Set([startMs, end, ...activities.flatMap((a) => [a.startMs, a.endMs]), ...timers.flatMap((t) => [t.startMs, t.endMs])])].sort((a, b) => a - b);
  const instants = activities.filter((a) => a.startMs === a.endMs);

  const pieces: Piece[] = [];
  const push = (piece: Piece): void => {
    const last = pieces[pieces.length - 1];
    // Neighbouring pieces spent on the same thing are one segment; zero-length activity segments never merge.
    if (last && last.key === piece.key && last.endMs === piece.startMs && last.endMs > last.startMs && piece.endMs > piece.startMs) last.endMs = piece.endMs;
    else pieces.push(piece);
  };
  for (let i = 0; i < points.length; i++) {
    const at = points[i] ?? startMs;
    for (const a of instants.filter((x) => x.startMs === at)) {
      pieces.push({ startMs: at, endMs: at, kind: 'activity', key: `a:${a.id}`, label: a.label, activities: [a.id] });
    }
    const next = points[i + 1];
    if (next === undefined) break;
    push({ startMs: at, endMs: next, ...attribute(at, next, activities, timers) });
  }
  return pieces.map((p) => ({
    kind: p.kind,
    label: p.label,
    start: new Date(p.startMs).toISOString(),
    end: new Date(p.endMs).toISOString(),
    offsetMs: p.startMs - startMs,
    durationMs: p.endMs - p.startMs,
    activities: p.activities,
  }));
}

/** Where the time went, in total; `totalMs` is the sum of every segment. */
export function accountFor(timeline: readonly TimelineSegment[]): TimeAccounting {
  const sum = (kinds: readonly SegmentKind[]): number => timeline.filter((s) => kinds.includes(s.kind)).reduce((total, s) => total + s.durationMs, 0);
  return {
    activityMs: sum(['activity', 'parallel']),
    timerMs: sum(['timer']),
    workflowMs: sum(['workflow']),
    totalMs: timeline.reduce((total, s) => total + s.durationMs, 0),
  };
}
