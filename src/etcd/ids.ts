/** etcd member ids are uint64: the gRPC API gives them as decimal strings, etcdctl and logs print them in hex. */

/** Decimal (as etcd3 returns it) to lower-case hex without leading zeros, as etcdctl prints it. */
export function toHexId(decimal: string | number): string {
  return BigInt(decimal).toString(16);
}

/** Hex (with or without 0x) to the decimal string the gRPC API takes. */
export function toDecimalId(hex: string): string {
  return BigInt(`0x${hex.replace(/^0x/i, '')}`).toString(10);
}
