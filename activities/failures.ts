import { ApplicationFailure } from '@temporalio/common';

/** An error that says whether retrying can help, as the gateway and activity errors do. */
interface CodedError extends Error {
  code: string;
  retryable?: boolean;
}

function isCoded(error: unknown): error is CodedError {
  return error instanceof Error && typeof (error as Partial<CodedError>).code === 'string';
}

/**
 * Turn a named error into an ApplicationFailure whose `type` is its code, so that workflows branch on the type
 * (never on instanceof, which does not survive the trip through the server). Errors that declare themselves not
 * retryable stop at once; everything else is left to the retry policy.
 */
export function toApplicationFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure || !isCoded(error)) return error;
  // The raw causes an error keeps as evidence go into the failure's details: its message says them plainly.
  const evidence = (error as { evidence?: unknown }).evidence;
  return ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: error.retryable === false, cause: error, ...(evidence !== undefined ? { details: [evidence] } : {}) });
}

/** Wrap every activity of an object so that what it throws goes through toApplicationFailure. */
export function withFailureTypes<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw toApplicationFailure(error);
      }
    };
  }
  return wrapped as T;
}
