/**
 * A seeded pseudo-random generator (mulberry32): the whole simulation draws from one, so that a seed replays the
 * same world, the same member ids and the same fault schedule. Never Math.random.
 */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('Random.pick: empty list');
    return item;
  }

  /** A 16-digit hex id that is never zero, like etcd's member ids. */
  hexId(): string {
    let id = '';
    while (id.length < 16) id += this.int(16).toString(16);
    return /^0+$/.test(id) ? this.hexId() : id.replace(/^0+/, '');
  }
}
