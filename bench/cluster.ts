import type { MemberStatusReport } from '../src/sandbox';
import type { GuardianHarness } from '../test/integration/harness/guardian';
import { aFollower, finished, roles } from '../test/integration/harness/migration';
import { startMigration } from '../src/cli/migrate-command';
import { stepTotals } from './stats';

/** The sandbox cluster as the benchmarks need it between runs: a follower to move, a migration by hand. */

/** A follower's pod (name, pod, node, client URL), as the sandbox reports it. */
export async function followerPod(h: GuardianHarness): Promise<MemberStatusReport> {
  const name = await aFollower(h);
  const pod = (await h.sandbox.status()).members.find((m) => m.name === name);
  if (!pod) throw new Error(`follower ${name} has no pod in the sandbox`);
  return pod;
}

/** What one migration took: its window (workflow start to close) and each step's time. */
export interface Migrated {
  member: string;
  strategy: string;
  from: number;
  to: number;
  steps: Record<string, number>;
  /** The snapshot the migration reports as its backup. */
  backup?: { bytes: number; revision: number };
}

/** Moves a follower (or the leader) by hand with `strategy`, as `etcd-guardian migrate` would, and waits for the verified quorum. */
export async function migrateFollower(h: GuardianHarness, strategy: 'replace' | 'surge', role: 'follower' | 'leader' = 'follower'): Promise<Migrated> {
  const member = role === 'leader' ? (await roles(h)).leader : (await followerPod(h)).name;
  const handle = await startMigration(h.client, h.config.temporal.taskQueue, { cluster: 'main', member, strategy, reason: `benchmark: ${strategy}` });
  const { result, from, to } = await finished(handle);
  const backup = result.backup ? { bytes: result.backup.bytes, revision: result.backup.revision } : undefined;
  return { member, strategy: result.strategy, from, to, steps: stepTotals(result.steps), ...(backup ? { backup } : {}) };
}
