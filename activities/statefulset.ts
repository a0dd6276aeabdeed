import { log } from '@temporalio/activity';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { isNodeReady } from '../src/domain/nodes';
import { nextOrdinalAction } from '../src/domain/stateful-ordinal';
import type { ClusterObservation } from '../src/domain/observation';
import { classifyWorkload } from '../src/domain/workload';
import { errorText } from '../src/errors';
import { localVolume, VOLUME_CLUSTER_LABEL, VOLUME_MEMBER_LABEL, volumeNode } from '../src/kube/local-volume';
import { describeCluster, observeForChange } from './observe';
import { effectsOf, heartbeating, waitFor } from './effects';
import { MigrationRefusedError, NotReadyYetError, TargetLostError } from './errors';
import { withFailureTypes } from './failures';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/**
 * The steps that move a StatefulSet's member (the contract in README "What the guardian supports"): the guardian
 * never creates the pod; it reserves a local PersistentVolume for the ordinal's claim on the chosen node, deletes
 * the claim and the pod, and the StatefulSet controller recreates both: the claim binds to the reserved volume and
 * the scheduler places the pod on its node. Each step is idempotent: a repeat finds its result in place.
 */

/** What a StatefulSet step acts on: the ordinal's pod and claim, and the controller that owns them. */
export interface OrdinalInput {
  cluster: string;
  statefulSet: string;
  podName: string;
  claimName: string;
}

/**
 * The volume reserved for an incarnation of an ordinal on a node. The member id is in the name: a node may host the
 * ordinal again later, and the directory an earlier incarnation left there (a deleted local volume keeps its files)
 * must never be picked up, or etcd would start as the removed member.
 */
export function reservedVolumeName(podName: string, node: string, memberId: string): string {
  const ordinal = /-(\d+)$/.exec(podName)?.[1] ?? podName;
  const set = podName.replace(/-\d+$/, '');
  return `${set}-data-${ordinal}-${node}-${memberId.slice(-6)}`.slice(0, 253);
}

/** A volume some claim is bound to (its claimRef carries that claim's uid, or the API says Bound). */
function isBound(volume: V1PersistentVolume): boolean {
  return volume.status?.phase === 'Bound' || (volume.spec?.claimRef?.uid !== undefined && volume.status?.phase !== 'Released' && volume.status?.phase !== 'Failed');
}

/** The volume for an ordinal on a node, sized and shaped as the ordinal's claim asks when it exists. */
export function reservedVolume(params: { name: string; cluster: string; namespace: string; podName: string; node: string; claim?: V1PersistentVolumeClaim; claimName: string }): V1PersistentVolume {
  const spec = params.claim?.spec;
  return localVolume({
    name: params.name,
    cluster: params.cluster,
    namespace: params.namespace,
    podName: params.podName,
    node: params.node,
    claimName: params.claimName,
    ...(spec?.resources?.requests?.['storage'] ? { storage: spec.resources.requests['storage'] } : {}),
    ...(spec?.accessModes ? { accessModes: spec.accessModes } : {}),
    ...(spec?.volumeMode ? { volumeMode: spec.volumeMode } : {}),
    ...(spec?.storageClassName ? { storageClassName: spec.storageClassName } : {}),
  });
}

/** Refuse a pod the configured StatefulSet does not own: the guardian deletes only that controller's pods. */
function refuseForeign(pod: V1Pod, statefulSet: string): void {
  const workload = classifyWorkload({ annotations: pod.metadata?.annotations ?? {}, ownerReferences: pod.metadata?.ownerReferences ?? [] });
  if (workload.kind === 'controller-owned' && workload.ownerKind === 'StatefulSet' && workload.ownerName === statefulSet) return;
  const is = workload.kind === 'controller-owned' ? `owned by ${workload.ownerKind} ${workload.ownerName}` : workload.kind === 'static' ? `a static pod (${workload.evidence})` : 'a bare pod';
  throw new MigrationRefusedError('CONTROLLER_OWNED', `will not delete pod ${pod.metadata?.name ?? '?'}: it is ${is}, not a pod of StatefulSet ${statefulSet} (clusters[].workload)`);
}

/** The voter a pod runs, if any: the pod of a voter is never deleted. */
function voterOn(observation: ClusterObservation, pod: V1Pod) {
  return observation.members.find((m) => !m.isLearner && m.podName === pod.metadata?.name && m.nodeName === pod.spec?.nodeName);
}

/** The volumes the guardian or the sandbox made for an ordinal. */
function ordinalVolumes(runtime: ClusterRuntime, podName: string): Promise<V1PersistentVolume[]> {
  return runtime.kube.listVolumes(`${VOLUME_CLUSTER_LABEL}=${runtime.name},${VOLUME_MEMBER_LABEL}=${podName}`);
}

/** The activities of a StatefulSet member's move. */
export function createStatefulSetActivities(deps: ActivityDeps) {
  const effects = effectsOf(deps);
  const observe = (runtime: ClusterRuntime): Promise<ClusterObservation> => observeForChange(runtime, deps.now);

  return withFailureTypes({
    /**
     * Create the volume reserved for the ordinal's claim on the chosen node (named after the learner, see
     * reservedVolumeName); an unbound volume left for the same claim by an earlier attempt elsewhere is deleted
     * first, so that the claim can bind to this one only.
     */
    async reserveVolume(input: OrdinalInput & { nodeName: string; memberId: string }): Promise<{ volume: string; created: boolean }> {
      const runtime = runtimeOf(deps, input.cluster);
      const name = reservedVolumeName(input.podName, input.nodeName, input.memberId);
      const fields = { step: 'schedule-pod', cluster: input.cluster, pod: input.podName, node: input.nodeName, volume: name };
      for (const stale of await ordinalVolumes(runtime, input.podName)) {
        const staleName = stale.metadata?.name ?? '';
        if (staleName === name || isBound(stale) || stale.status?.phase === 'Released') continue;
        if (stale.spec?.claimRef?.name !== input.claimName) continue;
        log.info(`schedule-pod: deleting volume ${staleName} on ${volumeNode(stale) ?? '?'}, reserved for ${input.claimName} by an earlier attempt and never bound`, fields);
        await runtime.kube.deleteVolume(staleName, stale.metadata?.uid);
      }
      const existing = await runtime.kube.getVolume(name);
      if (existing) {
        if (volumeNode(existing) !== input.nodeName) throw new MigrationRefusedError('POD_CONFLICT', `volume ${name} exists on node ${volumeNode(existing) ?? '?'}, not on ${input.nodeName}`);
        return { volume: name, created: false };
      }
      const claim = await runtime.kube.getClaim(runtime.namespace, input.claimName);
      await runtime.kube.createVolume(reservedVolume({ name, cluster: runtime.name, namespace: runtime.namespace, podName: input.podName, node: input.nodeName, claimName: input.claimName, ...(claim ? { claim } : {}) }));
      log.info(`schedule-pod: volume ${name} reserved for claim ${input.claimName} on ${input.nodeName}`, fields);
      return { volume: name, created: true };
    },

    /**
     * Make the StatefulSet recreate the ordinal's pod on the reserved volume's node: delete the claim while it is
     * bound to another volume (that very claim: a uid precondition), and the pod while it runs elsewhere (grace 0
     * when its node is not Ready: no kubelet is left to finish), then wait until the controller's new pod is bound to
     * the node with its claim on the volume, and running. Never deletes the pod of a voter, nor a claim already on
     * the reserved volume. Fails over to the next node (TargetLostError) when that node turns unready or the pod is
     * not placed in time.
     */
    async recreateStatefulPod(input: OrdinalInput & { nodeName: string; volume: string }): Promise<{ podUid: string; claimsDeleted: number; podsDeleted: number }> {
      const runtime = runtimeOf(deps, input.cluster);
      const fields = { step: 'schedule-pod', cluster: input.cluster, pod: input.podName, node: input.nodeName, volume: input.volume };
      let claimsDeleted = 0;
      let podsDeleted = 0;
      let last = 'nothing seen yet';
      const nodeReady = async (name: string | undefined): Promise<boolean> => {
        const node = (await runtime.kube.listNodes(runtime.topology)).find((n) => n.name === name);
        return node !== undefined && isNodeReady(node);
      };
      const before = await runtime.kube.getPod(runtime.namespace, input.podName);
      const budgetMs = Math.min(100_000, ((before?.spec?.terminationGracePeriodSeconds ?? 30) + 60) * 1000);
      const step = async (): Promise<{ podUid: string } | undefined> => {
        if (!(await nodeReady(input.nodeName))) throw new TargetLostError(`node ${input.nodeName} of the new member is not ready`);
        const claim = await runtime.kube.getClaim(runtime.namespace, input.claimName);
        const pod = await runtime.kube.getPod(runtime.namespace, input.podName);
        if (pod) refuseForeign(pod, input.statefulSet);
        const deletingSince = pod?.metadata?.deletionTimestamp ? new Date(pod.metadata.deletionTimestamp) : undefined;
        const { deleteClaim, deletePod, force, forceReason, placed } = nextOrdinalAction({
          ...(pod
            ? { pod: { uid: pod.metadata?.uid, nodeName: pod.spec?.nodeName, deletingSince, phase: pod.status?.phase, nodeReady: await nodeReady(pod.spec?.nodeName) } }
            : {}),
          ...(claim ? { claim: { uid: claim.metadata?.uid, volumeName: claim.spec?.volumeName, deleting: Boolean(claim.metadata?.deletionTimestamp) } } : {}),
          targetNode: input.nodeName,
          volume: input.volume,
          now: deps.now(),
        });
        if (pod && (deleteClaim || deletePod)) {
          // Afresh, right before acting: the pod of a voter is never deleted, nor its claim.
          const observation = await observe(runtime);
          const voter = voterOn(observation, pod);
          if (voter) throw new MigrationRefusedError('VOTER_POD', `will not delete pod ${input.podName} on ${pod.spec?.nodeName ?? '?'}: it runs ${voter.name || voter.id} (${voter.id}), still a voter of ${input.cluster}; ${describeCluster(observation)}`);
        }
        if (deleteClaim && claim?.metadata?.uid) {
          log.info(`schedule-pod: deleting claim ${input.claimName}, bound to volume ${claim.spec?.volumeName ?? '?'}`, fields);
          if (await runtime.kube.deleteClaim(runtime.namespace, input.claimName, claim.metadata.uid)) claimsDeleted++;
        }
        if (deletePod && pod?.metadata?.uid) {
          log.info(`schedule-pod: deleting pod ${input.podName} on ${pod.spec?.nodeName ?? '(not scheduled)'}${forceReason ? ` at once (${forceReason})` : ''}`, { ...fields, forced: force });
          if (await runtime.kube.deletePod(runtime.namespace, input.podName, force ? 0 : undefined, pod.metadata.uid)) podsDeleted++;
        }
        last = pod
          ? `pod ${input.podName} ${pod.metadata?.deletionTimestamp ? 'terminating' : (pod.status?.phase ?? 'Pending')} on ${pod.spec?.nodeName ?? '(no node yet)'}, claim ${claim ? `${claim.metadata?.deletionTimestamp ? 'terminating' : (claim.status?.phase ?? 'Pending')} on ${claim.spec?.volumeName ?? '(no volume yet)'}` : 'absent'}`
          : `pod ${input.podName} absent, claim ${claim ? (claim.spec?.volumeName ?? 'unbound') : 'absent'}`;
        return placed && pod?.metadata?.uid ? { podUid: pod.metadata.uid } : undefined;
      };
      return heartbeating(effects, `recreate ${input.podName}`, (async () => {
        try {
          const done = await waitFor(deps, `StatefulSet ${input.statefulSet} to recreate pod ${input.podName} on ${input.nodeName}`, budgetMs, step);
          log.info(`schedule-pod: StatefulSet ${input.statefulSet} recreated pod ${input.podName} on ${input.nodeName}, claim ${input.claimName} on volume ${input.volume}`, fields);
          return { ...done, claimsDeleted, podsDeleted };
        } catch (error) {
          if (error instanceof NotReadyYetError) throw new TargetLostError(`pod ${input.podName} was not recreated on ${input.nodeName} in ${Math.round(budgetMs / 1000)} s: ${last} (${errorText(error)})`);
          throw error;
        }
      })());
    },

    /**
     * Compensation of reserveVolume: delete the volumes reserved for the ordinal on that node that no claim bound.
     * One a claim is bound to stays (its pod may run there); the next attempt deletes that claim, and
     * releaseVolumes the volume once it is Released.
     */
    async releaseReservedVolume(input: OrdinalInput & { nodeName: string }): Promise<{ deleted: string[] }> {
      const runtime = runtimeOf(deps, input.cluster);
      const deleted: string[] = [];
      for (const volume of await ordinalVolumes(runtime, input.podName)) {
        if (volumeNode(volume) !== input.nodeName || isBound(volume) || volume.status?.phase === 'Released') continue;
        if (await runtime.kube.deleteVolume(volume.metadata?.name ?? '', volume.metadata?.uid)) deleted.push(volume.metadata?.name ?? '');
      }
      log.info(`compensation: volumes reserved for ${input.podName} on ${input.nodeName}: ${deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'none left unbound'}`, { step: 'compensation', cluster: input.cluster, pod: input.podName, node: input.nodeName });
      return { deleted };
    },

    /**
     * Delete the volumes the moved ordinals left behind: every volume made for the ordinal that is not the one its
     * claim is bound to now, and that no claim holds (Released: a removed member's data; Available: a reservation
     * nobody used). Read afresh: a volume bound again is never deleted.
     */
    async releaseVolumes(input: { cluster: string; statefulSet: string; claims: { podName: string; claimName: string }[] }): Promise<{ deleted: string[]; kept: string[] }> {
      const runtime = runtimeOf(deps, input.cluster);
      const deleted: string[] = [];
      const kept: string[] = [];
      for (const { podName, claimName } of input.claims) {
        const claim = await runtime.kube.getClaim(runtime.namespace, claimName);
        const current = claim?.spec?.volumeName;
        if (!current) throw new NotReadyYetError(`claim ${claimName} is ${claim ? 'not bound yet' : 'absent'}: the volumes of ${podName} stay until it is bound`);
        for (const volume of await ordinalVolumes(runtime, podName)) {
          const name = volume.metadata?.name ?? '';
          if (name === current || isBound(volume)) {
            kept.push(name);
            continue;
          }
          if (await runtime.kube.deleteVolume(name, volume.metadata?.uid)) deleted.push(name);
        }
      }
      log.info(`release-volumes: ${deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'nothing to delete'}; in use: ${kept.join(', ') || 'none'}`, { step: 'release-volumes', cluster: input.cluster, deleted, kept });
      return { deleted, kept };
    },
  });
}

/** The StatefulSet activities, for `proxyActivities` in workflow code. */
export type StatefulSetActivities = ReturnType<typeof createStatefulSetActivities>;
