import { Etcd3, type IOptions } from 'etcd3';
import { withTimeout } from '../../../src/errors';

/**
 * A client as kube-apiserver holds one: created once, configured the documented way (README "Clients keep finding
 * the cluster": the cluster's stable Service address, not the members' addresses), kept open, and writing numbered
 * keys one after another. It never learns the members' addresses; when its connection breaks, etcd3 reconnects to the
 * same address. Every write is recorded, so that a window can count what this client saw fail.
 */
export class LongLivedWriter {
  readonly writes: { at: number; ms: number; ok: boolean; error?: string }[] = [];
  readonly acked: string[] = [];
  private readonly client: Etcd3;
  private running = false;
  private loop?: Promise<void>;

  constructor(
    readonly hosts: string,
    private readonly prefix: string,
    options: Omit<IOptions, 'hosts'> = {},
  ) {
    // etcd3's defaults otherwise (its retry and its per-host circuit breaker): what an application gets.
    this.client = new Etcd3({ hosts, dialTimeout: 2000, ...options });
  }

  /** Write one key every `everyMs`, each with a 5 s deadline, until stopped. */
  start(everyMs = 40): void {
    this.running = true;
    this.loop = (async () => {
      let n = 0;
      while (this.running) {
        const key = `${this.prefix}${String(n++).padStart(6, '0')}`;
        const started = Date.now();
        try {
          await withTimeout(this.client.put(key).value(String(n)).exec(), 5000, `put ${key}`);
          this.acked.push(key);
          this.writes.push({ at: started, ms: Date.now() - started, ok: true });
        } catch (error) {
          this.writes.push({ at: started, ms: Date.now() - started, ok: false, error: error instanceof Error ? error.message : String(error) });
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
  }

  /** The writes that started inside [from, to]: acknowledged, failed, and the first failures' messages. */
  window(from: number, to: number): { acked: number; failed: number; errors: string[] } {
    const mine = this.writes.filter((w) => w.at >= from && w.at <= to);
    const failed = mine.filter((w) => !w.ok);
    return { acked: mine.length - failed.length, failed: failed.length, errors: [...new Set(failed.map((w) => w.error ?? '?'))].slice(0, 5) };
  }

  /** Stop writing, wait for the last write, and close the one connection. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.close();
  }
}
