import { log } from '@temporalio/activity';
import type { V1Pod } from '@kubernetes/client-node';
import { convergenceProblems, agreedLeaders, hashDisagreement } from '../src/domain/convergence';
import { leadershipMove } from '../src/domain/leadership';
import { initialClusterFor, peerURLFor, urlHost } from '../src/domain/membership';
import { isNodeReady } from '../src/domain/nodes';
import type { ClusterObservation, MemberObservation } from '../src/domain/observation';
import { choosePlacement, placeOn } from '../src/domain/placement';
import { manualTargetRefusal } from '../src/domain/placement-policy';
import { confirmSuccessorName } from '../src/domain/naming';
import { buildMigrationPlan, placementRequestFor, type MigrationPlan, type PlanRefusal } from '../src/domain/plan';
import type { StrategyPreference } from '../src/domain/policy';
import { successorBlocker } from '../src/domain/succession';
import { buildApprovedRemovalPlan, buildRepairPlan, type RepairPlan, type RepairRefusal } from '../src/domain/repair';
import { isMemberHealthy, knownLeader, learnerCaughtUp, projectChange, toVoterViews } from '../src/domain/quorum';
import { EtcdRequestError } from '../src/etcd/errors';
import { classifyWorkload, unmovableReason, type Workload } from '../src/domain/workload';
import { FRESH_DATA_DIR_ANNOTATION, successorPod } from '../src/kube/member-pod';
import { effectsOf, heartbeating, untilReady, waitFor } from './effects';
import { MembershipUnknownError, MigrationRefusedError, NotReadyYetError, PlanStaleError, QuorumGuardError, TargetLostError } from './errors';
import { publishClientEndpoints } from './endpoints';
import { withFailureTypes } from './failures';
import { describeCluster, healthyEndpoints, observeCluster, observeForChange, readRaft } from './observe';
import { approvalOf, runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/** What the workflow asks `prepareMigration` for. */
export interface PrepareInput {
  cluster: string;
  member: string;
  strategy: StrategyPreference;
  reason: string;
  targetNode?: string;
  excludedNodes?: Record<string, string>;
}

/** A member's successor as the migration knows it: enough to find and retire it whatever state it reached. */
export interface SuccessorRef {
  podName: string;
  peerURL: string;
  /** Known once add-learner answered; when its answer was lost, the member is found by its peer URL. */
  memberId?: string;
}

/** The node chosen for a successor, its member name and the peer URL it will have there. */
export interface ChosenNode {
  node: string;
  reason: string;
  address: string;
  memberName: string;
  peerURL: string;
}

/** What a migration started before "plan-is-the-program" sends: the node, not the peer URL. */
export interface LegacyAddLearnerInput {
  cluster: string;
  nodeName: string;
  podName: string;
}

/** The peer URL of a successor on a node, as migrations before "plan-is-the-program" computed it. */
function legacyPeerURL(runtime: ClusterRuntime, observation: ClusterObservation, input: LegacyAddLearnerInput): string {
  const address = observation.nodes.find((n) => n.name === input.nodeName)?.internalIP;
  return peerURLFor({ podName: input.podName, ...(address ? { nodeIP: address } : {}) }, runtime.addressing, runtime.peerPort, runtime.scheme);
}

/**
 * The member answers: seen healthy, or its own endpoint answers a status call asked now. A call that gets no answer
 * is asked once more: a member whose process the kubelet restarts comes back while the first waits out its deadline
 * (found by the simulation, seed 9895); a dead one fails both.
 */
async function answersNow(runtime: ClusterRuntime, member: MemberObservation): Promise<boolean> {
  if (isMemberHealthy(member)) return true;
  const endpoint = member.clientURLs[0];
  if (!endpoint) return false;
  for (let ask = 0; ask < 2; ask++) {
    const status = await runtime.etcd.endpointStatus(endpoint);
    if (status.reachable && status.leaderId !== undefined && status.leaderId !== '0') return true;
  }
  return false;
}

function memberById(obs: ClusterObservation, id: string): MemberObservation | undefined {
  return obs.members.find((m) => m.id === id);
}

/** Fail fast when the new member's pod or its node is gone or down, instead of waiting out the step's timeout. */
function assertTargetAlive(obs: ClusterObservation, podName: string): void {
  const pod = obs.pods.find((p) => p.name === podName);
  if (!pod) throw new TargetLostError(`pod ${podName} of the new member is gone`);
  const node = obs.nodes.find((n) => n.name === pod.nodeName);
  if (!node || !isNodeReady(node)) throw new TargetLostError(`node ${pod.nodeName ?? '?'} of the new member is not ready`);
  if (pod.startRefused !== undefined) throw new TargetLostError(`pod ${podName} of the new member will not start: ${pod.startRefused}`);
  if (pod.phase === 'Failed') throw new TargetLostError(`pod ${podName} of the new member failed`);
}

/** The failure type of a refused plan; a refusal not listed is the request's fault (INVALID_INPUT). */
const REFUSAL_TYPES: Partial<Record<PlanRefusal['code'], MigrationRefusedError['code']>> = {
  'quorum-guard': 'QUORUM_GUARD',
  'no-feasible-node': 'NO_FEASIBLE_NODE',
  'peer-down': 'PEER_DOWN',
  'static-pod': 'STATIC_POD',
  'controller-owned': 'CONTROLLER_OWNED',
  'workload-mismatch': 'WORKLOAD_MISMATCH',
};

/** The failure type of a refused repair; a refusal not listed is REPAIR_REFUSED. */
const REPAIR_REFUSAL_TYPES: Partial<Record<RepairRefusal['code'], MigrationRefusedError['code']>> = {
  'nothing-to-repair': 'NOTHING_TO_REPAIR',
  'quorum-guard': 'QUORUM_GUARD',
  'no-feasible-node': 'NO_FEASIBLE_NODE',
  'static-pod': 'STATIC_POD',
  'controller-owned': 'CONTROLLER_OWNED',
  'unknown-member': 'INVALID_INPUT',
};

/** How a pod object is deployed, read from the object itself (not from an observation that may be stale). */
function workloadOfPod(pod: V1Pod): Workload {
  return classifyWorkload({ annotations: pod.metadata?.annotations ?? {}, ownerReferences: pod.metadata?.ownerReferences ?? [] });
}

/** Refuse, before any side effect, to delete or copy a pod the guardian does not own: a static or controller-owned one. */
function refuseUnmovable(pod: V1Pod, action: string): void {
  const workload = workloadOfPod(pod);
  const reason = unmovableReason(pod.metadata?.name ?? '?', workload);
  if (reason === undefined || workload.kind === 'movable') return;
  throw new MigrationRefusedError(workload.kind === 'static' ? 'STATIC_POD' : 'CONTROLLER_OWNED', `will not ${action}: ${reason}`);
}

/**
 * The migration's steps. Each is idempotent (a repeat finds its result in place and returns it), each destructive
 * one reads the membership through the leader and checks the quorum projection right before acting, and none
 * takes "the member list failed" for "the member is absent".
 */
export function createMigrationActivities(deps: ActivityDeps) {
  const observe = (runtime: ClusterRuntime): Promise<ClusterObservation> => observeForChange(runtime, deps.now);
  const effects = effectsOf(deps);

  /** Remove a member through etcd; etcd's own NotFound means it is gone already. */
  async function removeThroughEtcd(runtime: ClusterRuntime, observation: ClusterObservation, memberId: string, fields: Record<string, unknown>): Promise<boolean> {
    try {
      await runtime.etcd.removeMember(memberId, healthyEndpoints(observation));
      return true;
    } catch (error) {
      if (error instanceof EtcdRequestError && error.code === 'ETCD_NOT_FOUND') {
        log.info(`etcd no longer knows ${memberId}: it is gone`, fields);
        return false;
      }
      throw error;
    }
  }

  return withFailureTypes({
    /** Validate the request against a fresh observation and build the plan; refuses with the field at fault. */
    async prepareMigration(input: PrepareInput): Promise<MigrationPlan> {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = await observe(runtime);
      // A node asked for by name must keep to the cluster's placement policy: a workflow input alone cannot put a
      // member on a node the config does not allow.
      const breach = manualTargetRefusal(input, observation.nodes, runtime.policy.placement, runtime.policy.tolerations);
      if (breach !== undefined) {
        log.warn(`plan: refused to migrate ${input.member} of ${input.cluster}: ${breach}`, { step: 'plan', cluster: input.cluster, member: input.member, code: 'PLACEMENT_POLICY' });
        throw new MigrationRefusedError('PLACEMENT_POLICY', breach);
      }
      const built = buildMigrationPlan({
        observation,
        member: input.member,
        strategy: input.strategy,
        policy: runtime.policy,
        now: deps.now(),
        reasons: [input.reason],
        ...(input.targetNode !== undefined ? { targetNode: input.targetNode } : {}),
        ...(input.excludedNodes ? { excludedNodes: input.excludedNodes } : {}),
      });
      if ('refusal' in built) {
        const { refusal } = built;
        const code = REFUSAL_TYPES[refusal.code] ?? 'INVALID_INPUT';
        log.warn(`plan: refused to migrate ${input.member} of ${input.cluster}: ${refusal.message}`, { step: 'plan', cluster: input.cluster, member: input.member, code });
        const runbook = refusal.runbook ? `\n${refusal.runbook.join('\n')}` : '';
        throw new MigrationRefusedError(code, `${refusal.message}${code === 'INVALID_INPUT' ? '' : `; ${describeCluster(observation)}`}${runbook}`);
      }
      const plan = {
        ...built.plan,
        ...(runtime.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: runtime.endpointTimeoutMs } : {}),
        ...approvalOf(runtime, { operation: 'migration', steps: built.plan.steps, ...(input.targetNode !== undefined ? { targetNode: input.targetNode } : {}) }),
      };
      log.info(`plan: ${plan.strategy} ${plan.member.name} from ${plan.member.nodeName ?? '?'} to ${plan.target.node}`, {
        step: 'plan',
        cluster: input.cluster,
        member: plan.member.name,
        memberId: plan.member.id,
        strategy: plan.strategy,
        ...(plan.member.nodeName ? { fromNode: plan.member.nodeName } : {}),
        toNode: plan.target.node,
        newMember: plan.newMemberName,
        steps: plan.steps.map((s) => s.step),
      });
      return plan;
    },

    /** The plan that brings the cluster back to its desired voters, from a fresh look; refuses with the reason. */
    async prepareRepair({ cluster, approveRemoval, approvedBy }: { cluster: string; approveRemoval?: string; approvedBy?: string }): Promise<RepairPlan> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const built =
        approveRemoval === undefined
          ? buildRepairPlan(observation, runtime.policy, deps.now())
          : buildApprovedRemovalPlan(observation, runtime.policy, { member: approveRemoval, approvedBy: approvedBy ?? 'unknown' }, deps.now());
      if ('refusal' in built) {
        const code = REPAIR_REFUSAL_TYPES[built.refusal.code] ?? 'REPAIR_REFUSED';
        throw new MigrationRefusedError(code, `${built.refusal.message}; ${describeCluster(observation)}`);
      }
      log.info(`plan: repair ${cluster} (${built.plan.kind}): ${built.plan.reasons.join('; ')}`, { step: 'plan', cluster, repair: built.plan.kind, steps: built.plan.steps.map((s) => s.step) });
      return {
        ...built.plan,
        ...(runtime.endpointTimeoutMs !== undefined ? { endpointTimeoutMs: runtime.endpointTimeoutMs } : {}),
        // An operator's own approved removal is already a person's decision.
        ...(approveRemoval === undefined ? approvalOf(runtime, { operation: 'repair', steps: built.plan.steps }) : {}),
      };
    },

    /** Hand leadership to the most caught-up healthy voter when `awayFrom` leads; a no-op otherwise. */
    async moveLeader({ cluster, awayFrom }: { cluster: string; awayFrom: string }): Promise<{ moved: boolean; leader: string }> {
      const runtime = runtimeOf(deps, cluster);
      const raft = await readRaft(runtime, deps.now);
      if (raft.membershipUnknown !== undefined) throw new MembershipUnknownError(`cannot tell who leads ${cluster}: ${raft.membershipUnknown}`);
      const move = leadershipMove(raft.members, awayFrom);
      if (move.kind === 'no-leader') throw new NotReadyYetError('no leader to move leadership from');
      if (move.kind === 'not-leader') return { moved: false, leader: move.leader.name || move.leader.id };
      const endpoint = move.from.clientURLs[0];
      if (move.kind === 'no-target' || !endpoint) throw new NotReadyYetError(`no healthy voter to take leadership from ${move.from.name}`);
      log.info(`move-leader: moving leadership of ${cluster} from ${move.from.name} to ${move.to.name}`, { step: 'move-leader', cluster, from: move.from.name, to: move.to.name });
      await runtime.etcd.moveLeader(endpoint, move.to.id);
      const after = await waitFor(deps, 'leadership to move', 15_000, async () => {
        const now = knownLeader((await readRaft(runtime, deps.now)).members);
        return now && now.id !== awayFrom ? now : undefined;
      });
      log.info(`move-leader: ${after.name || after.id} leads ${cluster}`, { step: 'move-leader', cluster, leader: after.name || after.id });
      return { moved: true, leader: after.name || after.id };
    },

    /**
     * Remove a member, after reading the membership through the leader and checking that the cluster keeps quorum
     * without it. Absent from a member list that succeeded (or etcd's NotFound): done. `onlyIfDown` leaves a member
     * that answers again where it is; `successorFollows` first checks that its successor can be added.
     */
    async removeMember({
      cluster,
      memberId,
      onlyIfDown,
      successorFollows,
      successorId,
      replanIfAnswers,
    }: {
      cluster: string;
      memberId: string;
      onlyIfDown?: boolean;
      successorFollows?: boolean;
      successorId?: string;
      replanIfAnswers?: boolean;
    }): Promise<{ removed: boolean; answers?: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const member = memberById(observation, memberId);
      if (!member) {
        log.info(`remove-member: ${memberId} is no longer a member of ${cluster}`, { step: 'remove-member', cluster, memberId });
        return { removed: false };
      }
      const fields = { step: 'remove-member', cluster, member: member.name, memberId, ...(member.nodeName ? { node: member.nodeName } : {}) };
      // Removed because it is down: one unanswered status call is not proof, so a member that looks down is asked
      // once more, directly, before it goes (found by the simulation, seed 8395).
      const answers = (onlyIfDown === true || replanIfAnswers === true) && (await answersNow(runtime, member));
      if (onlyIfDown === true && answers) {
        log.info(`remove-member: ${member.name || memberId} answers again, so it stays`, fields);
        return { removed: false, answers: true };
      }
      if (replanIfAnswers === true && answers) {
        throw new PlanStaleError(`${member.name || memberId} answers again: it was planned as down from one observation, so the migration is planned again before anything is removed`);
      }
      const verdict = projectChange(toVoterViews(observation.members), { kind: 'remove-member', memberId });
      if (!verdict.allowed) {
        log.warn(`remove-member: quorum guard refused to remove ${member.name || memberId}: ${verdict.reason}`, fields);
        // Retried: a voter that looked down for one observation may answer the next; the step's attempts bound it.
        throw new QuorumGuardError(`quorum guard refused to remove ${memberId}: ${verdict.reason}; ${describeCluster(observation)}`);
      }
      const blocker = successorFollows === true ? successorBlocker(observation, member, runtime.policy) : undefined;
      if (blocker) throw new MigrationRefusedError(blocker.code, blocker.message);
      if (successorId !== undefined) {
        // A surge removes the member only while its successor is a healthy voter: otherwise it costs fault tolerance.
        const successor = memberById(observation, successorId);
        if (!successor || successor.isLearner || !isMemberHealthy(successor)) {
          throw new NotReadyYetError(`will not remove ${member.name || memberId} yet: its successor ${successor?.name || successorId} is ${successor ? (successor.isLearner ? 'still a learner' : `not healthy (${successor.status.error ?? 'no leader'})`) : 'not a member'}`);
        }
      }
      log.info(`remove-member: removing ${member.name || memberId} (${memberId}) from ${cluster}`, fields);
      const removed = await removeThroughEtcd(runtime, observation, memberId, fields);
      log.info(`remove-member: ${removed ? 'removed' : 'already gone:'} ${member.name || memberId} from ${cluster}`, fields);
      return { removed };
    },

    /**
     * Delete the pod of a member that is no longer a voter, and wait until it is gone. The pod of a current voter is
     * never deleted. On a node that is not Ready no kubelet can finish a graceful delete, so the pod goes at once
     * (grace 0), as an operator would with --force; so does the pod of a member that was down and has been removed
     * (`memberDown`): waiting only keeps its node's missing heartbeats from being noticed.
     */
    async deletePod({ cluster, podName, memberId, memberDown }: { cluster: string; podName: string; memberId?: string; memberDown?: boolean }): Promise<{ deleted: boolean; forced: boolean; why?: string }> {
      const runtime = runtimeOf(deps, cluster);
      const pod = await runtime.kube.getPod(runtime.namespace, podName);
      if (!pod) return { deleted: false, forced: false };
      refuseUnmovable(pod, `delete pod ${podName}`);
      const observation = await observe(runtime);
      const voter = observation.members.find((m) => !m.isLearner && (m.id === memberId || m.podName === podName));
      if (voter) {
        throw new MigrationRefusedError('VOTER_POD', `will not delete pod ${podName}: it runs ${voter.name || voter.id} (${voter.id}), still a voter of ${cluster}; ${describeCluster(observation)}`);
      }
      const nodeDown = async (): Promise<boolean> => {
        const node = (await runtime.kube.listNodes(runtime.topology)).find((n) => n.name === pod.spec?.nodeName);
        return !node || !isNodeReady(node);
      };
      let why: string | undefined = memberDown === true ? 'member down and removed' : (await nodeDown()) ? 'node not ready' : undefined;
      const fields = { step: 'delete-pod', cluster, pod: podName, ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}) };
      log.info(`delete-pod: deleting pod ${podName}${why ? ` at once (${why})` : ''}`, { ...fields, forced: why !== undefined });
      await runtime.kube.deletePod(runtime.namespace, podName, why ? 0 : undefined);
      const grace = (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      try {
        await waitFor(deps, `pod ${podName} to go`, grace + 15_000, async () => {
          if (!(await runtime.kube.getPod(runtime.namespace, podName))) return true;
          // The node may turn NotReady while we wait (its heartbeats had already stopped): no kubelet will finish.
          if (why === undefined && (await nodeDown())) {
            why = 'node not ready';
            await runtime.kube.deletePod(runtime.namespace, podName, 0);
          }
          return undefined;
        });
      } catch {
        await runtime.kube.deletePod(runtime.namespace, podName, 0);
        log.warn(`delete-pod: pod ${podName} did not go in time: deleted at once`, { ...fields, forced: true });
        return { deleted: true, forced: true, why: 'did not go in time' };
      }
      log.info(`delete-pod: pod ${podName} is gone`, { ...fields, forced: why !== undefined });
      return { deleted: true, forced: why !== undefined, ...(why ? { why } : {}) };
    },

    /** The best feasible node now, excluding the given nodes; refuses with every node's reasons when none is. */
    async chooseNode(input: {
      cluster: string;
      leaving: { memberId: string; name: string; nodeName?: string };
      excludedNodes: Record<string, string>;
      usedNames: string[];
      preferredName?: string;
      targetNode?: string;
      /** A StatefulSet's ordinal: the successor is that pod, under its name, whatever else holds the name now. */
      statefulSetPod?: string;
    }): Promise<ChosenNode> {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = await observe(runtime);
      const ranked = choosePlacement(placementRequestFor(observation, input.leaving, runtime.policy, input.excludedNodes));
      const placement = input.targetNode === undefined ? ranked : placeOn(ranked, input.targetNode);
      if (!placement.chosen) throw new MigrationRefusedError('NO_FEASIBLE_NODE', `${placement.summary}; ${describeCluster(observation)}`);
      // A name never used by this migration before: a failed attempt's data directory must never be picked up again.
      const taken = [...observation.members.map((m) => m.name), ...observation.pods.map((p) => p.name)];
      const memberName = input.statefulSetPod ?? confirmSuccessorName(runtime.policy.memberNamePrefix, input.preferredName, taken, input.usedNames);
      const address = observation.nodes.find((n) => n.name === placement.chosen?.node)?.internalIP ?? '';
      // Fixed now, while the node exists: the learner's cleanup finds it by this URL even if the node is deleted later.
      const peerURL = peerURLFor({ podName: memberName, ...(address ? { nodeIP: address } : {}) }, runtime.addressing, runtime.peerPort, runtime.scheme);
      const chosen: ChosenNode = { node: placement.chosen.node, reason: placement.chosen.reason, address, memberName, peerURL };
      log.info(`choose-node: ${chosen.memberName} goes to ${chosen.node} (${chosen.reason})`, { step: 'choose-node', cluster: input.cluster, member: input.leaving.name, newMember: memberName, node: chosen.node, reason: chosen.reason });
      return chosen;
    },

    /**
     * Add the new member as a learner at its peer URL; if a member already has that URL, it is the one. In a surge
     * (`surge`), a voter that went down since planning makes the plan stale: etcd adds no member while one is down.
     */
    async addLearner(input: { cluster: string; podName: string; peerURL: string; nodeName?: string; surge?: boolean } | LegacyAddLearnerInput): Promise<{ id: string; peerURL: string; added: boolean }> {
      const { cluster, podName } = input;
      const surge = 'surge' in input ? input.surge : undefined;
      const runtime = runtimeOf(deps, cluster);
      return heartbeating(effects, `add learner ${podName}`, (async () => {
        const observation = await observe(runtime);
        const peerURL = 'peerURL' in input ? input.peerURL : legacyPeerURL(runtime, observation, input);
        const existing = observation.members.find((m) => m.peerURLs.includes(peerURL));
        const fields = { step: 'schedule-pod', cluster, member: podName, peerURL, ...(input.nodeName ? { node: input.nodeName } : {}) };
        if (existing) {
          log.info(`schedule-pod: ${podName} is already a member (${existing.id}) at ${peerURL}`, { ...fields, memberId: existing.id });
          return { id: existing.id, peerURL, added: false };
        }
        // etcd allows one learner: another one (left by an interrupted migration) would make every attempt fail.
        const other = observation.members.find((m) => m.isLearner);
        if (other) {
          throw new MigrationRefusedError(
            'LEARNER_PRESENT',
            `will not add ${podName}: learner ${other.name || '(not started)'} (${other.id}) at ${other.peerURLs[0] ?? '?'} is already in the cluster and etcd allows one learner; remove it first (etcd-guardian repair ${cluster})`,
          );
        }
        const down = observation.members.filter((m) => !m.isLearner && !isMemberHealthy(m));
        if (surge === true && down.length > 0) {
          throw new PlanStaleError(`voter ${down.map((m) => m.name || m.id).join(', ')} went down before ${podName} joined: etcd adds no member while a voter is down, so the surge is planned again (a down member is replaced)`);
        }
        log.info(`schedule-pod: adding ${podName} as a learner at ${peerURL}`, fields);
        const { id } = await runtime.etcd.addLearner(peerURL, healthyEndpoints(observation));
        log.info(`schedule-pod: learner ${podName} added (${id})`, { ...fields, memberId: id });
        return { id, peerURL, added: true };
      })());
    },

    /** Create the new member's pod from a member's pod, bound to the node, joining the existing cluster. */
    async createMemberPod(input: { cluster: string; podName: string; nodeName: string; learnerPeerURL: string; templateMember: string }): Promise<{ created: boolean }> {
      const runtime = runtimeOf(deps, input.cluster);
      const existing = await runtime.kube.getPod(runtime.namespace, input.podName);
      if (existing) {
        if (existing.spec?.nodeName === input.nodeName && !existing.metadata?.deletionTimestamp) return { created: false };
        throw new MigrationRefusedError('POD_CONFLICT', `pod ${input.podName} already exists on node ${existing.spec?.nodeName ?? '?'}${existing.metadata?.deletionTimestamp ? ' and is terminating' : ''}, not on ${input.nodeName}`);
      }
      const pods = await runtime.kube.listPodObjects(runtime.namespace, runtime.podSelector);
      // Another pod to copy only if it is a bare one: a copy of a static or controller-owned pod is never made.
      const template =
        pods.find((p) => p.metadata?.name === input.templateMember && !p.metadata.deletionTimestamp) ??
        pods.find((p) => !p.metadata?.deletionTimestamp && workloadOfPod(p).kind === 'movable') ??
        pods.find((p) => p.metadata?.name === input.templateMember);
      if (!template) throw new NotReadyYetError(`no pod of cluster ${input.cluster} to copy the spec from`);
      refuseUnmovable(template, `make ${input.podName} from a copy of pod ${template.metadata?.name ?? '?'}`);
      const observation = await observe(runtime);
      const initialCluster = initialClusterFor(observation.members, { name: input.podName, peerURL: input.learnerPeerURL });
      if (!initialCluster) throw new NotReadyYetError(`learner ${input.learnerPeerURL} is not in the member list yet`);
      const learnerId = observation.members.find((m) => m.peerURLs.includes(input.learnerPeerURL))?.id;
      const templateName = template.metadata?.name ?? input.templateMember;
      const templateAddress = template.spec?.hostNetwork ? template.status?.hostIP : undefined;
      const pod = successorPod(template, {
        oldMemberName: templateName,
        newMemberName: input.podName,
        nodeName: input.nodeName,
        initialCluster,
        memberLabel: runtime.memberLabel,
        ...(templateAddress ? { oldAddress: templateAddress } : {}),
        ...(runtime.addressing.mode === 'host-network' ? { newAddress: urlHost(input.learnerPeerURL) ?? '' } : {}),
        // Behind a headless Service names are reused: the data directory must still be the new member's own.
        ...(runtime.addressing.mode === 'headless-service' && learnerId !== undefined ? { incarnation: learnerId } : {}),
      });
      await runtime.kube.createPod(runtime.namespace, pod);
      const fresh = pod.metadata?.annotations?.[FRESH_DATA_DIR_ANNOTATION];
      log.info(`schedule-pod: pod ${input.podName} created on ${input.nodeName}${fresh ? `; its data directory is ${fresh} on the host, since ${templateName}'s did not name its member` : ''}`, {
        step: 'schedule-pod',
        cluster: input.cluster,
        pod: input.podName,
        node: input.nodeName,
        template: templateName,
        ...(fresh ? { freshDataDir: fresh } : {}),
      });
      return { created: true };
    },

    /**
     * Promote the learner once it has caught up; etcd's "not in sync yet" is retried. Already a voter: done. The
     * quorum guard counts the learner as it is observed: one that answers and has caught up votes at once, which is
     * what lets a surge finish when the member it replaces dies meanwhile.
     */
    async promoteLearner({ cluster, memberId, podName }: { cluster: string; memberId: string; podName: string }): Promise<{ promoted: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      return heartbeating(effects, `promote ${podName}`, untilReady(deps, `promote ${podName}`, async () => {
        const observation = await observe(runtime);
        const member = memberById(observation, memberId);
        if (!member) throw new MigrationRefusedError('QUORUM_GUARD', `learner ${memberId} is no longer in the cluster; ${describeCluster(observation)}`);
        if (!member.isLearner) return { promoted: false };
        assertTargetAlive(observation, podName);
        if (!member.status.reachable) throw new NotReadyYetError(`learner ${member.name || memberId} does not answer yet: ${member.status.error ?? ''}`);
        const observedHealthy = learnerCaughtUp(member, knownLeader(observation.members));
        const verdict = projectChange(toVoterViews(observation.members), { kind: 'promote-learner', memberId, observedHealthy });
        if (!verdict.allowed) {
          if (!observedHealthy) throw new NotReadyYetError(`learner ${member.name || memberId} has not caught up yet, and promoting it now would leave ${verdict.reason}`);
          // Retried within the catch-up budget: the voters that looked down may answer the next observation.
          throw new QuorumGuardError(`quorum guard refused to promote ${member.name || memberId}: ${verdict.reason}`);
        }
        const fields = { step: 'rejoin', cluster, member: member.name || podName, memberId, ...(member.nodeName ? { node: member.nodeName } : {}) };
        try {
          await runtime.etcd.promoteMember(memberId, healthyEndpoints(observation));
        } catch (error) {
          if (error instanceof EtcdRequestError && error.code === 'ETCD_FAILED_PRECONDITION') {
            log.debug(`rejoin: learner ${member.name || memberId} has not caught up yet`, fields);
            throw new NotReadyYetError(`learner ${member.name || memberId} has not caught up yet (${error.message})`);
          }
          throw error;
        }
        log.info(`rejoin: ${member.name || memberId} promoted to voter`, fields);
        return { promoted: true };
      }));
    },

    /** The member is a voter that answers and knows the leader. */
    async verifyMember({ cluster, memberId, podName }: { cluster: string; memberId: string; podName: string }): Promise<{ name: string }> {
      const runtime = runtimeOf(deps, cluster);
      return heartbeating(effects, `verify ${podName}`, untilReady(deps, `verify ${podName}`, async () => {
        const observation = await observe(runtime);
        assertTargetAlive(observation, podName);
        const member = memberById(observation, memberId);
        if (!member || member.isLearner || !member.status.reachable || member.status.hasLeader === false) {
          throw new NotReadyYetError(`member ${member?.name || memberId} is not a healthy voter yet (${member ? (member.isLearner ? 'learner' : member.status.error ?? 'no leader') : 'absent'})`);
        }
        log.info(`verify-member: ${member.name} is a healthy voter`, { step: 'verify-member', cluster, member: member.name, memberId, ...(member.nodeName ? { node: member.nodeName } : {}) });
        return { name: member.name };
      }));
    },

    /** Every voter healthy, no learner left, one leader, and the same HashKV at a common revision on every member. */
    async verifyQuorum({ cluster, expectedVoters, hashTimeoutMs }: { cluster: string; expectedVoters: number; hashTimeoutMs?: number }) {
      const runtime = runtimeOf(deps, cluster);
      return heartbeating(effects, `verify ${cluster}`, (async () => {
        const observation = await observe(runtime);
        const problems = convergenceProblems(observation.members, expectedVoters);
        if (problems.length > 0) throw new NotReadyYetError(`quorum not verified: ${problems.join('; ')}`);
        const voters = observation.members.filter((m) => !m.isLearner);
        const endpoints = voters.map((m) => m.clientURLs[0] ?? '');
        const revisions = await Promise.all(endpoints.map((e) => runtime.etcd.revision(e)));
        const revision = Math.min(...revisions);
        const hashes = await Promise.all(endpoints.map((e) => runtime.etcd.hashKv(e, revision, hashTimeoutMs)));
        const disagreement = hashDisagreement(voters.map((m, i) => ({ name: m.name, hash: hashes[i]?.hash ?? '?' })));
        if (disagreement) throw new NotReadyYetError(`HashKV differs at revision ${revision}: ${disagreement}`);
        const leaderId = agreedLeaders(voters)[0];
        const leader = voters.find((m) => m.id === leaderId);
        const verified = { voters: voters.map((m) => m.name), leader: leader?.name ?? '', revision, hash: hashes[0]?.hash ?? '' };
        log.info(`verify-quorum: ${cluster} has ${verified.voters.length} healthy voters, leader ${verified.leader}, one HashKV at revision ${revision}`, { step: 'verify-quorum', cluster, ...verified });
        // The membership is settled: clients learn the new endpoints now, not at the monitor's next cycle.
        await publishClientEndpoints(runtime, observation, deps.now());
        return verified;
      })());
    },

    /**
     * Compensation: take back the successor this migration added, whatever state it reached. Found by the id that
     * add-learner returned, or by the peer URL fixed at choose-node when that answer was lost (never recomputed from
     * a node that may be gone). One guarded action: remove the member (a voter only if quorum allows), then, only if
     * it is no longer a member, delete its pod. The pod of a voter is never deleted.
     */
    async retireSuccessor({ cluster, successor, keepPod }: { cluster: string; successor: SuccessorRef; keepPod?: boolean }): Promise<{ removed: boolean; podDeleted: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const member = (successor.memberId ? memberById(observation, successor.memberId) : undefined) ?? observation.members.find((m) => m.peerURLs.includes(successor.peerURL));
      const fields = { step: 'compensation', cluster, member: successor.podName, ...(member ? { memberId: member.id } : {}) };
      let removed = false;
      if (member) {
        const verdict = projectChange(toVoterViews(observation.members), { kind: 'remove-member', memberId: member.id });
        if (!member.isLearner && !verdict.allowed) {
          log.warn(`compensation: cannot take back ${member.name || member.id}: ${verdict.reason}`, fields);
          throw new MigrationRefusedError('QUORUM_GUARD', `cannot take back ${member.name || member.id}: ${verdict.reason}; its pod ${successor.podName} stays; ${describeCluster(observation)}`);
        }
        log.info(`compensation: taking back ${member.name || member.id}${member.isLearner ? ' (learner)' : ' (voter)'}`, fields);
        removed = await removeThroughEtcd(runtime, observation, member.id, fields);
      }
      // Only a pod whose member is gone from a list that succeeded: never the pod of a voter.
      const after = await observe(runtime);
      const still = after.members.find((m) => m.peerURLs.includes(successor.peerURL) || m.id === successor.memberId || m.name === successor.podName);
      if (still) throw new NotReadyYetError(`${successor.podName} (${still.id}) is still a member after its removal; its pod stays until it is gone`);
      // A StatefulSet's pod (`keepPod`) stays: its controller would only make it again; not a member, it waits.
      const podDeleted = keepPod === true ? false : await runtime.kube.deletePod(runtime.namespace, successor.podName, 0);
      log.info(`compensation: ${successor.podName}: ${removed ? 'removed' : 'not a member'}, pod ${podDeleted ? 'deleted' : 'already gone'}`, fields);
      return { removed, podDeleted };
    },

    /**
     * Compensation of migrations started before "plan-is-the-program" (workflows/legacy): the learner found by the
     * peer URL recomputed from its node, then retired like any successor.
     */
    async removeAddedMember(input: LegacyAddLearnerInput): Promise<{ removed: boolean }> {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = await observe(runtime);
      const peerURL = legacyPeerURL(runtime, observation, input);
      const member = observation.members.find((m) => m.peerURLs.includes(peerURL));
      if (!member) return { removed: false };
      const verdict = projectChange(toVoterViews(observation.members), { kind: 'remove-member', memberId: member.id });
      if (!member.isLearner && !verdict.allowed) throw new MigrationRefusedError('QUORUM_GUARD', `cannot take back ${member.name || member.id}: ${verdict.reason}; ${describeCluster(observation)}`);
      return { removed: await removeThroughEtcd(runtime, observation, member.id, { step: 'compensation', cluster: input.cluster, member: input.podName }) };
    },

    /** A one-line description of the cluster now, for the final report or a failure message. */
    async describeClusterNow({ cluster }: { cluster: string }): Promise<string> {
      return describeCluster(await observeCluster(runtimeOf(deps, cluster), deps.now));
    },
  });
}

/** The migration's activity functions, for `proxyActivities<MigrationActivities>()` in workflow code. */
export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
