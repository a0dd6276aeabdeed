import { buildReport, renderMarkdown } from '../../../src/report/report';
import { recorded } from './histories';

/**
 * The report of a maintenance: test/fixtures/histories/maintain-nospace.json, a NOSPACE recovery over the model finished
 * by a second worker after the first was shut down during the second member's defragmentation.
 */

const report = buildReport(recorded('maintain-nospace'));

it('names every step as the plan does, members by name, and counts the retried defragmentation', () => {
  expect(report.workflowType).toBe('maintainCluster');
  expect(report.activities.map((a) => a.step)).toEqual(['plan', 'compact', 'defragment etcd-0', 'defragment etcd-1', 'move-leader off etcd-2', 'defragment etcd-2', 'disarm-alarm', 'verify-write']);
  expect(report.activities.find((a) => a.step === 'defragment etcd-1')?.attempts).toBeGreaterThan(1);
});

it('renders the timeline with the step names', () => {
  const markdown = renderMarkdown(report);
  expect(markdown).toMatch(/\| defragment etcd-1 \| defragmentMember \|/);
  expect(markdown).toMatch(/\| disarm-alarm \| disarmNospace \|/);
});
