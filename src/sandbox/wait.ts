import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from './errors';

/** Polling until something holds, with a deadline and a reason when it never does. */

/** How to poll. */
export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before every attempt: a message here (such as "the process exited") ends the wait at once. */
  abortIf?: () => string | undefined;
}

/** Error of a wait that ran out of time or was aborted. */
export class WaitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitError';
  }
}

/**
 * Calls `probe` until it returns a value other than undefined; a throw counts as "not yet" and its message is kept
 * for the timeout error, so a reader learns what the last attempt saw.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: string;
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new WaitError(`${what}: ${aborted}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (error) {
      last = messageOf(error);
    }
    if (Date.now() >= deadline) {
      throw new WaitError(`${what}: still not true after ${Math.round(options.timeoutMs / 1000)} s (last: ${last})`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}
