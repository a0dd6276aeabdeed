import { log } from '@temporalio/activity';
import type { V1Pod } from '@kubernetes/client-node';
import { RECOVERY_SEED_ANNOTATION, RESTORE_ENV, RESTORE_FAILED_EXIT, restoredSeedPod, seedPod } from '../src/kube/member-pod';
import { clientURLFor, peerURLFor } from '../src/domain/membership';
import { nextMemberName } from '../src/domain/naming';
import type { ClusterObservation } from '../src/domain/observation';
import { choosePlacement, restorePlacementRequest } from '../src/domain/placement';
import { classifyWorkload, unmovableReason } from '../src/domain/workload';
import { memberLabel } from '../src/domain/risk';
import type { BackupMeta } from '../src/domain/backups';
import { planRecovery, type RecoveryPlan, type RecoverySource, type SurvivorFigures } from '../src/domain/recovery';
import { errorText } from '../src/errors';
import { effectsOf, heartbeating, waitFor } from './effects';
import { NotReadyYetError } from './errors';
import { withFailureTypes } from './failures';
import { describeCluster, observeCluster } from './observe';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';
import { storeOf } from './stored-backups';

/** A recovery refused before anything was touched: quorum holds, or there is nothing to recover from. */
export class RecoveryRefusedError extends Error {
  readonly retryable = false;
  constructor(
    readonly code: 'QUORUM_HELD' | 'NO_SOURCE' | 'RECOVERY_UNSUPPORTED' | 'POD_CONFLICT' | 'RESTORE_FAILED',
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
  /** The seed's pod (a survivor's own, or the new member a backup is restored into), on its node. */
  seedPod?: SeedPod;
  /** From a backup: the seed's pod as it will be created (the snapshot's URL is added when it is) and the new token. */
  restore?: RestorePlan;
  otherPods: OtherPod[];
  desiredVoters: number;
  approval: { autoApprove: boolean; timeoutMs: number };
  /** What the cluster looked like, in a line. */
  observed: string;
}

/** Where the seed runs, and its pod as a plain restart makes it: recreated from this if a retry finds the pod gone. */
export interface SeedPod {
  podName: string;
  nodeName?: string;
  endpoint: string;
  manifest?: V1Pod;
}

/** A backup restore's seed: a new member on a healthy node, its pod made from a member's pod. */
export interface RestorePlan {
  pod: V1Pod;
  backup: string;
  sha256: string;
  /** The revision the backup holds: the restored seed serves at least it. */
  revision: number;
  token: string;
  /** Where it goes, and why. */
  node: string;
  nodeReason: string;
}

/** How long a seed has to come up as a one-member cluster with a leader. */
const SEED_START_MS = 120_000;
/** How long the snapshot's URL handed to the seed's pod stays valid. */
const RESTORE_URL_SECONDS = 3600;

/**
 * Where a backup is restored: a new member (a name never used in this cluster) on a healthy node that holds no pod of
 * the lost membership, its pod copied from one of the cluster's own bare pods. Static pods and controller-owned pods
 * are not restored by the guardian: their owner makes them, not a copy.
 */
async function restoredSeedPlan(runtime: ClusterRuntime, observation: ClusterObservation, podNames: readonly string[], backup: BackupMeta, nowMs: number): Promise<{ seedPod: SeedPod; restore: RestorePlan }> {
  const objects = await runtime.kube.listPodObjects(runtime.namespace, runtime.podSelector);
  const workloadOf = (p: V1Pod) => classifyWorkload({ annotations: p.metadata?.annotations ?? {}, ownerReferences: p.metadata?.ownerReferences ?? [] });
  const template = objects.find((p) => !p.metadata?.deletionTimestamp && workloadOf(p).kind === 'movable') ?? objects.find((p) => workloadOf(p).kind === 'movable');
  if (!template) {
    const first = objects[0];
    const why = first ? unmovableReason(first.metadata?.name ?? '?', workloadOf(first)) : `no pod of cluster ${observation.cluster} is left to copy the spec from`;
    throw new RecoveryRefusedError('RECOVERY_UNSUPPORTED', `cluster ${observation.cluster} can only come back from backup ${backup.name}, and the guardian restores only into bare pods it can copy: ${why ?? 'no bare pod'}; restore it by hand with etcdutl snapshot restore (README "Recovery from lost quorum")`);
  }
  const placement = choosePlacement(restorePlacementRequest(observation, runtime.policy));
  if (!placement.chosen) throw new RecoveryRefusedError('NO_SOURCE', `backup ${backup.name} has no healthy node to be restored on: ${placement.summary}`);
  const node = placement.chosen.node;
  const name = nextMemberName(runtime.policy.memberNamePrefix, [...observation.members.map((m) => m.name), ...podNames]);
  const address = observation.nodes.find((n) => n.name === node)?.internalIP;
  const target = { podName: name, ...(address ? { nodeIP: address } : {}) };
  const peerURL = peerURLFor(target, runtime.addressing, runtime.peerPort, runtime.scheme);
  const endpoint = clientURLFor(target, runtime.addressing, runtime.clientPort, runtime.scheme);
  const token = `${observation.cluster}-restored-${nowMs.toString(36)}`;
  const templateAddress = template.spec?.hostNetwork ? template.status?.hostIP : undefined;
  const pod = restoredSeedPod(template, {
    oldMemberName: template.metadata?.name ?? '',
    newMemberName: name,
    nodeName: node,
    initialCluster: `${name}=${peerURL}`,
    ...(runtime.memberLabel ? { memberLabel: runtime.memberLabel } : {}),
    ...(templateAddress ? { oldAddress: templateAddress } : {}),
    ...(runtime.addressing.mode === 'host-network' && address ? { newAddress: address } : {}),
    token,
    peerURL,
    // The snapshot's URL is made when the pod is: a presigned URL must not expire while a person decides.
    backup: { name: backup.name, sha256: backup.sha256, source: '' },
  });
  return {
    seedPod: { podName: name, nodeName: node, endpoint, manifest: seedPod(pod, false) },
    restore: { pod, backup: backup.name, sha256: backup.sha256, revision: backup.revision, token, node, nodeReason: placement.chosen.reason },
  };
}

/** The seed leads a one-member cluster: its member id; undefined while it does not (yet). */
async function leadsAlone(runtime: ClusterRuntime, endpoint: string): Promise<string | undefined> {
  try {
    const { members } = await runtime.etcd.memberList([endpoint]);
    const status = await runtime.etcd.endpointStatus(endpoint);
    const only = members.length === 1 ? members[0] : undefined;
    return only !== undefined && status.reachable && status.memberId === only.id && status.leaderId === only.id ? only.id : undefined;
  } catch {
    return undefined;
  }
}

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
      const refusedBackups: { name: string; reason: string }[] = [];
      const recovery = runtime.recovery ?? { autoApprove: false, approvalTimeout: 3_600_000 };
      const approval = { autoApprove: recovery.autoApprove, timeoutMs: recovery.approvalTimeout };
      const decide = (): RecoveryPlan => {
        const decision = planRecovery({ cluster, from, voters: voters.length, healthyVoters: answering, members: figures, backups, refusedBackups, nowMs: deps.now().getTime() });
        if (!decision.ok) throw new RecoveryRefusedError(decision.code, decision.reason);
        return decision.plan;
      };
      let plan = decide();
      // The bytes restored must be the bytes the drill proved: each candidate is read through before it is proposed.
      while (plan.source === 'backup') {
        const read = await storeOf(runtime).checksum(cluster, plan.backup.name);
        if (read.sha256 === plan.backup.sha256 && read.bytes === plan.backup.bytes) break;
        refusedBackups.push({ name: plan.backup.name, reason: `its snapshot reads ${read.bytes} bytes with sha256 ${read.sha256}, its record says ${plan.backup.bytes} bytes with ${plan.backup.sha256}` });
        log.warn(`recovery: backup ${plan.backup.name} of ${cluster} is damaged in the store; it is never restored`, { cluster, backup: plan.backup.name });
        plan = decide();
      }
      if (plan.source === 'backup') {
        // No member's data is kept: every pod of the cluster goes, at once unless its member still answers (the
        // operator chose the backup over a survivor).
        const otherPods = [...pods.values()].map((p) => {
          const member = voters.find((m) => m.podName === p.name);
          const answered = member !== undefined && figures[voters.indexOf(member)]?.answered === true;
          return { member: member ? memberLabel(member) : p.name, podName: p.name, memberDown: !answered };
        });
        const seed = await restoredSeedPlan(runtime, observation, [...pods.keys()], plan.backup, deps.now().getTime());
        return { plan, seedPod: seed.seedPod, restore: seed.restore, otherPods, desiredVoters: runtime.policy.desiredVoters, approval, observed: describeCluster(observation) };
      }
      const survivorPlan = plan;
      const seed = voters.find((m) => memberLabel(m) === survivorPlan.seed.member);
      const endpoint = seed ? endpointOf(seed) : undefined;
      if (!seed?.podName || endpoint === undefined) throw new RecoveryRefusedError('NO_SOURCE', `survivor ${survivorPlan.seed.member} has no pod to restart: ${describeCluster(observation)}`);
      const otherPods = voters
        .filter((m) => m !== seed && m.podName !== undefined)
        .map((m) => ({ member: memberLabel(m), podName: m.podName ?? '', memberDown: statuses.get(m)?.reachable !== true }));
      // Learners' pods go too: they belong to the membership the seed forgets.
      for (const learner of observation.members.filter((m) => m.isLearner && m.podName !== undefined)) {
        otherPods.push({ member: memberLabel(learner), podName: learner.podName ?? '', memberDown: !learner.status.reachable });
      }
      // Its pod as it is now: the restart recreates it from this if a retry finds it deleted and gone.
      const survivorPod = await runtime.kube.getPod(runtime.namespace, seed.podName);
      return {
        plan,
        seedPod: { podName: seed.podName, ...(seed.nodeName ? { nodeName: seed.nodeName } : {}), endpoint, ...(survivorPod ? { manifest: seedPod(survivorPod, false) } : {}) },
        otherPods,
        desiredVoters: runtime.policy.desiredVoters,
        approval,
        observed: describeCluster(observation),
      };
    },

    /**
     * (Re)start the seed's pod on its node with its own data: `forceNewCluster` true makes etcd rewrite the membership
     * to the seed alone; false is the plain restart after it. Waits until the seed is the leader of a one-member
     * cluster. A retry finds the pod already in the asked state and only waits.
     */
    async restartSeed({ cluster, podName, endpoint, forceNewCluster, manifest }: { cluster: string; podName: string; endpoint: string; forceNewCluster: boolean; manifest?: V1Pod }): Promise<{ restarted: boolean; memberId: string }> {
      const runtime = runtimeOf(deps, cluster);
      const effects = effectsOf(deps);
      const want = forceNewCluster ? 'force-new-cluster' : 'restarted';
      return heartbeating(effects, `restart seed ${podName} (${want})`, (async () => {
        const pod = await runtime.kube.getPod(runtime.namespace, podName);
        let restarted = false;
        if (!pod) {
          // Deleted by an earlier attempt whose answer was lost: made again from the plan's copy of it.
          if (!manifest) throw new NotReadyYetError(`the seed's pod ${podName} is gone and the plan holds no copy of it to make it again`);
          await runtime.kube.createPod(runtime.namespace, seedPod(manifest, forceNewCluster));
          restarted = true;
          log.info(`recovery: seed ${podName} made again from the plan's copy (its pod was gone)${forceNewCluster ? ' with --force-new-cluster' : ''}`, { cluster, pod: podName, forceNewCluster });
        } else if (pod.metadata?.annotations?.[RECOVERY_SEED_ANNOTATION] !== want || pod.metadata.deletionTimestamp) {
          const next = seedPod(pod, forceNewCluster);
          if (!pod.metadata?.deletionTimestamp) await runtime.kube.deletePod(runtime.namespace, podName, 10, pod.metadata?.uid);
          await waitFor(deps, `the seed's old pod ${podName} to go`, 60_000, async () => ((await runtime.kube.getPod(runtime.namespace, podName)) === undefined ? true : undefined), 500);
          await runtime.kube.createPod(runtime.namespace, next);
          restarted = true;
          log.info(`recovery: seed ${podName} restarted${forceNewCluster ? ' with --force-new-cluster' : ' without --force-new-cluster'}`, { cluster, pod: podName, forceNewCluster });
        }
        const memberId = await waitFor(deps, `seed ${podName} to lead a one-member cluster`, SEED_START_MS, () => leadsAlone(runtime, endpoint), 500);
        return { restarted, memberId };
      })());
    },

    /**
     * Create the restore's seed pod (with a fresh URL of the snapshot, checked again against its sha256 in the pod)
     * and wait until it leads a one-member cluster serving at least the backup's revision. A retry finds the pod and
     * only waits; a pod whose restore script failed (exit 66: not fetched, damaged, not restorable) fails the step.
     */
    async restoreSeed({ cluster, restore, endpoint }: { cluster: string; restore: RestorePlan; endpoint: string }): Promise<{ created: boolean; memberId: string; revision: number }> {
      const runtime = runtimeOf(deps, cluster);
      const podName = restore.pod.metadata?.name ?? '';
      return heartbeating(effectsOf(deps), `restore ${restore.backup} into ${podName}`, (async () => {
        const existing = await runtime.kube.getPod(runtime.namespace, podName);
        if (existing && existing.spec?.nodeName !== restore.node) {
          throw new RecoveryRefusedError('POD_CONFLICT', `pod ${podName} already exists on node ${existing.spec?.nodeName ?? '?'}, not on ${restore.node}; nothing was restored: start the recovery again`);
        }
        let created = false;
        if (!existing) {
          const source = await storeOf(runtime).sourceFor(cluster, restore.backup, RESTORE_URL_SECONDS);
          const pod = structuredClone(restore.pod);
          const container = pod.spec?.containers[0];
          for (const env of container?.env ?? []) if (env.name === RESTORE_ENV.source) env.value = source;
          await runtime.kube.createPod(runtime.namespace, pod);
          created = true;
          log.info(`recovery: pod ${podName} created on ${restore.node} to restore backup ${restore.backup}`, { cluster, pod: podName, node: restore.node, backup: restore.backup });
        }
        const memberId = await waitFor(deps, `seed ${podName} to restore ${restore.backup} and lead a one-member cluster`, SEED_START_MS, async () => {
          const pod = await runtime.kube.getPod(runtime.namespace, podName);
          const status = pod?.status?.containerStatuses?.[0];
          const exit = status?.state?.terminated?.exitCode ?? status?.lastState?.terminated?.exitCode;
          if (exit === RESTORE_FAILED_EXIT) {
            throw new RecoveryRefusedError('RESTORE_FAILED', `pod ${podName} on ${restore.node} could not restore backup ${restore.backup} (its restore script exited ${RESTORE_FAILED_EXIT}; its log says why): the backup is not fetched, damaged or not restorable`);
          }
          return leadsAlone(runtime, endpoint);
        }, 500);
        const revision = await runtime.etcd.localRevision(endpoint);
        if (revision < restore.revision) {
          throw new RecoveryRefusedError('RESTORE_FAILED', `pod ${podName} serves revision ${revision}, below the ${restore.revision} backup ${restore.backup} holds: it did not start from the backup`);
        }
        log.info(`recovery: ${podName} restored backup ${restore.backup} (revision ${revision}) and leads a one-member cluster`, { cluster, pod: podName, backup: restore.backup, revision });
        return { created, memberId, revision };
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
