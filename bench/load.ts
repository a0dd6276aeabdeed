import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';

/** Loads a cluster with keys of one value size, some puts in flight, counting the keys written so far. */
export class Loader {
  keys = 0;

  constructor(
    private readonly valueBytes: number,
    private readonly inFlight: number,
    private readonly prefix = 'bench/data-',
  ) {}

  /** Puts `count` more keys. */
  async load(endpoints: string[], count: number): Promise<void> {
    const c = new Etcd3({ hosts: endpoints, dialTimeout: 3000 });
    const value = randomBytes(this.valueBytes);
    const end = this.keys + count;
    try {
      const putter = async (): Promise<void> => {
        while (this.keys < end) {
          const key = `${this.prefix}${String(this.keys++).padStart(6, '0')}`;
          await c.put(key).value(value).exec();
        }
      };
      await Promise.all(Array.from({ length: this.inFlight }, putter));
    } finally {
      c.close();
    }
  }

  /** Puts keys until about `mb` MiB of values have been written in all. */
  async loadTo(endpoints: string[], mb: number): Promise<void> {
    await this.load(endpoints, Math.max(0, Math.ceil((mb * 2 ** 20) / this.valueBytes) - this.keys));
  }
}

/** The largest backend size any member reports (maintenance status dbSize). */
export async function dbSize(endpoints: string[]): Promise<number> {
  const sizes = await Promise.all(
    endpoints.map(async (url) => {
      const c = new Etcd3({ hosts: [url], dialTimeout: 3000 });
      try {
        return Number((await c.maintenance.status()).dbSize);
      } finally {
        c.close();
      }
    }),
  );
  return Math.max(...sizes);
}
