import { buildReport, renderMarkdown } from '../../../src/report/report';
import { anApplicationFailure, anEvent, attributesOf, eventById, HistoryWriter, later, payload, recordedJson, timeOf, toHistory, type JsonEvent, type JsonHistory } from './histories';

/**
 * Reports of migrations that did not go well. No recorded history has a failure, so these histories are
 * CONSTRUCTED from the recorded migrate-member.json: its first 39 events are kept as recorded (plan through the
 * start of rejoin), then the events are the ones the workflow would write for the situation named in each test.
 */

const LEARNER_ID = '6f493d5e946f9085';
const MEMBERS_NOW = 'members now: etcd-0 on node-0: healthy, etcd-1 on node-1: healthy, etcd-2 on node-2: healthy';

/**
 * CONSTRUCTED: the learner etcd-3 is retried three times in rejoin (not caught up), then vanishes (QUORUM_GUARD,
 * not retryable); the workflow deletes its pod and removes it (it was already gone), describes the cluster, fails.
 */
function failedInRejoin(): JsonHistory {
  const json = recordedJson('migrate-member');
  json.events = json.events.slice(0, 39);
  const scheduled = eventById(json, 38);
  const started = eventById(json, 39);
  expect(attributesOf(scheduled)).toMatchObject({ activityType: { name: 'promoteLearner' } });
  started.eventTime = later(scheduled, 6000);
  Object.assign(attributesOf(started), { attempt: 4, lastFailure: anApplicationFailure(`learner etcd-3 has not caught up yet (etcdserver: can only promote a learner member which is in sync with leader)`, 'NOT_READY_YET') });
  const w = new HistoryWriter(json);
  w.append(
    anEvent(
      'activityTaskFailedEventAttributes',
      { scheduledEventId: '38', startedEventId: '39', failure: anApplicationFailure(`learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}`, 'QUORUM_GUARD', true) },
      later(scheduled, 6400),
    ),
  );
  w.activity('deletePod', '10', { cluster: 'main', podName: 'etcd-3' }, { result: { deleted: true, forced: false } }, { ms: 900 });
  w.activity('removeAddedMember', '11', { cluster: 'main', nodeName: 'node-4', podName: 'etcd-3' }, { result: { removed: false } });
  w.activity('describeClusterNow', '12', { cluster: 'main' }, { result: MEMBERS_NOW });
  w.close('workflowExecutionFailedEventAttributes', {
    failure: { ...anApplicationFailure(`migration of etcd-1 failed at rejoin: learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}`, 'QUORUM_GUARD', true) },
  });
  return json;
}

describe('a migration that failed in rejoin after retries (CONSTRUCTED history)', () => {
  const json = failedInRejoin();
  const report = buildReport(toHistory(json));
  const markdown = renderMarkdown(report);

  it('names every step, the compensations after the failed one', () => {
    expect(report.activities.map((a) => [a.step, a.status])).toEqual([
      ['plan', 'completed'],
      ['backup-snapshot', 'completed'],
      ['choose-node', 'completed'],
      ['schedule-pod', 'completed'],
      ['schedule-pod', 'completed'],
      ['rejoin', 'failed'],
      ['compensate: delete pod etcd-3', 'completed'],
      ['compensate: remove learner etcd-3 on node-4', 'completed'],
      ['describe the cluster after the failure', 'completed'],
    ]);
  });

  it('adds the durations up to the workflow duration, the retried step included whole', () => {
    const first = json.events[0];
    const last = json.events[json.events.length - 1];
    const duration = first && last ? timeOf(last) - timeOf(first) : NaN;
    expect(report.status).toBe('failed');
    expect(report.durationMs).toBe(duration);
    expect(report.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(duration);
    expect(report.activities.find((a) => a.step === 'rejoin')?.durationMs).toBe(6400);
  });

  it('counts the retries and says why the attempt before the last failed', () => {
    const rejoin = report.migration?.retried;
    expect(rejoin?.map((a) => [a.step, a.attempts, a.lastRetryFailure?.type, a.failure?.type, a.failure?.nonRetryable])).toEqual([['rejoin', 4, 'NOT_READY_YET', 'QUORUM_GUARD', true]]);
    expect(markdown).toContain(
      '| rejoin | promoteLearner | 4 (3 retries) | NOT_READY_YET: learner etcd-3 has not caught up yet (etcdserver: can only promote a learner member which is in sync with leader) |',
    );
  });

  it('shows the compensations in the order they ran, with what they did', () => {
    expect(report.migration?.compensations.map((a) => [a.step, a.result])).toEqual([
      ['compensate: delete pod etcd-3', 'deleted pod etcd-3'],
      ['compensate: remove learner etcd-3 on node-4', 'etcd-3 on node-4 was not a member'],
    ]);
    const section = markdown.slice(markdown.indexOf('## Compensations'), markdown.indexOf('## Failure'));
    expect(section).toMatch(/\| compensate: delete pod etcd-3 \| [\d:.]+ \| 0\.900 s \| 1 \| ✔ deleted pod etcd-3 \|/);
    expect(section).toContain('| compensate: remove learner etcd-3 on node-4 |');
  });

  it('says where and why it failed, what the cluster looked like after, and that nothing was verified', () => {
    expect(report.failure).toMatchObject({ type: 'QUORUM_GUARD', nonRetryable: true });
    expect(report.migration?.summary).toBe(`failed at rejoin (promoteLearner): learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}; 2 compensation(s) ran`);
    expect(report.migration?.clusterAfterFailure).toBe(MEMBERS_NOW);
    expect(report.migration?.finalMembership).toBeUndefined();
    expect(report.migration?.placements).toEqual([expect.objectContaining({ attempt: 1, node: 'node-4', outcome: 'failed' })]);
    expect(markdown).toContain('| outcome | **failed**: failed at rejoin (promoteLearner)');
    expect(markdown).toContain(`## Failure\n\nQUORUM_GUARD: migration of etcd-1 failed at rejoin: learner ${LEARNER_ID} is no longer in the cluster`);
    expect(markdown).toContain('Not verified: the migration did not reach verify-quorum.');
    expect(markdown).toContain(`| rejoin | promoteLearner | 22:59:10.517 | +0.762 s | 6.400 s | 4 (3 retries) | ✖ QUORUM_GUARD: learner ${LEARNER_ID} is no longer in the cluster;`);
  });
});

const SKIPPED = "no backup of cluster main before this migration (backup.required is false): ENOSPC: no space left on device, write '/backups/main-migrate-main.db'";

/** The scheduled event of the recording's first `type` activity. */
function scheduledOf(json: JsonHistory, type: string): JsonEvent {
  const event = json.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && (attributesOf(e).activityType as { name?: string } | undefined)?.name === type);
  if (!event) throw new Error(`no ${type} activity in the recording`);
  return event;
}

/**
 * CONSTRUCTED as written by the code of plan-is-the-program: the recording's first 39 events, with the backup
 * skipped (a full disk, backup.required false) and add-learner given the peer URL instead of the node; rejoin fails
 * (QUORUM_GUARD), and the one compensation, retire-successor, removes the learner and then deletes its pod.
 */
function failedInRejoinWithRetire(): JsonHistory {
  const json = recordedJson('migrate-member');
  json.events = json.events.slice(0, 39);
  const backup = scheduledOf(json, 'backupSnapshot');
  const backupDone = json.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED' && attributesOf(e).scheduledEventId === backup.eventId);
  if (!backupDone) throw new Error('the recorded backup has no completion');
  attributesOf(backupDone).result = payload({ path: '/backups/main-migrate-main.db', revision: 0, bytes: 0, sha256: '', endpoint: 'http://127.22.0.1:2379', skipped: SKIPPED });
  attributesOf(scheduledOf(json, 'addLearner')).input = payload({ cluster: 'main', podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', surge: true });
  const scheduled = eventById(json, 38);
  expect(attributesOf(scheduled)).toMatchObject({ activityType: { name: 'promoteLearner' } });
  const w = new HistoryWriter(json);
  w.append(
    anEvent(
      'activityTaskFailedEventAttributes',
      { scheduledEventId: '38', startedEventId: '39', failure: anApplicationFailure(`learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}`, 'QUORUM_GUARD', true) },
      later(scheduled, 400),
    ),
  );
  w.activity('retireSuccessor', '10', { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', memberId: LEARNER_ID } }, { result: { removed: true, podDeleted: true } }, { ms: 900 });
  w.activity('describeClusterNow', '11', { cluster: 'main' }, { result: MEMBERS_NOW });
  w.close('workflowExecutionFailedEventAttributes', {
    failure: { ...anApplicationFailure(`migration of etcd-1 failed at rejoin: learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}`, 'QUORUM_GUARD', true) },
  });
  return json;
}

describe('a migration of the current code that failed in rejoin, with no backup (CONSTRUCTED history)', () => {
  const report = buildReport(toHistory(failedInRejoinWithRetire()));
  const markdown = renderMarkdown(report);

  it('names the one compensation retire etcd-3, after the failed step', () => {
    expect(report.activities.map((a) => [a.step, a.status])).toEqual([
      ['plan', 'completed'],
      ['backup-snapshot', 'completed'],
      ['choose-node', 'completed'],
      ['schedule-pod', 'completed'],
      ['schedule-pod', 'completed'],
      ['rejoin', 'failed'],
      ['compensate: retire etcd-3', 'completed'],
      ['describe the cluster after the failure', 'completed'],
    ]);
  });

  it('says what the compensation did, and counts it', () => {
    expect(report.migration?.compensations.map((a) => [a.step, a.result])).toEqual([['compensate: retire etcd-3', `removed member etcd-3 (${LEARNER_ID}), then deleted its pod`]]);
    expect(report.migration?.summary).toBe(`failed at rejoin (promoteLearner): learner ${LEARNER_ID} is no longer in the cluster; ${MEMBERS_NOW}; 1 compensation(s) ran`);
    const section = markdown.slice(markdown.indexOf('## Compensations'), markdown.indexOf('## Failure'));
    expect(section).toMatch(/\| compensate: retire etcd-3 \| [\d:.]+ \| 0\.900 s \| 1 \| ✔ removed member etcd-3 \(6f493d5e946f9085\), then deleted its pod \|/);
  });

  it('reads the learner added from a peer URL: its step, its line and the placement attempt it belongs to', () => {
    const learner = report.activities.find((a) => a.type === 'addLearner');
    expect([learner?.step, learner?.result]).toEqual(['schedule-pod', `learner added: etcd-3 (${LEARNER_ID}) at http://127.22.0.5:2380`]);
    expect(report.migration?.placements).toEqual([expect.objectContaining({ attempt: 1, node: 'node-4', memberName: 'etcd-3', outcome: 'failed' })]);
  });

  it('says there is no backup and why, never "0 bytes"', () => {
    expect(report.activities.find((a) => a.step === 'backup-snapshot')?.result).toBe(`no backup: ${SKIPPED}`);
    expect(report.migration?.backup).toMatchObject({ bytes: 0, skipped: SKIPPED });
    expect(markdown).toContain(`No backup: ${SKIPPED}\n`);
    expect(markdown).not.toContain('0 bytes');
  });
});

describe('a migration still running (the recorded history cut in the middle of remove-member)', () => {
  // CONSTRUCTED: the recorded history up to event 57, removeMember's ActivityTaskStarted, as a report made then sees it.
  const json = recordedJson('migrate-member');
  json.events = json.events.slice(0, 57);
  const asOf = new Date(timeOf(eventById(json, 57)) + 750);
  const report = buildReport(toHistory(json), { asOf });

  it('ends the timeline at the time of the report, the running step included', () => {
    const first = json.events[0];
    expect(report.status).toBe('running');
    expect(report.closedAt).toBeUndefined();
    expect(report.durationMs).toBe(asOf.getTime() - (first ? timeOf(first) : NaN));
    expect(report.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(report.durationMs);
    expect(report.timeline[report.timeline.length - 1]).toMatchObject({ kind: 'activity', label: 'remove-member', end: asOf.toISOString() });
    expect(report.migration?.summary).toBe('running: surge etcd-1 from node-1 to node-4, now at remove-member');
    expect(renderMarkdown(report)).toContain('| as of | ');
  });
});
