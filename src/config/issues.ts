import { z } from 'zod';
import { MISSING_VALUE, ROOT_PATH, type ConfigIssue } from './errors';

/**
 * Turns zod's issues into ConfigIssues a person can act on: a dot path, what was expected, what was found.
 * Pure: workflow code reaches it through workflow-inputs.ts.
 */

/** The outcome of validating a value against a schema. */
export type Validation<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** Options for one validation. */
export interface ValidateOptions {
  /** Skip zod's eval-compiled fast path; workflow code sets it so parsing never depends on `new Function`. */
  jitless?: boolean;
  /** Paths to show under another name, such as the environment variable that set the value. */
  pathLabels?: ReadonlyMap<string, string>;
}

/** Validates `input` against `schema`, returning the output or every issue in human words. */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: ValidateOptions = {},
): Validation<z.output<S>> {
  // Known keys of each object that met an unknown key, by rendered path, for the "did you mean" hint.
  // zod reports an unknown key without the schema, and only the error map still sees the schema.
  const knownKeys = new Map<string, readonly string[]>();
  const errorMap: z.core.$ZodErrorMap = (issue) => {
    if (issue.code === 'unrecognized_keys') knownKeys.set(renderPath(issue.path ?? []), keysOf(issue.inst));
    return expectation(issue);
  };
  const result = schema.safeParse(input, { reportInput: true, error: errorMap, jitless: options.jitless ?? false });
  if (result.success) return { ok: true, value: result.data };
  const labels = options.pathLabels ?? new Map<string, string>();
  const issues = result.error.issues
    .flatMap((issue) => toConfigIssues(issue, knownKeys))
    .map((issue) => ({ ...issue, path: labels.get(issue.path) ?? issue.path }));
  // Relabelling can fold several paths into one (one variable sets dryRun on every cluster): say it once.
  return { ok: false, issues: withoutDuplicates(issues) };
}

/** A path as a dot path ("clusters.0.name"), bracketing keys that would be ambiguous ('labels["a.b/c"]'). */
export function renderPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return ROOT_PATH;
  return path
    .map((segment, index) => {
      const text = String(segment);
      if (typeof segment === 'number' || /^[A-Za-z0-9_-]+$/.test(text)) return index === 0 ? text : `.${text}`;
      return `[${JSON.stringify(text)}]`;
    })
    .join('');
}

// Long values (a pasted certificate, a whole section) would drown the message they illustrate.
const MAX_VALUE_LENGTH = 80;

/** A value as compact JSON for a message, "(missing)" when absent, shortened when long. */
export function renderValue(value: unknown): string {
  if (value === undefined) return MISSING_VALUE;
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : compactJson(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

function compactJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  try {
    const text = JSON.stringify(value, hidePem);
    if (text !== undefined) return text;
  } catch {
    // A YAML anchor that refers to itself makes a circular value: name its type rather than fail the report.
  }
  return `(${typeof value})`;
}

// A PEM pasted where a path belongs may hold a private key: show its header, never its body.
function hidePem(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || !value.includes('-----BEGIN')) return value;
  const header = /-----BEGIN [A-Z0-9 ]*-----/.exec(value)?.[0] ?? '-----BEGIN';
  return `${header}…`;
}

/** The closest known key to a mistyped one, if it is close enough to be what was meant. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits catch a doubled letter, a swap or a snake_case spelling without suggesting unrelated keys.
  const allowed = Math.min(2, Math.floor(key.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping of keys to values',
  array: 'a list',
  record: 'a mapping of keys to values',
  null: 'null',
};

// Wording for issues whose schema did not bring its own message; each says what was expected, never what
// was found, because formatIssue appends the value.
function expectation(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return sizeExpectation('at least', 'greater than', issue.origin, Number(issue.minimum), issue.inclusive);
    case 'too_big':
      return sizeExpectation('at most', 'less than', issue.origin, Number(issue.maximum), issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${renderValue(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_union':
      return issue.discriminator !== undefined && Array.isArray(issue.options)
        ? `expected one of ${issue.options.map(String).join(', ')}`
        : 'expected a value of one of the accepted forms';
    case 'invalid_format':
      return issue.format === 'datetime'
        ? 'expected an ISO-8601 time such as "2025-01-31T12:00:00Z"'
        : `expected a string in ${issue.format} format`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'invalid_key':
      // The key's own schema already said what a key must look like.
      return issue.issues[0]?.message ?? 'expected a valid key';
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return undefined;
  }
}

function sizeExpectation(
  inclusiveWord: string,
  exclusiveWord: string,
  origin: string,
  limit: number,
  inclusive: boolean | undefined,
): string {
  if (origin === 'array') return `expected a list with ${inclusiveWord} ${limit} ${limit === 1 ? 'entry' : 'entries'}`;
  if (origin === 'string') {
    return limit === 1 && inclusiveWord === 'at least'
      ? 'expected a non-empty string'
      : `expected a string of ${inclusiveWord} ${limit} characters`;
  }
  return inclusive === false ? `expected a number ${exclusiveWord} ${limit}` : `expected a number of ${inclusiveWord} ${limit}`;
}

function toConfigIssues(issue: z.core.$ZodIssue, knownKeys: ReadonlyMap<string, readonly string[]>): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys.get(renderPath(issue.path)) ?? [];
    return issue.keys.map((key) => ({
      path: renderPath([...issue.path, key]),
      message: unknownKeyMessage(key, known),
      value: renderValue(isRecord(issue.input) ? issue.input[key] : undefined),
    }));
  }
  // A discriminated union reports the whole object; the discriminator's own value is what was wrong.
  const input =
    issue.code === 'invalid_union' && issue.discriminator !== undefined && isRecord(issue.input)
      ? issue.input[issue.discriminator]
      : issue.input;
  return [{ path: renderPath(issue.path), message: issue.message, value: renderValue(input) }];
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = suggestKey(key, known);
  if (suggestion !== undefined) return `unknown key; did you mean "${suggestion}"?`;
  return known.length > 0 ? `unknown key; the keys allowed here are ${known.join(', ')}` : 'unknown key';
}

function keysOf(schema: unknown): readonly string[] {
  return schema instanceof z.core.$ZodObject ? Object.keys(schema._zod.def.shape) : [];
}

function withoutDuplicates(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const line = `${issue.path}\u0000${issue.message}\u0000${issue.value}`;
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Levenshtein distance, one row at a time; keys are short, so the quadratic cost does not matter.
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
