import type { EtcdGateway } from '../../etcd/gateway';
import { withTimeout } from '../../errors';

/**
 * The demo's proof that nothing was lost: keys written before the fault, counted on every voter after the
 * migration (a serializable read answers from the member's own copy), and the same HashKV on every voter.
 */

/** Where the demo's keys live. */
export const DEMO_PREFIX = 'demo/';

/** The demo's keys, demo/key-001 ... */
export function demoKeys(count: number): Array<{ key: string; value: string }> {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(width, '0');
    return { key: `${DEMO_PREFIX}key-${n}`, value: `value-${n}` };
  });
}

/** Writes the keys through the first member that answers; resolves with the revision after the last one. */
export async function writeDemoKeys(etcd: EtcdGateway, count: number): Promise<number> {
  let revision = 0;
  for (const { key, value } of demoKeys(count)) {
    const { value: answer } = await etcd.firstAnswer(`put ${key}`, (client) => client.put(key).value(value).exec());
    revision = Number(answer.header.revision);
  }
  return revision;
}

/** One voter's copy. */
export interface MemberCopy {
  name: string;
  endpoint: string;
  keys: number;
  hash: string;
}

/** What the check found. */
export interface KeyCheck {
  expected: number;
  revision: number;
  members: MemberCopy[];
}

/** True when every voter holds every key and all hash alike. */
export function keyCheckPassed(check: KeyCheck): boolean {
  return check.members.length > 0 && check.members.every((m) => m.keys === check.expected && m.hash === check.members[0]?.hash);
}

/** The check as one sentence. */
export function describeKeyCheck(check: KeyCheck): string {
  const counts = check.members.map((m) => `${m.name} ${m.keys}/${check.expected}`).join(', ');
  const hashes = new Set(check.members.map((m) => m.hash));
  const hashText =
    hashes.size === 1 ? `same HashKV ${[...hashes][0] ?? '?'} at revision ${check.revision} on all ${check.members.length}` : `HashKV differs at revision ${check.revision}: ${check.members.map((m) => `${m.name} ${m.hash}`).join(', ')}`;
  return `keys under ${DEMO_PREFIX}: ${counts}; ${hashText}`;
}

/** Counts the keys on every voter and compares their HashKV at the lowest revision they all have. */
export async function checkDemoKeys(etcd: EtcdGateway, expected: number, timeoutMs: number): Promise<KeyCheck> {
  const { members } = await etcd.memberList();
  const voters = members.filter((m) => !m.isLearner);
  const copies = await Promise.all(
    voters.map(async (m) => {
      const endpoint = m.clientURLs[0];
      if (endpoint === undefined) throw new Error(`member ${m.name || m.id} has no client URL`);
      const keys = await withTimeout(etcd.client(endpoint).getAll().prefix(DEMO_PREFIX).serializable(true).count(), timeoutMs, `count of ${DEMO_PREFIX} at ${endpoint}`);
      return { name: m.name || m.id, endpoint, keys, revision: await etcd.revision(endpoint) };
    }),
  );
  const revision = Math.min(...copies.map((c) => c.revision));
  const hashed = await Promise.all(copies.map(async (c) => ({ name: c.name, endpoint: c.endpoint, keys: c.keys, hash: (await etcd.hashKv(c.endpoint, revision)).hash })));
  return { expected, revision, members: hashed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}
