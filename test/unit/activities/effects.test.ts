import { untilReady } from '../../../activities/effects';
import { NotReadyYetError, QuorumGuardError } from '../../../activities/errors';
import type { ActivityDeps } from '../../../activities/runtime';

/** Deps on a virtual clock: sleeping advances it; heartbeats are counted. */
function virtualDeps(): { deps: ActivityDeps; slept: number[]; heartbeats: number } {
  let now = Date.parse('2026-12-01T12:00:00Z');
  const record = { slept: [] as number[], heartbeats: 0 };
  const deps: ActivityDeps = {
    clusters: new Map(),
    now: () => new Date(now),
    effects: {
      sleep: (ms) => {
        record.slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
      heartbeat: () => {
        record.heartbeats += 1;
      },
    },
  };
  return { deps, get slept() { return record.slept; }, get heartbeats() { return record.heartbeats; } };
}

describe('untilReady: a step waiting for a member tries again within its attempt', () => {
  it('answers as soon as the member is ready, polling every 200 ms and heartbeating meanwhile', async () => {
    const v = virtualDeps();
    let calls = 0;
    const result = await untilReady(v.deps, 'promote etcd-3', () => {
      calls += 1;
      if (calls < 4) return Promise.reject(new NotReadyYetError('learner etcd-3 does not answer yet'));
      return Promise.resolve({ promoted: true });
    });
    expect([result, calls, v.slept, v.heartbeats]).toEqual([{ promoted: true }, 4, [200, 200, 200], 3]);
  });

  it('hands the last not-ready error to the retry policy once its budget is spent', async () => {
    const v = virtualDeps();
    let calls = 0;
    const attempt = (): Promise<never> => {
      calls += 1;
      return Promise.reject(new NotReadyYetError(`not caught up (call ${calls})`));
    };
    await expect(untilReady(v.deps, 'promote etcd-3', attempt, { budgetMs: 1_000, pollMs: 200 })).rejects.toThrow('not caught up (call 6)');
    expect(v.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1_000);
  });

  it('lets any other error through at once: a refusal is not retried here', async () => {
    const v = virtualDeps();
    await expect(untilReady(v.deps, 'promote etcd-3', () => Promise.reject(new QuorumGuardError('promoting would leave 1 of 3 healthy')))).rejects.toBeInstanceOf(QuorumGuardError);
    expect(v.slept).toEqual([]);
  });
});
