/** A virtual clock with timers: simulated time moves only when the world advances it, so a run takes milliseconds. */

interface Timer {
  at: number;
  seq: number;
  label: string;
  fn: () => void;
}

/** Virtual time in milliseconds since the epoch, and timers that fire in (time, creation) order. */
export class VirtualClock {
  private ms: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start: Date) {
    this.ms = start.getTime();
  }

  /** The current virtual time. */
  now(): Date {
    return new Date(this.ms);
  }

  /** The current virtual time in milliseconds. */
  nowMs(): number {
    return this.ms;
  }

  /** Run `fn` once the clock reaches now + delayMs; returns an id for cancel(). */
  schedule(delayMs: number, label: string, fn: () => void): number {
    const timer: Timer = { at: this.ms + Math.max(0, delayMs), seq: ++this.seq, label, fn };
    // Kept sorted, so that advance() takes timers from the front; ties keep their creation order.
    let index = this.timers.length;
    while (index > 0 && (this.timers[index - 1]?.at ?? 0) > timer.at) index--;
    this.timers.splice(index, 0, timer);
    return timer.seq;
  }

  /** Forget a timer that has not fired. */
  cancel(id: number): void {
    this.timers = this.timers.filter((t) => t.seq !== id);
  }

  /** Labels and due times of the pending timers, for a trace. */
  pending(): { at: number; label: string }[] {
    return this.timers.map((t) => ({ at: t.at, label: t.label }));
  }

  /**
   * Move time forward by `ms`, firing due timers in order; `settle(t)` runs before each timer and at the end, so
   * that the world is brought up to the moment a timer fires before the timer acts.
   */
  advance(ms: number, settle: () => void): void {
    const target = this.ms + Math.max(0, ms);
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.ms = Math.max(this.ms, next.at);
      settle();
      next.fn();
      settle();
    }
    this.ms = target;
    settle();
  }
}
