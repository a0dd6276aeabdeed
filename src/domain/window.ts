/**
 * The memory of the risk assessment between samples: how long each signal has held, the last value of each
 * counter and the recent increments. Small and plain, so that a workflow can carry it across continue-as-new.
 */
export interface SampleWindow {
  /** Samples assessed so far. */
  samples: number;
  /** Signal key (`kind/subject`) to the number of consecutive samples it has held. */
  streaks: Record<string, number>;
  /** Last seen value of each counter, keyed `counter/subject`. */
  counters: Record<string, number>;
  /** Recent increments of each counter, newest last, at most `windowSamples` long. */
  increments: Record<string, number[]>;
  /**
   * Recent values of each gauge with their times, `[ms, value]`, oldest first, at most `windowSamples` long (database
   * sizes, for their growth). Absent in windows carried by monitors that ran before gauges were kept.
   */
  gauges?: Record<string, [number, number][]>;
  /**
   * Things that can be up or down (a node's Ready), keyed by subject: whether each was up at the last sample, and
   * when it last came back while that is recent. Absent in windows carried by monitors that ran before it was kept.
   */
  returns?: Record<string, { up: boolean; at?: number }>;
}

/** The window before the first sample. */
export function emptyWindow(): SampleWindow {
  return { samples: 0, streaks: {}, counters: {}, increments: {} };
}

/**
 * Increment of a monotonic counter since the last sample. A counter that went down was reset (its process
 * restarted), so its whole current value is new, as Prometheus' rate() treats it. The first sight counts as zero.
 */
export function counterIncrement(previous: number | undefined, current: number): number {
  if (previous === undefined) return 0;
  return current >= previous ? current - previous : current;
}

/** Builds the next window from the previous one, one counter and one signal at a time. */
export class WindowBuilder {
  private readonly next: SampleWindow;

  constructor(
    private readonly previous: SampleWindow,
    private readonly windowSamples: number,
  ) {
    this.next = { samples: previous.samples + 1, streaks: {}, counters: {}, increments: {} };
  }

  /** Record a counter's value; returns the sum of its increments over the window, this sample included. */
  counter(key: string, value: number | undefined): number | undefined {
    if (value === undefined) return undefined;
    const increment = counterIncrement(this.previous.counters[key], value);
    const history = [...(this.previous.increments[key] ?? []), increment].slice(-this.windowSamples);
    this.next.counters[key] = value;
    this.next.increments[key] = history;
    return history.reduce((sum, x) => sum + x, 0);
  }

  /**
   * Record a count that never goes down for its subject (a pod's restart count, keyed by the pod's uid). A lower value
   * in one sample is an older read of the same thing (a watch a moment behind a list), not a reset: it adds nothing
   * and the higher value stays the baseline. Lower in two samples running, it was reset after all (a kubelet that lost
   * its containers' records): the lower value becomes the baseline and what it grew since counts. Returns the sum of
   * its increments over the window, this sample included.
   */
  monotonicCounter(key: string, value: number): number {
    const before = this.previous.counters[key];
    const lowerKey = `${key}#lower`;
    const lower = this.previous.counters[lowerKey];
    let increment = 0;
    let baseline = value;
    if (before === undefined) increment = 0; // its first sight counts as none
    else if (value >= before) increment = value - before;
    else if (lower === undefined) {
      // One lower read: an older one. The baseline stays; the next sample decides.
      baseline = before;
      this.next.counters[lowerKey] = value;
    } else increment = Math.max(0, value - lower);
    const history = [...(this.previous.increments[key] ?? []), increment].slice(-this.windowSamples);
    this.next.counters[key] = baseline;
    this.next.increments[key] = history;
    return history.reduce((sum, x) => sum + x, 0);
  }

  /** Record a gauge's value at `atMs`; returns its recent points, this one included, oldest first. */
  gauge(key: string, atMs: number, value: number | undefined): readonly [number, number][] {
    if (value === undefined) return [];
    const points = [...(this.previous.gauges?.[key] ?? []), [atMs, value] as [number, number]].slice(-this.windowSamples);
    (this.next.gauges ??= {})[key] = points;
    return points;
  }

  /**
   * Record whether `key` is up at `atMs`; returns when it came back up from down, while that was less than `keepMs`
   * ago (undefined otherwise, and on its first sight: a guardian that just started does not know it was ever down).
   */
  returnedAt(key: string, up: boolean, atMs: number, keepMs: number): number | undefined {
    const before = this.previous.returns?.[key];
    const returns = (this.next.returns ??= {});
    if (!up) {
      returns[key] = { up: false };
      return undefined;
    }
    const at = before !== undefined && !before.up ? atMs : before?.at;
    if (at === undefined || atMs - at >= keepMs) {
      returns[key] = { up: true };
      return undefined;
    }
    returns[key] = { up: true, at };
    return at;
  }

  /** Mark a signal as holding in this sample; returns for how many consecutive samples it has held. */
  hold(key: string): number {
    const streak = (this.previous.streaks[key] ?? 0) + 1;
    this.next.streaks[key] = streak;
    return streak;
  }

  /** The window after this sample; signals not marked have reset, counters not seen are forgotten. */
  build(): SampleWindow {
    return this.next;
  }
}
