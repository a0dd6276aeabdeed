import fc from 'fast-check';
import { accountFor, buildTimeline, WORKFLOW_LABEL, type Span } from '../../../src/report/timeline';

/** The timeline cuts a run into contiguous segments whose durations add up to the run's duration. */

const T0 = Date.parse('2026-11-24T22:59:00.000Z');
const span = (id: number, label: string, from: number, to: number): Span => ({ id, label, startMs: T0 + from, endMs: T0 + to });
const W = WORKFLOW_LABEL;

it.each<[string, Span[], Span[], [string, number, number][]]>([
  [
    'sequential activities leave the time between them to the workflow',
    [span(1, 'plan', 10, 40), span(2, 'backup-snapshot', 50, 90)],
    [],
    [[W, 0, 10], ['plan', 10, 30], [W, 40, 10], ['backup-snapshot', 50, 40], [W, 90, 10]],
  ],
  [
    'parallel activities share a segment, and the one that runs on alone has its own',
    [span(1, 'fetchRaftMetrics', 10, 60), span(2, 'fetchNodeMetrics', 20, 40)],
    [],
    [[W, 0, 10], ['fetchRaftMetrics', 10, 10], ['fetchRaftMetrics ∥ fetchNodeMetrics', 20, 20], ['fetchRaftMetrics', 40, 20], [W, 60, 40]],
  ],
  [
    'a pending timer owns the time no activity runs in',
    [span(1, 'evaluateRisk', 0, 40), span(2, 'fetchRaftMetrics', 90, 100)],
    [span(0, 'waiting for the next cycle (1 s)', 45, 95)],
    [['evaluateRisk', 0, 40], [W, 40, 5], ['waiting for the next cycle (1 s)', 45, 45], ['fetchRaftMetrics', 90, 10]],
  ],
  [
    'an activity that took no measurable time still has its own segment',
    [span(1, 'moveLeader', 30, 30)],
    [],
    [[W, 0, 30], ['moveLeader', 30, 0], [W, 30, 70]],
  ],
  [
    'spans reaching outside the run are cut at its start and end',
    [span(1, 'plan', -5, 20), span(2, 'verify-quorum', 90, 120)],
    [],
    [['plan', 0, 20], [W, 20, 70], ['verify-quorum', 90, 10]],
  ],
])('%s', (_name, activities, timers, expected) => {
  const timeline = buildTimeline(T0, T0 + 100, activities, timers);
  expect(timeline.map((s) => [s.label, s.offsetMs, s.durationMs])).toEqual(expected);
  expect(accountFor(timeline).totalMs).toBe(100);
});

it('a run with no time has no segments and a total of zero', () => {
  const timeline = buildTimeline(T0, T0, [], []);
  expect(timeline).toEqual([]);
  expect(accountFor(timeline)).toEqual({ activityMs: 0, timerMs: 0, workflowMs: 0, totalMs: 0 });
});

it('splits the total into activities, timers and the workflow', () => {
  const timeline = buildTimeline(T0, T0 + 100, [span(1, 'a', 10, 30), span(2, 'b', 20, 50)], [span(0, 't', 60, 90)]);
  expect(accountFor(timeline)).toEqual({ activityMs: 40, timerMs: 30, workflowMs: 30, totalMs: 100 });
});

describe('for any run and any activities and timers', () => {
  const spanArb = (id: number) => fc.tuple(fc.integer({ min: -50, max: 2050 }), fc.integer({ min: 0, max: 600 })).map(([from, length]) => span(id, `s${id}`, from, from + length));
  const runArb = fc.record({
    duration: fc.integer({ min: 0, max: 2000 }),
    activities: fc.array(fc.nat(), { maxLength: 12 }).chain((ids) => fc.tuple(...ids.map((_, i) => spanArb(i + 1)))),
    timers: fc.array(fc.nat(), { maxLength: 4 }).chain((ids) => fc.tuple(...ids.map((_, i) => spanArb(100 + i)))),
  });

  it('the segments are contiguous from start to end and add up to the duration exactly', () => {
    fc.assert(
      fc.property(runArb, ({ duration, activities, timers }) => {
        const timeline = buildTimeline(T0, T0 + duration, activities, timers);
        let at = 0;
        for (const segment of timeline) {
          expect(segment.offsetMs).toBe(at);
          expect(Date.parse(segment.start)).toBe(T0 + at);
          expect(segment.durationMs).toBeGreaterThanOrEqual(0);
          at += segment.durationMs;
          expect(Date.parse(segment.end)).toBe(T0 + at);
        }
        expect(at).toBe(duration);
        expect(accountFor(timeline).totalMs).toBe(duration);
      }),
    );
  });

  it('every activity that overlaps the run is named in some segment', () => {
    fc.assert(
      fc.property(runArb, ({ duration, activities, timers }) => {
        const timeline = buildTimeline(T0, T0 + duration, activities, timers);
        const named = new Set(timeline.flatMap((s) => s.activities));
        for (const a of activities) {
          const overlaps = a.endMs >= T0 && a.startMs <= T0 + duration;
          if (overlaps && duration > 0) expect(named.has(a.id)).toBe(true);
        }
      }),
    );
  });
});
