import { buildReport, renderMarkdown, WORKFLOW_LABEL, type WorkflowReport } from '../../../src/report/report';
import { attributesOf, payload, recorded, recordedJson, toHistory, type JsonHistory } from './histories';

/**
 * The report of a real migration: test/fixtures/histories/migrate-member.json, recorded from the manual migration
 * of etcd-1 to node-4 (surge) against the sandbox.
 */

const json: JsonHistory = recordedJson('migrate-member');
const report: WorkflowReport = buildReport(recorded('migrate-member'));
const markdown = renderMarkdown(report);

/** Milliseconds between two events of the recorded JSON, read independently of the report's code. */
function msBetween(fromId: string, toId: string): number {
  const at = (id: string) => Date.parse(json.events.find((e) => e.eventId === id)?.eventTime ?? '');
  return at(toId) - at(fromId);
}

const STEPS = ['plan', 'backup-snapshot', 'choose-node', 'schedule-pod', 'schedule-pod', 'rejoin', 'verify-member', 'move-leader', 'remove-member', 'delete-pod', 'verify-quorum'];

it('names every step of the migration in the order it ran, with its activity', () => {
  expect(report.activities.map((a) => a.step)).toEqual(STEPS);
  expect(report.activities.map((a) => a.type)).toEqual([
    'prepareMigration',
    'backupSnapshot',
    'chooseNode',
    'addLearner',
    'createMemberPod',
    'promoteLearner',
    'verifyMember',
    'moveLeader',
    'removeMember',
    'deletePod',
    'verifyQuorum',
  ]);
  expect(report.timeline.filter((s) => s.kind === 'activity').map((s) => s.label)).toEqual(STEPS);
});

it("the timeline's durations add up exactly to the workflow's duration, start to close", () => {
  const first = json.events[0];
  const last = json.events[json.events.length - 1];
  const duration = msBetween(first?.eventId ?? '', last?.eventId ?? '');
  expect(duration).toBe(2497);
  expect(report.durationMs).toBe(duration);
  expect(report.timeline.reduce((total, s) => total + s.durationMs, 0)).toBe(duration);
  expect(report.accounting.totalMs).toBe(duration);
  expect(report.accounting.activityMs + report.accounting.workflowMs).toBe(duration);
  // Contiguous: each segment starts where the previous ended, the first at the start, the last ends at the close.
  expect(report.timeline[0]?.start).toBe(report.startedAt);
  expect(report.timeline[report.timeline.length - 1]?.end).toBe(report.closedAt);
  report.timeline.slice(1).forEach((s, i) => expect(s.start).toBe(report.timeline[i]?.end));
});

it("each step lasts from its activity's scheduling to its completion, and the gaps are the workflow's", () => {
  const scheduled = json.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  const expected = scheduled.map((s) => {
    const done = json.events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED' && attributesOf(e).scheduledEventId === s.eventId);
    return msBetween(s.eventId, done?.eventId ?? '');
  });
  expect(report.activities.map((a) => a.durationMs)).toEqual(expected);
  expect(report.timeline.filter((s) => s.kind === 'activity').map((s) => s.durationMs)).toEqual(expected);
  expect(new Set(report.timeline.filter((s) => s.kind !== 'activity').map((s) => s.label))).toEqual(new Set([WORKFLOW_LABEL]));
  // delete-pod waited for the old pod to go: the longest step.
  expect(report.activities.find((a) => a.step === 'delete-pod')?.durationMs).toBe(Math.max(...expected));
});

it('counts one attempt per step and no retries or compensations in a clean run', () => {
  expect(report.activities.map((a) => a.attempts)).toEqual(STEPS.map(() => 1));
  expect(report.migration?.retried).toEqual([]);
  expect(report.migration?.compensations).toEqual([]);
  expect(markdown).toContain('## Compensations\n\nNone ran.');
  expect(markdown).not.toContain('## Retries');
});

it("says who started it and why: an operator's reason", () => {
  expect(report.status).toBe('completed');
  // The recorded start had no requestedBy; the client's identity is what Temporal recorded of the caller.
  expect(report.migration?.evidence).toEqual({ startedBy: 'operator', reason: 'disk replacement on node-1', triggers: [], clientIdentity: '23234@vm' });
  expect(markdown).toContain('Started by an operator through the Temporal client `23234@vm`. Reason given: **disk replacement on node-1**');
  expect(report.migration?.summary).toBe('moved etcd-1 from node-1 to node-4 as etcd-3 (surge)');
});

it('shows the decision and the plan with the projected voters and fault tolerance of every planned step', () => {
  const plan = report.migration?.plan;
  expect(plan).toMatchObject({ strategy: 'surge', from: 'node-1', to: 'node-4', toRack: 'rack-1', toDomain: 'zone-0', newMemberName: 'etcd-3' });
  expect(plan?.steps.map((s) => [s.step, s.projected.voters, s.projected.faultTolerance])).toEqual([
    ['backup-snapshot', 3, 1],
    ['choose-node', 3, 1],
    ['schedule-pod', 3, 1],
    ['rejoin', 4, 0],
    ['verify-member', 4, 1],
    ['remove-member', 3, 1],
    ['delete-pod', 3, 1],
    ['verify-quorum', 3, 1],
  ]);
  expect(plan?.refused.map((r) => r.node)).toEqual(['node-0', 'node-1', 'node-2']);
  expect(markdown).toContain('| 4 | rejoin | wait until etcd-3 has caught up, then promote it to voter | no | 4 | 3 | 0 | 3 | 0 |');
  expect(report.migration?.placements).toEqual([{ attempt: 1, node: 'node-4', memberName: 'etcd-3', reason: 'rack rack-1 hosts no member; domain zone-0 hosts etcd-0; CPU 24%, memory 20%', outcome: 'placed' }]);
});

it('prints a timeline whose printed durations add up to the printed total, which is the workflow duration', () => {
  const section = markdown.slice(markdown.indexOf('## Timeline'), markdown.indexOf('## Compensations'));
  const rows = section.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  expect(rows).toHaveLength(report.timeline.length);
  const durations = rows.map((r) => r.split(' | ')[5] ?? '');
  const printedMs = durations.map((d) => Math.round(Number(d.replace(' s', '')) * 1000));
  expect(printedMs.reduce((a, b) => a + b, 0)).toBe(2497);
  expect(section).toContain("| **2.497 s** |  | = the workflow's duration (2.497 s) |");
  for (const step of new Set(STEPS)) expect(rows.some((r) => r.includes(`| ${step} |`))).toBe(true);
  expect(section).toContain('| delete-pod | deletePod | 22:59:11.055 | +1.300 s | 1.067 s | 1 | ✔ deleted pod etcd-1 |');
});

it('gives the final membership: the verified voters, the new member with its node and rack from the plan', () => {
  const final = report.migration?.finalMembership;
  expect(final?.voters.map((v) => [v.name, v.node, v.rack, v.domain, v.leader, v.added])).toEqual([
    ['etcd-0', undefined, undefined, undefined, false, false],
    ['etcd-2', undefined, undefined, undefined, true, false],
    ['etcd-3', 'node-4', 'rack-1', 'zone-0', false, true],
  ]);
  expect(final?.removed).toEqual({ name: 'etcd-1', node: 'node-1', rack: 'rack-1', domain: 'zone-0' });
  expect(final).toMatchObject({ leader: 'etcd-2', revision: 48, hash: '2477740545' });
  // The racks of the members that stayed are not in a migration's history: the report says so and where to look.
  expect(report.notes.join('\n')).toContain("the rack of etcd-0, etcd-2 is not recorded in this migration's history");
  expect(report.migration?.backup).toMatchObject({ revision: 6, bytes: 20512 });
});

it("takes the racks of the members that stayed from a monitor's observation when it is given one", () => {
  const observed = buildReport(recorded('migrate-member'), {
    observations: [
      {
        source: 'monitor monitor-main-x cycle 9',
        observedAt: '2026-11-24T22:59:13.000Z',
        members: [
          { id: '1', name: 'etcd-0', node: 'node-0', rack: 'rack-0', domain: 'zone-0', healthy: true, isLearner: false, isLeader: false },
          { id: '3', name: 'etcd-2', node: 'node-2', rack: 'rack-2', domain: 'zone-1', healthy: true, isLearner: false, isLeader: true },
        ],
      },
    ],
  });
  const voters = observed.migration?.finalMembership?.voters ?? [];
  expect(voters.map((v) => [v.name, v.node, v.rack, v.source])).toEqual([
    ['etcd-0', 'node-0', 'rack-0', 'monitor monitor-main-x cycle 9, observed 2026-11-24T22:59:13.000Z'],
    ['etcd-2', 'node-2', 'rack-2', 'monitor monitor-main-x cycle 9, observed 2026-11-24T22:59:13.000Z'],
    ['etcd-3', 'node-4', 'rack-1', "the node choice and the plan's placement"],
  ]);
  expect(observed.notes.join('\n')).not.toContain('not recorded');
  expect(renderMarkdown(observed)).toContain('3 distinct rack(s) for 3 voter(s).');
});

it('prints the same report as JSON that machines can read back', () => {
  const back = JSON.parse(JSON.stringify(report)) as WorkflowReport;
  expect(back.timeline.reduce((t, s) => t + s.durationMs, 0)).toBe(back.durationMs);
  expect(back.workflowId).toBe('migrate-main');
  expect(back.runId).toBe('01a20fc8-d53b-7484-82c4-a373b18d0278');
});

it('names who asked (requestedBy) and the Temporal client that started it', () => {
  const asked: JsonHistory = recordedJson('migrate-member');
  const started = asked.events[0]?.workflowExecutionStartedEventAttributes as { input?: unknown; identity?: string } | undefined;
  if (!started) throw new Error('the recorded history does not start with its start event');
  started.input = payload({ cluster: 'main', member: 'etcd-1', reason: 'disk replacement on node-1', targetNode: 'node-4', requestedBy: 'cli:alice' });
  started.identity = 'etcd-guardian-cli@bastion';
  const withAsker = buildReport(toHistory(asked));
  expect(withAsker.migration?.evidence).toMatchObject({ startedBy: 'operator', requestedBy: 'cli:alice', clientIdentity: 'etcd-guardian-cli@bastion' });
  expect(renderMarkdown(withAsker)).toContain('Started by an operator (`cli:alice`) through the Temporal client `etcd-guardian-cli@bastion`. Reason given: **disk replacement on node-1**');
});

it('says a start without a client identity came from the Temporal UI, with the requestedBy its input gave', () => {
  const fromUi: JsonHistory = recordedJson('migrate-member');
  const started = fromUi.events[0]?.workflowExecutionStartedEventAttributes as { input?: unknown; identity?: string } | undefined;
  if (!started) throw new Error('the recorded history does not start with its start event');
  started.input = payload({ cluster: 'main', member: 'etcd-1', reason: 'disk replacement on node-1', requestedBy: 'ui:alice' });
  // The UI sends no identity; SDK clients always do.
  delete started.identity;
  const report = buildReport(toHistory(fromUi));
  expect(report.migration?.evidence.clientIdentity).toBeUndefined();
  expect(renderMarkdown(report)).toContain('Started by an operator (`ui:alice`) from the Temporal UI (a start without a client identity). Reason given: **disk replacement on node-1**');
});
