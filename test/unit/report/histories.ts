import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';

/**
 * The recorded histories (test/fixtures/histories, from real runs against the sandbox) and tools to derive
 * histories the recordings do not cover (retries, failures, compensations, a monitor starting a migration).
 * Every derived history is built from a real recording by replacing or inserting events in its JSON, and the
 * tests that use one say so.
 */

/** A history event in Temporal's JSON form. */
export type JsonEvent = Record<string, unknown> & { eventId: string; eventTime: string; eventType: string };

/** A history in Temporal's JSON form. */
export interface JsonHistory {
  events: JsonEvent[];
}

const dir = join(__dirname, '../../fixtures/histories');

/** A recorded history, as JSON (a fresh copy each time, free to edit). */
export function recordedJson(name: 'migrate-member' | 'monitor-cluster' | 'maintain-nospace'): JsonHistory {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as JsonHistory;
}

/** A recorded history, as the client's fetchHistory() would return it. */
export function recorded(name: 'migrate-member' | 'monitor-cluster' | 'maintain-nospace'): History {
  return historyFromJSON(recordedJson(name));
}

/** JSON history to the proto form the report reads. */
export function toHistory(json: JsonHistory): History {
  return historyFromJSON(json);
}

/** A JSON payload holding `value`, as the default data converter writes it. */
export function payload(value: unknown): { payloads: { metadata: { encoding: string }; data: string }[] } {
  return {
    payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify(value)).toString('base64') }],
  };
}

/** The decoded value of a JSON payload. */
export function decoded(p: unknown): unknown {
  const data = (p as { payloads: { data: string }[] }).payloads[0]?.data ?? '';
  return JSON.parse(Buffer.from(data, 'base64').toString()) as unknown;
}

/** The event's attributes object (the one `...Attributes` field). */
export function attributesOf(event: JsonEvent): Record<string, unknown> {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  if (!key) throw new Error(`event ${event.eventId} has no attributes`);
  return event[key] as Record<string, unknown>;
}

/** The event with this id. */
export function eventById(json: JsonHistory, id: number): JsonEvent {
  const event = json.events.find((e) => e.eventId === String(id));
  if (!event) throw new Error(`no event ${id}`);
  return event;
}

/** Milliseconds since the epoch of an event. */
export function timeOf(event: JsonEvent): number {
  return Date.parse(event.eventTime);
}

/** An ISO time with nanoseconds, as history writes them, `ms` after `base`. */
export function later(base: JsonEvent | string, ms: number): string {
  const t = Date.parse(typeof base === 'string' ? base : base.eventTime) + ms;
  return new Date(t).toISOString().replace('Z', '123456Z');
}

const TYPE_OF: Readonly<Record<string, string>> = {
  workflowTaskScheduledEventAttributes: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
  workflowTaskStartedEventAttributes: 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
  workflowTaskCompletedEventAttributes: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
  activityTaskScheduledEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  activityTaskStartedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
  activityTaskCompletedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
  activityTaskFailedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_FAILED',
  activityTaskTimedOutEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT',
  activityTaskCancelRequestedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED',
  activityTaskCanceledEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_CANCELED',
  workflowExecutionFailedEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
  workflowExecutionCanceledEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
  workflowExecutionCancelRequestedEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED',
  workflowExecutionSignaledEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED',
  startChildWorkflowExecutionInitiatedEventAttributes: 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
  childWorkflowExecutionStartedEventAttributes: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED',
};

/** A JSON event of the kind its attributes name (eventId is set when appended). */
export function anEvent(attributesKey: string, attributes: Record<string, unknown>, eventTime: string): JsonEvent {
  const eventType = TYPE_OF[attributesKey];
  if (!eventType) throw new Error(`unknown attributes ${attributesKey}`);
  return { eventId: '0', eventTime, eventType, [attributesKey]: attributes };
}

/**
 * Appends events the way the server writes them: a workflow task (scheduled, started, completed) after `after`,
 * then each activity (scheduled, started with `attempt`, then completed or failed), each preceded by a workflow
 * task. Returns the last event.
 */
export class HistoryWriter {
  constructor(readonly json: JsonHistory) {}

  private nextId(): number {
    return this.json.events.length + 1;
  }

  private last(): JsonEvent {
    const last = this.json.events[this.json.events.length - 1];
    if (!last) throw new Error('empty history');
    return last;
  }

  /** Append one event, numbered next. */
  append(event: JsonEvent): JsonEvent {
    event.eventId = String(this.nextId());
    this.json.events.push(event);
    return event;
  }

  /** A workflow task of `ms` milliseconds; returns the id of its WorkflowTaskCompleted event. */
  workflowTask(ms = 12): number {
    const scheduled = this.append(anEvent('workflowTaskScheduledEventAttributes', { taskQueue: { name: 'etcd-guardian' }, startToCloseTimeout: '10s', attempt: 1 }, later(this.last(), 1)));
    const started = this.append(anEvent('workflowTaskStartedEventAttributes', { scheduledEventId: scheduled.eventId, identity: 'test' }, later(scheduled, 4)));
    return Number(this.append(anEvent('workflowTaskCompletedEventAttributes', { scheduledEventId: scheduled.eventId, startedEventId: started.eventId }, later(started, ms))).eventId);
  }

  /** An activity after a workflow task; `outcome` says how its last attempt ended. Returns its scheduled event id. */
  activity(
    type: string,
    activityId: string,
    input: unknown,
    outcome: { result: unknown } | { failure: Record<string, unknown> },
    options: { ms?: number; attempt?: number; lastFailure?: Record<string, unknown> } = {},
  ): number {
    const completedId = this.workflowTask();
    const scheduled = this.append(
      anEvent('activityTaskScheduledEventAttributes', { activityId, activityType: { name: type }, taskQueue: { name: 'etcd-guardian' }, input: payload(input), workflowTaskCompletedEventId: String(completedId) }, later(this.last(), 1)),
    );
    const ms = options.ms ?? 80;
    const started = this.append(
      anEvent('activityTaskStartedEventAttributes', { scheduledEventId: scheduled.eventId, attempt: options.attempt ?? 1, identity: 'test', ...(options.lastFailure ? { lastFailure: options.lastFailure } : {}) }, later(scheduled, Math.floor(ms / 2))),
    );
    if ('result' in outcome) {
      this.append(anEvent('activityTaskCompletedEventAttributes', { scheduledEventId: scheduled.eventId, startedEventId: started.eventId, result: payload(outcome.result) }, later(scheduled, ms)));
    } else {
      this.append(anEvent('activityTaskFailedEventAttributes', { scheduledEventId: scheduled.eventId, startedEventId: started.eventId, failure: outcome.failure, retryState: 'RETRY_STATE_NON_RETRYABLE_FAILURE' }, later(scheduled, ms)));
    }
    return Number(scheduled.eventId);
  }

  /** The run's close, after a workflow task. */
  close(attributesKey: 'workflowExecutionFailedEventAttributes' | 'workflowExecutionCanceledEventAttributes', attributes: Record<string, unknown>): JsonEvent {
    const completedId = this.workflowTask();
    return this.append(anEvent(attributesKey, { ...attributes, workflowTaskCompletedEventId: String(completedId) }, later(this.last(), 1)));
  }
}

/** An ApplicationFailure as the TypeScript SDK writes it into history. */
export function anApplicationFailure(message: string, type: string, nonRetryable = false): Record<string, unknown> {
  return { message, source: 'TypeScriptSDK', applicationFailureInfo: { type, nonRetryable } };
}

/**
 * Insert events after event `afterId`, renumbering every later event and every reference to one (scheduled,
 * started, initiated, workflow task ids), as if the server had written them there.
 */
export function insertAfter(json: JsonHistory, afterId: number, inserted: JsonEvent[]): void {
  const index = json.events.findIndex((e) => e.eventId === String(afterId));
  if (index < 0) throw new Error(`no event ${afterId}`);
  const shift = inserted.length;
  const remap = (id: string): string => (Number(id) > afterId ? String(Number(id) + shift) : id);
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [k, v] of Object.entries(value)) {
      if (/EventId$/.test(k) && typeof v === 'string') (value as Record<string, unknown>)[k] = remap(v);
      else visit(v);
    }
  };
  for (const event of json.events) {
    event.eventId = remap(event.eventId);
    visit(attributesOf(event));
  }
  inserted.forEach((event, i) => {
    event.eventId = String(afterId + i + 1);
  });
  json.events.splice(index + 1, 0, ...inserted);
}
