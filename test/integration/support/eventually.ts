import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries an assertion against real components until it passes or the time is up; the last failure is what the
 * test reports. Real processes take real time: this is the one place a test waits.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await sleep(intervalMs);
  }
}
