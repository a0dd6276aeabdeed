/** How new members are named: the prefix and the next free ordinal. */

const ORDINAL = /-(\d+)$/;

/** The next free name with the prefix and an ordinal above every member's and pod's: etcd-0..2 gives etcd-3. */
export function nextMemberName(prefix: string, taken: readonly string[]): string {
  let highest = -1;
  for (const name of taken) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const match = ORDINAL.exec(name);
    if (match?.[1] && name === `${prefix}-${match[1]}`) highest = Math.max(highest, Number(match[1]));
  }
  return `${prefix}-${highest + 1}`;
}
