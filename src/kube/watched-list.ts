/**
 * A list kept current by a watch, as an informer keeps it, for the monitor's every-cycle reads: one list, then the
 * watch's events, instead of a list (and its decoding) every cycle.
 *
 * It serves its objects only while it can vouch for them: a watch runs and was heard from (connected, an event or a
 * bookmark) within the last `maxQuietMs`. Each watch asks the server to end it after `watchSeconds` (shorter than
 * `maxQuietMs`); a watch that ends cleanly is followed by the next one from the last resource version seen, so a
 * quiet list is vouched for by each new watch's connection, without a list. A watch that fails, reports an error (410
 * Gone) or is not heard from for `maxQuietMs` (a connection dead without notice) no longer vouches: the next read lists
 * afresh and watches from that list. So a read is never more than `maxQuietMs` behind the API server.
 *
 * A list that does not answer within `listDeadlineMs` is no longer shared: later reads start their own, and only the
 * newest list to answer replaces the objects. A watch that cannot be started is not tried again for `maxQuietMs`
 * (reads list meanwhile, as without a watch).
 */

/** The Kubernetes calls behind a watched list: a list and a watch from a resource version. */
export interface ListAndWatch<T> {
  list(): Promise<{ items: T[]; resourceVersion?: string | undefined }>;
  /**
   * Starts a watch from `resourceVersion` that the server ends after `timeoutSeconds`; `onEvent` for each event,
   * `onEnd` when it ends (an error, or none for a clean end). Resolves once connected, to a way to stop it; a rejection
   * is a watch that never started.
   */
  watch(
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: string, object: T) => void,
    onEnd: (error?: unknown) => void,
  ): Promise<{ abort(): void }>;
}

type Meta = { metadata?: { uid?: string | undefined; namespace?: string | undefined; name?: string | undefined; resourceVersion?: string | undefined } | undefined };

/** The key of a Kubernetes object in its list: its uid, else its namespace and name. */
export function objectKey(object: Meta): string {
  const m = object.metadata;
  return m?.uid ?? `${m?.namespace ?? ''}/${m?.name ?? ''}`;
}

/** What a watched list has done, for tests, benchmarks and a post-mortem. */
export interface WatchedListStats {
  lists: number;
  watches: number;
  events: number;
  /** Watches that failed or could not be started, and the last such error. */
  watchFailures: number;
  lastWatchError?: string;
}

/** How a watched list behaves; every duration in milliseconds except `watchSeconds`. */
export interface WatchedListTiming {
  maxQuietMs: number;
  watchSeconds: number;
  listDeadlineMs: number;
}

interface RunningWatch {
  stop?: { abort(): void };
  connected: boolean;
  startedAtMs: number;
}

/** A watch that ends cleanly sooner than this after it started is taken as failed (no loop of watches). */
const SHORTEST_CLEAN_WATCH_MS = 1_000;

export class WatchedList<T extends Meta> {
  private objects = new Map<string, T>();
  private watch: RunningWatch | undefined;
  private resourceVersion: string | undefined;
  private heardAtMs = Number.NEGATIVE_INFINITY;
  /** The newest list started, and the newest whose answer was taken: an older list's answer changes nothing. */
  private listsStarted = 0;
  private listTaken = 0;
  private listing: { promise: Promise<T[]>; startedAtMs: number } | undefined;
  private noWatchUntilMs = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** When a read last asked for the objects: a list nobody reads any more can be dropped. */
  lastReadAtMs: number;
  readonly stats: WatchedListStats = { lists: 0, watches: 0, events: 0, watchFailures: 0 };

  constructor(
    private readonly source: ListAndWatch<T>,
    private readonly timing: WatchedListTiming,
    private readonly clock: () => number = Date.now,
  ) {
    this.lastReadAtMs = clock();
  }

  /** The objects, from the watch when it can vouch for them, else from a fresh list (which starts a new watch). */
  items(): Promise<T[]> {
    const now = this.clock();
    this.lastReadAtMs = now;
    if (this.current()) return Promise.resolve([...this.objects.values()]);
    const listing = this.listing;
    if (listing && now - listing.startedAtMs >= 0 && now - listing.startedAtMs < this.timing.listDeadlineMs) return listing.promise;
    const promise = this.relist(now);
    const entry = { promise, startedAtMs: now };
    this.listing = entry;
    const clear = (): void => {
      if (this.listing === entry) this.listing = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  /** Whether reads are served from the watch now (a clock stepped back vouches for nothing). */
  current(): boolean {
    const quiet = this.clock() - this.heardAtMs;
    return this.watch !== undefined && !this.closed && quiet >= 0 && quiet < this.timing.maxQuietMs;
  }

  /** Stops the watch; later reads list every time. */
  close(): void {
    this.closed = true;
    this.stopWatch();
  }

  private async relist(startedAt: number): Promise<T[]> {
    const order = ++this.listsStarted;
    const { items, resourceVersion } = await this.source.list();
    this.stats.lists += 1;
    if (order < this.listTaken) return items;
    this.listTaken = order;
    this.stopWatch();
    this.objects = new Map(items.map((item) => [objectKey(item), item]));
    this.resourceVersion = resourceVersion;
    this.heardAtMs = startedAt;
    this.startWatch();
    return items;
  }

  private startWatch(): void {
    const from = this.resourceVersion;
    if (this.closed || from === undefined || this.clock() < this.noWatchUntilMs) return;
    const watch: RunningWatch = { connected: false, startedAtMs: this.clock() };
    this.watch = watch;
    this.stats.watches += 1;
    const failed = (error: unknown): void => {
      this.stats.watchFailures += 1;
      this.stats.lastWatchError = error instanceof Error ? error.message : String(error);
      // One that never connected (forbidden, no streaming through a proxy) is not tried again at once.
      if (!watch.connected) this.noWatchUntilMs = this.clock() + this.timing.maxQuietMs;
    };
    const ended = (error?: unknown): void => {
      if (this.watch !== watch) return;
      this.watch = undefined;
      if (error !== undefined && error !== null) failed(error);
      else if (this.clock() - watch.startedAtMs < SHORTEST_CLEAN_WATCH_MS) failed(new Error('the watch ended as soon as it started'));
      // A clean end (the server's timeout): the next watch goes on from the last version seen.
      else this.startWatch();
    };
    this.source
      .watch(from, this.timing.watchSeconds, (type, object) => this.onEvent(watch, type, object), ended)
      .then(
        (stop) => {
          // Stopped or ended before it connected: stop it now.
          if (this.watch !== watch) {
            stop.abort();
            return;
          }
          watch.stop = stop;
          watch.connected = true;
          this.heardAtMs = this.clock();
        },
        (error: unknown) => {
          if (this.watch === watch) this.watch = undefined;
          failed(error);
        },
      );
  }

  private onEvent(watch: RunningWatch, type: string, object: T): void {
    if (this.watch !== watch) return;
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
      default: {
        // ERROR (410 Gone: the resource version is too old) or anything unknown: the watch cannot vouch any more.
        this.stopWatch();
        this.resourceVersion = undefined;
        this.stats.watchFailures += 1;
        this.stats.lastWatchError = `watch event ${type}: ${JSON.stringify(object).slice(0, 200)}`;
        return;
      }
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    this.heardAtMs = this.clock();
  }

  private stopWatch(): void {
    const watch = this.watch;
    this.watch = undefined;
    watch?.stop?.abort();
  }
}
