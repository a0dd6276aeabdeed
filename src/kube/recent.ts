/**
 * The last successful answer of a call, reused while it is younger than the caller allows. A failure is never kept:
 * the next call asks again. Callers that allow an age share a request in flight, unless it has run past
 * `shareForMs` (a request that hangs is not waited on by every later caller); a caller that allows none asks anew.
 */
export class RecentAnswer<T> {
  private last: { atMs: number; value: T } | undefined;
  private inFlight: { promise: Promise<T>; startedAtMs: number } | undefined;

  constructor(
    private readonly ask: () => Promise<T>,
    private readonly ok: (value: T) => boolean,
    private readonly clock: () => number = Date.now,
    private readonly shareForMs = 10_000,
  ) {}

  /** The last good answer when it is younger than `maxAgeMs` (0: always ask), else a new one. */
  get(maxAgeMs: number): Promise<T> {
    const now = this.clock();
    const last = this.last;
    // A clock stepped back makes the age negative: such an answer is not reused.
    if (last && maxAgeMs > 0 && now - last.atMs >= 0 && now - last.atMs < maxAgeMs) return Promise.resolve(last.value);
    const inFlight = this.inFlight;
    if (inFlight && maxAgeMs > 0 && now - inFlight.startedAtMs >= 0 && now - inFlight.startedAtMs < this.shareForMs) return inFlight.promise;
    const startedAt = now;
    const asked = this.ask().then(
      (value) => {
        // An answer older than the one kept does not replace it.
        if (this.last && this.last.atMs > startedAt) return value;
        if (this.ok(value)) this.last = { atMs: startedAt, value };
        else this.last = undefined;
        return value;
      },
      (error: unknown) => {
        if (!(this.last && this.last.atMs > startedAt)) this.last = undefined;
        throw error;
      },
    );
    const entry = { promise: asked, startedAtMs: startedAt };
    this.inFlight = entry;
    const clear = (): void => {
      if (this.inFlight === entry) this.inFlight = undefined;
    };
    asked.then(clear, clear);
    return asked;
  }
}
