import { stuckReason } from '../../../src/cli/status-command';

describe('a monitor stuck on a failing workflow task shows in status', () => {
  it.each([
    ['no workflow task pending', undefined, undefined],
    ['a first attempt, as every cycle has', { attempt: 1 }, undefined],
    [
      'a task that failed twice',
      { attempt: 3 },
      'monitor monitor-main-1 is stuck: its workflow task has failed 2 time(s) in a row (a worker bug, or workflow code that no longer replays its history); read the worker\'s log for "Workflow task failed" and the metric temporal_workflow_task_execution_failed',
    ],
  ])('%s', (_name, pending, expected) => {
    expect(stuckReason(pending, 'monitor-main-1')).toBe(expected);
  });
});
