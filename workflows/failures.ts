import { ApplicationFailure } from '@temporalio/workflow';

/** The `type` of the ApplicationFailure behind an activity or child failure, if there is one. */
export function failureType(error: unknown): string | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    current = current.cause;
  }
  return undefined;
}

/** The innermost message: what the activity said, without the SDK's wrapping. */
export function rootMessage(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  while (current instanceof Error) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

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
