import { MIGRATION_TIMING, monitorActivityTimeoutMs, scaledTiming } from '../../../workflows/timing';

describe('step timeouts grow with the cluster endpoint timeout', () => {
  it('keeps the measured defaults for the default 2 s endpoint timeout', () => {
    expect(scaledTiming(MIGRATION_TIMING, 2_000)).toEqual(MIGRATION_TIMING);
  });

  it('gives each attempt room for four deadlines and each heartbeat for three when an endpoint may take 9 s (interval 10 s)', () => {
    const timing = scaledTiming(MIGRATION_TIMING, 9_000);
    expect([timing.quick.startToCloseMs, timing.patient.heartbeatMs, timing.patient.scheduleToCloseMs, timing.waiting.startToCloseMs]).toEqual([41_000, 31_000, 120_000, 120_000]);
  });

  it('keeps the defaults when the plan carries no endpoint timeout (plans made before it existed)', () => {
    expect(scaledTiming(MIGRATION_TIMING, undefined)).toBe(MIGRATION_TIMING);
  });

  it.each([
    [undefined, 30_000],
    [2_000, 30_000],
    [9_000, 59_000],
  ])('the monitor observes with an endpoint timeout of %s ms under a %s ms activity timeout', (endpoint, expected) => {
    expect(monitorActivityTimeoutMs(endpoint)).toBe(expected);
  });
});
