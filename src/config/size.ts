import { z } from 'zod';

/**
 * Sizes as operators write them ("100MB", "64MiB", "2GiB", or a plain number of bytes), turned into bytes. The units
 * are etcd's and Kubernetes': KB, MB, GB are powers of 1000; KiB, MiB, GiB powers of 1024. Pure.
 */

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** What every size field tells an operator who wrote something else. */
export const SIZE_EXPECTED = 'expected a size such as "100MiB", "64MB" or "2GiB" (or a number of bytes)';

/** Bytes in a size: a string such as "100MB" or "2GiB", or a whole number of bytes; undefined for anything else. */
export function parseByteSize(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(input.trim());
  if (!match) return undefined;
  const size = UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (size === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * size);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A zod schema for a size field: a string or a number of bytes in, bytes out, at least `min`. */
export function byteSize(min = 0): z.ZodType<number, unknown> {
  return z.unknown().transform((input, ctx) => {
    const bytes = parseByteSize(input);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: SIZE_EXPECTED, input });
      return z.NEVER;
    }
    if (bytes < min) {
      ctx.addIssue({ code: 'custom', message: `expected a size of at least ${min} bytes`, input });
      return z.NEVER;
    }
    return bytes;
  });
}
