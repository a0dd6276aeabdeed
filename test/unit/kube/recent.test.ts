import { RecentAnswer } from '../../../src/kube/recent';

/** A call whose answers the test gives one by one, counting how often it was asked. */
function calls() {
  let clock = 1_000;
  const pending: ((value: { ok: boolean; n: number }) => void)[] = [];
  let asked = 0;
  const failNext = { on: false };
  const recent = new RecentAnswer(
    () => {
      asked += 1;
      if (failNext.on) return Promise.reject(new Error('API server unavailable'));
      return new Promise<{ ok: boolean; n: number }>((resolve) => pending.push(resolve));
    },
    (v) => v.ok,
    () => clock,
  );
  return {
    recent,
    asked: () => asked,
    answer: (value: { ok: boolean; n: number }) => pending.shift()?.(value),
    advance: (ms: number) => (clock += ms),
    failNext,
  };
}

describe('reusing a recent answer', () => {
  it('reuses a good answer younger than the age the caller allows, and asks again once it is that old', async () => {
    const c = calls();
    const first = c.recent.get(5_000);
    c.answer({ ok: true, n: 1 });
    expect(await first).toEqual({ ok: true, n: 1 });
    c.advance(4_999);
    expect(await c.recent.get(5_000)).toEqual({ ok: true, n: 1 });
    expect(c.asked()).toBe(1);
    c.advance(1);
    const second = c.recent.get(5_000);
    c.answer({ ok: true, n: 2 });
    expect(await second).toEqual({ ok: true, n: 2 });
    expect(c.asked()).toBe(2);
  });

  it('asks every time with an age of 0', async () => {
    const c = calls();
    const a = c.recent.get(0);
    c.answer({ ok: true, n: 1 });
    await a;
    const b = c.recent.get(0);
    c.answer({ ok: true, n: 2 });
    expect(await b).toEqual({ ok: true, n: 2 });
    expect(c.asked()).toBe(2);
  });

  it('keeps neither a failed answer nor a rejection', async () => {
    const c = calls();
    const bad = c.recent.get(5_000);
    c.answer({ ok: false, n: 1 });
    expect(await bad).toEqual({ ok: false, n: 1 });
    const next = c.recent.get(5_000);
    c.answer({ ok: true, n: 2 });
    expect(await next).toEqual({ ok: true, n: 2 });
    c.advance(5_000);
    c.failNext.on = true;
    await expect(c.recent.get(5_000)).rejects.toThrow('API server unavailable');
    c.failNext.on = false;
    const after = c.recent.get(5_000);
    c.answer({ ok: true, n: 3 });
    expect(await after).toEqual({ ok: true, n: 3 });
    expect(c.asked()).toBe(4);
  });

  it('shares one request among calls that overlap', async () => {
    const c = calls();
    const a = c.recent.get(5_000);
    const b = c.recent.get(5_000);
    c.answer({ ok: true, n: 1 });
    expect(await Promise.all([a, b])).toEqual([{ ok: true, n: 1 }, { ok: true, n: 1 }]);
    expect(c.asked()).toBe(1);
  });
});

describe('a request that hangs', () => {
  it('is shared only until it has run for shareForMs, and never with a caller that allows no age', async () => {
    let clock = 0;
    let asked = 0;
    const answers: ((v: { ok: boolean; n: number }) => void)[] = [];
    const recent = new RecentAnswer(
      () => {
        asked += 1;
        return new Promise<{ ok: boolean; n: number }>((resolve) => answers.push(resolve));
      },
      (v) => v.ok,
      () => clock,
      10_000,
    );
    void recent.get(5_000);
    void recent.get(5_000);
    expect(asked).toBe(1);
    const fresh = recent.get(0);
    expect(asked).toBe(2);
    clock += 10_000;
    const later = recent.get(5_000);
    expect(asked).toBe(3);
    // The newest answers first; the hung first request answering late does not replace it.
    answers[2]?.({ ok: true, n: 3 });
    expect(await later).toEqual({ ok: true, n: 3 });
    answers[0]?.({ ok: true, n: 1 });
    answers[1]?.({ ok: true, n: 2 });
    expect(await fresh).toEqual({ ok: true, n: 2 });
    expect(await recent.get(5_000)).toEqual({ ok: true, n: 3 });
    expect(asked).toBe(3);
  });
});
