import { log } from '@temporalio/activity';
import { peerURLFor, urlHost } from '../src/domain/membership';
import { isNodeReady } from '../src/domain/nodes';
import type { ClusterObservation } from '../src/domain/observation';
import { choosePlacement, placeOn } from '../src/domain/placement';
import { buildMigrationPlan, nextMemberName, placementRequestFor, type MigrationPlan, type PlanRefusal } from '../src/domain/plan';
import type { StrategyPreference } from '../src/domain/policy';
import { isMemberHealthy, knownLeader, projectChange, toVoterViews } from '../src/domain/quorum';
import { EtcdRequestError } from '../src/etcd/errors';
import { successorPod } from '../src/kube/member-pod';
import { withFailureTypes } from './failures';
import { waitFor } from './effects';
import { MigrationRefusedError, NotReadyYetError, TargetLostError } from './errors';
import { describeCluster, healthyEndpoints, observeCluster, readRaft } from './observe';
import { runtimeOf, type ActivityDeps, type ClusterRuntime } from './runtime';

/** What the workflow asks `prepareMigration` for. */
export interface PrepareInput {
  cluster: string;
  member: string;
  strategy: StrategyPreference;
  reason: string;
  targetNode?: string;
  excludedNodes?: Record<string, string>;
}

function memberById(obs: ClusterObservation, id: string) {
  return obs.members.find((m) => m.id === id);
}

function nodeAddress(obs: ClusterObservation, nodeName: string): string | undefined {
  return obs.nodes.find((n) => n.name === nodeName)?.internalIP;
}

/** Fail fast when the new member's pod or its node is gone or down, instead of waiting out the step's timeout. */
function assertTargetAlive(obs: ClusterObservation, podName: string): void {
  const pod = obs.pods.find((p) => p.name === podName);
  if (!pod) throw new TargetLostError(`pod ${podName} of the new member is gone`);
  const node = obs.nodes.find((n) => n.name === pod.nodeName);
  if (!node || !isNodeReady(node)) throw new TargetLostError(`node ${pod.nodeName ?? '?'} of the new member is not ready`);
  if (pod.phase === 'Failed') throw new TargetLostError(`pod ${podName} of the new member failed`);
}

/** The failure type of a refused plan; a refusal not listed is the request's fault (INVALID_INPUT). */
const REFUSAL_TYPES: Partial<Record<PlanRefusal['code'], MigrationRefusedError['code']>> = {
  'quorum-guard': 'QUORUM_GUARD',
  'no-feasible-node': 'NO_FEASIBLE_NODE',
  'peer-down': 'PEER_DOWN',
};

/**
 * The migration's steps. Each is idempotent (a repeat finds its result in place and returns it) and each
 * destructive one observes the cluster afresh and checks the quorum projection right before acting.
 */
export function createMigrationActivities(deps: ActivityDeps) {
  const observe = (runtime: ClusterRuntime) => observeCluster(runtime, deps.now);

  return withFailureTypes({
    /** Validate the request against a fresh observation and build the plan; refuses with the field at fault. */
    async prepareMigration(input: PrepareInput): Promise<MigrationPlan> {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = await observe(runtime);
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
        throw new MigrationRefusedError(code, `${refusal.message}${code === 'INVALID_INPUT' ? '' : `; ${describeCluster(observation)}`}`);
      }
      const { plan } = built;
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

    /** Hand leadership to the most caught-up healthy voter when `awayFrom` leads; a no-op otherwise. */
    async moveLeader({ cluster, awayFrom }: { cluster: string; awayFrom: string }): Promise<{ moved: boolean; leader: string }> {
      const runtime = runtimeOf(deps, cluster);
      const raft = await readRaft(runtime, deps.now);
      const leader = knownLeader(raft.members);
      if (!leader) throw new NotReadyYetError('no leader to move leadership from');
      if (leader.id !== awayFrom) return { moved: false, leader: leader.name || leader.id };
      const target = raft.members
        .filter((m) => m.id !== awayFrom && !m.isLearner && m.status.reachable && m.status.hasLeader !== false)
        .sort((a, b) => (b.status.raftIndex ?? 0) - (a.status.raftIndex ?? 0) || (a.name < b.name ? -1 : 1))[0];
      const endpoint = leader.clientURLs[0];
      if (!target || !endpoint) throw new NotReadyYetError(`no healthy voter to take leadership from ${leader.name}`);
      log.info(`move-leader: moving leadership of ${cluster} from ${leader.name} to ${target.name}`, { step: 'move-leader', cluster, from: leader.name, to: target.name });
      await runtime.etcd.moveLeader(endpoint, target.id);
      const after = await waitFor(deps, 'leadership to move', 15_000, async () => {
        const now = knownLeader((await readRaft(runtime, deps.now)).members);
        return now && now.id !== awayFrom ? now : undefined;
      });
      log.info(`move-leader: ${after.name || after.id} leads ${cluster}`, { step: 'move-leader', cluster, leader: after.name || after.id });
      return { moved: true, leader: after.name || after.id };
    },

    /**
     * Remove a member, after checking afresh that the cluster keeps quorum without it. Absent already: done.
     * `onlyIfDown` (another voter a replace takes along) leaves a member that answers again where it is.
     */
    async removeMember({ cluster, memberId, onlyIfDown }: { cluster: string; memberId: string; onlyIfDown?: boolean }): Promise<{ removed: boolean; answers?: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const member = memberById(observation, memberId);
      if (!member) {
        log.info(`remove-member: ${memberId} is no longer a member of ${cluster}`, { step: 'remove-member', cluster, memberId });
        return { removed: false };
      }
      const fields = { step: 'remove-member', cluster, member: member.name, memberId, ...(member.nodeName ? { node: member.nodeName } : {}) };
      if (onlyIfDown === true && isMemberHealthy(member)) {
        log.info(`remove-member: ${member.name || memberId} answers again, so it stays`, fields);
        return { removed: false, answers: true };
      }
      const verdict = projectChange(toVoterViews(observation.members), { kind: 'remove-member', memberId });
      if (!verdict.allowed) {
        log.warn(`remove-member: quorum guard refused to remove ${member.name || memberId}: ${verdict.reason}`, fields);
        throw new MigrationRefusedError('QUORUM_GUARD', `quorum guard refused to remove ${memberId}: ${verdict.reason}; ${describeCluster(observation)}`);
      }
      log.info(`remove-member: removing ${member.name || memberId} (${memberId}) from ${cluster}`, fields);
      try {
        await runtime.etcd.removeMember(memberId, healthyEndpoints(observation));
      } catch (error) {
        if (error instanceof EtcdRequestError && error.code === 'ETCD_NOT_FOUND') {
          log.info(`remove-member: ${member.name || memberId} is gone from ${cluster} (etcd no longer knows ${memberId})`, fields);
          return { removed: false };
        }
        throw error;
      }
      log.info(`remove-member: removed ${member.name || memberId} from ${cluster}`, fields);
      return { removed: true };
    },

    /**
     * Delete a pod and wait until it is gone. On a node that is not Ready no kubelet can finish a graceful delete,
     * so the pod is removed at once (grace 0), as an operator would with --force. The same goes for the pod of a
     * member that was down and has already been removed (`memberDown`): its process cannot stop gracefully, etcd's
     * peers already refuse it, and waiting only keeps its node's heartbeats from being noticed as gone (up to the
     * node grace period).
     */
    async deletePod({ cluster, podName, memberDown }: { cluster: string; podName: string; memberDown?: boolean }): Promise<{ deleted: boolean; forced: boolean; why?: string }> {
      const runtime = runtimeOf(deps, cluster);
      const pod = await runtime.kube.getPod(runtime.namespace, podName);
      if (!pod) return { deleted: false, forced: false };
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
    async chooseNode(input: { cluster: string; leaving: { memberId: string; name: string; nodeName?: string }; excludedNodes: Record<string, string>; usedNames: string[]; preferredName?: string; targetNode?: string }) {
      const runtime = runtimeOf(deps, input.cluster);
      const observation = await observe(runtime);
      const ranked = choosePlacement(placementRequestFor(observation, input.leaving, runtime.policy, input.excludedNodes));
      const placement = input.targetNode === undefined ? ranked : placeOn(ranked, input.targetNode);
      if (!placement.chosen) throw new MigrationRefusedError('NO_FEASIBLE_NODE', `${placement.summary}; ${describeCluster(observation)}`);
      // A name never used by this migration before: a failed attempt's data directory must never be picked up again.
      const taken = [...observation.members.map((m) => m.name), ...observation.pods.map((p) => p.name), ...input.usedNames];
      const chosen = {
        node: placement.chosen.node,
        reason: placement.chosen.reason,
        address: nodeAddress(observation, placement.chosen.node) ?? '',
        memberName:
          input.usedNames.length === 0 && input.preferredName && !taken.includes(input.preferredName)
            ? input.preferredName
            : nextMemberName(runtime.policy.memberNamePrefix, taken),
      };
      log.info(`choose-node: ${chosen.memberName} goes to ${chosen.node} (${chosen.reason})`, {
        step: 'choose-node',
        cluster: input.cluster,
        member: input.leaving.name,
        newMember: chosen.memberName,
        node: chosen.node,
        reason: chosen.reason,
      });
      return chosen;
    },

    /** Add the new member as a learner at the node's peer URL; if a member already has that URL, it is the one. */
    async addLearner({ cluster, nodeName, podName }: { cluster: string; nodeName: string; podName: string }): Promise<{ id: string; peerURL: string; added: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const address = nodeAddress(observation, nodeName);
      const peerURL = peerURLFor({ podName, ...(address ? { nodeIP: address } : {}) }, runtime.addressing, runtime.peerPort, runtime.scheme);
      const existing = observation.members.find((m) => m.peerURLs.includes(peerURL));
      const fields = { step: 'schedule-pod', cluster, member: podName, node: nodeName, peerURL };
      if (existing) {
        log.info(`schedule-pod: ${podName} is already a member (${existing.id}) at ${peerURL}`, { ...fields, memberId: existing.id });
        return { id: existing.id, peerURL, added: false };
      }
      log.info(`schedule-pod: adding ${podName} as a learner at ${peerURL}`, fields);
      const { id } = await runtime.etcd.addLearner(peerURL, healthyEndpoints(observation));
      log.info(`schedule-pod: learner ${podName} added (${id})`, { ...fields, memberId: id });
      return { id, peerURL, added: true };
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
      const template = pods.find((p) => p.metadata?.name === input.templateMember) ?? pods.find((p) => !p.metadata?.deletionTimestamp);
      if (!template) throw new NotReadyYetError(`no pod of cluster ${input.cluster} to copy the spec from`);
      const raft = await readRaft(runtime, deps.now);
      const initialCluster = raft.members
        .map((m) => (m.peerURLs.includes(input.learnerPeerURL) ? `${input.podName}=${input.learnerPeerURL}` : m.name ? `${m.name}=${m.peerURLs[0] ?? ''}` : ''))
        .filter((entry) => entry !== '')
        .join(',');
      if (!initialCluster.includes(`${input.podName}=`)) throw new NotReadyYetError(`learner ${input.learnerPeerURL} is not in the member list yet`);
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
      });
      await runtime.kube.createPod(runtime.namespace, pod);
      log.info(`schedule-pod: pod ${input.podName} created on ${input.nodeName}`, { step: 'schedule-pod', cluster: input.cluster, pod: input.podName, node: input.nodeName, template: templateName });
      return { created: true };
    },

    /** Promote the learner once it has caught up; etcd's "not in sync yet" is retried. Already a voter: done. */
    async promoteLearner({ cluster, memberId, podName }: { cluster: string; memberId: string; podName: string }): Promise<{ promoted: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const member = memberById(observation, memberId);
      if (!member) throw new MigrationRefusedError('QUORUM_GUARD', `learner ${memberId} is no longer in the cluster; ${describeCluster(observation)}`);
      if (!member.isLearner) return { promoted: false };
      assertTargetAlive(observation, podName);
      if (!member.status.reachable) throw new NotReadyYetError(`learner ${member.name || memberId} does not answer yet: ${member.status.error ?? ''}`);
      const verdict = projectChange(toVoterViews(observation.members), { kind: 'promote-learner', memberId });
      if (!verdict.allowed) throw new MigrationRefusedError('QUORUM_GUARD', `quorum guard refused to promote ${member.name || memberId}: ${verdict.reason}`);
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
    },

    /** The member is a voter that answers and knows the leader. */
    async verifyMember({ cluster, memberId, podName }: { cluster: string; memberId: string; podName: string }): Promise<{ name: string }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      assertTargetAlive(observation, podName);
      const member = observation.members.find((m) => m.id === memberId);
      if (!member || member.isLearner || !member.status.reachable || member.status.hasLeader === false) {
        throw new NotReadyYetError(`member ${member?.name || memberId} is not a healthy voter yet (${member ? (member.isLearner ? 'learner' : member.status.error ?? 'no leader') : 'absent'})`);
      }
      log.info(`verify-member: ${member.name} is a healthy voter`, { step: 'verify-member', cluster, member: member.name, memberId, ...(member.nodeName ? { node: member.nodeName } : {}) });
      return { name: member.name };
    },

    /** Every voter healthy, no learner left, one leader, and the same HashKV at a common revision on every member. */
    async verifyQuorum({ cluster, expectedVoters }: { cluster: string; expectedVoters: number }) {
      const runtime = runtimeOf(deps, cluster);
      const raft = await readRaft(runtime, deps.now);
      const voters = raft.members.filter((m) => !m.isLearner);
      const problems: string[] = [];
      if (voters.length !== expectedVoters) problems.push(`${voters.length} voters, expected ${expectedVoters}`);
      const learners = raft.members.filter((m) => m.isLearner);
      if (learners.length > 0) problems.push(`learner(s) left: ${learners.map((m) => m.name || m.id).join(', ')}`);
      const down = voters.filter((m) => !m.status.reachable || m.status.hasLeader === false);
      if (down.length > 0) problems.push(`unhealthy: ${down.map((m) => m.name || m.id).join(', ')}`);
      const leaders = new Set(voters.map((m) => m.status.leaderId).filter((l) => l && l !== '0'));
      if (leaders.size !== 1) problems.push(`members disagree on the leader (${[...leaders].join(', ') || 'none'})`);
      if (problems.length > 0) throw new NotReadyYetError(`quorum not verified: ${problems.join('; ')}`);
      const endpoints = voters.map((m) => m.clientURLs[0] ?? '');
      const revisions = await Promise.all(endpoints.map((e) => runtime.etcd.revision(e)));
      const revision = Math.min(...revisions);
      const hashes = await Promise.all(endpoints.map((e) => runtime.etcd.hashKv(e, revision)));
      const distinct = new Set(hashes.map((h) => h.hash));
      if (distinct.size !== 1) {
        throw new NotReadyYetError(`HashKV differs at revision ${revision}: ${voters.map((m, i) => `${m.name}=${hashes[i]?.hash ?? '?'}`).join(', ')}`);
      }
      const leader = voters.find((m) => m.id === [...leaders][0]);
      const verified = { voters: voters.map((m) => m.name), leader: leader?.name ?? '', revision, hash: hashes[0]?.hash ?? '' };
      log.info(`verify-quorum: ${cluster} has ${verified.voters.length} healthy voters, leader ${verified.leader}, one HashKV at revision ${revision}`, { step: 'verify-quorum', cluster, ...verified });
      return verified;
    },

    /**
     * Compensation: take out the member this migration added for that node (found by its peer URL, so that it
     * works even when the add timed out before its id was known), unless it is a voter the cluster now needs.
     */
    async removeAddedMember({ cluster, nodeName, podName }: { cluster: string; nodeName: string; podName: string }): Promise<{ removed: boolean }> {
      const runtime = runtimeOf(deps, cluster);
      const observation = await observe(runtime);
      const address = nodeAddress(observation, nodeName);
      const peerURL = peerURLFor({ podName, ...(address ? { nodeIP: address } : {}) }, runtime.addressing, runtime.peerPort, runtime.scheme);
      const member = observation.members.find((m) => m.peerURLs.includes(peerURL));
      if (!member) return { removed: false };
      const fields = { step: 'compensation', cluster, member: member.name || podName, memberId: member.id, node: nodeName };
      const verdict = projectChange(toVoterViews(observation.members), { kind: 'remove-member', memberId: member.id });
      if (!member.isLearner && !verdict.allowed) {
        log.warn(`compensation: cannot take back ${member.name || member.id}: ${verdict.reason}`, fields);
        throw new MigrationRefusedError('QUORUM_GUARD', `cannot take back ${member.name || member.id}: ${verdict.reason}; ${describeCluster(observation)}`);
      }
      log.info(`compensation: taking back ${member.name || member.id} added on ${nodeName}`, fields);
      try {
        await runtime.etcd.removeMember(member.id, healthyEndpoints(observation));
      } catch (error) {
        if (error instanceof EtcdRequestError && error.code === 'ETCD_NOT_FOUND') {
          log.info(`compensation: ${member.name || member.id} is gone (etcd no longer knows ${member.id})`, fields);
          return { removed: false };
        }
        throw error;
      }
      log.info(`compensation: ${member.name || member.id} removed`, fields);
      return { removed: true };
    },

    /** A one-line description of the cluster now, for the final report or a failure message. */
    async describeClusterNow({ cluster }: { cluster: string }): Promise<string> {
      return describeCluster(await observe(runtimeOf(deps, cluster)));
    },
  });
}

/** The migration's activity functions, for `proxyActivities<MigrationActivities>()` in workflow code. */
export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
