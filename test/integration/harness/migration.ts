import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { Etcd3 } from 'etcd3';
import type { MigrationResult } from '../../../workflows/migrate';
import type { GuardianHarness } from './guardian';
import { hashKvOfEveryMember, missingKeys, QuorumSampler, Writer } from './invariants';
import { until } from './wait';

/** How a workflow failed: its cause's type and message; throws when it succeeds or fails otherwise. */
export async function failureOf(promise: Promise<unknown>): Promise<{ type?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      const cause = error.cause as { type?: string; message: string } | undefined;
      return { ...(cause?.type ? { type: cause.type } : {}), message: cause?.message ?? error.message };
    }
    throw error;
  }
  throw new Error('expected the workflow to fail');
}

/** The migration workflow of the sandbox cluster, once it exists. */
export async function migrationHandle(client: Client, timeoutMs = 120_000): Promise<WorkflowHandle> {
  return until(
    'a migration to start',
    async () => {
      const handle = client.workflow.getHandle('migrate-main');
      try {
        await handle.describe();
        return handle;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
    },
    { timeoutMs },
  );
}

/** The writer, the sampler, and the audit every scenario ends with. */
export class Invariants {
  readonly writer: Writer;
  readonly sampler: QuorumSampler;

  /** `seeds`: where the writer and the sampler first look for the members (default: the sandbox's first members). */
  constructor(
    private readonly h: GuardianHarness,
    seeds: readonly string[] = h.sandbox.info.etcd.clientUrls,
  ) {
    this.writer = new Writer([...seeds]);
    this.sampler = new QuorumSampler([...seeds]);
  }

  /**
   * Invariants seeded with the members running now. After a few migrations none of the first members' addresses may
   * host a member any more, and a writer seeded with them alone never finds the cluster.
   */
  static async ofCurrentMembers(h: GuardianHarness): Promise<Invariants> {
    const running = (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.clientUrl);
    return new Invariants(h, running.length > 0 ? running : h.sandbox.info.etcd.clientUrls);
  }

  start(): void {
    this.writer.start(40);
    this.sampler.start(250);
  }

  /** Stop both, then audit: every acknowledged key readable, HashKV equal, members on distinct racks. */
  async audit(window?: { from: number; to: number }): Promise<{ missing: string[]; hashes: Record<string, string>; belowQuorum: number; racks: string[]; failedWrites: string[] }> {
    await this.writer.stop();
    await this.sampler.stop();
    const endpoints = [...new Set([...this.h.sandbox.info.etcd.clientUrls, ...this.sampler.endpointsSeen()])];
    const status = await this.h.sandbox.status();
    const live = status.members.filter((m) => !m.terminating);
    const during = window ? this.sampler.samples.filter((s) => s.at >= window.from && s.at <= window.to) : this.sampler.samples;
    return {
      missing: await missingKeys(endpoints, this.writer.acked),
      hashes: await hashKvOfEveryMember(endpoints),
      belowQuorum: during.filter((s) => s.healthyVoters < s.quorum).length,
      racks: live.map((m) => m.rack),
      failedWrites: this.writer.failures,
    };
  }
}

/** The result of a migration, and when it ran. */
export async function finished(handle: WorkflowHandle): Promise<{ result: MigrationResult; from: number; to: number }> {
  const result = (await handle.result()) as MigrationResult;
  const description = await handle.describe();
  return { result, from: description.startTime.getTime(), to: (description.closeTime ?? new Date()).getTime() };
}

/**
 * The client URLs of the members running now: the sandbox's first members may have been migrated away, and a
 * client given a dead member's URL may pick it and fail.
 */
export async function runningClientUrls(h: GuardianHarness): Promise<string[]> {
  const running = (await h.sandbox.status()).members.filter((m) => m.healthy && !m.terminating).map((m) => m.clientUrl);
  return running.length > 0 ? running : [...h.sandbox.info.etcd.clientUrls];
}

/** The leader and the other voters, by name, as etcd itself reports them. */
export async function roles(h: GuardianHarness): Promise<{ leader: string; followers: string[] }> {
  const c = new Etcd3({ hosts: await runningClientUrls(h) });
  try {
    const [status, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({ linearizable: true })]);
    const leader = list.members.find((m) => m.ID === status.leader)?.name;
    if (!leader) throw new Error(`no leader among ${list.members.map((m) => m.name).join(', ')}`);
    return { leader, followers: list.members.filter((m) => !m.isLearner && m.ID !== status.leader && m.name).map((m) => m.name) };
  } finally {
    c.close();
  }
}

/** A voter that does not lead, so that a migration of it has no move-leader step. */
export async function aFollower(h: GuardianHarness): Promise<string> {
  const [follower] = (await roles(h)).followers;
  if (!follower) throw new Error('no follower');
  return follower;
}

/**
 * Makes sure `member` does not lead, moving leadership to another voter if it does: a test that measures a follower's
 * migration must not also measure a leader transfer, during which etcd may drop a proposal a follower forwards.
 */
export async function notLeading(h: GuardianHarness, member: string): Promise<void> {
  const { leader, followers } = await roles(h);
  if (leader !== member) return;
  const c = new Etcd3({ hosts: [...h.sandbox.info.etcd.clientUrls] });
  try {
    const list = await c.cluster.memberList({ linearizable: true });
    const from = list.members.find((m) => m.name === leader);
    const to = list.members.find((m) => m.name === followers[0]);
    const url = from?.clientURLs[0];
    if (!from || !to || url === undefined) throw new Error(`cannot move leadership off ${member}: ${JSON.stringify(list.members.map((m) => m.name))}`);
    const direct = new Etcd3({ hosts: [url] });
    try {
      await direct.maintenance.moveLeader({ targetID: to.ID });
    } finally {
      direct.close();
    }
  } finally {
    c.close();
  }
  await until(`${member} to stop leading`, async () => ((await roles(h)).leader !== member ? true : undefined));
}
