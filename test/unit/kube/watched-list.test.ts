import { WatchedList, type ListAndWatch } from '../../../src/kube/watched-list';

interface Obj {
  metadata: { uid: string; name: string };
  n?: number;
}
const obj = (uid: string, n = 0): Obj => ({ metadata: { uid, name: uid }, n });

/** A list and watch the test drives: what the next list gives, and the events of the running watch. */
function source(initial: Obj[]) {
  let items = initial;
  let rv = 1;
  const watches: { from: string; emit: (type: string, o: Obj) => void; end: (e?: unknown) => void; aborted: boolean }[] = [];
  let lists = 0;
  const s: ListAndWatch<Obj> = {
    list: () => {
      lists += 1;
      return Promise.resolve({ items: items.map((o) => ({ ...o })), resourceVersion: String(rv++) });
    },
    watch: (from, onEvent, onEnd) => {
      const w = { from, emit: onEvent, end: onEnd, aborted: false };
      watches.push(w);
      return Promise.resolve({ abort: () => (w.aborted = true) });
    },
  };
  return { s, watches, lists: () => lists, setItems: (next: Obj[]) => (items = next) };
}

const names = (list: Obj[]) => list.map((o) => `${o.metadata.uid}:${o.n ?? 0}`).sort();
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a list kept current by a watch', () => {
  it('lists once, then serves the watch\'s additions, changes and deletions without listing again', async () => {
    const src = source([obj('a'), obj('b')]);
    let clock = 0;
    const list = new WatchedList(src.s, 30_000, () => clock);
    expect(names(await list.items())).toEqual(['a:0', 'b:0']);
    await settle();
    expect(src.watches.map((w) => w.from)).toEqual(['1']);
    const w = src.watches[0]!;
    w.emit('ADDED', obj('c'));
    w.emit('MODIFIED', obj('a', 7));
    w.emit('DELETED', obj('b'));
    clock += 10_000;
    expect(names(await list.items())).toEqual(['a:7', 'c:0']);
    expect(src.lists()).toBe(1);
  });

  it('lists afresh once the watch has been quiet for the maximum, and watches from that list', async () => {
    const src = source([obj('a')]);
    let clock = 0;
    const list = new WatchedList(src.s, 30_000, () => clock);
    await list.items();
    await settle();
    clock += 20_000;
    src.watches[0]!.emit('BOOKMARK', obj('a'));
    clock += 29_999;
    await list.items();
    expect(src.lists()).toBe(1);
    clock += 1;
    src.setItems([obj('a', 1)]);
    expect(names(await list.items())).toEqual(['a:1']);
    await settle();
    expect(src.lists()).toBe(2);
    expect(src.watches.map((w) => [w.from, w.aborted])).toEqual([
      ['1', true],
      ['2', false],
    ]);
    // Events of the stopped watch change nothing.
    src.watches[0]!.emit('ADDED', obj('stale'));
    expect(names(await list.items())).toEqual(['a:1']);
  });

  it('lists afresh after the watch ends, fails or reports an error (410 Gone)', async () => {
    const src = source([obj('a')]);
    const list = new WatchedList(src.s, 30_000, () => 0);
    await list.items();
    await settle();
    src.watches[0]!.end();
    await list.items();
    await settle();
    expect(src.lists()).toBe(2);
    src.watches[1]!.emit('ERROR', { metadata: { uid: '', name: '' } });
    await list.items();
    await settle();
    expect(src.lists()).toBe(3);
    src.watches[2]!.end(new Error('connection reset'));
    await list.items();
    expect(src.lists()).toBe(4);
  });

  it('lists every time when the watch cannot be started, and after close', async () => {
    const src = source([obj('a')]);
    src.s.watch = () => Promise.reject(new Error('forbidden: cannot watch pods'));
    const list = new WatchedList(src.s, 30_000, () => 0);
    await list.items();
    await settle();
    await list.items();
    await settle();
    expect(src.lists()).toBe(2);
    const closed = new WatchedList(source([obj('a')]).s, 30_000, () => 0);
    await closed.items();
    closed.close();
    await closed.items();
    expect(closed.stats.lists).toBe(2);
    expect(closed.stats.watches).toBe(1);
  });

  it('reads that overlap a list share it', async () => {
    const src = source([obj('a')]);
    const list = new WatchedList(src.s, 30_000, () => 0);
    await Promise.all([list.items(), list.items(), list.items()]);
    expect(src.lists()).toBe(1);
  });
});
