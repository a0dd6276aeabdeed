/**
 * Kubernetes resource quantities ("250m", "4", "16Gi", "123456789n", "1e3") as plain numbers: CPU in
 * millicores, memory in bytes.
 */

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** A quantity that is not in Kubernetes' format. */
export class QuantityError extends Error {
  readonly code = 'INVALID_QUANTITY';
  constructor(readonly quantity: string) {
    super(`"${quantity}" is not a Kubernetes quantity (expected a number with an optional suffix such as 250m, 4, 16Gi)`);
    this.name = 'QuantityError';
  }
}

/** The quantity as a plain number of base units (cores, bytes). */
export function parseQuantity(quantity: string): number {
  const match = QUANTITY.exec(quantity.trim());
  if (!match?.[1]) throw new QuantityError(quantity);
  return Number(match[1]) * (SUFFIX[match[2] ?? ''] ?? 1);
}

/** CPU quantity in millicores, rounded. */
export function cpuMillis(quantity: string): number {
  return Math.round(parseQuantity(quantity) * 1000);
}

/** Memory quantity in bytes, rounded. */
export function memoryBytes(quantity: string): number {
  return Math.round(parseQuantity(quantity));
}
