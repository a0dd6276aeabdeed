import type { BackupActivities, BackupRecord } from '../activities/backup';
import type { ChosenNode, MigrationActivities, PrepareInput } from '../activities/migration';
import type { StatefulSetActivities } from '../activities/statefulset';
import type { MigrationPlan } from '../src/domain/plan';
import { groupStart, type PlannedStep, type PlannedStepOf, type Slot, type StatefulSetSlot, type StepMember } from '../src/domain/steps';
import { stepSummary } from '../src/domain/summaries';
import { failureType } from './failure-type';
import type { Saga } from './saga';
import { ACTIVITY_CLASS, withBudget, type ActivityClass, type MigrationTiming } from './timing';

/**
 * The plan is the program: this loop executes the domain's step list, in order, and nothing else. What it adds is
 * the saga's rules, the same for every plan: a failed placement is undone and tried on the next node (as the
 * plan's groups say), a stale surge is planned again by the domain, and every compensation runs in reverse.
 * No Temporal import: the workflow and the simulation both run this code.
 */

/** Every activity the plan's steps call. */
export type StepActivities = MigrationActivities & BackupActivities & StatefulSetActivities;

/** The name of an activity a step calls. */
export type StepKey = Extract<keyof StepActivities, keyof typeof ACTIVITY_CLASS>;

/** Call one activity under a class of timeouts and retries (the workflow: a Temporal proxy; the simulation: direct). */
export type Invoke = <K extends StepKey>(
  name: K,
  cls: ActivityClass,
  input: Parameters<StepActivities[K]>[0],
  /** What the call does, in a line, for the Temporal UI (the step's description, or the compensation's name). */
  summary?: string,
) => ReturnType<StepActivities[K]>;

/** What the runner needs besides the plan. */
export interface RunContext {
  cluster: string;
  /** A migration's request, for planning again when the plan turns stale (a repair has none). */
  request?: PrepareInput;
  /** Names the backup: one per run. */
  migrationId: string;
  invoke: Invoke;
  saga: Saga;
  timing: MigrationTiming;
  isCancellation(error: unknown): boolean;
  /** Told when the main successor's node is chosen, and when a new plan replaces the first. */
  onTarget?(node: string): void;
  onPlan?(plan: MigrationPlan): void;
  /** Told after each step completes (the simulation checks its invariants there). */
  onStepDone?(step: PlannedStep): void;
  /** Awaited before each step: a freeze over the cluster holds the run here, between two steps. */
  betweenSteps?(): Promise<void>;
}

/** A successor placed by the run. */
export interface PlacedSuccessor {
  member: string;
  from?: string;
  newMember: string;
  to: string;
}

/** A plan the runner executes: a migration's, or a repair's. */
export interface RunnablePlan {
  strategy: string;
  steps: PlannedStep[];
}

/** What a run leaves behind, filled as the steps complete (also when one fails). */
export interface RunResult {
  plan: RunnablePlan;
  backup?: BackupRecord;
  newMember?: string;
  to?: string;
  alsoReplaced: PlacedSuccessor[];
  verified?: { voters: string[]; leader: string; revision: number; hash: string };
  /** Times the domain planned again because the first plan turned stale. */
  replans: number;
}

/** A successor being placed: the node chosen for it, and its member once added. */
interface SlotState {
  chosen: ChosenNode;
  memberId?: string;
}

/** Plans are made again at most this often: a cluster that keeps changing under the migration needs a person. */
const MAX_REPLANS = 2;

/** Run the plan's steps; throws the failure that stopped them after running every compensation. */
export async function runPlan(first: RunnablePlan, ctx: RunContext): Promise<RunResult> {
  const { cluster, saga, timing } = ctx;
  /** The summary of the calls made now: the running step's description, or the running compensation's name. */
  let summary: string | undefined;
  const call = <K extends StepKey>(name: K, input: Parameters<StepActivities[K]>[0], cls: ActivityClass = timing[ACTIVITY_CLASS[name]]) =>
    ctx.invoke(name, cls, input, summary);
  const result: RunResult = { plan: first, alsoReplaced: [], replans: 0 };
  let plan: RunnablePlan = first;
  let steps: readonly PlannedStep[] = plan.steps;
  const slots = new Map<Slot, SlotState>();
  const attempts = new Map<Slot, number>();
  /** Members a replace took along that answered again, and stayed: their pods and successors are skipped. */
  const stayed = new Set<string>();
  const usedNames: string[] = [];
  const excluded: Record<string, string> = { ...(ctx.request?.excludedNodes ?? {}) };

  const slotOf = (slot: Slot): SlotState => {
    const state = slots.get(slot);
    // A plan whose slot steps are out of order is a bug in the domain, not something to retry.
    if (!state) throw new Error(`step for ${slot} runs before its choose-node`);
    return state;
  };
  const leavingOf = (slot: Slot): StepMember | undefined => {
    const choose = steps.find((s): s is PlannedStepOf<'choose-node'> => s.step === 'choose-node' && s.args.slot === slot);
    return choose?.args.leaving;
  };

  async function execute(step: PlannedStep): Promise<void> {
    summary = stepSummary(step.step, step.description);
    switch (step.step) {
      case 'backup-snapshot': {
        result.backup = await saga.step(step.step, () => call('backupSnapshot', { cluster, migrationId: ctx.migrationId }), (b) =>
          b.skipped ? `no backup: ${b.skipped}` : `${b.bytes} bytes at revision ${b.revision}, sha256 ${b.sha256.slice(0, 12)}, ${b.path}`,
        );
        return;
      }
      case 'move-leader': {
        await saga.step(step.step, () => call('moveLeader', { cluster, awayFrom: step.args.member.id }), (m) => (m.moved ? `leadership moved to ${m.leader}` : `not the leader (${m.leader} leads)`));
        return;
      }
      case 'remove-member': {
        const { member, onlyIfDown, successorFollows, afterSuccessor, replanIfAnswers } = step.args;
        const successorId = afterSuccessor !== undefined ? slots.get(afterSuccessor)?.memberId : undefined;
        const r = await saga.step(step.step, () => call('removeMember', { cluster, memberId: member.id, onlyIfDown, successorFollows, ...(successorId ? { successorId } : {}), ...(replanIfAnswers ? { replanIfAnswers } : {}) }), (r) =>
          r.removed ? `removed ${member.name} (${member.id})` : r.answers ? `${member.name} answers again: left in place` : `${member.name} already removed`,
        );
        if (r.answers === true) stayed.add(member.id);
        return;
      }
      case 'delete-pod': {
        const { member, podName, memberDown } = step.args;
        if (stayed.has(member.id)) return saga.skip(step.step, `${member.name} answers again and stays: its pod ${podName} stays too`);
        await saga.step(step.step, () => call('deletePod', { cluster, podName, memberId: member.id, ...(memberDown ? { memberDown } : {}) }), (d) =>
          d.deleted ? `deleted ${podName}${d.forced ? ` (forced: ${d.why ?? 'node not ready'})` : ''}` : `${podName} already gone`,
        );
        return;
      }
      case 'choose-node': {
        const { slot, leaving, preferredName, targetNode, statefulSetPod } = step.args;
        const attempt = (attempts.get(slot) ?? 0) + 1;
        attempts.set(slot, attempt);
        const chosen = await saga.step(
          step.step,
          () =>
            call('chooseNode', {
              cluster,
              leaving: { memberId: leaving.id, name: leaving.name, ...(leaving.nodeName ? { nodeName: leaving.nodeName } : {}) },
              excludedNodes: { ...excluded },
              usedNames: [...usedNames],
              ...(preferredName !== undefined ? { preferredName } : {}),
              ...(statefulSetPod !== undefined ? { statefulSetPod } : {}),
              // The operator's node is honoured on the first attempt; if placing there fails, the next attempts go
              // to the best other node rather than leave the member where it is at risk.
              ...(targetNode !== undefined && attempt === 1 ? { targetNode } : {}),
            }),
          (t) => `${slot === 'main' ? '' : `successor of ${leaving.name}, `}attempt ${attempt}: ${t.memberName} on ${t.node} (${t.reason})`,
        );
        usedNames.push(chosen.memberName);
        slots.set(slot, { chosen });
        if (slot === 'main') {
          result.to = chosen.node;
          ctx.onTarget?.(chosen.node);
        }
        return;
      }
      case 'schedule-pod': {
        const { slot, templateMember, statefulSet } = step.args;
        const state = slotOf(slot);
        const { memberName, peerURL, node } = state.chosen;
        if (statefulSet) return recreateOrdinal(step.step, slot, state, statefulSet);
        // Registered before the add: an add whose answer was lost still happened, and is found by its peer URL.
        saga.register({
          name: `retire ${memberName} on ${node}`,
          owner: slot,
          run: async () => {
            summary = `compensate: retire ${memberName} on ${node} (remove the member, delete its pod)`;
            const r = await call('retireSuccessor', { cluster, successor: { podName: memberName, peerURL, ...(state.memberId ? { memberId: state.memberId } : {}) } });
            return `${r.removed ? 'member removed' : 'not a member'}, pod ${r.podDeleted ? 'deleted' : 'already gone'}`;
          },
        });
        await saga.step(
          step.step,
          async () => {
            const added = await call('addLearner', { cluster, podName: memberName, peerURL, nodeName: node, ...(plan.strategy === 'surge' && slot === 'main' ? { surge: true } : {}) });
            state.memberId = added.id;
            await call('createMemberPod', { cluster, podName: memberName, nodeName: node, learnerPeerURL: added.peerURL, templateMember });
            return added;
          },
          (a) => `learner ${memberName} (${a.id}) at ${a.peerURL}, pod on ${node}`,
        );
        return;
      }
      case 'rejoin': {
        const state = slotOf(step.args.slot);
        const memberId = state.memberId ?? '';
        await saga.step(step.step, () => call('promoteLearner', { cluster, memberId, podName: state.chosen.memberName }, withBudget(timing.patient, step.args.catchUpBudgetMs)), (r) =>
          r.promoted ? 'promoted to voter' : 'already a voter',
        );
        return;
      }
      case 'verify-member': {
        const { slot } = step.args;
        const state = slotOf(slot);
        await saga.step(step.step, () => call('verifyMember', { cluster, memberId: state.memberId ?? '', podName: state.chosen.memberName }), (m) => `${m.name} is a healthy voter`);
        // A healthy voter stays: undoing it now could only weaken the cluster.
        saga.release(slot);
        if (slot === 'main') result.newMember = state.chosen.memberName;
        else {
          const leaving = leavingOf(slot);
          result.alsoReplaced.push({ member: leaving?.name ?? slot, ...(leaving?.nodeName ? { from: leaving.nodeName } : {}), newMember: state.chosen.memberName, to: state.chosen.node });
        }
        return;
      }
      case 'release-volumes': {
        const { statefulSet, claims } = step.args;
        await saga.step(step.step, () => call('releaseVolumes', { cluster, statefulSet, claims: claims.map((c) => ({ podName: c.podName, claimName: c.claimName })) }), (r) =>
          r.deleted.length > 0 ? `deleted ${r.deleted.join(', ')}; in use: ${r.kept.join(', ')}` : `nothing left behind; in use: ${r.kept.join(', ')}`,
        );
        return;
      }
      case 'verify-quorum': {
        result.verified = await saga.step(step.step, () => call('verifyQuorum', { cluster, expectedVoters: step.args.expectedVoters, hashTimeoutMs: step.args.hashTimeoutMs }), (v) =>
          `${v.voters.length} voters (${v.voters.join(', ')}), leader ${v.leader}, HashKV ${v.hash} at revision ${v.revision} on every member`,
        );
        return;
      }
    }
  }

  /**
   * A StatefulSet's ordinal on the chosen node: the learner first (its start script finds it and joins), then a
   * volume reserved there for the ordinal's claim, then the claim and pod deleted for the controller to recreate on
   * it. Undone by removing the learner and the reserved volume nobody bound; the pod stays the controller's.
   */
  async function recreateOrdinal(name: PlannedStep['step'], slot: Slot, state: SlotState, sts: StatefulSetSlot): Promise<void> {
    const { memberName, peerURL, node } = state.chosen;
    const ordinal = { cluster, statefulSet: sts.statefulSet, podName: sts.podName, claimName: sts.claimName };
    saga.register({
      name: `retire ${memberName} on ${node}`,
      owner: slot,
      run: async () => {
        summary = `compensate: retire ${memberName} on ${node} (remove the member, release the reserved volume)`;
        const r = await call('retireSuccessor', { cluster, successor: { podName: memberName, peerURL, ...(state.memberId ? { memberId: state.memberId } : {}) }, keepPod: true });
        const v = await call('releaseReservedVolume', { ...ordinal, nodeName: node });
        return `${r.removed ? 'member removed' : 'not a member'}, ${v.deleted.length > 0 ? `volume ${v.deleted.join(', ')} deleted` : 'no unbound volume left'}; pod ${sts.podName} stays StatefulSet ${sts.statefulSet}'s`;
      },
    });
    await saga.step(
      name,
      async () => {
        const added = await call('addLearner', { cluster, podName: memberName, peerURL, nodeName: node });
        state.memberId = added.id;
        const { volume } = await call('reserveVolume', { ...ordinal, nodeName: node, memberId: added.id });
        await call('recreateStatefulPod', { ...ordinal, nodeName: node, volume });
        return { ...added, volume };
      },
      (a) => `learner ${memberName} (${a.id}) at ${a.peerURL}; StatefulSet ${sts.statefulSet} recreated pod ${sts.podName} on ${node}, claim ${sts.claimName} on volume ${a.volume}`,
    );
  }

  /** A step of a successor whose member answered again and stayed. */
  const skippedSlot = (step: PlannedStep): boolean => {
    if (!('slot' in step.args)) return false;
    const leaving = leavingOf(step.args.slot);
    return leaving !== undefined && stayed.has(leaving.id);
  };

  let i = 0;
  while (i < steps.length) {
    const step = steps[i];
    if (!step) break;
    if (skippedSlot(step)) {
      saga.skip(step.step, `${leavingOf((step.args as { slot: Slot }).slot)?.name ?? '?'} answers again and stays: no successor`);
      i++;
      continue;
    }
    try {
      if (ctx.betweenSteps) await ctx.betweenSteps();
      await execute(step);
      ctx.onStepDone?.(step);
      i++;
    } catch (error) {
      if (ctx.isCancellation(error)) throw error;
      const type = failureType(error);
      const group = step.group;
      if (group && type !== 'QUORUM_GUARD' && type !== 'PLAN_STALE' && (attempts.get(group.id) ?? 0) < group.attempts) {
        // This node failed; another may not. Undo this attempt only, and start the group again elsewhere.
        const node = slots.get(group.id)?.chosen.node;
        if (node) excluded[node] = `attempt ${attempts.get(group.id) ?? 0} failed: ${saga.records.at(-1)?.detail ?? type ?? 'failed'}`;
        await saga.compensate(group.id);
        slots.delete(group.id);
        i = groupStart(steps, i);
        continue;
      }
      const request = ctx.request;
      if (type === 'PLAN_STALE' && request && result.replans < MAX_REPLANS) {
        // The cluster changed under the plan (a surge's member went down): undo, and let the domain plan again.
        await saga.compensate();
        result.replans += 1;
        summary = `plan again: the cluster changed under the plan (${saga.records.at(-1)?.detail ?? 'plan stale'})`;
        const next = await saga.step('plan', () => call('prepareMigration', { ...request, excludedNodes: { ...excluded } }), (p) => `planned again: ${p.strategy} ${p.member.name} to ${p.target.node}: ${p.reasons.join('; ')}`);
        plan = next;
        result.plan = next;
        ctx.onPlan?.(next);
        steps = next.steps;
        slots.clear();
        attempts.clear();
        i = 0;
        continue;
      }
      throw error;
    }
  }
  return result;
}
