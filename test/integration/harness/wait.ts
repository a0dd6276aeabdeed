import { eventually } from '../support/eventually';

/**
 * Poll until `check` returns a value (not undefined): `eventually` for checks that answer "not yet" with
 * undefined rather than by throwing.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined>, options: { timeoutMs?: number; everyMs?: number } = {}): Promise<T> {
  return eventually(
    async () => {
      const value = await check();
      if (value === undefined) throw new Error(`timed out waiting for ${what}`);
      return value;
    },
    options.timeoutMs ?? 60_000,
    options.everyMs ?? 300,
  );
}
