/** Reading Temporal failures without importing the SDK, so the plan runner also runs in the simulation. */

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
