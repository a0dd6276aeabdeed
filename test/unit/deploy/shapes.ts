/** Typed reads of parsed YAML for the deployment tests: each names what it expected and what it got. */

/** A parsed YAML mapping. */
export type Dict = Record<string, unknown>;

/** True for a mapping (not null, not a list). */
export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as a mapping, or an error naming `what`. */
export function dict(value: unknown, what: string): Dict {
  if (!isDict(value)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  return value;
}

/** The value as a list, or an error naming `what`. */
export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

/** The value as a string, or an error naming `what`. */
export function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}
