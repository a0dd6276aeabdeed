import { ApplicationFailure } from '@temporalio/workflow';

export { failureType, rootMessage } from './failure-type';

/**
 * An input that failed validation, turned into the non-retryable failure workflows must throw (a plain Error
 * would fail the workflow task forever). Recognised by its code, since classes do not cross the sandbox.
 */
export function invalidInputFailure(error: unknown): ApplicationFailure | undefined {
  const coded = error as { code?: unknown; message?: unknown; issues?: unknown };
  if (coded && coded.code === 'INVALID_INPUT' && typeof coded.message === 'string') {
    return ApplicationFailure.create({ message: coded.message, type: 'INVALID_INPUT', nonRetryable: true, details: [coded.issues] });
  }
  return undefined;
}
