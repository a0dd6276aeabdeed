/**
 * Restart back-off of a crashing container: doubling from a short base to a short cap (the kubelet's is 10 s to
 * 5 min; the sandbox's is 1 s to 8 s so that a crash loop shows within seconds), reset after a healthy run.
 */

/** The first delay. */
export const BACKOFF_BASE_MS = 1_000;
/** The longest delay. */
export const BACKOFF_CAP_MS = 8_000;
/** A run at least this long resets the delay to the base. */
export const BACKOFF_RESET_AFTER_MS = 20_000;

/** The delay before the next start, given the previous delay (undefined before the first restart) and the run's length. */
export function nextBackoffMs(previousMs: number | undefined, ranForMs: number): number {
  if (previousMs === undefined || ranForMs >= BACKOFF_RESET_AFTER_MS) return BACKOFF_BASE_MS;
  return Math.min(previousMs * 2, BACKOFF_CAP_MS);
}
