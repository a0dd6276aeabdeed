/** How workflows call the plan's activities: through Temporal proxies built from the timing classes. */
import { ActivityCancellationType, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Invoke, StepActivities } from './run-plan';
import { oneLineSummary } from '../src/domain/summaries';
import type { ActivityClass } from './timing';

// Saga steps wait for a cancelled activity to stop before compensating, so that two steps never overlap.
/** A proxy of every step activity (the migration's, or those `T` names) under one class of timeouts and retries. */
export function proxyFor<T extends object = StepActivities>(cls: ActivityClass, summary?: string) {
  return proxyActivities<T>({
    // The step and its target, shown beside the activity in the Temporal UI's timeline and history.
    ...(summary !== undefined ? { summary: oneLineSummary(summary) } : {}),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    startToCloseTimeout: cls.startToCloseMs,
    ...(cls.heartbeatMs !== undefined ? { heartbeatTimeout: cls.heartbeatMs } : {}),
    ...(cls.scheduleToCloseMs !== undefined ? { scheduleToCloseTimeout: cls.scheduleToCloseMs } : {}),
    retry: {
      initialInterval: cls.retry.initialIntervalMs,
      backoffCoefficient: cls.retry.backoffCoefficient,
      maximumInterval: cls.retry.maximumIntervalMs,
      ...(cls.retry.maximumAttempts !== undefined ? { maximumAttempts: cls.retry.maximumAttempts } : {}),
    },
  });
}

/**
 * Calls an activity of `T` by name through a proxy built from its class: the plan's budgets reach Temporal's
 * timeouts, and the step's summary the UI.
 */
export function invokerOf<T extends object>(): (name: string, cls: ActivityClass, input: unknown, summary?: string) => Promise<unknown> {
  return (name, cls, input, summary) => {
    const fn = (proxyFor<T>(cls, summary) as unknown as Record<string, (input: unknown) => Promise<unknown>>)[name];
    if (!fn) throw ApplicationFailure.nonRetryable(`no activity ${name}`, 'BUG');
    return fn(input);
  };
}

/** The migration's and the repair's steps. */
export const invoke = invokerOf<StepActivities>() as Invoke;
