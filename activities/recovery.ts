import { log } from '@temporalio/activity';
import { RECOVERY_SEED_ANNOTATION, seedPod } from '../src/kube/member-pod';
import { clientURLFor } from '../src/domain/membership';
import { memberLabel } from '../src/domain/risk';
import type { BackupMeta } from '../src/domain/backups';
import { planRecovery, type RecoveryPlan, type RecoverySource, type SurvivorFigures } from '../src/domain/recovery';
import { errorText } from '../src/errors';
import { effectsOf, heartbeating, waitFor } from './effects';
import { NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, observeCluster } from './observe';
import { runtimeOf, type ActivityDeps } from './runtime';
import { storeOf } from './stored-backups';

/** A recovery refused before anything was touched: quorum holds, or there is nothing to recover from. */
export class RecoveryRefusedError extends Error {
  readonly retryable = false;
  constructor(
    readonly code: 'QUORUM_HELD' | 'NO_SOURCE' | 'RECOVERY_UNSUPPORTED',
    message: string,
  ) {
    super(message);
    this.name = 'RecoveryRefusedError';
  }
}

/** A member pod the recovery stops before the seed starts alone. */
export interface OtherPod {
  member: string;
  podName: string;
  /** It did not answer: its pod is deleted at once (its node may be gone). */
  memberDown: boolean;
}

/** What planClusterRecovery answers: the plan, the pods involved, and how approval works for this cluster. */
export interface RecoveryAssessment {
  plan: RecoveryPlan;
  /** The seed's pod (a survivor plan), on its node. */
  seedPod?: { podName: string; nodeName?: string; endpoint: string };
  otherPods: OtherPod[];
  desiredVoters: number;
  approval: { autoApprove: boolean; timeoutMs: number };
  /** What the cluster looked like, in a line. */
  observed: string;
}

/** How long a seed has to come up as a one-member cluster with a leader. */
const SEED_START_MS = 120_000;

/** The activities of a quorum-loss recovery. */
export function createRecoveryActivities(deps: ActivityDeps) {
  return withFailureTypes({
    /**
     * Look at every member (a member without quorum still answers its status and serializable reads), list the
     * backups, and decide where the cluster comes back from. Read-only; refused (for good) while a majority of the
     * voters answers or with nothing to recover from.
     */
    async planClusterRecovery({ cluster, from }: { cluster: string; from: RecoverySource }): Promise<RecoveryAssessment> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observeCluster(runtime, deps.now);
      const voters = observation.members.filter((m) => !m.isLearner);
      // A stand-in (no member list without quorum) has no client URL: its pod's address gives it.
      const pods = new Map((await runtime.kube.listPods(runtime.namespace, runtime.podSelector)).map((p) => [p.name, p]));
      const endpointOf = (m: (typeof voters)[number]): string | undefined => {
        if (m.clientURLs[0] !== undefined) return m.clientURLs[0];
        const pod = m.podName !== undefined ? pods.get(m.podName) : undefined;
        if (!pod || pod.terminating || (runtime.addressing.mode === 'host-network' && !pod.hostIP)) return undefined;
        return clientURLFor({ podName: pod.name, ...(pod.hostIP ? { nodeIP: pod.hostIP } : {}) }, runtime.addressing, runtime.clientPort, runtime.scheme);
      };
      // Each member asked directly: without quorum no member list can be read, and the observation's members are
      // stand-ins for the pods whose status says only that.
      const statuses = new Map(
        await Promise.all(
          voters.map(async (m) => {
            const endpoint = endpointOf(m);
            return [m, endpoint === undefined ? undefined : await runtime.etcd.endpointStatus(endpoint)] as const;
          }),
        ),
      );
      const figures: SurvivorFigures[] = await Promise.all(
        voters.map(async (m) => {
          const endpoint = endpointOf(m);
          const status = statuses.get(m);
          const base = { member: memberLabel(m), id: status?.memberId ?? m.id, ...(m.nodeName ? { node: m.nodeName } : {}) };
          if (endpoint === undefined || status === undefined || !status.reachable || status.raftAppliedIndex === undefined) {
            return { ...base, answered: false, error: status?.error ?? 'no client URL' };
          }
          try {
            const revision = await runtime.etcd.localRevision(endpoint);
            return { ...base, answered: true, appliedIndex: status.raftAppliedIndex, revision };
          } catch (error) {
            return { ...base, answered: false, error: `its status answers but a local read does not: ${errorText(error)}` };
          }
        }),
      );
      let backups: BackupMeta[] = [];
      try {
        backups = await storeOf(runtime).list(cluster);
      } catch (error) {
        log.warn(`recovery: the backups of ${cluster} cannot be listed: ${errorText(error)}`, { cluster });
      }
      // A majority that answers is an election in progress, not a lost quorum: never recover over it.
      const answering = figures.filter((f) => f.answered).length;
      const decision = planRecovery({ cluster, from, voters: voters.length, healthyVoters: answering, members: figures, backups, nowMs: deps.now().getTime() });
      if (!decision.ok) throw new RecoveryRefusedError(decision.code, decision.reason);
      const plan = decision.plan;
      if (plan.source === 'backup') {
        throw new RecoveryRefusedError(
          'RECOVERY_UNSUPPORTED',
          `cluster ${cluster} can only come back from backup ${plan.backup.name} (${plan.window.summary}), and this guardian restores from a survivor only: restore it by hand with etcdutl snapshot restore (README "Backups")`,
        );
      }
      const seed = voters.find((m) => memberLabel(m) === plan.seed.member);
      const endpoint = seed ? endpointOf(seed) : undefined;
      if (!seed?.podName || endpoint === undefined) throw new RecoveryRefusedError('NO_SOURCE', `survivor ${plan.seed.member} has no pod to restart: ${describeCluster(observation)}`);
      const otherPods = voters
        .filter((m) => m !== seed && m.podName !== undefined)
        .map((m) => ({ member: memberLabel(m), podName: m.podName ?? '', memberDown: statuses.get(m)?.reachable !== true }));
      // Learners' pods go too: they belong to the membership the seed forgets.
      for (const learner of observation.members.filter((m) => m.isLearner && m.podName !== undefined)) {
        otherPods.push({ member: memberLabel(learner), podName: learner.podName ?? '', memberDown: !learner.status.reachable });
      }
      const recovery = runtime.recovery ?? { autoApprove: false, approvalTimeout: 3_600_000 };
      return {
        plan,
        seedPod: { podName: seed.podName, ...(seed.nodeName ? { nodeName: seed.nodeName } : {}), endpoint },
        otherPods,
        desiredVoters: runtime.policy.desiredVoters,
        approval: { autoApprove: recovery.autoApprove, timeoutMs: recovery.approvalTimeout },
        observed: describeCluster(observation),
      };
    },

    /**
     * (Re)start the seed's pod on its node with its own data: `forceNewCluster` true makes etcd rewrite the membership
     * to the seed alone; false is the plain restart after it. Waits until the seed is the leader of a one-member
     * cluster. A retry finds the pod already in the asked state and only waits.
     */
    async restartSeed({ cluster, podName, endpoint, forceNewCluster }: { cluster: string; podName: string; endpoint: string; forceNewCluster: boolean }): Promise<{ restarted: boolean; memberId: string }> {
      const runtime = runtimeOf(deps, cluster);
      const effects = effectsOf(deps);
      const want = forceNewCluster ? 'force-new-cluster' : 'restarted';
      return heartbeating(effects, `restart seed ${podName} (${want})`, (async () => {
        const pod = await runtime.kube.getPod(runtime.namespace, podName);
        if (!pod) throw new NotReadyYetError(`the seed's pod ${podName} is gone; it is recreated from its own spec only while it exists`);
        let restarted = false;
        if (pod.metadata?.annotations?.[RECOVERY_SEED_ANNOTATION] !== want || pod.metadata.deletionTimestamp) {
          const next = seedPod(pod, forceNewCluster);
          if (!pod.metadata?.deletionTimestamp) await runtime.kube.deletePod(runtime.namespace, podName, 10, pod.metadata?.uid);
          await waitFor(deps, `the seed's old pod ${podName} to go`, 60_000, async () => ((await runtime.kube.getPod(runtime.namespace, podName)) === undefined ? true : undefined), 500);
          await runtime.kube.createPod(runtime.namespace, next);
          restarted = true;
          log.info(`recovery: seed ${podName} restarted${forceNewCluster ? ' with --force-new-cluster' : ' without --force-new-cluster'}`, { cluster, pod: podName, forceNewCluster });
        }
        const memberId = await waitFor(
          deps,
          `seed ${podName} to lead a one-member cluster`,
          SEED_START_MS,
          async () => {
            try {
              const { members } = await runtime.etcd.memberList([endpoint]);
              const status = await runtime.etcd.endpointStatus(endpoint);
              const only = members.length === 1 ? members[0] : undefined;
              return only !== undefined && status.reachable && status.memberId === only.id && status.leaderId === only.id ? only.id : undefined;
            } catch {
              return undefined;
            }
          },
          500,
        );
        return { restarted, memberId };
      })());
    },

    /**
     * Delete the pod of a member the seed leaves behind, so that it never comes back into the lost membership. Without
     * quorum no member list can be read, so this is not the migration's guarded deletion: a member that does not
     * answer (its node may be gone, no kubelet to confirm) is deleted at once with no grace; one that answers gets a
     * few seconds to stop. Waits until the API no longer has the pod.
     */
    async stopMemberPod({ cluster, podName, memberDown }: { cluster: string; podName: string; memberDown: boolean }): Promise<{ deleted: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      return heartbeating(effectsOf(deps), `stop ${podName}`, (async () => {
        const pod = await runtime.kube.getPod(runtime.namespace, podName);
        if (!pod) return { deleted: false };
        await runtime.kube.deletePod(runtime.namespace, podName, memberDown ? 0 : 5, pod.metadata?.uid);
        await waitFor(deps, `pod ${podName} to go`, 60_000, async () => ((await runtime.kube.getPod(runtime.namespace, podName))?.metadata?.uid === pod.metadata?.uid ? undefined : true), 500);
        log.info(`recovery: pod ${podName} deleted${memberDown ? ' at once (its member does not answer)' : ''}`, { cluster, pod: podName });
        return { deleted: true };
      })());
    },

    /** Write one key through the seed and read it back linearizably: the cluster takes writes again. */
    async proveWritable({ cluster, endpoint, key }: { cluster: string; endpoint: string; key: string }): Promise<{ revision: number }> {
      const runtime = runtimeOf(deps, cluster);
      const { revision } = await runtime.etcd.put(key, new Date(deps.now().getTime()).toISOString(), [endpoint]);
      const read = await runtime.etcd.revision(endpoint);
      if (read < revision) throw new NotReadyYetError(`the seed answered revision ${read} after a write at ${revision}`);
      log.info(`recovery: ${cluster} accepts writes again (revision ${revision})`, { cluster, revision });
      return { revision };
    },
  });
}

/** The recovery's activities, for `proxyActivities<RecoveryActivities>()` in workflow code. */
export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
