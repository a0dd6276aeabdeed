import { TimeoutError } from '../../../src/errors';
import { describeEvent, type WorldEvent } from './events';

/**
 * Fault injection at the ports: a hook consulted on every call decides whether the call fails before its effect,
 * times out, loses its response after the effect, is delayed, or lets a world event happen first. Every call is
 * traced, so that a failing seed prints exactly what the guardian saw.
 */

/** One call to a port, as the hook sees it; `index` counts calls to both ports from 0. */
export interface PortCall {
  port: 'etcd' | 'kube';
  method: string;
  args: unknown[];
  index: number;
}

/** What the hook can do to a call. */
export type Fault =
  /** Fails before any effect, as an unreachable or unavailable server does. */
  | { kind: 'error'; message?: string }
  /** TimeoutError, no effect. */
  | { kind: 'timeout' }
  /** The effect happens, then the caller gets a TimeoutError: the answer was lost on the way back. */
  | { kind: 'lost-response' }
  /** Time passes before the call proceeds (a slow network). */
  | { kind: 'delay'; ms: number }
  /** A world event happens, then the call proceeds. */
  | { kind: 'event'; event: WorldEvent };

/** Consulted on every port call. */
export type FaultHook = (call: PortCall) => Fault | undefined;

/** One traced call: when, what, which fault, and what the caller got. */
export interface TraceEntry {
  index: number;
  /** Virtual milliseconds since the world's start. */
  atMs: number;
  port: 'etcd' | 'kube';
  method: string;
  args: string;
  fault?: string;
  outcome: string;
}

/** The Kubernetes API refused or failed a request; `code` is the HTTP status, as ApiException carries it. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`HTTP-Code: ${code} Message: ${message}`);
    this.name = 'KubeApiError';
  }
}

/** What the interceptor needs of the world. */
export interface FaultContext {
  elapsedMs(): number;
  advance(ms: number): void;
  apply(event: WorldEvent): void;
  /** The deadline a timed-out call is reported with. */
  timeoutMs: number;
}

/** How one method fails: the error for an injected failure, and (for methods that never throw) the value instead. */
export interface FailureShape<T> {
  error(message: string): unknown;
  /** For endpointStatus and nodeUsage, which report failure in their value. */
  asValue?: (error: unknown) => T;
}

/** A short, stable rendering of a call's arguments. */
export function summarizeArgs(args: readonly unknown[]): string {
  return args
    .map((arg) => {
      if (arg === undefined) return '-';
      if (typeof arg === 'object' && arg !== null && 'metadata' in arg) {
        const object = arg as { kind?: string; metadata?: { name?: string } };
        return `${object.kind === 'PersistentVolume' ? 'volume' : 'pod'} ${object.metadata?.name ?? '?'}`;
      }
      const text = JSON.stringify(arg) ?? 'undefined';
      return text.length > 80 ? `${text.slice(0, 77)}...` : text;
    })
    .join(', ');
}

function outcomeText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Runs every port call through the hook and the trace. */
export class PortCalls {
  /** The hook consulted on every call; replace it at any time. */
  hook: FaultHook | undefined;
  /** Every call so far, in order (while `tracing`). */
  readonly trace: TraceEntry[] = [];
  /** Off for a long run that never prints its schedule (the fleet bench): the trace would grow without end. */
  tracing = true;
  private index = 0;

  constructor(private readonly context: FaultContext) {}

  /** The number of calls made so far. */
  get count(): number {
    return this.index;
  }

  /**
   * Run one call: consult the hook, apply its fault around `effect`, trace the outcome. The model answers
   * synchronously; the promise only keeps the port's shape (the caller's awaits interleave as with a real server).
   */
  async run<T>(port: 'etcd' | 'kube', method: string, args: unknown[], failure: FailureShape<T>, effect: () => T): Promise<T> {
    const call: PortCall = { port, method, args, index: this.index++ };
    const fault = this.hook?.(call);
    const entry: TraceEntry = { index: call.index, atMs: this.context.elapsedMs(), port, method, args: summarizeArgs(args), outcome: '' };
    if (fault) entry.fault = fault.kind === 'event' ? `event: ${describeEvent(fault.event)}` : fault.kind === 'delay' ? `delay ${fault.ms} ms` : fault.kind;
    if (this.tracing) this.trace.push(entry);
    const fail = (error: unknown): T => {
      entry.outcome = outcomeText(error);
      if (failure.asValue) return failure.asValue(error);
      throw error;
    };
    const operation = `${port} ${method}`;
    if (fault?.kind === 'error') return fail(failure.error(fault.message ?? `${operation}: injected failure`));
    if (fault?.kind === 'timeout') {
      this.context.advance(this.context.timeoutMs);
      return fail(new TimeoutError(operation, this.context.timeoutMs));
    }
    if (fault?.kind === 'event') this.context.apply(fault.event);
    if (fault?.kind === 'delay') this.context.advance(fault.ms);
    let value: T;
    try {
      value = await Promise.resolve(effect());
    } catch (error) {
      entry.outcome = outcomeText(error);
      throw error;
    }
    if (fault?.kind === 'lost-response') {
      this.context.advance(this.context.timeoutMs);
      return fail(new TimeoutError(operation, this.context.timeoutMs));
    }
    entry.outcome = 'ok';
    return value;
  }

  /** The trace as lines a failing seed prints. */
  format(): string {
    return this.trace
      .map((e) => `#${e.index} +${e.atMs}ms ${e.port}.${e.method}(${e.args})${e.fault ? ` [${e.fault}]` : ''} -> ${e.outcome}`)
      .join('\n');
  }
}
