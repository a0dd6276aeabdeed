import type { MemberSummary } from '../domain/assemble';
import type { Decision, PlannedMember } from '../domain/plan';
import type { Finding } from '../domain/risk';
import type { QuorumState } from '../domain/quorum';

/**
 * The shape of a post-mortem report: what `etcd-guardian report --json` prints and what the Markdown is rendered
 * from. Times are ISO strings; durations are whole milliseconds taken as differences of event times truncated to
 * the millisecond, so that the timeline's durations add up exactly to the workflow's.
 */

/** How a workflow run ended, or that it has not. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed-out' | 'continued-as-new';

/** A failure as history records it: the outermost message, the innermost (what the activity said), its type. */
export interface FailureSummary {
  message: string;
  /** The innermost cause's message, when it differs from `message`. */
  rootMessage?: string;
  /** The ApplicationFailure type (QUORUM_GUARD, NOT_READY_YET, ...) of the first failure in the chain that has one. */
  type?: string;
  nonRetryable?: boolean;
  /** START_TO_CLOSE, SCHEDULE_TO_CLOSE, HEARTBEAT, ... for a timeout. */
  timeoutType?: string;
}

/** How an activity ended. */
export type ActivityStatus = 'completed' | 'failed' | 'timed-out' | 'canceled' | 'running' | 'scheduled';

/** One activity, from ActivityTaskScheduled to its closing event, every retry included. */
export interface ActivityReport {
  /** The activity id the workflow gave it (unique within the run). */
  id: string;
  /** The ActivityTaskScheduled event id. */
  scheduledEventId: number;
  /** The activity type: backupSnapshot, fetchRaftMetrics, ... */
  type: string;
  /** What the step is in the workflow's words: `backup-snapshot`, `compensate: delete pod etcd-3`, ... */
  step: string;
  compensation: boolean;
  scheduledAt: string;
  /** When the last attempt started (history records only the last attempt's start). */
  lastAttemptStartedAt?: string;
  closedAt?: string;
  durationMs: number;
  /** Attempts made, the successful or final one included; retries = attempts - 1. */
  attempts: number;
  status: ActivityStatus;
  /** A line saying what the step did, from its result. */
  result?: string;
  failure?: FailureSummary;
  /** Why the attempt before the last one failed, when there were retries. */
  lastRetryFailure?: FailureSummary;
  cancelRequestedAt?: string;
  input?: unknown;
  output?: unknown;
}

/** What one stretch of the timeline was spent on. */
export type SegmentKind = 'activity' | 'parallel' | 'timer' | 'workflow';

/**
 * One stretch of the run's time. The segments partition [start, end] of the run: each begins where the previous
 * ended, so their durations add up to the run's duration.
 */
export interface TimelineSegment {
  kind: SegmentKind;
  label: string;
  start: string;
  end: string;
  /** Milliseconds from the run's start to this segment's start. */
  offsetMs: number;
  durationMs: number;
  /** Scheduled event ids of the activities running during the segment (several when they ran in parallel). */
  activities: number[];
}

/** Where the run's time went, in total. `totalMs` equals the run's duration. */
export interface TimeAccounting {
  activityMs: number;
  timerMs: number;
  workflowMs: number;
  totalMs: number;
}

/** A signal the run received. */
export interface SignalReport {
  name: string;
  at: string;
  identity?: string;
}

/** A search attribute the run set, in order. */
export interface SearchAttributeChange {
  at: string;
  key: string;
  value: unknown;
}

/** A child workflow the run started (or tried to). */
export interface ChildWorkflowReport {
  workflowId: string;
  workflowType: string;
  initiatedEventId: number;
  initiatedAt: string;
  input?: unknown;
  runId?: string;
  startedAt?: string;
  /** started, already-running (a workflow with that id existed), or how it closed while this run watched. */
  outcome: string;
  closedAt?: string;
}

/** One planned step and the cluster it leaves behind, projected assuming the worst. */
export interface PlannedStepReport {
  step: string;
  description: string;
  destructive: boolean;
  projected: QuorumState;
}

/** The migration's plan, as the plan step recorded it. */
export interface PlanReport {
  strategy: string;
  member: PlannedMember;
  from?: string;
  to: string;
  toRack?: string;
  toDomain?: string;
  newMemberName: string;
  reasons: string[];
  steps: PlannedStepReport[];
  /** Nodes that could take the member, best first. */
  candidates: { node: string; rack?: string; domain?: string; reason: string }[];
  /** Nodes that could not, with every reason. */
  refused: { node: string; reasons: string[] }[];
  createdAt?: string;
}

/** Where a node choice landed and how that attempt ended. */
export interface PlacementAttempt {
  attempt: number;
  node: string;
  memberName?: string;
  reason?: string;
  outcome: 'placed' | 'failed' | 'in progress';
}

/** One voter after the migration, with where its rack and domain come from. */
export interface FinalMember {
  name: string;
  node?: string;
  rack?: string;
  domain?: string;
  leader: boolean;
  /** The member this migration added. */
  added: boolean;
  /** Where node, rack and domain come from: the plan, a monitor observation, or nowhere. */
  source: string;
}

/** What triggered a migration. */
export interface EvidenceReport {
  /** `monitor` when a monitor started it as its child, `operator` otherwise. */
  startedBy: 'monitor' | 'operator';
  /** Who asked, as the input says (`requestedBy`: the CLI writes `cli:<user>`, the monitor its workflow id). */
  requestedBy?: string;
  /** The identity the starting Temporal client gave (its `identity` option; the SDK's default is `<pid>@<host>`). */
  clientIdentity?: string;
  reason: string;
  /** The findings that made the monitor decide, with their evidence; empty for a manual migration. */
  triggers: Finding[];
  /** The monitor cycle that decided, when its history was read. */
  decision?: { monitor: string; cycle: number; observedAt?: string; summary: string };
}

/** A monitor observation of a cluster's members, from outside the report's own history. */
export interface MemberObservationSource {
  /** Words naming where it comes from: `monitor monitor-main-x cycle 12`. */
  source: string;
  observedAt: string;
  members: MemberSummary[];
}

/** The migration-specific part of a report. */
export interface MigrationReport {
  cluster: string;
  member: string;
  dryRun: boolean;
  requestedStrategy?: string;
  requestedTargetNode?: string;
  evidence: EvidenceReport;
  plan?: PlanReport;
  placements: PlacementAttempt[];
  compensations: ActivityReport[];
  /** The activities that were retried, with their attempts and the last failure before the end. */
  retried: ActivityReport[];
  newMember?: string;
  /** `skipped`: no snapshot was taken (the disk refused, backup.required false), and why; the figures are then empty. */
  backup?: { path: string; revision: number; bytes: number; sha256: string; skipped?: string };
  finalMembership?: {
    voters: FinalMember[];
    leader?: string;
    revision?: number;
    hash?: string;
    /** The member that left, where it was. */
    removed?: { name: string; node?: string; rack?: string; domain?: string };
  };
  /** After a failure: the cluster as the workflow described it. */
  clusterAfterFailure?: string;
  summary: string;
}

/** One monitor cycle: fetch, evaluate, decide. */
export interface CycleReport {
  /** The cycle's number over the monitor's whole chain of runs. */
  number: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  observedAt?: string;
  quorum?: QuorumState;
  leader?: string;
  members?: MemberSummary[];
  findings: Finding[];
  decision?: Decision;
  failure?: FailureSummary;
  /** A migration this cycle started (or found running). */
  migration?: ChildWorkflowReport;
  activities: number[];
}

/** A finding over the cycles it was seen in. */
export interface FindingSeen {
  kind: string;
  severity: string;
  subject: string;
  message: string;
  firstCycle: number;
  lastCycle: number;
  cycles: number;
  confirmed: boolean;
}

/** The monitor-specific part of a report. */
export interface MonitorReport {
  cluster: string;
  intervalMs?: number;
  continueAsNewEvery?: number;
  /** Cycles run by the earlier runs of the chain. */
  cyclesBefore: number;
  cycles: CycleReport[];
  /** Cycles whose decision was not `none`. */
  decisions: { cycle: number; decision: Decision }[];
  findings: FindingSeen[];
  migrations: ChildWorkflowReport[];
  healthChanges: { at: string; health: string }[];
  continuedAsNew?: { at: string; newRunId: string; cyclesCarried?: number };
  summary: string;
}

/** A post-mortem report of one workflow run, built from its history alone (plus the context it is given). */
export interface WorkflowReport {
  workflowType: string;
  workflowId: string;
  runId: string;
  taskQueue?: string;
  parent?: { workflowId: string; runId?: string };
  status: RunStatus;
  startedAt: string;
  /** When the run closed; absent while it runs. */
  closedAt?: string;
  /** The end of the timeline: the close, or for a running workflow the time the report was made. */
  endAt: string;
  durationMs: number;
  failure?: FailureSummary;
  /** The identity that cancelled or terminated it, and why. */
  stopped?: { by?: string; reason?: string; at: string };
  activities: ActivityReport[];
  timeline: TimelineSegment[];
  accounting: TimeAccounting;
  signals: SignalReport[];
  children: ChildWorkflowReport[];
  searchAttributes: SearchAttributeChange[];
  workflowTaskFailures: { at: string; cause?: string; message?: string }[];
  migration?: MigrationReport;
  monitor?: MonitorReport;
  /** A repairMembership run that removed a dead member on an operator's approval: whom, approved by whom, why. */
  approval?: { member: string; approvedBy: string; reason?: string };
  /** A quorum-loss recovery: its plan, verdict and steps, from its result or its failure's details. */
  recovery?: RecoveryReport;
  notes: string[];
}

/** What a `recoverCluster` run records about itself (its result, or its failure's details). */
export interface RecoveryReport {
  cluster: string;
  phase: string;
  source?: 'survivor' | 'backup';
  /** The seed's member and node, or the backup's name. */
  from?: string;
  /** From a backup: its revision and time, and the new member and node it was restored into. */
  restored?: { revision: number; takenAt: string; into: string };
  dataLoss?: string;
  reasons: string[];
  approval?: { by: string; at: string; reason?: string; auto?: boolean };
  rejection?: { by: string; at: string; reason?: string };
  steps: Array<{ step: string; startedAt: string; endedAt?: string; detail?: string }>;
  writable?: { revision: number; at: string };
  added: string[];
  error?: string;
}
