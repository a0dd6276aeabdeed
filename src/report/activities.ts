import { rootOf, type ActivitySpan } from './history';
import type { ActivityReport } from './types';

/**
 * Activities in a report's words: which step each one was, and a line saying what it did. The lines are read
 * from the results the activities returned (history keeps them), so a report of a cancelled or terminated
 * workflow, which returned no result of its own, still says what every step did.
 */

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function str(value: unknown, fallback = '?'): string {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : fallback;
}

/** At most `max` characters of a value's JSON, for results no summary knows. */
function brief(value: unknown, max = 160): string {
  if (value === undefined) return 'no result';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A line saying what a completed activity did, from its input and result. */
export function describeResult(type: string, input: unknown, result: unknown): string {
  const i = obj(input);
  const r = obj(result);
  switch (type) {
    case 'prepareMigration': {
      const member = obj(r.member);
      const target = obj(r.target);
      return `${str(r.strategy)} ${str(member.name)} from ${str(member.nodeName)} to ${str(target.node)} as ${str(r.newMemberName)}`;
    }
    case 'backupSnapshot':
      // A disk that refused the snapshot, with backup.required false: no file, and the reason instead of "0 bytes".
      if (typeof r.skipped === 'string' && r.skipped !== '') return `no backup: ${r.skipped}`;
      return `${str(r.bytes)} bytes at revision ${str(r.revision)}, sha256 ${str(r.sha256).slice(0, 12)}, ${str(r.path)}`;
    case 'moveLeader':
      return r.moved === true ? `leadership moved to ${str(r.leader)}` : `not the leader (${str(r.leader)} leads)`;
    case 'removeMember':
      if (r.removed === true) return `removed member ${str(i.memberId)}`;
      return r.answers === true ? `member ${str(i.memberId)} answers again: left in place` : `member ${str(i.memberId)} was already gone`;
    case 'deletePod':
      return r.deleted === true ? `deleted pod ${str(i.podName)}${r.forced === true ? ` (forced: ${str(r.why, 'node not ready')})` : ''}` : `pod ${str(i.podName)} was already gone`;
    case 'chooseNode':
      return `${r.memberName !== undefined ? `${str(r.memberName)} on ` : ''}${str(r.node)} (${str(r.reason)})`;
    case 'addLearner':
      // Its input names the peer URL since plan-is-the-program and the node before it; both answer with the URL.
      return `${r.added === false ? 'already a member' : 'learner added'}: ${str(i.podName)} (${str(r.id)}) at ${str(r.peerURL, str(i.peerURL))}`;
    case 'createMemberPod':
      return r.created === false ? `pod ${str(i.podName)} already on ${str(i.nodeName)}` : `pod ${str(i.podName)} created on ${str(i.nodeName)}`;
    case 'promoteLearner':
      return r.promoted === true ? `${str(i.podName)} promoted to voter` : `${str(i.podName)} was already a voter`;
    case 'verifyMember':
      return `${str(r.name)} is a healthy voter`;
    case 'verifyQuorum': {
      const voters = Array.isArray(r.voters) ? r.voters.map((v) => str(v)) : [];
      return `${voters.length} voters (${voters.join(', ')}), leader ${str(r.leader)}, HashKV ${str(r.hash)} at revision ${str(r.revision)} on every member`;
    }
    case 'retireSuccessor': {
      const successor = obj(i.successor);
      const who = `${str(successor.podName)}${typeof successor.memberId === 'string' ? ` (${successor.memberId})` : ''}`;
      if (r.removed === true) return `removed member ${who}, ${r.podDeleted === true ? 'then deleted its pod' : 'its pod was already gone'}`;
      return `${who} was not a member, ${r.podDeleted === true ? 'deleted its pod' : 'its pod was already gone'}`;
    }
    case 'reserveVolume':
      return `${r.created === false ? 'volume already reserved' : 'volume reserved'}: ${str(r.volume)} on ${str(i.nodeName)} for claim ${str(i.claimName)}`;
    case 'recreateStatefulPod':
      return `StatefulSet ${str(i.statefulSet)} recreated pod ${str(i.podName)} on ${str(i.nodeName)} (claim ${str(i.claimName)} on ${str(i.volume)})`;
    case 'releaseReservedVolume': {
      const deleted = Array.isArray(r.deleted) ? r.deleted.map((v) => str(v)) : [];
      return deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'no unbound volume left';
    }
    case 'releaseVolumes': {
      const deleted = Array.isArray(r.deleted) ? r.deleted.map((v) => str(v)) : [];
      return deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'nothing left behind';
    }
    case 'removeAddedMember':
      return r.removed === true ? `removed ${str(i.podName)} on ${str(i.nodeName)}` : `${str(i.podName)} on ${str(i.nodeName)} was not a member`;
    case 'describeClusterNow':
      return str(result, 'cluster state unknown');
    case 'fetchRaftMetrics': {
      const members = Array.isArray(r.members) ? r.members.length : 0;
      return `${members} member(s) from ${str(r.source)}`;
    }
    case 'fetchNodeMetrics': {
      const nodes = Array.isArray(r.nodes) ? r.nodes.length : 0;
      const pods = Array.isArray(r.pods) ? r.pods.length : 0;
      return `${nodes} node(s), ${pods} pod(s)`;
    }
    case 'evaluateRisk': {
      const decision = obj(r.decision);
      return `${str(decision.kind)}: ${str(decision.summary)}`;
    }
    case 'observeCycle': {
      const decision = obj(r.decision);
      const members = Array.isArray(r.members) ? r.members.length : 0;
      const tracked = obj(r.tracked);
      return `${members} member(s); ${str(decision.kind)}: ${str(decision.summary)}${r.tracked ? `; ${str(tracked.workflowId)}: ${str(tracked.status)}` : ''}`;
    }
    case 'latestMigration': {
      const inFlight = obj(r.inFlight);
      return r.inFlight ? `migration in flight: ${str(inFlight.workflowId)} (${str(inFlight.member)})` : r.lastEndedAt ? `last migration ended ${str(r.lastEndedAt)}` : 'no migration before';
    }
    case 'migrationStatus':
      return `${str(r.workflowId)}: ${str(r.status)}${r.closedAt ? ` (closed ${str(r.closedAt)})` : ''}`;
    default:
      return brief(result);
  }
}

/** What a step label function says of an activity. */
export interface StepLabel {
  step: string;
  compensation: boolean;
}

/** An activity as a report row, labelled with its step. */
export function activityReport(span: ActivitySpan, label: StepLabel, endMs: number, pending?: { attempt: number; lastFailure?: string }): ActivityReport {
  const closedMs = span.closedMs ?? endMs;
  const report: ActivityReport = {
    id: span.activityId,
    scheduledEventId: span.scheduledEventId,
    type: span.type,
    step: label.step,
    compensation: label.compensation,
    scheduledAt: new Date(span.scheduledMs).toISOString(),
    durationMs: Math.max(0, closedMs - span.scheduledMs),
    attempts: Math.max(span.attempt, pending?.attempt ?? 0),
    status: span.status,
    input: span.input,
  };
  if (span.startedMs !== undefined) report.lastAttemptStartedAt = new Date(span.startedMs).toISOString();
  if (span.closedMs !== undefined) report.closedAt = new Date(span.closedMs).toISOString();
  if (span.status === 'completed') {
    report.output = span.result;
    report.result = describeResult(span.type, span.input, span.result);
  }
  if (span.failure) {
    report.failure = span.failure;
    const timedOut = span.status === 'timed-out' ? `timed out${span.failure.timeoutType ? ` (${span.failure.timeoutType})` : ''}: ` : '';
    report.result = `${timedOut}${span.failure.type ? `${span.failure.type}: ` : ''}${rootOf(span.failure)}`;
  }
  if (span.status === 'canceled') report.result = 'canceled';
  if (span.status === 'running' || span.status === 'scheduled') report.result = span.status === 'running' ? 'running' : 'waiting for a worker';
  if (span.lastFailure) report.lastRetryFailure = span.lastFailure;
  else if (pending?.lastFailure) report.lastRetryFailure = { message: pending.lastFailure };
  if (span.cancelRequestedMs !== undefined) report.cancelRequestedAt = new Date(span.cancelRequestedMs).toISOString();
  return report;
}
