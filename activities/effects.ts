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

/** How long a step that waits for a member keeps trying within one attempt, and how often. */
export const WITHIN_ATTEMPT = { budgetMs: 10_000, pollMs: 200 } as const;

/**
 * Run `attempt` again while it answers NotReadyYetError, every `pollMs`, for up to `budgetMs`: a learner that has
 * not started yet is usually ready a few hundred milliseconds later, well before the activity's next retry (1 s and
 * growing). Past the budget the error goes to Temporal's retry policy, which still bounds the whole step.
 */
export async function untilReady<T>(deps: ActivityDeps, what: string, attempt: () => Promise<T>, budget: { budgetMs: number; pollMs: number } = WITHIN_ATTEMPT): Promise<T> {
  const effects = effectsOf(deps);
  const deadline = deps.now().getTime() + budget.budgetMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NotReadyYetError) || deps.now().getTime() + budget.pollMs > deadline) throw error;
      effects.heartbeat(what);
      await effects.sleep(budget.pollMs);
    }
  }
}
