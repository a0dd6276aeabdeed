import { heartbeat as temporalHeartbeat, sleep as temporalSleep } from '@temporalio/activity';
import type { ActivityDeps, ActivityEffects } from './runtime';
import { NotReadyYetError } from './errors';

/** Temporal's own: a cancellable sleep and a real heartbeat. */
export const temporalEffects: ActivityEffects = {
  sleep: (ms) => temporalSleep(ms),
  heartbeat: (detail) => temporalHeartbeat(detail),
};

/** The effects an activity uses: the injected ones (the simulation's virtual clock) or Temporal's. */
export function effectsOf(deps: ActivityDeps): ActivityEffects {
  return deps.effects ?? temporalEffects;
}

/** Heartbeats every second while `work` runs: a long step stays alive, and a dead worker is noticed quickly. */
export async function heartbeating<T>(effects: ActivityEffects, what: string, work: Promise<T>): Promise<T> {
  effects.heartbeat(what);
  const timer = setInterval(() => effects.heartbeat(what), 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Poll `check` until it returns a value, heartbeating between polls, or give up after `timeoutMs` with
 * NotReadyYetError (the step's retry policy decides what follows).
 */
export async function waitFor<T>(deps: ActivityDeps, what: string, timeoutMs: number, check: () => Promise<T | undefined>, pollMs = 1000): Promise<T> {
  const effects = effectsOf(deps);
  const deadline = deps.now().getTime() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    effects.heartbeat(what);
    if (deps.now().getTime() > deadline) throw new NotReadyYetError(`${what}: not done after ${Math.round(timeoutMs / 1000)} s`);
    await effects.sleep(pollMs);
  }
}
