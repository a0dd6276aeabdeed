import fc from 'fast-check';
import { duration, durationSchema, formatDuration, parseDuration } from '../../../src/config/duration';
import { formatIssue } from '../../../src/config/errors';
import { validate } from '../../../src/config/issues';

/** The lines an operator would read for a value that fails `schema`. */
function problemsWith(schema: Parameters<typeof validate>[0], input: unknown): string[] {
  const result = validate(schema, input);
  return result.ok ? [] : result.issues.map(formatIssue);
}

describe('parseDuration', () => {
  it.each([
    ['milliseconds', '500ms', 500],
    ['seconds', '10s', 10_000],
    ['minutes', '5m', 300_000],
    ['hours', '1h', 3_600_000],
    ['hours and minutes', '1h30m', 5_400_000],
    ['every unit at once, largest first', '1h2m3s4ms', 3_723_004],
    ['a decimal amount', '1.5s', 1_500],
    ['a decimal amount free of float noise', '1.1s', 1_100],
    ['a bare zero, as Go accepts it', '0', 0],
    ['surrounding spaces', '  10s ', 10_000],
    ['a whole number of seconds', 10, 10_000],
    ['a fractional number of seconds', 0.25, 250],
    ['zero seconds', 0, 0],
  ])('reads %s (%p) as %p ms', (_case, input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each([
    ['a word', 'ten'],
    ['an empty string', ''],
    ['a number without unit', '10'],
    ['an unknown unit', '3d'],
    ['an upper-case unit', '10S'],
    ['units smallest first', '30m1h'],
    ['a repeated unit', '5m5m'],
    ['a space between parts', '1h 30m'],
    ['a negative string', '-5s'],
    ['trailing junk', '10sx'],
    ['a negative number', -1],
    ['an infinite number', Number.POSITIVE_INFINITY],
    ['not a number', Number.NaN],
    ['a boolean', true],
    ['null', null],
    ['an object', { seconds: 10 }],
  ])('rejects %s (%p)', (_case, input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [10_000, '10s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [3_723_004, '1h2m3s4ms'],
  ])('writes %p ms as %p', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('writes every whole number of milliseconds so that parseDuration reads it back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000 * 3_600_000 }), (ms) => parseDuration(formatDuration(ms)) === ms),
    );
  });
});

describe('durationSchema', () => {
  it('turns a duration string into milliseconds', () => {
    expect(durationSchema.parse('1h30m')).toBe(5_400_000);
  });

  it.each([
    ['a word', 'ten', 'expected a duration such as "10s", "5m" or "1h", got "ten"'],
    ['a negative number', -3, 'expected a duration such as "10s", "5m" or "1h", got -3'],
    ['nothing', undefined, 'expected a duration such as "10s", "5m" or "1h", got (missing)'],
  ])('rejects %s with a message that shows an example and the value', (_case, input, message) => {
    expect(problemsWith(durationSchema, input)).toEqual([`(root): ${message}`]);
  });

  it('rejects a duration under its minimum, naming the minimum and the value as written', () => {
    expect(problemsWith(duration({ min: 1_000 }), '500ms')).toEqual([
      '(root): expected a duration of at least 1s, got "500ms"',
    ]);
  });
});
