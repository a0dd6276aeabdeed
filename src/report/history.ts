import { decodeTimeoutType, defaultPayloadConverter, type Payload, type PayloadConverter, type ProtoFailure } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { FailureSummary } from './types';

/**
 * Reading a workflow history: the events a report needs, paired up (an activity's scheduling with its close, a
 * timer's start with its firing, a child's initiation with its start) and their payloads decoded. Pure.
 */

type HistoryEvent = NonNullable<History['events']>[number];

/** A protobuf int64 as history hands it over: a number, a Long, or (from JSON) a string. */
type Int64 = number | string | { toNumber(): number } | null | undefined;

/** An int64 as a number (event ids, seconds). */
export function int64(value: Int64): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value.toNumber();
}

/** An event time in whole milliseconds since the epoch (truncated, so that differences add up exactly). */
export function eventMs(event: HistoryEvent): number {
  const ts = event.eventTime;
  if (!ts) return 0;
  return int64(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** A protobuf Duration in milliseconds. */
export function durationMs(duration: { seconds?: Int64; nanos?: number | null } | null | undefined): number | undefined {
  if (!duration) return undefined;
  return int64(duration.seconds) * 1000 + Math.floor((duration.nanos ?? 0) / 1e6);
}

/** The marker the SDK's core records for a local activity. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** A local activity marker's data: JSON the SDK's core writes (seq, attempt, activity_id, activity_type, times). */
function localActivityData(bytes: Uint8Array | null | undefined): Record<string, unknown> {
  if (!bytes) return {};
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Milliseconds of a protobuf Timestamp as JSON: {seconds, nanos}, or an RFC 3339 string. */
function timestampMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof value === 'object' && value !== null) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    if (typeof seconds === 'number' || typeof seconds === 'string') return Number(seconds) * 1000 + (typeof nanos === 'number' ? Math.floor(nanos / 1e6) : 0);
  }
  return undefined;
}

/** The first payload, decoded with the default data converter; undecodable payloads say why instead of throwing. */
export function decodeFirst(payloads: { payloads?: Payload[] | null } | null | undefined, converter: PayloadConverter = defaultPayloadConverter): unknown {
  const payload = payloads?.payloads?.[0];
  if (!payload) return undefined;
  return decodePayload(payload, converter);
}

/** One payload, decoded; an encrypted or unknown encoding becomes a note rather than an error. */
export function decodePayload(payload: Payload, converter: PayloadConverter = defaultPayloadConverter): unknown {
  try {
    return converter.fromPayload(payload);
  } catch (error) {
    const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : 'unknown';
    return `(undecodable payload, encoding ${encoding}: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A failure from history in a few fields: what was said outside and at the root, and its type. */
export function summarizeFailure(failure: ProtoFailure | null | undefined): FailureSummary | undefined {
  if (!failure) return undefined;
  const summary: FailureSummary = { message: failure.message ?? '' };
  let root: ProtoFailure = failure;
  for (let current: ProtoFailure | null | undefined = failure; current; current = current.cause) {
    root = current;
    if (summary.type === undefined && current.applicationFailureInfo?.type) {
      summary.type = current.applicationFailureInfo.type;
      if (current.applicationFailureInfo.nonRetryable) summary.nonRetryable = true;
    }
    if (summary.timeoutType === undefined && current.timeoutFailureInfo) {
      const type = decodeTimeoutType(current.timeoutFailureInfo.timeoutType);
      if (type) summary.timeoutType = type;
    }
  }
  if (root !== failure && root.message && root.message !== summary.message) summary.rootMessage = root.message;
  if (!summary.message && summary.rootMessage) {
    summary.message = summary.rootMessage;
    delete summary.rootMessage;
  }
  return summary;
}

/** The innermost message of a failure summary: what the code that failed said. */
export function rootOf(failure: FailureSummary): string {
  return failure.rootMessage ?? failure.message;
}

/** An activity as history tells it. */
export interface ActivitySpan {
  scheduledEventId: number;
  activityId: string;
  type: string;
  input: unknown;
  scheduledMs: number;
  startedMs?: number;
  /** The last attempt's number (history records only the last attempt's start). */
  attempt: number;
  /** The failure of the attempt before the last. */
  lastFailure?: FailureSummary;
  closedMs?: number;
  status: 'completed' | 'failed' | 'timed-out' | 'canceled' | 'running' | 'scheduled';
  result?: unknown;
  failure?: FailureSummary;
  cancelRequestedMs?: number;
}

/** A timer: a sleep or a condition with a timeout. */
export interface TimerSpan {
  timerId: string;
  startedMs: number;
  timeoutMs?: number;
  endedMs?: number;
  outcome: 'fired' | 'canceled' | 'pending';
}

/** A child workflow the run started or tried to start. */
export interface ChildSpan {
  initiatedEventId: number;
  workflowId: string;
  workflowType: string;
  input: unknown;
  initiatedMs: number;
  startedMs?: number;
  runId?: string;
  outcome: string;
  closedMs?: number;
}

/** How the run closed. */
export interface RunClose {
  kind: 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed-out' | 'continued-as-new';
  atMs: number;
  result?: unknown;
  failure?: FailureSummary;
  details?: unknown;
  reason?: string;
  identity?: string;
  newRunId?: string;
  newInput?: unknown;
}

/** Everything a report reads from one run's history. */
export interface RunHistory {
  workflowType: string;
  workflowId?: string;
  runId?: string;
  taskQueue?: string;
  input: unknown;
  parent?: { workflowId: string; runId?: string; initiatedEventId?: number };
  identity?: string;
  startMs: number;
  lastEventMs: number;
  close?: RunClose;
  cancelRequest?: { atMs: number; identity?: string; cause?: string };
  activities: ActivitySpan[];
  timers: TimerSpan[];
  children: ChildSpan[];
  signals: { name: string; atMs: number; identity?: string }[];
  searchAttributes: { atMs: number; key: string; value: unknown }[];
  workflowTaskFailures: { atMs: number; message?: string }[];
}

/** A history with no events, or whose first event is not the start of a workflow, cannot be reported on. */
export class UnreadableHistoryError extends Error {
  readonly code = 'UNREADABLE_HISTORY';
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableHistoryError';
  }
}

/** Pair up a run's events into activities, timers, children, signals and its close. */
export function readHistory(history: History, converter: PayloadConverter = defaultPayloadConverter): RunHistory {
  const events = history.events ?? [];
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!first || !started) {
    throw new UnreadableHistoryError(`the history does not begin with WorkflowExecutionStarted (${events.length} events): is it a workflow history?`);
  }
  const run: RunHistory = {
    workflowType: started.workflowType?.name ?? 'unknown',
    input: decodeFirst(started.input, converter),
    startMs: eventMs(first),
    lastEventMs: eventMs(first),
    activities: [],
    timers: [],
    children: [],
    signals: [],
    searchAttributes: [],
    workflowTaskFailures: [],
  };
  // Newer servers record the workflow id on the started event; older ones leave it to the caller.
  const startedWorkflowId = (started as { workflowId?: string | null }).workflowId;
  if (startedWorkflowId) run.workflowId = startedWorkflowId;
  if (started.originalExecutionRunId) run.runId = started.originalExecutionRunId;
  if (started.taskQueue?.name) run.taskQueue = started.taskQueue.name;
  if (started.identity) run.identity = started.identity;
  if (started.parentWorkflowExecution?.workflowId) {
    run.parent = { workflowId: started.parentWorkflowExecution.workflowId };
    if (started.parentWorkflowExecution.runId) run.parent.runId = started.parentWorkflowExecution.runId;
    const initiated = int64(started.parentInitiatedEventId);
    if (initiated > 0) run.parent.initiatedEventId = initiated;
  }

  const activities = new Map<number, ActivitySpan>();
  const timers = new Map<string, TimerSpan>();
  const children = new Map<number, ChildSpan>();
  const closeChild = (initiatedEventId: unknown, outcome: string, atMs: number): void => {
    const child = children.get(int64(initiatedEventId as Int64));
    if (!child) return;
    child.outcome = outcome;
    child.closedMs = atMs;
  };
  const endActivity = (scheduledEventId: Int64, status: ActivitySpan['status'], atMs: number): ActivitySpan | undefined => {
    const activity = activities.get(int64(scheduledEventId));
    if (!activity) return undefined;
    activity.status = status;
    activity.closedMs = atMs;
    return activity;
  };

  for (const event of events) {
    const at = eventMs(event);
    run.lastEventMs = Math.max(run.lastEventMs, at);
    const id = int64(event.eventId);
    if (event.activityTaskScheduledEventAttributes) {
      const a = event.activityTaskScheduledEventAttributes;
      activities.set(id, {
        scheduledEventId: id,
        activityId: a.activityId ?? String(id),
        type: a.activityType?.name ?? 'unknown',
        input: decodeFirst(a.input, converter),
        scheduledMs: at,
        attempt: 1,
        status: 'scheduled',
      });
    } else if (event.activityTaskStartedEventAttributes) {
      const a = event.activityTaskStartedEventAttributes;
      const activity = activities.get(int64(a.scheduledEventId));
      if (activity) {
        activity.startedMs = at;
        activity.attempt = Math.max(1, a.attempt ?? 1);
        if (activity.status === 'scheduled') activity.status = 'running';
        const last = summarizeFailure(a.lastFailure);
        if (last) activity.lastFailure = last;
      }
    } else if (event.activityTaskCompletedEventAttributes) {
      const a = event.activityTaskCompletedEventAttributes;
      const activity = endActivity(a.scheduledEventId, 'completed', at);
      if (activity) activity.result = decodeFirst(a.result, converter);
    } else if (event.activityTaskFailedEventAttributes) {
      const a = event.activityTaskFailedEventAttributes;
      const activity = endActivity(a.scheduledEventId, 'failed', at);
      const failure = summarizeFailure(a.failure);
      if (activity && failure) activity.failure = failure;
    } else if (event.activityTaskTimedOutEventAttributes) {
      const a = event.activityTaskTimedOutEventAttributes;
      const activity = endActivity(a.scheduledEventId, 'timed-out', at);
      const failure = summarizeFailure(a.failure);
      if (activity && failure) activity.failure = failure;
    } else if (event.activityTaskCancelRequestedEventAttributes) {
      const activity = activities.get(int64(event.activityTaskCancelRequestedEventAttributes.scheduledEventId));
      if (activity) activity.cancelRequestedMs = at;
    } else if (event.activityTaskCanceledEventAttributes) {
      endActivity(event.activityTaskCanceledEventAttributes.scheduledEventId, 'canceled', at);
    } else if (event.timerStartedEventAttributes) {
      const t = event.timerStartedEventAttributes;
      const timer: TimerSpan = { timerId: t.timerId ?? String(id), startedMs: at, outcome: 'pending' };
      const timeout = durationMs(t.startToFireTimeout);
      if (timeout !== undefined) timer.timeoutMs = timeout;
      timers.set(timer.timerId, timer);
    } else if (event.timerFiredEventAttributes || event.timerCanceledEventAttributes) {
      const timerId = event.timerFiredEventAttributes?.timerId ?? event.timerCanceledEventAttributes?.timerId ?? '';
      const timer = timers.get(timerId);
      if (timer && timer.outcome === 'pending') {
        timer.endedMs = at;
        timer.outcome = event.timerFiredEventAttributes ? 'fired' : 'canceled';
      }
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const c = event.startChildWorkflowExecutionInitiatedEventAttributes;
      children.set(id, {
        initiatedEventId: id,
        workflowId: c.workflowId ?? '?',
        workflowType: c.workflowType?.name ?? 'unknown',
        input: decodeFirst(c.input, converter),
        initiatedMs: at,
        outcome: 'initiated',
      });
    } else if (event.startChildWorkflowExecutionFailedEventAttributes) {
      // The only cause the server reports here is that a workflow with that id is already running.
      closeChild(event.startChildWorkflowExecutionFailedEventAttributes.initiatedEventId, 'not started: a workflow with this id was already running', at);
    } else if (event.childWorkflowExecutionStartedEventAttributes) {
      const c = event.childWorkflowExecutionStartedEventAttributes;
      const child = children.get(int64(c.initiatedEventId));
      if (child) {
        child.startedMs = at;
        child.outcome = 'started';
        if (c.workflowExecution?.runId) child.runId = c.workflowExecution.runId;
      }
    } else if (event.childWorkflowExecutionCompletedEventAttributes) {
      closeChild(event.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed', at);
    } else if (event.childWorkflowExecutionFailedEventAttributes) {
      closeChild(event.childWorkflowExecutionFailedEventAttributes.initiatedEventId, 'failed', at);
    } else if (event.childWorkflowExecutionCanceledEventAttributes) {
      closeChild(event.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'canceled', at);
    } else if (event.childWorkflowExecutionTimedOutEventAttributes) {
      closeChild(event.childWorkflowExecutionTimedOutEventAttributes.initiatedEventId, 'timed out', at);
    } else if (event.childWorkflowExecutionTerminatedEventAttributes) {
      closeChild(event.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, 'terminated', at);
    } else if (event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) {
      // A local activity (the monitor's cycle): its start, attempt and type in the marker's data, its result beside it.
      const m = event.markerRecordedEventAttributes;
      const data = localActivityData(m.details?.['data']?.payloads?.[0]?.data);
      const failure = summarizeFailure(m.failure);
      const scheduledMs = timestampMs(data['original_schedule_time']) ?? at;
      activities.set(id, {
        scheduledEventId: id,
        activityId: typeof data['activity_id'] === 'string' ? data['activity_id'] : String(id),
        type: typeof data['activity_type'] === 'string' ? data['activity_type'] : 'unknown',
        input: undefined,
        scheduledMs,
        startedMs: scheduledMs,
        attempt: typeof data['attempt'] === 'number' ? data['attempt'] : 1,
        status: failure ? 'failed' : 'completed',
        closedMs: timestampMs(data['complete_time']) ?? at,
        ...(failure ? { failure } : { result: decodeFirst(m.details?.['result'], converter) }),
      });
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const s = event.workflowExecutionSignaledEventAttributes;
      run.signals.push({ name: s.signalName ?? '?', atMs: at, ...(s.identity ? { identity: s.identity } : {}) });
    } else if (event.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      for (const [key, payload] of Object.entries(fields)) run.searchAttributes.push({ atMs: at, key, value: decodePayload(payload, converter) });
    } else if (event.workflowTaskFailedEventAttributes) {
      const failure = summarizeFailure(event.workflowTaskFailedEventAttributes.failure);
      run.workflowTaskFailures.push({ atMs: at, ...(failure ? { message: rootOf(failure) } : {}) });
    } else if (event.workflowExecutionCancelRequestedEventAttributes) {
      const c = event.workflowExecutionCancelRequestedEventAttributes;
      run.cancelRequest = { atMs: at, ...(c.identity ? { identity: c.identity } : {}), ...(c.cause ? { cause: c.cause } : {}) };
    } else if (event.workflowExecutionCompletedEventAttributes) {
      run.close = { kind: 'completed', atMs: at, result: decodeFirst(event.workflowExecutionCompletedEventAttributes.result, converter) };
    } else if (event.workflowExecutionFailedEventAttributes) {
      const raw = event.workflowExecutionFailedEventAttributes.failure;
      const failure = summarizeFailure(raw);
      run.close = { kind: 'failed', atMs: at, ...(failure ? { failure } : {}) };
      const details = decodeFirst(raw?.applicationFailureInfo?.details, converter);
      if (details !== undefined) run.close.details = details;
    } else if (event.workflowExecutionTimedOutEventAttributes) {
      run.close = { kind: 'timed-out', atMs: at };
    } else if (event.workflowExecutionCanceledEventAttributes) {
      run.close = { kind: 'canceled', atMs: at };
    } else if (event.workflowExecutionTerminatedEventAttributes) {
      const t = event.workflowExecutionTerminatedEventAttributes;
      run.close = { kind: 'terminated', atMs: at, ...(t.reason ? { reason: t.reason } : {}), ...(t.identity ? { identity: t.identity } : {}) };
    } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
      const c = event.workflowExecutionContinuedAsNewEventAttributes;
      run.close = { kind: 'continued-as-new', atMs: at, newInput: decodeFirst(c.input, converter), ...(c.newExecutionRunId ? { newRunId: c.newExecutionRunId } : {}) };
      const failure = summarizeFailure(c.failure);
      if (failure) run.close.failure = failure;
    }
  }
  run.activities = [...activities.values()].sort((a, b) => a.scheduledMs - b.scheduledMs || a.scheduledEventId - b.scheduledEventId);
  run.timers = [...timers.values()];
  run.children = [...children.values()];
  return run;
}
