import { changes, formatClock, renderPanel, type DemoSnapshot } from './view';

/**
 * Where the demo shows what happens. On a terminal: one compact panel redrawn in place. Elsewhere (a pipe, a CI log,
 * a test): one line per change, each with the demo's clock, so the output reads as a story and never floods.
 */
export interface DemoDisplay {
  /** Something the demo did or saw: "wrote 100 keys", "fault injected". */
  note(text: string): void;
  /** What the demo is doing now (a line that changes). */
  activity(text: string): void;
  /** The cluster as last seen. */
  update(snapshot: DemoSnapshot): void;
  /** A block of text below everything (the summary, the report); the panel stays above it as it last was. */
  print(text: string): void;
  /** Stop redrawing; the terminal gets its cursor back. */
  close(): void;
}

/** The stream the display writes to. */
export interface DisplayStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** Picks the panel for a terminal and lines for everything else. */
export function createDisplay(stream: DisplayStream, title: string, startedAt: number, now: () => number = Date.now): DemoDisplay {
  return stream.isTTY === true ? new PanelDisplay(stream, title, startedAt, now) : new LineDisplay(stream, startedAt, now);
}

/** One line per change. */
export class LineDisplay implements DemoDisplay {
  private last: DemoSnapshot | undefined;
  private lastActivity = '';

  constructor(
    private readonly out: DisplayStream,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {}

  note(text: string): void {
    this.out.write(`[${formatClock(this.now() - this.startedAt)}] ${text}\n`);
  }

  activity(text: string): void {
    if (text === this.lastActivity) return;
    this.lastActivity = text;
    this.note(text);
  }

  update(snapshot: DemoSnapshot): void {
    for (const line of changes(this.last, snapshot)) this.note(line);
    this.last = snapshot;
  }

  print(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {
    // Nothing to restore.
  }
}

/** How many event lines the panel keeps. */
const RECENT = 12;
/** The clock on the panel ticks even when nothing changes. */
const TICK_MS = 500;

/** A panel redrawn in place with ANSI cursor movement: up to its first line, clear below, write it again. */
export class PanelDisplay implements DemoDisplay {
  private snapshot: DemoSnapshot | undefined;
  private last: DemoSnapshot | undefined;
  private current = 'starting';
  private readonly recent: string[] = [];
  private drawn = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly out: DisplayStream,
    private readonly title: string,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {
    this.out.write('\u001b[?25l');
    this.timer = setInterval(() => this.draw(), TICK_MS);
    // The clock must not keep the process alive.
    this.timer.unref();
  }

  note(text: string): void {
    this.recent.push(`${formatClock(this.now() - this.startedAt)} ${text}`);
    if (this.recent.length > RECENT) this.recent.splice(0, this.recent.length - RECENT);
    this.draw();
  }

  activity(text: string): void {
    this.current = text;
    this.draw();
  }

  update(snapshot: DemoSnapshot): void {
    for (const line of changes(this.last, snapshot)) this.note(line);
    this.last = snapshot;
    this.snapshot = snapshot;
    this.draw();
  }

  print(text: string): void {
    this.draw();
    // The panel stays where it is: the next draw starts below the text.
    this.drawn = 0;
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {
    if (this.closed) return;
    this.draw();
    this.closed = true;
    clearInterval(this.timer);
    this.out.write('\u001b[?25h');
  }

  private draw(): void {
    if (this.closed) return;
    const lines = renderPanel(this.snapshot, {
      title: this.title,
      activity: this.current,
      elapsedMs: this.now() - this.startedAt,
      now: this.now(),
      recent: this.recent,
      width: Math.max(20, (this.out.columns ?? 100) - 1),
      height: Math.max(5, (this.out.rows ?? 40) - 1),
    });
    const up = this.drawn > 0 ? `\u001b[${this.drawn}F` : '';
    this.out.write(`${up}\u001b[0J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
