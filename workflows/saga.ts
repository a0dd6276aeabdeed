/**
 * The saga's mechanics, and nothing else: record each step as it runs, keep compensations, run them in reverse and
 * out of reach of cancellation. No Temporal import: the workflow passes its host (clock, non-cancellable scope), and
 * the simulation passes its own, so both run exactly this code.
 */

/** Where one step stands. */
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'compensated' | 'skipped';

/** One step of the migration as it happened: for the `progress` query, the report and the result. */
export interface StepRecord {
  step: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  detail?: string;
}

/** What the saga needs of where it runs. */
export interface SagaHost {
  now(): Date;
  /** Run `fn` so that a cancellation of the workflow does not interrupt it (compensations). */
  nonCancellable<T>(fn: () => Promise<T>): Promise<T>;
  /** The innermost message of an error, for the step's record. */
  messageOf(error: unknown): string;
}

/** An undo action, named as the history and the report show it. */
export interface Compensation {
  name: string;
  /** Which successor it belongs to, so a failed placement attempt undoes only its own. */
  owner?: string;
  run: () => Promise<string>;
}

/** Step records, compensations and the current step of one saga. */
export class Saga {
  private readonly compensations: Compensation[] = [];
  /** The step running now, for the progress query. */
  current: string | undefined;

  constructor(
    private readonly host: SagaHost,
    /** Shared with the progress query: it answers from this very list. */
    readonly records: StepRecord[],
  ) {}

  /** Add a record that starts now. */
  record(step: string, status: StepStatus, detail?: string): StepRecord {
    const entry: StepRecord = { step, status, startedAt: this.host.now().toISOString(), ...(detail ? { detail } : {}) };
    this.records.push(entry);
    return entry;
  }

  /** Close a record with its outcome and duration. */
  finish(entry: StepRecord, status: StepStatus, detail?: string): void {
    entry.status = status;
    entry.endedAt = this.host.now().toISOString();
    entry.durationMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt ?? entry.endedAt);
    if (detail) entry.detail = detail;
    if (this.current === entry.step) this.current = undefined;
  }

  /** Run one step, recording it as running, then done (with `describe`'s sentence) or failed (with the reason). */
  async step<T>(name: string, run: () => Promise<T>, describe: (value: T) => string): Promise<T> {
    const entry = this.record(name, 'running');
    this.current = name;
    try {
      const value = await run();
      this.finish(entry, 'done', describe(value));
      return value;
    } catch (error) {
      this.finish(entry, 'failed', this.host.messageOf(error));
      throw error;
    }
  }

  /** Record a step that did not need to run, and why. */
  skip(name: string, why: string): void {
    this.finish(this.record(name, 'skipped'), 'skipped', why);
  }

  /** Register an undo action. Done before the step it undoes: a step that timed out may still have happened. */
  register(compensation: Compensation): void {
    this.compensations.push(compensation);
  }

  /** Forget the compensations of `owner`: its successor is a healthy voter and stays. */
  release(owner: string): void {
    for (let i = this.compensations.length - 1; i >= 0; i--) if (this.compensations[i]?.owner === owner) this.compensations.splice(i, 1);
  }

  /**
   * Run the registered compensations (all, or `owner`'s) in reverse order, even when the workflow is cancelled.
   * A compensation that fails is recorded and the next still runs.
   */
  async compensate(owner?: string): Promise<void> {
    const mine = this.compensations.filter((c) => owner === undefined || c.owner === owner);
    for (const c of mine) this.compensations.splice(this.compensations.indexOf(c), 1);
    await this.host.nonCancellable(async () => {
      for (const compensation of [...mine].reverse()) {
        const entry = this.record(`compensate: ${compensation.name}`, 'running');
        try {
          this.finish(entry, 'compensated', await compensation.run());
        } catch (error) {
          this.finish(entry, 'failed', this.host.messageOf(error));
        }
      }
    });
  }
}
