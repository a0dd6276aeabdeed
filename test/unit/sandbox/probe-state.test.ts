import {
  newProbeState,
  probeKillMessage,
  probeVerdict,
  recordProbe,
  type ContainerProbes,
  type ProbeKind,
  type ProbeState,
} from '../../../src/sandbox/pods/probe-state';
import { type ProbeTiming } from '../../../src/sandbox/pods/probes';

/** The container started at t = 0; times are in ms. */
const STARTED = 0;

function timing(overrides: Partial<ProbeTiming> = {}): ProbeTiming {
  return { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3, ...overrides };
}

/** kubeadm's liveness probe of etcd. */
const KUBEADM_LIVENESS = timing({ initialDelayMs: 10_000, periodMs: 10_000, timeoutMs: 15_000, failureThreshold: 8 });

/** A probe's state after a run of results, each probe taking `tookMs` and starting as soon as it is due. */
function afterRun(kind: ProbeKind, t: ProbeTiming, results: readonly boolean[], tookMs = 0): ProbeState {
  let state = newProbeState(kind, t, STARTED);
  for (const passed of results) state = recordProbe(state, passed, state.nextAt, state.nextAt + tookMs);
  return state;
}

describe('one probe of a container, as the kubelet counts it', () => {
  it.each([
    ['liveness passes until it fails', 'liveness', true],
    ['readiness fails until it passes', 'readiness', false],
    ['startup fails until it passes', 'startup', false],
  ] as const)('%s', (_name, kind, passing) => {
    expect(newProbeState(kind, timing(), STARTED).passing).toBe(passing);
  });

  it('runs first after the initial delay', () => {
    expect(newProbeState('liveness', KUBEADM_LIVENESS, 5_000).nextAt).toBe(15_000);
  });

  it.each([
    ['two failures of three allowed', 'liveness', [false, false], true, 2],
    ['the third consecutive failure', 'liveness', [false, false, false], false, 3],
    ['failures broken by a success start again', 'liveness', [false, false, true, false, false], true, 2],
    ['seven failures of kubeadm\'s eight', 'liveness', [false, false, false, false, false, false, false], true, 7],
    ['one success makes readiness pass', 'readiness', [true], true, 0],
    ['a failing readiness probe keeps failing', 'readiness', [false, false, false, false], false, 4],
  ] as const)('%s: passing %s', (_name, kind, results, passing, failures) => {
    const t = kind === 'liveness' && results.length === 7 ? KUBEADM_LIVENESS : timing();
    const state = afterRun(kind, t, results);
    expect([state.passing, state.failures]).toEqual([passing, failures]);
  });

  it('needs successThreshold consecutive successes to pass again', () => {
    const t = timing({ successThreshold: 2, failureThreshold: 1 });
    expect(afterRun('readiness', t, [true, false, true]).passing).toBe(false);
    expect(afterRun('readiness', t, [true, false, true, true]).passing).toBe(true);
  });

  it.each([
    ['a fast probe runs again one period after it started', 200, 20_000],
    ['a probe as long as the period is followed by the next at once', 10_000, 20_000],
    ['a probe that waits out a 15 s timeout delays the next to its end', 15_000, 25_000],
  ])('%s', (_name, tookMs, nextAt) => {
    const state = recordProbe(newProbeState('liveness', KUBEADM_LIVENESS, STARTED), false, 10_000, 10_000 + tookMs);
    expect(state.nextAt).toBe(nextAt);
  });

  it("fails kubeadm's liveness probe of a frozen member 8 times 2 minutes after the first probe, 80 s when each fails fast", () => {
    const hung = afterRun('liveness', KUBEADM_LIVENESS, Array(8).fill(false), 15_000);
    const fast = afterRun('liveness', KUBEADM_LIVENESS, Array(8).fill(false), 100);
    expect([hung.passing, hung.nextAt - KUBEADM_LIVENESS.initialDelayMs]).toEqual([false, 120_000]);
    expect([fast.passing, fast.nextAt - KUBEADM_LIVENESS.initialDelayMs]).toEqual([false, 80_000]);
  });
});

describe('what the probes of a container decide', () => {
  const startupTiming = timing({ periodMs: 1_000, failureThreshold: 5 });
  const fresh = (withStartup: boolean, withLiveness: boolean): ContainerProbes => ({
    ...(withStartup ? { startup: newProbeState('startup', startupTiming, STARTED) } : {}),
    ...(withLiveness ? { liveness: newProbeState('liveness', KUBEADM_LIVENESS, STARTED) } : {}),
    readiness: newProbeState('readiness', timing({ periodMs: 2_000 }), STARTED),
  });
  const passed = (state: ProbeState | undefined, at = 0): ProbeState => {
    if (state === undefined) throw new Error('no such probe');
    return recordProbe(state, true, at, at);
  };
  const failedTimes = (state: ProbeState | undefined, times: number): ProbeState => {
    if (state === undefined) throw new Error('no such probe');
    let s = state;
    for (let i = 0; i < times; i++) s = recordProbe(s, false, s.nextAt, s.nextAt);
    return s;
  };

  it.each<[string, (p: ContainerProbes) => ContainerProbes, number, { started: boolean; ready: boolean; due: ProbeKind[]; kill?: string }]>([
    ['without a startup probe, the container is started and its readiness probe runs at once', (p) => p, 0, { started: true, ready: false, due: ['readiness'] }],
    ['liveness waits for its initial delay', (p) => p, 9_999, { started: true, ready: false, due: ['readiness'] }],
    ['after its initial delay liveness runs beside readiness', (p) => p, 10_000, { started: true, ready: false, due: ['liveness', 'readiness'] }],
    ['a passing readiness probe makes it ready', (p) => ({ ...p, readiness: passed(p.readiness) }), 1_000, { started: true, ready: true, due: [] }],
    ['a liveness probe failed failureThreshold times kills it', (p) => ({ ...p, liveness: failedTimes(p.liveness, 8) }), 200_000, { started: true, ready: false, due: [], kill: 'liveness' }],
    ['a liveness probe failed fewer times only keeps probing', (p) => ({ ...p, liveness: failedTimes(p.liveness, 7) }), 200_000, { started: true, ready: false, due: ['liveness', 'readiness'] }],
  ])('%s', (_name, change, now, expected) => {
    expect(probeVerdict(change(fresh(false, true)), now)).toEqual(expected);
  });

  it.each<[string, (p: ContainerProbes) => ContainerProbes, number, { started: boolean; ready: boolean; due: ProbeKind[]; kill?: string }]>([
    ['until the startup probe passes, only it runs, and the container is not ready', (p) => ({ ...p, readiness: passed(p.readiness) }), 60_000, { started: false, ready: false, due: ['startup'] }],
    ['once it passes, liveness and readiness run', (p) => ({ ...p, startup: passed(p.startup) }), 10_000, { started: true, ready: false, due: ['liveness', 'readiness'] }],
    ['a passed startup probe is not run again', (p) => ({ ...p, startup: passed(p.startup), readiness: passed(p.readiness) }), 1_000, { started: true, ready: true, due: [] }],
    ['a startup probe failed failureThreshold times kills it', (p) => ({ ...p, startup: failedTimes(p.startup, 5) }), 5_000, { started: false, ready: false, due: [], kill: 'startup' }],
    ['a failing liveness probe counts for nothing before startup', (p) => ({ ...p, liveness: failedTimes(p.liveness, 8) }), 0, { started: false, ready: false, due: ['startup'] }],
  ])('with a startup probe: %s', (_name, change, now, expected) => {
    expect(probeVerdict(change(fresh(true, true)), now)).toEqual(expected);
  });

  it("says what the kubelet says when it kills a container for a probe", () => {
    expect(probeKillMessage('etcd', 'liveness')).toBe('Container etcd failed liveness probe, will be restarted');
    expect(probeKillMessage('etcd', 'startup')).toBe('Container etcd failed startup probe, will be restarted');
  });
});
