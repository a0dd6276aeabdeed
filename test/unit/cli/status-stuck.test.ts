import { stuckReason } from '../../../src/cli/status-command';
import { collectPublishedEndpoints } from '../../../src/cli/published-endpoints';

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

describe('status shows the client endpoints clients read', () => {
  const clusters = [{ name: 'main', namespace: 'etcd' }];

  it('as published in the cluster\'s ConfigMap', async () => {
    const published = await collectPublishedEndpoints(() => Promise.resolve({ endpoints: 'http://127.20.0.4:2379,http://127.20.0.5:2379' }), clusters);
    expect(published.get('main')).toEqual({ configMap: 'etcd/etcd-guardian-main-endpoints', endpoints: ['http://127.20.0.4:2379', 'http://127.20.0.5:2379'] });
  });

  it('says when nothing is published yet', async () => {
    const published = await collectPublishedEndpoints(() => Promise.resolve(undefined), clusters);
    expect(published.get('main')?.problem).toBe('not published yet (the monitor publishes them every cycle, a migration when it ends)');
  });

  it('says why they could not be read, without failing the whole status', async () => {
    const published = await collectPublishedEndpoints(() => Promise.reject(new Error('configmaps "etcd-guardian-main-endpoints" is forbidden')), clusters);
    expect(published.get('main')).toEqual({ configMap: 'etcd/etcd-guardian-main-endpoints', problem: 'could not be read: configmaps "etcd-guardian-main-endpoints" is forbidden' });
  });
});
