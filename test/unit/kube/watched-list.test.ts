import { WatchedList, type ListAndWatch } from '../../../src/kube/watched-list';

interface Obj {
  metadata: { uid: string; name: string; resourceVersion?: string };
  n?: number;
}
const obj = (uid: string, n = 0, resourceVersion?: string): Obj => ({ metadata: { uid, name: uid, ...(resourceVersion ? { resourceVersion } : {}) }, n });

interface FakeWatch {
  from: string;
  timeoutSeconds: number;
  emit: (type: string, o: Obj) => void;
  end: (e?: unknown) => void;
  connect: () => void;
  refuse: (e: unknown) => void;
  aborted: boolean;
}

const TIMING = { maxQuietMs: 60_000, watchSeconds: 50, listDeadlineMs: 10_000 };

/** A list and a watch the test drives: what lists give (and when they answer), and each watch's events. */
function world(initial: Obj[]) {
  let items = initial;
  let rv = 100;
  let clock = 0;
  let holdLists = false;
  const held: (() => void)[] = [];
  const watches: FakeWatch[] = [];
  let lists = 0;
  const source: ListAndWatch<Obj> = {
    list: () => {
      lists += 1;
      const answer = { items: items.map((o) => ({ ...o })), resourceVersion: String(rv++) };
      if (!holdLists) return Promise.resolve(answer);
      return new Promise((resolve) => held.push(() => resolve(answer)));
    },
    watch: (from, timeoutSeconds, onEvent, onEnd) =>
      new Promise((resolve, reject) => {
        const w: FakeWatch = {
          from,
          timeoutSeconds,
          emit: onEvent,
          end: onEnd,
          connect: () => resolve({ abort: () => (w.aborted = true) }),
          refuse: reject,
          aborted: false,
        };
        watches.push(w);
      }),
  };
  const list = new WatchedList(source, TIMING, () => clock);
  return {
    list,
    watches,
    lists: () => lists,
    setItems: (next: Obj[]) => (items = next),
    advance: (ms: number) => (clock += ms),
    hold: (on: boolean) => (holdLists = on),
    answer: (index: number) => held[index]?.(),
  };
}

const names = (list: Obj[]) => list.map((o) => `${o.metadata.uid}:${o.n ?? 0}`).sort();
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** The list read once and its watch connected. */
async function started(initial: Obj[] = [obj('a'), obj('b')]) {
  const w = world(initial);
  await w.list.items();
  w.watches[0]?.connect();
  await settle();
  return w;
}

describe('a list kept current by a watch', () => {
  it("lists once, watches from the list's version with the server's timeout, and serves the watch's changes without listing again", async () => {
    const w = await started();
    expect(w.watches.map((x) => [x.from, x.timeoutSeconds])).toEqual([['100', 50]]);
    const watch = w.watches[0]!;
    watch.emit('ADDED', obj('c'));
    watch.emit('MODIFIED', obj('a', 7));
    watch.emit('DELETED', obj('b'));
    w.advance(30_000);
    expect(names(await w.list.items())).toEqual(['a:7', 'c:0']);
    expect(w.lists()).toBe(1);
  });

  it('follows a watch the server ended with the next one from the last version seen, and stays current without a list', async () => {
    const w = await started();
    w.watches[0]!.emit('MODIFIED', obj('a', 1, '140'));
    w.advance(50_000);
    w.watches[0]!.end();
    w.watches[1]!.connect();
    await settle();
    w.advance(50_000);
    // 100 s since the list, 50 s since the second watch connected: still vouched for.
    expect(names(await w.list.items())).toEqual(['a:1', 'b:0']);
    expect(w.watches.map((x) => x.from)).toEqual(['100', '140']);
    expect(w.lists()).toBe(1);
  });

  it('lists afresh once the watch has been quiet for the maximum (a connection dead without notice), and ignores the old watch', async () => {
    const w = await started([obj('a')]);
    w.advance(59_999);
    await w.list.items();
    expect(w.lists()).toBe(1);
    w.advance(1);
    w.setItems([obj('a', 1)]);
    expect(names(await w.list.items())).toEqual(['a:1']);
    expect(w.lists()).toBe(2);
    expect(w.watches.map((x) => [x.from, x.aborted])).toEqual([
      ['100', true],
      ['101', false],
    ]);
    w.watches[0]!.emit('ADDED', obj('stale'));
    w.watches[1]!.connect();
    await settle();
    expect(names(await w.list.items())).toEqual(['a:1']);
  });

  it.each<[string, (x: FakeWatch) => void]>([
    ['fails', (x) => x.end(new Error('connection reset'))],
    ['reports an error event (410 Gone)', (x) => x.emit('ERROR', { metadata: { uid: '', name: '' } })],
    ['ends cleanly at once', (x) => x.end()],
  ])('lists afresh after the watch %s', async (_case, fault) => {
    const w = await started([obj('a')]);
    fault(w.watches[0]!);
    await w.list.items();
    expect(w.lists()).toBe(2);
    expect(w.list.stats.watchFailures).toBe(1);
  });

  it('does not try a watch that could not start again for the quiet period: reads list meanwhile', async () => {
    const w = world([obj('a')]);
    await w.list.items();
    w.watches[0]!.refuse(new Error('watch is forbidden'));
    await settle();
    await w.list.items();
    await w.list.items();
    expect([w.lists(), w.watches.length, w.list.stats.lastWatchError]).toEqual([3, 1, 'watch is forbidden']);
    w.advance(60_000);
    await w.list.items();
    expect(w.watches).toHaveLength(2);
  });

  it('stops a watch that connects after a newer list or after close', async () => {
    const w = world([obj('a')]);
    await w.list.items();
    w.advance(60_000);
    await w.list.items();
    w.watches[0]!.connect();
    await settle();
    expect(w.watches[0]!.aborted).toBe(true);
    w.list.close();
    w.watches[1]!.connect();
    await settle();
    expect(w.watches[1]!.aborted).toBe(true);
    await w.list.items();
    await w.list.items();
    expect([w.lists(), w.watches.length]).toEqual([4, 2]);
  });

  it('shares a list among overlapping reads, but not one past its deadline; an older answer never replaces a newer one', async () => {
    const w = world([obj('a')]);
    w.hold(true);
    const first = w.list.items();
    const shared = w.list.items();
    expect(w.lists()).toBe(1);
    w.advance(10_000);
    w.setItems([obj('a', 2)]);
    const second = w.list.items();
    expect(w.lists()).toBe(2);
    // The second list answers first, then the first (older) one.
    w.answer(1);
    expect(names(await second)).toEqual(['a:2']);
    w.answer(0);
    expect(names(await first)).toEqual(['a:0']);
    expect(await shared).toBe(await first);
    w.watches.at(-1)?.connect();
    await settle();
    expect(names(await w.list.items())).toEqual(['a:2']);
    expect(w.watches.map((x) => x.from)).toEqual(['101']);
  });

  it('a clock stepped back vouches for nothing', async () => {
    const w = await started([obj('a')]);
    w.advance(-1);
    await w.list.items();
    expect(w.lists()).toBe(2);
  });
});
