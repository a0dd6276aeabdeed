/**
 * The last successful answer of a call, reused while it is younger than the caller allows. A failure is never kept:
 * the next call asks again. Calls that overlap while the answer is too old share one request.
 */
export class RecentAnswer<T> {
  private last: { atMs: number; value: T } | undefined;
  private inFlight: Promise<T> | undefined;

  constructor(
    private readonly ask: () => Promise<T>,
    private readonly ok: (value: T) => boolean,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The last good answer when it is younger than `maxAgeMs` (0: always ask), else a new one. */
  get(maxAgeMs: number): Promise<T> {
    const last = this.last;
    if (last && maxAgeMs > 0 && this.clock() - last.atMs < maxAgeMs) return Promise.resolve(last.value);
    if (this.inFlight) return this.inFlight;
    const startedAt = this.clock();
    const asked = this.ask().then(
      (value) => {
        if (this.ok(value)) this.last = { atMs: startedAt, value };
        else this.last = undefined;
        return value;
      },
      (error: unknown) => {
        this.last = undefined;
        throw error;
      },
    );
    this.inFlight = asked;
    const clear = (): void => {
      if (this.inFlight === asked) this.inFlight = undefined;
    };
    asked.then(clear, clear);
    return asked;
  }
}
