import { log } from '@temporalio/activity';
import { buildMaintenancePlan, defragBlocker, stillFull, type MaintenanceMode, type MaintenancePlan, type MaintenanceRefusal } from '../src/domain/maintenance';
import type { ClusterObservation, MemberObservation } from '../src/domain/observation';
import { isMemberHealthy, knownLeader } from '../src/domain/quorum';
import { memberLabel as label } from '../src/domain/risk';
import { DEFAULT_SPACE_POLICY, formatBytes, memberQuotaBytes } from '../src/domain/space';
import { EtcdRequestError } from '../src/etcd/errors';
import { effectsOf, heartbeating, waitFor } from './effects';
import { MaintenanceStoppedError, MembershipUnknownError, MigrationRefusedError, NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, healthyEndpoints, observeForChange, readRaft } from './observe';
import { approvalOf, runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/** What the workflow asks `prepareMaintenance` for. */
export interface PrepareMaintenanceInput {
  cluster: string;
  mode: MaintenanceMode | 'auto';
  members?: string[];
  all?: boolean;
  reason?: string;
}

/** One member's defragmentation, as the history records it. */
export interface DefragResult {
  member: string;
  /** The member left the cluster before its turn: nothing was done. */
  gone?: boolean;
  beforeBytes?: number;
  afterBytes?: number;
  inUseBytes?: number;
  defragMs?: number;
  /** From the end of the defragmentation to the member answering and caught up. */
  catchUpMs?: number;
}

/** The key the write probe puts (etcd-guardian's own prefix, as the revision read uses). */
export const WRITE_PROBE_KEY = 'etcd-guardian/write-probe';

/** A refused maintenance plan's failure type; the request's own faults are INVALID_INPUT. */
const REFUSAL_TYPES: Record<MaintenanceRefusal['code'], MigrationRefusedError['code'] | 'MAINTENANCE_STOPPED' | 'NOT_READY_YET'> = {
  'alarms-unknown': 'NOT_READY_YET',
  'unknown-member': 'INVALID_INPUT',
  'no-alarm': 'INVALID_INPUT',
  'nothing-to-do': 'NOTHING_TO_MAINTAIN',
  'membership-unknown': 'MAINTENANCE_STOPPED',
  'quorum-lost': 'MAINTENANCE_STOPPED',
  'no-leader': 'MAINTENANCE_STOPPED',
  'voter-unhealthy': 'MAINTENANCE_STOPPED',
  'no-fault-tolerance': 'MAINTENANCE_STOPPED',
};

/** Refusals that one more look may lift: a status call that failed once, an election under way. */
const TRANSIENT: ReadonlySet<MaintenanceRefusal['code']> = new Set(['membership-unknown', 'alarms-unknown', 'quorum-lost', 'no-leader', 'voter-unhealthy']);

/** How long a physical compaction may take (the step's own class allows 120 s). */
const COMPACT_TIMEOUT_MS = 60_000;

/** Looks a refusal gets before it stands: a member that missed one status call is not down. */
const LOOKS = 3;

/**
 * The maintenance's steps. Each is idempotent: a compaction already done, a member already defragmented, an alarm
 * already disarmed are all fine to repeat. Each acts on a fresh observation read through the leader.
 */
export function createMaintenanceActivities(deps: ActivityDeps) {
  const observe = (runtime: ClusterRuntime): Promise<ClusterObservation> => observeForChange(runtime, deps.now);
  const effects = effectsOf(deps);

  /**
   * Observe and judge, looking again (up to LOOKS times, 1 s apart) while the verdict is one a second look may lift:
   * a member that missed one status call is not down.
   */
  async function judged<T>(runtime: ClusterRuntime, judge: (obs: ClusterObservation) => T, mayLift: (verdict: T) => boolean): Promise<{ obs: ClusterObservation; verdict: T }> {
    let obs = await observe(runtime);
    let verdict = judge(obs);
    for (let look = 2; look <= LOOKS && mayLift(verdict); look++) {
      await effects.sleep(1000);
      obs = await observe(runtime);
      verdict = judge(obs);
    }
    return { obs, verdict };
  }

  async function leaderEndpoint(runtime: ClusterRuntime): Promise<{ obs: ClusterObservation; endpoint: string; leader: MemberObservation }> {
    const obs = await observe(runtime);
    if (obs.membershipUnknown !== undefined) throw new MembershipUnknownError(`cannot read the members of ${runtime.name}: ${obs.membershipUnknown}`);
    const leader = knownLeader(obs.members);
    const endpoint = leader?.clientURLs[0];
    if (!leader || !endpoint) throw new NotReadyYetError(`${runtime.name} has no leader; ${describeCluster(obs)}`);
    return { obs, endpoint, leader };
  }

  return withFailureTypes({
    /** Observe, and plan the maintenance the request asks for; a refusal says why before any side effect. */
    async prepareMaintenance(input: PrepareMaintenanceInput): Promise<MaintenancePlan> {
      const runtime = runtimeOf(deps, input.cluster);
      const request = {
        mode: input.mode,
        ...(input.members && input.members.length > 0 ? { members: input.members } : {}),
        ...(input.all ? { all: true } : {}),
        ...(input.reason ? { reason: input.reason } : {}),
      };
      const { obs: observation, verdict: built } = await judged(
        runtime,
        (obs) => buildMaintenancePlan(obs, runtime.policy, request, deps.now()),
        (b) => 'refusal' in b && TRANSIENT.has(b.refusal.code),
      );
      if ('refusal' in built) {
        const code = REFUSAL_TYPES[built.refusal.code];
        const message = `${built.refusal.message}; ${describeCluster(observation)}`;
        if (code === 'NOT_READY_YET') throw new NotReadyYetError(message);
        throw code === 'MAINTENANCE_STOPPED' ? new MaintenanceStoppedError(message) : new MigrationRefusedError(code, message);
      }
      const { plan } = built;
      log.info(`plan: ${plan.mode} ${input.cluster}: ${plan.reasons.join('; ')}`, { step: 'plan', cluster: input.cluster, maintenance: plan.mode, steps: plan.steps.map((s) => s.step) });
      return {
        ...plan,
        ...(runtime.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: runtime.endpointTimeoutMs } : {}),
        ...approvalOf(runtime, { operation: 'maintenance', steps: plan.steps }),
      };
    },

    /** Compact history up to the current revision, physically. A revision already compacted is done. */
    async compactCluster({ cluster, timeoutMs }: { cluster: string; timeoutMs?: number }): Promise<{ revision: number; alreadyCompacted: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const { endpoint } = await leaderEndpoint(runtime);
      const revision = await runtime.etcd.revision(endpoint);
      try {
        // A physical compaction of a long history takes seconds, far past a cluster's per-call deadline: a deadline
        // that cut it short would have the retry compact to a newer revision while the first still runs.
        await heartbeating(effects, `compact ${cluster}`, runtime.etcd.compact(revision, [endpoint], timeoutMs ?? COMPACT_TIMEOUT_MS));
      } catch (error) {
        if (error instanceof EtcdRequestError && error.code === 'ETCD_OUT_OF_RANGE' && /compacted/.test(error.message)) {
          log.info(`compact: ${cluster} is already compacted at revision ${revision}`, { step: 'compact', cluster, revision });
          return { revision, alreadyCompacted: true };
        }
        throw error;
      }
      log.info(`compact: ${cluster} compacted up to revision ${revision}`, { step: 'compact', cluster, revision });
      return { revision, alreadyCompacted: false };
    },

    /**
     * Defragment one member, guarded (every voter healthy, quorum kept without it), then wait until it answers, knows
     * the leader and has applied what the leader had committed when it came back.
     */
    async defragmentMember({ cluster, memberId, budgetMs }: { cluster: string; memberId: string; budgetMs: number }): Promise<DefragResult> {
      const runtime = runtimeOf(deps, cluster);
      const { obs, verdict } = await judged(
        runtime,
        (o) => {
          const member = o.membershipUnknown === undefined ? o.members.find((m) => m.id === memberId) : undefined;
          return { member, blocker: member ? defragBlocker(o, member) : undefined };
        },
        (v) => v.blocker !== undefined,
      );
      if (obs.membershipUnknown !== undefined) throw new MembershipUnknownError(`cannot read the members of ${cluster}: ${obs.membershipUnknown}`);
      const { member, blocker } = verdict;
      if (!member) {
        log.info(`defragment: ${memberId} is no longer a member of ${cluster}: nothing to do`, { step: 'defragment', cluster, memberId });
        return { member: memberId, gone: true };
      }
      if (blocker) throw new MaintenanceStoppedError(`maintenance of ${cluster} stopped before defragmenting ${label(member)}: ${blocker}; ${describeCluster(obs)}`);
      const name = label(member);
      const endpoint = member.clientURLs[0];
      if (!endpoint) throw new NotReadyYetError(`${name} has no client URL yet`);
      const beforeBytes = member.status.dbSizeBytes;
      log.info(`defragment: ${name} (${beforeBytes !== undefined ? formatBytes(beforeBytes) : 'size unknown'})`, { step: 'defragment', cluster, member: name, beforeBytes });
      const started = deps.now().getTime();
      await heartbeating(effects, `defragment ${name}`, runtime.etcd.defragment(endpoint, budgetMs));
      const defragMs = deps.now().getTime() - started;
      // Caught up: it answers, knows a leader, and has applied what the leader had committed once it answered again.
      let target: number | undefined;
      const after = await waitFor(deps, `${name} to catch up after its defragmentation`, budgetMs, async () => {
        const raft = await readRaft(runtime, deps.now);
        const me = raft.members.find((m) => m.id === memberId);
        const leader = knownLeader(raft.members);
        if (!me || !leader || !isMemberHealthy(me)) return undefined;
        target ??= leader.status.raftIndex ?? 0;
        return (me.status.raftAppliedIndex ?? me.status.raftIndex ?? 0) >= target ? me : undefined;
      }, 250);
      const result: DefragResult = {
        member: name,
        ...(beforeBytes !== undefined ? { beforeBytes } : {}),
        ...(after.status.dbSizeBytes !== undefined ? { afterBytes: after.status.dbSizeBytes } : {}),
        ...(after.status.dbSizeInUseBytes !== undefined ? { inUseBytes: after.status.dbSizeInUseBytes } : {}),
        defragMs,
        catchUpMs: deps.now().getTime() - started - defragMs,
      };
      log.info(`defragment: ${name} ${beforeBytes !== undefined ? formatBytes(beforeBytes) : '?'} -> ${result.afterBytes !== undefined ? formatBytes(result.afterBytes) : '?'} in ${defragMs} ms, caught up ${result.catchUpMs ?? 0} ms later`, { step: 'defragment', cluster, ...result });
      return result;
    },

    /**
     * Disarm every NOSPACE alarm, once every member's database is below `belowRatio` of its quota (else etcd raises it
     * again at the next write, and the data itself needs a person: a larger quota or fewer keys).
     */
    async disarmNospace({ cluster, belowRatio }: { cluster: string; belowRatio: number }): Promise<{ disarmed: string[] }> {
      const runtime = runtimeOf(deps, cluster);
      const { obs, endpoint } = await leaderEndpoint(runtime);
      const space = runtime.policy.space ?? DEFAULT_SPACE_POLICY;
      const full = stillFull(obs, space, belowRatio);
      if (full.length > 0) {
        throw new MigrationRefusedError(
          'STILL_FULL',
          `NOSPACE stays armed on ${cluster}: after compaction and defragmentation ${full
            .map((m) => `${label(m)} holds ${formatBytes(m.status.dbSizeBytes ?? 0)} of its ${formatBytes(memberQuotaBytes(m, space))} quota (${formatBytes(m.status.dbSizeInUseBytes ?? 0)} in use)`)
            .join(', ')}, at or above ${Math.round(belowRatio * 100)}%: the data itself fills the quota; raise --quota-backend-bytes or delete keys, then run etcd-guardian maintain ${cluster}`,
        );
      }
      const alarms = (await runtime.etcd.alarms([endpoint])).filter((a) => a.alarm === 'NOSPACE');
      const names: string[] = [];
      for (const alarm of alarms) {
        await runtime.etcd.disarmAlarm(alarm.memberId, 'NOSPACE', healthyEndpoints(obs));
        const member = obs.members.find((m) => m.id === alarm.memberId);
        names.push(member ? label(member) : alarm.memberId);
      }
      log.info(`disarm-alarm: ${names.length > 0 ? `NOSPACE disarmed for ${names.join(', ')}` : 'no NOSPACE alarm left'} on ${cluster}`, { step: 'disarm-alarm', cluster, disarmed: names });
      return { disarmed: names };
    },

    /** Write the probe key through the cluster: writes are accepted. */
    async verifyWrite({ cluster }: { cluster: string }): Promise<{ revision: number; key: string }> {
      const runtime = runtimeOf(deps, cluster);
      const obs = await observe(runtime);
      const { revision } = await runtime.etcd.put(WRITE_PROBE_KEY, deps.now().toISOString(), healthyEndpoints(obs));
      log.info(`verify-write: ${cluster} accepted a write at revision ${revision}`, { step: 'verify-write', cluster, revision });
      return { revision, key: WRITE_PROBE_KEY };
    },
  });
}

/** The maintenance's activity functions, for `proxyActivities<MaintenanceActivities>()` in workflow code. */
export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
