import type { Strategy } from './policy';
import { projectChange, quorumState, type MembershipChange, type QuorumState, type VoterView } from './quorum';

/**
 * The migration's program: the typed list of steps the domain builds and the workflow executes in one loop. The
 * dry run, the `progress` query, the CLI and the report all print this same list.
 */

/** The steps of a migration, in the words the workflow history and the report use. */
export type StepName =
  | 'backup-snapshot'
  | 'move-leader'
  | 'remove-member'
  | 'delete-pod'
  | 'choose-node'
  | 'schedule-pod'
  | 'rejoin'
  | 'verify-member'
  | 'verify-quorum'
  | 'release-volumes';

/** A member a step acts on, as it was when planned. */
export interface StepMember {
  id: string;
  name: string;
  podName?: string;
  nodeName?: string;
}

/**
 * A successor being placed. `main` is the successor of the member the migration moves; `also-<name>` the successor
 * of another voter that was down too (a replace takes every down voter along).
 */
export type Slot = string;

/** What each step needs to run: everything is in the plan, nothing is decided by the workflow. */
export interface StepArgs {
  'backup-snapshot': Record<string, never>;
  /** Hand leadership away from `member` when it leads; a no-op otherwise. */
  'move-leader': { member: StepMember };
  /**
   * Remove `member` after a guarded fresh look. `onlyIfDown`: another down voter a replace takes along, left in
   * place if it answers again. `successorFollows`: the member's successor joins after it, so the step first
   * checks that the add can happen (no learner present, a pod to copy, a feasible node).
   */
  'remove-member': { member: StepMember; onlyIfDown: boolean; successorFollows: boolean; afterSuccessor?: Slot; replanIfAnswers?: boolean };
  /** Delete the pod of a member that is no longer a voter. `memberDown`: it was down when planned, so at once. */
  'delete-pod': { member: StepMember; podName: string; memberDown: boolean };
  /** Pick the node for a successor (the operator's target first, for the main slot), and its member name. */
  'choose-node': { slot: Slot; leaving: StepMember; preferredName?: string; targetNode?: string; statefulSetPod?: string };
  /**
   * Add the slot's successor as a learner and create its pod from the template member's pod; for a StatefulSet's
   * member (`statefulSet`), reserve a volume for its claim on the chosen node and have the controller recreate the pod
   * there instead (the pod and the claim are deleted, the controller makes both again, the claim binds to the volume).
   */
  'schedule-pod': { slot: Slot; templateMember: string; statefulSet?: StatefulSetSlot };
  /** Promote the slot's learner once it has caught up; the budget grows with the database. */
  rejoin: { slot: Slot; catchUpBudgetMs: number };
  /** The slot's member is a voter that answers and knows the leader. */
  'verify-member': { slot: Slot };
  /** Every voter healthy, no learner, one leader, the same HashKV everywhere. */
  'verify-quorum': { expectedVoters: number; hashTimeoutMs: number };
  /** Delete the volumes the moved StatefulSet members left behind (Released: their data is a removed member's). */
  'release-volumes': { statefulSet: string; claims: StatefulSetSlot[] };
}

/** The ordinal of a StatefulSet a successor takes over: its pod's name (the member's name) and its claim. */
export interface StatefulSetSlot {
  statefulSet: string;
  podName: string;
  claimName: string;
}

/** How a step is undone if a later one fails. `retire-successor`: remove the slot's member, then its pod. */
export type CompensationKind = 'retire-successor';

interface StepBase {
  description: string;
  /** Lowers the number of healthy voters or removes data; guarded by a fresh observation before it runs. */
  destructive: boolean;
  /** The cluster after the step, projected assuming the worst. */
  projected: QuorumState;
  /** What the step checks afresh before it acts, in words. */
  guard: string;
  /** Registered before the step runs (a step that timed out may still have happened). */
  compensation?: CompensationKind;
  /**
   * Steps that place one successor: if one fails for a reason another node may not have, the group's
   * compensations run and the group starts again on the next best node, up to `attempts` times.
   */
  group?: { id: Slot; attempts: number };
}

/** One planned step: its kind, arguments, projection, guard and compensation. */
export type PlannedStep = { [K in StepName]: StepBase & { step: K; args: StepArgs[K] } }[StepName];

/** A planned step of one kind. */
export type PlannedStepOf<K extends StepName> = Extract<PlannedStep, { step: K }>;

/** Attempts at placing a successor: a node that fails is compensated and excluded, and the next is tried. */
export const PLACEMENT_ATTEMPTS = 3;

/** Sizes that scale the patient steps' budgets. */
export interface StepBudgets {
  /** The largest database among the members, in bytes. */
  dbSizeBytes: number;
}

/**
 * How long a learner may take to catch up before the step gives up: two minutes, plus the time to stream the
 * database at a pessimistic 5 MB/s (the sandbox measured about 6 ms per MB on loopback; real networks are slower).
 */
export function catchUpBudgetMs(dbSizeBytes: number): number {
  return 120_000 + Math.ceil(dbSizeBytes / (5 * 1024 * 1024)) * 1000;
}

/** HashKV reads the whole keyspace: 2 s plus a second per 50 MB. */
export function hashTimeoutMs(dbSizeBytes: number): number {
  return 2_000 + Math.ceil(dbSizeBytes / (50 * 1024 * 1024)) * 1000;
}

/** A successor to place: the member it replaces and the name it is planned to get. */
export interface PlannedSuccessor {
  slot: Slot;
  leaving: StepMember;
  newName: string;
  /** The operator's target node, honoured on the first attempt of the main slot. */
  targetNode?: string;
  /** The node the planner chose; choose-node confirms or replaces it when the step runs. */
  plannedNode: string;
}

/** What a step list is built from. */
export interface StepListRequest {
  strategy: Strategy;
  member: StepMember & { healthy: boolean; isLeader: boolean };
  /** Other down voters a replace takes along; each gets a successor after the main one. */
  alsoReplaced: readonly (StepMember & { healthy: boolean })[];
  successors: readonly PlannedSuccessor[];
  /** Voters wanted at the end. */
  expectedVoters: number;
  budgets: StepBudgets;
  /** The member is replaced because it looked down: its removal plans again if it answers by then. */
  replanIfAnswers?: boolean;
  /**
   * The members are a StatefulSet's (its name and claim template): each successor takes over its member's ordinal,
   * so the pod is recreated by the controller rather than deleted and copied, and the old volumes go at the end.
   */
  statefulSet?: { name: string; volumeClaimTemplate: string };
}

type Spec = { [K in StepName]: Omit<StepBase, 'projected'> & { step: K; args: StepArgs[K]; change?: MembershipChange } }[StepName];

const BACKUP: Spec = {
  step: 'backup-snapshot',
  args: {},
  description: 'save an etcd snapshot and record its revision and hash',
  destructive: false,
  guard: 'a healthy voter to stream it from',
};

function placementSpecs(successor: PlannedSuccessor, template: string, budgets: StepBudgets, withVerify: boolean, sts?: StatefulSetSlot): Spec[] {
  const { slot, newName } = successor;
  const group = { id: slot, attempts: PLACEMENT_ATTEMPTS };
  const newId = `new:${newName}`;
  const specs: Spec[] = [
    {
      step: 'choose-node',
      // Another slot's successor asks for its name only when it reuses its member's (headless-service addressing).
      args: {
        slot,
        leaving: successor.leaving,
        ...(slot === 'main' || newName === successor.leaving.name ? { preferredName: newName } : {}),
        ...(successor.targetNode !== undefined ? { targetNode: successor.targetNode } : {}),
        ...(sts ? { statefulSetPod: sts.podName } : {}),
      },
      description: `confirm ${successor.plannedNode} is still the best feasible node for the successor of ${successor.leaving.name}`,
      destructive: false,
      guard: 'the node is Ready, pressure-free, schedulable and untainted, and holds no member',
      group,
    },
    sts
      ? {
          step: 'schedule-pod',
          args: { slot, templateMember: template, statefulSet: sts },
          description: `add ${newName} as a learner at the chosen node, reserve a volume there for claim ${sts.claimName}, delete the claim and pod ${sts.podName}, and let StatefulSet ${sts.statefulSet} recreate them on that node`,
          destructive: false,
          guard: `no other learner; the learner is in the member list before its pod is recreated; pod ${sts.podName} is deleted only while it runs no voter, and its claim only while it is bound to another volume`,
          compensation: 'retire-successor',
          group,
          change: { kind: 'add-learner', memberId: newId, name: newName },
        }
      : {
          step: 'schedule-pod',
          args: { slot, templateMember: template },
          description: `add ${newName} as a learner and create its pod`,
          destructive: false,
          guard: 'no other learner; the learner is in the member list before its pod starts',
          compensation: 'retire-successor',
          group,
          change: { kind: 'add-learner', memberId: newId, name: newName },
        },
    {
      step: 'rejoin',
      args: { slot, catchUpBudgetMs: catchUpBudgetMs(budgets.dbSizeBytes) },
      description: `wait until ${newName} has caught up, then promote it to voter`,
      destructive: false,
      guard: 'promoting keeps quorum counting the learner as it is observed',
      group,
      change: { kind: 'promote-learner', memberId: newId },
    },
  ];
  if (withVerify) {
    specs.push({
      step: 'verify-member',
      args: { slot },
      description: `verify ${newName} is a healthy voter`,
      destructive: false,
      guard: 'its pod runs on a Ready node',
      group,
      change: { kind: 'mark-healthy', memberId: newId },
    });
  }
  return specs;
}

function verifyQuorum(request: Pick<StepListRequest, 'expectedVoters' | 'budgets'>): Spec {
  return {
    step: 'verify-quorum',
    args: { expectedVoters: request.expectedVoters, hashTimeoutMs: hashTimeoutMs(request.budgets.dbSizeBytes) },
    description: `verify ${request.expectedVoters} healthy voters, no learner, one leader, and the same HashKV on every member`,
    destructive: false,
    guard: 'read only',
  };
}

function removeSpec(member: StepMember, onlyIfDown: boolean, successorFollows: boolean, why: string, afterSuccessor?: Slot): Spec {
  return {
    step: 'remove-member',
    args: { member, onlyIfDown, successorFollows, ...(afterSuccessor !== undefined ? { afterSuccessor } : {}) },
    description: `remove member ${member.name} (${member.id})${why}`,
    destructive: true,
    guard: `membership read through the leader; the cluster keeps quorum without it${successorFollows ? '; its successor can be added (no learner, a pod to copy, a feasible node)' : ''}${afterSuccessor !== undefined ? '; its successor is a healthy voter right now' : ''}`,
    change: { kind: 'remove-member', memberId: member.id },
  };
}

/** A removal that plans the migration again when its member answers after all. */
function withReplan(spec: Spec, replan: boolean): Spec {
  if (!replan || spec.step !== 'remove-member') return spec;
  return { ...spec, args: { ...spec.args, replanIfAnswers: true }, guard: `${spec.guard}; if the member answers again, the migration is planned again` };
}

function deletePodSpec(member: StepMember & { healthy: boolean }): Spec[] {
  if (!member.podName) return [];
  return [
    {
      step: 'delete-pod',
      args: { member, podName: member.podName, memberDown: !member.healthy },
      description: `delete pod ${member.podName}${member.nodeName ? ` on ${member.nodeName}` : ''}`,
      destructive: true,
      guard: `${member.name} is no longer a voter (the pod of a voter is never deleted)`,
    },
  ];
}

/** The ordinal a successor takes over: the name of the pod it replaces (a StatefulSet's member is named after it). */
function ordinalOf(successor: PlannedSuccessor, statefulSet: { name: string; volumeClaimTemplate: string }): StatefulSetSlot {
  const podName = successor.leaving.podName ?? successor.newName;
  return { statefulSet: statefulSet.name, podName, claimName: `${statefulSet.volumeClaimTemplate}-${podName}` };
}

/** Leadership moves off a leaving leader first, to the most caught-up healthy voter; nothing for a follower. */
function moveLeaderSpecs(member: StepListRequest['member']): Spec[] {
  return member.isLeader
    ? [{ step: 'move-leader', args: { member }, description: `move leadership off ${member.name} to the most caught-up healthy voter`, destructive: false, guard: 'a healthy voter to take it' }]
    : [];
}

/**
 * A StatefulSet's members are replaced, never surged: the ordinal's pod name is held by the old pod while it
 * exists, so no successor can run beside it. Each member leaves, then its ordinal is recreated by the controller on
 * a volume reserved on the chosen node (no delete-pod step: the pod goes only once that volume exists, or the
 * controller would recreate it on the old one). The volumes left behind go once the cluster is verified.
 */
function statefulSetSpecs(request: StepListRequest, statefulSet: { name: string; volumeClaimTemplate: string }): Spec[] {
  const { member } = request;
  const template = member.podName ?? member.name;
  const ordinals = request.successors.map((s) => ordinalOf(s, statefulSet));
  return [
    BACKUP,
    ...moveLeaderSpecs(member),
    withReplan(removeSpec(member, false, true, ''), request.replanIfAnswers === true),
    ...request.alsoReplaced.map((m) => removeSpec(m, true, true, `, also down: etcd adds no member while a voter is disconnected`)),
    ...request.successors.flatMap((s, i) => placementSpecs(s, template, request.budgets, true, ordinals[i])),
    verifyQuorum(request),
    {
      step: 'release-volumes',
      args: { statefulSet: statefulSet.name, claims: ordinals },
      description: `delete the volumes ${ordinals.map((o) => o.podName).join(', ')} left behind (Released, with a removed member's data); never one a claim is bound to`,
      destructive: false,
      guard: 'the volume is bound to no claim, and is not the one claim ' + ordinals.map((o) => o.claimName).join(', ') + ' holds now',
    },
  ];
}

/** The specs of a strategy, in the order they run. */
function specsOf(request: StepListRequest): Spec[] {
  const { member, strategy } = request;
  const template = member.podName ?? member.name;
  const [main, ...others] = request.successors;
  if (!main) return [];
  if (strategy === 'replace' && request.statefulSet) return statefulSetSpecs(request, request.statefulSet);
  if (strategy === 'replace') {
    return [
      BACKUP,
      ...moveLeaderSpecs(member),
      withReplan(removeSpec(member, false, true, ''), request.replanIfAnswers === true),
      // etcd adds no member while a voter is disconnected: the other down voters leave now, and are replaced after.
      ...request.alsoReplaced.map((m) => removeSpec(m, true, true, `, also down: etcd adds no member while a voter is disconnected`)),
      ...deletePodSpec(member),
      ...request.alsoReplaced.flatMap(deletePodSpec),
      ...placementSpecs(main, template, request.budgets, true),
      ...others.flatMap((s) => placementSpecs(s, template, request.budgets, true)),
      verifyQuorum(request),
    ];
  }
  return [
    BACKUP,
    ...placementSpecs(main, template, request.budgets, true),
    // Leadership may have moved since planning: the step always asks, and moves it only if the member leads.
    { step: 'move-leader', args: { member }, description: `move leadership off ${member.name} if it leads`, destructive: false, guard: 'a healthy voter to take it' },
    removeSpec(member, false, false, `, now that its successor is a healthy voter`, main.slot),
    ...deletePodSpec(member),
    verifyQuorum(request),
  ];
}

/**
 * The steps of a migration with the cluster projected after each, assuming the worst; or the first step the
 * quorum guard refuses.
 */
export function buildSteps(views: readonly VoterView[], request: StepListRequest): { steps: PlannedStep[] } | { refusal: string } {
  return projectSpecs(views, specsOf(request));
}

/** What a repair of the cluster's size is built from. */
export interface RepairStepRequest {
  /** Learners no migration owns any more (left by an interrupted one): removed first, with their pods. */
  staleLearners: readonly StepMember[];
  /** Successors to add, for a cluster short of voters. */
  additions: readonly PlannedSuccessor[];
  /** The voter to take out, for a cluster with one too many. */
  surplus?: StepMember & { healthy: boolean; isLeader: boolean };
  /** The pod new members copy. */
  templateMember: string;
  expectedVoters: number;
  budgets: StepBudgets;
}

/** The steps that bring a cluster back to its desired size, projected like a migration's. */
export function buildRepairSteps(views: readonly VoterView[], request: RepairStepRequest): { steps: PlannedStep[] } | { refusal: string } {
  const cleanup = request.staleLearners.flatMap((l): Spec[] => [
    removeSpec(l, false, false, ', a learner no migration owns: etcd allows one learner, so it blocks every addition'),
    ...deletePodSpec({ ...l, healthy: false }),
  ]);
  const surplus = request.surplus;
  const shrink: Spec[] = surplus
    ? [
        ...(surplus.isLeader ? [{ step: 'move-leader', args: { member: surplus }, description: `move leadership off ${surplus.name}`, destructive: false, guard: 'a healthy voter to take it' } satisfies Spec] : []),
        removeSpec(surplus, false, false, ', one voter more than desired'),
        ...deletePodSpec(surplus),
      ]
    : [];
  const grow = request.additions.flatMap((a) => placementSpecs(a, request.templateMember, request.budgets, true));
  const specs: Spec[] = [BACKUP, ...cleanup, ...shrink, ...grow, verifyQuorum({ expectedVoters: request.expectedVoters, budgets: request.budgets })];
  const projected = projectSpecs(views, specs);
  // A grow runs only while every voter answers (the planner refuses one with a voter down), and its rejoin promotes a
  // learner only once it has caught up (the run-time guard checks it). Projected as down at its promotion, a single
  // voter (a recovery's seed) could never grow: it and an unhealthy second voter are 1 of 2. Only then is the learner
  // projected as the healthy voter the guard lets it become.
  if ('steps' in projected || !views.every((v) => v.isLearner || v.healthy)) return projected;
  return projectSpecs(
    views,
    specs.map((spec): Spec => (spec.change?.kind === 'promote-learner' ? { ...spec, change: { ...spec.change, observedHealthy: true } } : spec)),
  );
}

/** What an operator-approved removal of a dead member is built from. */
export interface ApprovedRemovalStepRequest {
  member: StepMember;
  /** Who approved, for the step's description (and so the history, the progress query and the report). */
  approvedBy: string;
  expectedVoters: number;
  budgets: StepBudgets;
}

/**
 * Remove one dead member an operator approved, and nothing else: no pod is deleted (a static pod's mirror cannot be)
 * and no successor is added (the operator joins a new node). The member stays if it answers again.
 */
export function buildApprovedRemovalSteps(views: readonly VoterView[], request: ApprovedRemovalStepRequest): { steps: PlannedStep[] } | { refusal: string } {
  const remove = removeSpec(request.member, true, false, `, down, as approved by ${request.approvedBy}; no pod is deleted and no successor added`);
  const specs: Spec[] = [
    BACKUP,
    { ...remove, guard: `${remove.guard}; the member is still down (one that answers again stays)` },
    verifyQuorum({ expectedVoters: request.expectedVoters, budgets: request.budgets }),
  ];
  return projectSpecs(views, specs);
}

function projectSpecs(views: readonly VoterView[], specs: readonly Spec[]): { steps: PlannedStep[] } | { refusal: string } {
  let current: readonly VoterView[] = views;
  const steps: PlannedStep[] = [];
  for (const spec of specs) {
    const { change, ...rest } = spec;
    if (change) {
      const verdict = projectChange(current, change);
      if (!verdict.allowed) return { refusal: `step ${spec.step} refused by the quorum guard: ${verdict.reason}` };
      current = verdict.members;
    }
    steps.push({ ...rest, projected: quorumState(current) });
  }
  return { steps };
}

/** The steps of a placement group, from its first step: where a failed attempt starts again. */
export function groupStart(steps: readonly PlannedStep[], index: number): number {
  const id = steps[index]?.group?.id;
  if (id === undefined) return index;
  let start = index;
  while (start > 0 && steps[start - 1]?.group?.id === id) start--;
  return start;
}

/** One line per step, as the dry run, the CLI and the report print the plan. */
export function describeSteps(steps: readonly PlannedStep[]): string[] {
  return steps.map((s, i) => `${i + 1}. ${s.step}: ${s.description} (after: ${s.projected.healthyVoters}/${s.projected.voters} healthy voters, fault tolerance ${s.projected.faultTolerance})`);
}
