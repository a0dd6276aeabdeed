import { WorkflowNotFoundError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { withTimeout } from '../../../src/errors';
import type { MemberStatusReport } from '../../../src/sandbox';
import type { MonitorStatus } from '../../../workflows/monitor';
import type { GuardianHarness } from './guardian';
import type { QuorumSample } from './invariants';
import { finished, type Invariants } from './migration';
import { until } from './wait';

/**
 * The game-day suites' shared part: the monitor of the sandbox cluster, what the cluster's own member list says, the
 * wait for a healthy cluster after a scenario, and the audit every scenario ends with.
 */

/** One member as etcd lists it. */
export interface ListedMember {
  name: string;
  id: string;
  isLearner: boolean;
  clientURLs: string[];
}

/**
 * The member list as the first endpoint that answers gives it. `linearizable: false` lets a member that has lost
 * quorum answer with the membership it knows, which is what "membership unchanged during a quorum loss" needs.
 */
export async function memberList(endpoints: readonly string[], linearizable: boolean): Promise<ListedMember[]> {
  const errors: string[] = [];
  for (const url of endpoints) {
    const c = new Etcd3({ hosts: [url], dialTimeout: 1000, faultHandling: { host: () => noop, global: noop } });
    try {
      const list = await withTimeout(c.cluster.memberList({ linearizable }), 2000, `member list of ${url}`);
      return list.members.map((m) => ({ name: m.name, id: m.ID, isLearner: m.isLearner, clientURLs: m.clientURLs }));
    } catch (error) {
      errors.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      c.close();
    }
  }
  throw new Error(`no member answered a member list: ${errors.join('; ')}`);
}

/** One put through the cluster, as an application would make it; resolves once acknowledged. */
export async function putOnce(endpoints: readonly string[], key: string, value: string): Promise<void> {
  const c = new Etcd3({ hosts: [...endpoints], dialTimeout: 2000 });
  try {
    await withTimeout(c.put(key).value(value).exec(), 5000, `put ${key}`);
  } finally {
    c.close();
  }
}

/** The monitor of the sandbox cluster `main` and the waits a game-day scenario needs, for a cluster of `size` members. */
export class GameDay {
  constructor(
    private readonly h: GuardianHarness,
    readonly monitor: WorkflowHandleWithFirstExecutionRunId,
    readonly size: number,
  ) {}

  /** Starts the monitor workflow of `main` at `intervalMs` and waits for a healthy cluster. */
  static async start(h: GuardianHarness, options: { size: number; intervalMs: number; workflowId: string }): Promise<GameDay> {
    const monitor = await h.client.workflow.start('monitorCluster', {
      workflowId: options.workflowId,
      taskQueue: h.config.temporal.taskQueue,
      args: [{ cluster: 'main', intervalMs: options.intervalMs, continueAsNewEvery: 100 }],
    });
    const day = new GameDay(h, monitor, options.size);
    await day.healthyAgain(Date.now());
    return day;
  }

  async status(): Promise<MonitorStatus> {
    return this.monitor.query<MonitorStatus>('status');
  }

  /** The run id of the latest migrate-main, or undefined when none ever ran. */
  async latestMigrationRun(): Promise<string | undefined> {
    try {
      return (await this.h.client.workflow.getHandle('migrate-main').describe()).runId;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /** The next migration after `previousRun`, once it has run to its end. */
  async migrationAfter(previousRun: string | undefined, timeoutMs = 180_000): Promise<{ handle: WorkflowHandle; outcome: Awaited<ReturnType<typeof finished>> }> {
    const runId = await until(
      'the monitor to start a migration',
      async () => {
        const current = await this.latestMigrationRun();
        return current !== undefined && current !== previousRun ? current : undefined;
      },
      { timeoutMs },
    );
    const handle = this.h.client.workflow.getHandle('migrate-main', runId);
    return { handle, outcome: await finished(handle) };
  }

  /**
   * A voter that leads and one that does not, as the monitor saw them in a cycle that knew a leader. One cycle may
   * know none on a loaded machine without anything being wrong (the worker runs in this process: while the last
   * scenario's audit reads every key on every member, a cycle's calls can miss their 500 ms deadline, and it sees
   * every member unreachable); the monitor never acts on one sample, and the scenario waits for the next.
   */
  async roles(timeoutMs = 30_000): Promise<{ status: MonitorStatus; leader: string; follower: string }> {
    let last: MonitorStatus | undefined;
    try {
      return await until(
        'a monitor cycle that knows a leader and a follower',
        async () => {
          const status = await this.status();
          last = status;
          const leader = status.assessment?.leader?.name;
          const follower = status.members.find((m) => !m.isLearner && m.name !== leader)?.name;
          return leader !== undefined && follower !== undefined ? { status, leader, follower } : undefined;
        },
        { timeoutMs, everyMs: 500 },
      );
    } catch (error) {
      throw new Error(`no leader or follower in ${JSON.stringify(last?.members)} (last cycle ${last?.lastCycleAt ?? 'none'}): ${(error as Error).message}`, { cause: error });
    }
  }

  /** The node of `member` in `status`, or an error naming the members. */
  static nodeOf(status: MonitorStatus, member: string): string {
    const m = status.members.find((x) => x.name === member);
    if (!m?.node) throw new Error(`member ${member} has no node in the monitor's status: ${JSON.stringify(status.members)}`);
    return m.node;
  }

  /**
   * `size` healthy voters and no learner, as a monitor cycle after `since` saw them, no migration running, and every
   * member pod healthy on its node with none left terminating.
   */
  async healthyAgain(since: number, timeoutMs = 240_000): Promise<MonitorStatus> {
    let last: MonitorStatus | undefined;
    let lastPods = '';
    try {
      return await until(
        'the cluster to be healthy again',
        async () => {
          const s = await this.status();
          last = s;
          if (s.lastCycleAt === undefined || Date.parse(s.lastCycleAt) <= since) return undefined;
          const pods = await this.h.sandbox.status();
          lastPods = pods.members.map((m) => `${m.name}@${m.node}${m.terminating ? '(terminating)' : ''}${m.healthy ? '' : '(unhealthy)'}`).join(' ');
          const ok =
            s.health === 'healthy' &&
            s.assessment?.quorum.voters === this.size &&
            s.assessment.quorum.healthyVoters === this.size &&
            s.members.length === this.size &&
            s.members.every((m) => !m.isLearner) &&
            s.migration.inFlight === undefined &&
            pods.members.length === this.size &&
            pods.members.every((m) => m.healthy && !m.terminating);
          return ok ? s : undefined;
        },
        { timeoutMs, everyMs: 500 },
      );
    } catch (error) {
      const findings = JSON.stringify(last?.assessment?.findings.map((f) => `${f.kind}(${f.member ?? ''}) ${f.samples}${f.confirmed ? ' confirmed' : ''}`));
      throw new Error(`${(error as Error).message}; last status: ${last?.health} ${last?.decision?.summary ?? ''} ${findings}; pods: ${lastPods}`, { cause: error });
    }
  }

  /** Heals what a scenario left faulty; a pod the migration deleted is gone, and with it its fault. */
  async healAll(targets: readonly string[]): Promise<void> {
    const faults = (await this.h.sandbox.status()).faults;
    for (const target of targets) {
      if ((faults[target] ?? []).length > 0) await this.h.sandbox.heal(target);
    }
  }
}

/** What the audit at the end of a scenario found, with a one-line summary for the report. */
export interface ScenarioAudit {
  summary: string;
}

/**
 * The invariants every scenario ends with: every acknowledged key readable, one HashKV on every member, no sample
 * below quorum unless losing quorum is the scenario, `size` voters and no learner in etcd's own member list, and
 * members spread over racks as evenly as `racks` allows (distinct racks when there are enough).
 */
/** Samples with a slow answer, and the slowest, for the figures: a stall shows even when nothing went down. */
function slowSummary(samples: readonly QuorumSample[]): string {
  const answers = samples.flatMap((s) => s.slow ?? []);
  const slowest = answers.reduce<{ member: string; ms: number } | undefined>((worst, a) => (worst === undefined || a.ms > worst.ms ? a : worst), undefined);
  return slowest ? `, samples with a slow answer ${samples.length} (slowest: ${slowest.member} in ${slowest.ms} ms)` : '';
}

export async function expectInvariantsHeld(checks: Invariants, options: { size: number; racks: number; quorumLoss?: boolean }): Promise<ScenarioAudit> {
  const audit = await checks.audit();
  const listed = await memberList(checks.sampler.endpointsSeen(), true);
  const failureKinds = [...new Set(audit.failedWrites.map((f) => f.replace(/^[^:]*: /, '').slice(0, 80)))].slice(0, 3);
  const latencies = checks.writer.latenciesMs;
  const summary =
    `writes ${checks.writer.acked.length} acked / ${audit.failedWrites.length} failed${failureKinds.length > 0 ? ` ${JSON.stringify(failureKinds)}` : ''}` +
    `${latencies.length > 0 ? `, latency p50 ${quantile(latencies, 0.5)} ms p99 ${quantile(latencies, 0.99)} ms` : ''}; ` +
    `below-quorum samples ${audit.belowQuorum}/${checks.sampler.samples.length}` +
    slowSummary(checks.sampler.slowSamples());
  expect(audit.missing).toEqual([]);
  expect(Object.keys(audit.hashes)).toHaveLength(options.size);
  expect(new Set(Object.values(audit.hashes)).size).toBe(1);
  // On failure, the samples themselves: when, who did not answer, and why.
  const below = checks.sampler.belowQuorum();
  if (options.quorumLoss === true) expect(below.length).toBeGreaterThan(0);
  else expect(below).toEqual([]);
  expect(listed.filter((m) => !m.isLearner)).toHaveLength(options.size);
  expect(listed.filter((m) => m.isLearner)).toEqual([]);
  expect(audit.racks).toHaveLength(options.size);
  const perRack = new Map<string, number>();
  for (const rack of audit.racks) perRack.set(rack, (perRack.get(rack) ?? 0) + 1);
  expect(Math.max(...perRack.values())).toBeLessThanOrEqual(Math.ceil(options.size / Math.min(options.racks, options.size)));
  return { summary };
}

/** The q-quantile (nearest rank) of the values, or NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Waits, without a monitor, for `size` member pods, each healthy and none terminating, and a linearizable member
 * list of `size` voters and no learner; resolves with the pods.
 */
export async function settled(h: GuardianHarness, size = 3): Promise<MemberStatusReport[]> {
  return until(
    `a settled cluster (${size} healthy member pods, ${size} voters, no learner)`,
    async () => {
      const pods = (await h.sandbox.status()).members;
      if (pods.length !== size || !pods.every((m) => m.healthy && !m.terminating)) return undefined;
      const listed = await memberList(pods.map((m) => m.clientUrl), true).catch(() => []);
      return listed.length === size && listed.every((m) => !m.isLearner) ? pods : undefined;
    },
    { timeoutMs: 240_000, everyMs: 500 },
  );
}
