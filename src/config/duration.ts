import { z } from 'zod';

/**
 * Durations as operators write them ("500ms", "10s", "1h30m", or a plain number of seconds), turned into
 * milliseconds. Pure: workflow code may import this file.
 */

/** Milliseconds per unit, largest first: the order units must appear in ("1h30m", never "30m1h"). */
const UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

// `ms` before `m` and `s` in the alternation, or "500ms" would read as 500 minutes followed by junk.
const COMPONENT = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/** What every duration field tells an operator who wrote something else. */
export const DURATION_EXPECTED = 'expected a duration such as "10s", "5m" or "1h"';

/**
 * Milliseconds in a duration: a string such as "500ms", "10s", "5m", "1h" or "1h30m", or a number of seconds.
 * Returns undefined for anything else, negative numbers included.
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? toWholeMs(input * 1000) : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  // A bare zero needs no unit, as in Go's time.ParseDuration, which many operators' habits come from.
  if (text === '0') return 0;

  let total = 0;
  let position = 0;
  let nextUnit = 0;
  while (position < text.length) {
    COMPONENT.lastIndex = position;
    const match = COMPONENT.exec(text);
    if (match === null) return undefined;
    const [whole, amount, unit] = match;
    // Units must come largest first and once each, so a typo such as "5m5m" is caught rather than summed.
    const index = UNITS.findIndex(([name]) => name === unit);
    const size = UNITS[index]?.[1];
    if (size === undefined || index < nextUnit) return undefined;
    nextUnit = index + 1;
    total += Number(amount) * size;
    position += whole.length;
  }
  return position === 0 ? undefined : toWholeMs(total);
}

/** The shortest string that parseDuration reads back as the same milliseconds: 5_400_000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** Limits on a duration field, in milliseconds. */
export interface DurationBounds {
  min?: number;
  max?: number;
}

/** A zod schema for a duration field: a string or a number of seconds in, milliseconds out. */
export function duration(bounds: DurationBounds = {}): z.ZodType<number, unknown> {
  return z.unknown().transform((input, ctx) => {
    const ms = parseDuration(input);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_EXPECTED, input });
      return z.NEVER;
    }
    if (bounds.min !== undefined && ms < bounds.min) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least ${formatDuration(bounds.min)}`, input });
      return z.NEVER;
    }
    if (bounds.max !== undefined && ms > bounds.max) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at most ${formatDuration(bounds.max)}`, input });
      return z.NEVER;
    }
    return ms;
  });
}

/** Any non-negative duration, in milliseconds. */
export const durationSchema = duration();

// Rounding absorbs float noise (1.1 * 1000 is 1100.0000000000002); a sub-millisecond part means nothing here.
function toWholeMs(ms: number): number | undefined {
  const whole = Math.round(ms);
  return Number.isSafeInteger(whole) ? whole : undefined;
}
