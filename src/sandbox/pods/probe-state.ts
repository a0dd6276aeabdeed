import { type ProbeTiming } from './probes';

/**
 * The kubelet's probe workers as pure state: when each probe of a container runs next, what its consecutive
 * results add up to, and what follows for the container (started, ready, or killed and restarted). The time is
 * passed in; the pod worker runs the probes and acts on the verdict.
 *
 * As the kubelet does: a startup probe gates liveness and readiness until it passes, and kills the container after
 * failureThreshold consecutive failures; a liveness probe kills it after failureThreshold consecutive failures; a
 * readiness probe only turns Ready on and off. A probe runs first initialDelaySeconds after the container started,
 * then every periodSeconds; one that takes longer than the period (a hung endpoint, up to timeoutSeconds) delays the
 * next to its end, as the kubelet's ticker does.
 */

/** The three probes of a container. */
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** One probe of one container run. */
export interface ProbeState {
  timing: ProbeTiming;
  /** When it may run next (ms since the epoch). */
  nextAt: number;
  /** Consecutive successes and failures so far. */
  successes: number;
  failures: number;
  /** The probe's current verdict (the kubelet's results manager): passing or not. */
  passing: boolean;
}

/** The probes of a running container; startup and liveness only when the container declares them. */
export interface ContainerProbes {
  startup?: ProbeState;
  liveness?: ProbeState;
  readiness: ProbeState;
}

/**
 * A probe's state when its container has just started. Liveness passes until it fails (a container is alive until
 * shown otherwise); startup and readiness fail until they pass.
 */
export function newProbeState(kind: ProbeKind, timing: ProbeTiming, containerStartedAt: number): ProbeState {
  return { timing, nextAt: containerStartedAt + timing.initialDelayMs, successes: 0, failures: 0, passing: kind === 'liveness' };
}

/** The state after one probe that started at `startedAt`, ended at `endedAt` and passed or not. */
export function recordProbe(state: ProbeState, passed: boolean, startedAt: number, endedAt: number): ProbeState {
  const { timing } = state;
  const successes = passed ? state.successes + 1 : 0;
  const failures = passed ? 0 : state.failures + 1;
  let passing = state.passing;
  if (passed && successes >= timing.successThreshold) passing = true;
  if (!passed && failures >= timing.failureThreshold) passing = false;
  return { timing, nextAt: Math.max(startedAt + timing.periodMs, endedAt), successes, failures, passing };
}

/** What the probes say about the container now. */
export interface ProbeVerdict {
  /** The startup probe passed, or there is none (the container status's `started`). */
  started: boolean;
  /** Started and the readiness probe passes. */
  ready: boolean;
  /** The probes to run now. */
  due: ProbeKind[];
  /** The probe whose failure kills the container (it is then restarted per the restart policy). */
  kill?: 'startup' | 'liveness';
}

/** The verdict of a container's probes at `now`. */
export function probeVerdict(probes: ContainerProbes, now: number): ProbeVerdict {
  const { startup, liveness, readiness } = probes;
  const started = startup === undefined || startup.passing;
  const ready = started && readiness.passing;
  if (!started && startup.failures >= startup.timing.failureThreshold) return { started, ready, due: [], kill: 'startup' };
  if (started && liveness !== undefined && !liveness.passing) return { started, ready, due: [], kill: 'liveness' };
  const isDue = (state: ProbeState | undefined): boolean => state !== undefined && now >= state.nextAt;
  const due: ProbeKind[] = started
    ? [...(isDue(liveness) ? (['liveness'] as const) : []), ...(isDue(readiness) ? (['readiness'] as const) : [])]
    : isDue(startup)
      ? ['startup']
      : [];
  return { started, ready, due };
}

/** The kubelet's words for a container killed by a failed probe (its event and log say the same). */
export function probeKillMessage(container: string, probe: 'startup' | 'liveness'): string {
  return `Container ${container} failed ${probe} probe, will be restarted`;
}
