import { ApplicationFailure, type Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';

/** Running one activity as the worker would, and reading what it failed with as Temporal sees it. */

const quiet: Logger = { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Run one activity inside a mock activity context (activities call `log` from @temporalio/activity). */
export function run<I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment({}, { logger: quiet }).run(activity, input);
}

/** What Temporal gets from a failed attempt: the failure type, whether it is retried, and the message. */
export interface ActivityFailure {
  type: string | undefined;
  nonRetryable: boolean | null | undefined;
  message: string;
}

/** The ApplicationFailure an attempt failed with; anything else, or success, fails the test. */
export async function failure(attempt: Promise<unknown>): Promise<ActivityFailure> {
  try {
    await attempt;
  } catch (error: unknown) {
    if (error instanceof ApplicationFailure) return { type: error.type ?? undefined, nonRetryable: error.nonRetryable, message: error.message };
    throw error;
  }
  throw new Error('expected the activity to fail, but it succeeded');
}
