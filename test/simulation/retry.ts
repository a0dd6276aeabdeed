import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityClass } from '../../workflows/timing';
import type { World } from './model/world';

/**
 * Temporal's retry policy on the virtual clock: an activity called under the same class of timeouts and retries the
 * workflow gives its proxies. An attempt that outlives its start-to-close timeout is abandoned (its answer is lost).
 */
export function retryingInvoke(world: World, activities: object): (name: string, cls: ActivityClass, input: unknown) => Promise<unknown> {
  const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const env = new MockActivityEnvironment({}, { logger: quiet });
  return async (name, cls, input) => {
    const fn = (activities as Record<string, (input: unknown) => Promise<unknown>>)[name];
    if (!fn) throw new Error(`no activity ${name}`);
    const started = world.elapsedMs();
    let interval = cls.retry.initialIntervalMs;
    for (let attempt = 1; ; attempt++) {
      const attemptStart = world.elapsedMs();
      try {
        const value = await env.run(fn, input);
        if (world.elapsedMs() - attemptStart > cls.startToCloseMs) throw ApplicationFailure.retryable(`activity ${name} timed out (start-to-close)`, 'TIMEOUT');
        return value;
      } catch (error) {
        const nonRetryable = error instanceof ApplicationFailure && error.nonRetryable;
        const outOfAttempts = cls.retry.maximumAttempts !== undefined && attempt >= cls.retry.maximumAttempts;
        const outOfTime = cls.scheduleToCloseMs !== undefined && world.elapsedMs() + interval - started > cls.scheduleToCloseMs;
        if (nonRetryable || outOfAttempts || outOfTime) throw error;
        world.advance(interval);
        interval = Math.min(interval * cls.retry.backoffCoefficient, cls.retry.maximumIntervalMs);
      }
    }
  };
}
