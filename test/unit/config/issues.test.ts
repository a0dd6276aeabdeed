import { z } from 'zod';
import { formatIssue } from '../../../src/config/errors';
import { renderPath, renderValue, suggestKey, validate } from '../../../src/config/issues';

/** The lines validation of `input` against `schema` produces. */
function problems(schema: z.ZodType, input: unknown): string[] {
  const result = validate(schema, input);
  return result.ok ? [] : result.issues.map(formatIssue);
}

describe('default wording, for schemas without a message of their own', () => {
  it.each<[string, z.ZodType, unknown, string]>([
    ['a wrong type', z.string(), 5, '(root): expected a string, got 5'],
    ['a missing value', z.object({ a: z.number() }), {}, 'a: expected a number, got (missing)'],
    ['a fraction where a whole number belongs', z.int(), 1.5, '(root): expected a whole number, got 1.5'],
    ['a list where a mapping belongs', z.object({}), [], '(root): expected a mapping of keys to values, got []'],
    ['a number under its minimum', z.number().min(3), 2, '(root): expected a number of at least 3, got 2'],
    ['a number at an exclusive minimum', z.number().gt(0), 0, '(root): expected a number greater than 0, got 0'],
    ['a number over its maximum', z.number().max(3), 4, '(root): expected a number of at most 3, got 4'],
    ['a number at an exclusive maximum', z.number().lt(3), 3, '(root): expected a number less than 3, got 3'],
    ['an empty list', z.array(z.string()).min(1), [], '(root): expected a list with at least 1 entry, got []'],
    ['a long list', z.array(z.string()).max(2), ['a', 'b', 'c'], '(root): expected a list with at most 2 entries, got ["a","b","c"]'],
    ['an empty string', z.string().min(1), '', '(root): expected a non-empty string, got ""'],
    ['a long string', z.string().max(3), 'abcd', '(root): expected a string of at most 3 characters, got "abcd"'],
    ['a value not in an enum', z.enum(['a', 'b']), 'c', '(root): expected one of a, b, got "c"'],
    ['a value other than a literal', z.literal('on'), 'off', '(root): expected "on", got "off"'],
    ['a string not in its format', z.email(), 'x', '(root): expected a string in email format, got "x"'],
    ['a number not a multiple', z.number().multipleOf(5), 7, '(root): expected a multiple of 5, got 7'],
    ['a value matching no form of a union', z.union([z.string(), z.number()]), true, '(root): expected a value of one of the accepted forms, got true'],
    ['an unknown key where no key is allowed', z.strictObject({}), { a: 1 }, 'a: unknown key'],
  ])('says what was expected for %s', (_case, schema, input, line) => {
    expect(problems(schema, input)).toEqual([line]);
  });

  it('lists the allowed keys when an unknown key is close to none of them', () => {
    expect(problems(z.strictObject({ alpha: z.number().optional(), beta: z.number().optional() }), { zzz: 1 })).toEqual([
      'zzz: unknown key; the keys allowed here are alpha, beta',
    ]);
  });

  it('gives each unknown key of one mapping its own line', () => {
    expect(problems(z.strictObject({ interval: z.string().optional() }), { intervall: '1s', colour: 'red' })).toEqual([
      'intervall: unknown key; did you mean "interval"?',
      'colour: unknown key; the keys allowed here are interval',
    ]);
  });
});

describe('issue rendering', () => {
  it.each<[string, unknown, string]>([
    ['a string, quoted', 'ten', '"ten"'],
    ['a number', 1.5, '1.5'],
    ['an absent value', undefined, '(missing)'],
    ['null', null, 'null'],
    ['an object, compact', { a: [1, 2] }, '{"a":[1,2]}'],
    ['a PEM block, header only', '-----BEGIN PRIVATE KEY-----\nsecret\n', '"-----BEGIN PRIVATE KEY-----…"'],
    ['a long value, shortened', 'x'.repeat(100), `"${'x'.repeat(78)}…`],
  ])('renders %s', (_case, value, rendered) => {
    expect(renderValue(value)).toBe(rendered);
  });

  it.each<[string, PropertyKey[], string]>([
    ['the root', [], '(root)'],
    ['a nested key', ['clusters', 0, 'thresholds', 'nodeCpu'], 'clusters.0.thresholds.nodeCpu'],
    ['a key with dots, bracketed', ['excludedNodes', 'node-1.example'], 'excludedNodes["node-1.example"]'],
  ])('renders the path of %s', (_case, path, rendered) => {
    expect(renderPath(path)).toBe(rendered);
  });

  it.each([
    ['a doubled letter', 'intervall', 'interval'],
    ['a different case', 'DRYRUN', 'dryRun'],
    ['a short key in another case', 'TLS', 'tls'],
    ['nothing close', 'colour', undefined],
    ['a short key one edit away, too short to guess', 'tl', undefined],
  ])('suggests a key for %s (%p): %p', (_case, key, suggestion) => {
    expect(suggestKey(key, ['interval', 'dryRun', 'tls', 'name'])).toBe(suggestion);
  });
});
