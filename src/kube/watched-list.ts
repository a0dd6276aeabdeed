/**
 * A list kept current by a watch, as an informer keeps it, for the monitor's every-cycle reads: one list, then the
 * watch's events, instead of a list (and its decoding) every cycle. It serves its objects only while it can vouch for
 * them: the watch is running and has been heard from (an event or a bookmark) within `maxQuietMs` of the last list.
 * Otherwise, and after the watch ends or fails (a 410 Gone included), the next read lists afresh and watches again
 * from that list's resource version, so a read is never older than `maxQuietMs` even when a watch dies unnoticed.
 */

/** The Kubernetes calls behind a watched list: a list and a watch from its resource version. */
export interface ListAndWatch<T> {
  list(): Promise<{ items: T[]; resourceVersion?: string | undefined }>;
  /** Starts a watch; `onEvent` for each event, `onEnd` once when it ends for any reason. Resolves to a way to stop it. */
  watch(resourceVersion: string, onEvent: (type: string, object: T) => void, onEnd: (error?: unknown) => void): Promise<{ abort(): void }>;
}

/** The key of a Kubernetes object in its list: its uid, else its namespace and name. */
export function objectKey(object: { metadata?: { uid?: string | undefined; namespace?: string | undefined; name?: string | undefined } | undefined }): string {
  const m = object.metadata;
  return m?.uid ?? `${m?.namespace ?? ''}/${m?.name ?? ''}`;
}

/** What a watched list has done: for tests and benchmarks. */
export interface WatchedListStats {
  lists: number;
  watches: number;
  events: number;
}

export class WatchedList<T extends { metadata?: { uid?: string | undefined; namespace?: string | undefined; name?: string | undefined } | undefined }> {
  private objects = new Map<string, T>();
  /** Counts the lists; a watch's events are taken only while its generation is the current one. */
  private generation = 0;
  private watch: { generation: number; stop?: { abort(): void } } | undefined;
  private heardAtMs = 0;
  private listing: Promise<T[]> | undefined;
  private closed = false;
  readonly stats: WatchedListStats = { lists: 0, watches: 0, events: 0 };

  constructor(
    private readonly source: ListAndWatch<T>,
    private readonly maxQuietMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The objects, from the watch when it can vouch for them, else from a fresh list (which starts a new watch). */
  items(): Promise<T[]> {
    if (this.current()) return Promise.resolve([...this.objects.values()]);
    this.listing ??= this.relist().finally(() => (this.listing = undefined));
    return this.listing;
  }

  /** Whether reads are served from the watch now. */
  current(): boolean {
    return this.watch !== undefined && this.clock() - this.heardAtMs < this.maxQuietMs;
  }

  /** Stops the watch; later reads list every time. */
  close(): void {
    this.closed = true;
    this.stopWatch();
  }

  private async relist(): Promise<T[]> {
    const startedAt = this.clock();
    const { items, resourceVersion } = await this.source.list();
    this.stats.lists += 1;
    this.stopWatch();
    const generation = ++this.generation;
    this.objects = new Map(items.map((item) => [objectKey(item), item]));
    this.heardAtMs = startedAt;
    if (!this.closed && resourceVersion) this.startWatch(generation, resourceVersion);
    return items;
  }

  private startWatch(generation: number, resourceVersion: string): void {
    const watch: { generation: number; stop?: { abort(): void } } = { generation };
    this.watch = watch;
    this.stats.watches += 1;
    const ended = (): void => {
      if (this.watch === watch) this.watch = undefined;
    };
    this.source
      .watch(resourceVersion, (type, object) => this.onEvent(watch, type, object), ended)
      .then(
        (stop) => {
          // Stopped before it started (a newer list, or close): stop it now.
          if (this.watch !== watch) stop.abort();
          else watch.stop = stop;
        },
        ended,
      );
  }

  private onEvent(watch: { generation: number }, type: string, object: T): void {
    if (this.watch !== watch || watch.generation !== this.generation) return;
    this.stats.events += 1;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        this.objects.set(objectKey(object), object);
        break;
      case 'DELETED':
        this.objects.delete(objectKey(object));
        break;
      case 'BOOKMARK':
        break;
      default:
        // ERROR (410 Gone: the resource version is too old) or anything unknown: the watch cannot vouch any more.
        this.stopWatch();
        return;
    }
    this.heardAtMs = this.clock();
  }

  private stopWatch(): void {
    const watch = this.watch;
    this.watch = undefined;
    watch?.stop?.abort();
  }
}
