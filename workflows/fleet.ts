import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FleetActivities } from '../activities/fleet';
import {
  admit,
  describeBudget,
  emptyFleet,
  enqueue,
  freeze,
  freezeProblems,
  heldLeases,
  nextFreezeEnd,
  release,
  unfreeze,
  type Freeze,
  type FleetState,
  type FreezeRequest,
  type LeaseHolder,
} from '../src/domain/fleet';
import { FLEET, type FleetStatus, type LeaseAsk } from './fleet-ids';

export { fleetWorkflowId, type FleetStatus, type LeaseAsk } from './fleet-ids';

/**
 * The fleet's coordinator: one workflow per task queue that grants leases to disruptive operations within the
 * blast-radius budget, and holds the freezes. Operations ask by signal (through an activity that starts the
 * coordinator when none runs) and are answered by signal; people freeze and unfreeze by update, and read the state
 * by query. A lease ends when its holder releases it, or when its workflow is found closed (terminated, timed out).
 */

/** From an operation: grant me a lease when the budget allows. */
export const requestLeaseSignal = defineSignal<[LeaseAsk]>(FLEET.requestLease);
/** From an operation: I am done (or gave up waiting). */
export const releaseLeaseSignal = defineSignal<[LeaseHolder]>(FLEET.releaseLease);
/** Freeze the fleet (no cluster) or one cluster; answers the freeze in force, or an error naming the bad field. */
export const freezeUpdate = defineUpdate<Freeze, [FreezeRequest]>(FLEET.freeze);
/** Lift a freeze; answers the freeze lifted, if there was one. */
export const unfreezeUpdate = defineUpdate<{ lifted?: Freeze }, [{ cluster?: string; by: string }]>(FLEET.unfreeze);
/** Leases, waiting operations with why, freezes and the budget. */
export const fleetQuery = defineQuery<FleetStatus>(FLEET.query);

/** To an operation: the lease is yours. */
export const leaseGrantedSignal = defineSignal<[{ grantedAt: string }]>('leaseGranted');
/** To an operation: not yet, and why. */
export const leaseWaitingSignal = defineSignal<[{ reason: string }]>('leaseWaiting');
/** To a lease holder: a freeze covers you, finish the current step and wait (`reason`), or go on (no reason). */
export const leaseHoldSignal = defineSignal<[{ reason?: string }]>('leaseHold');

/** What a coordinator carries across continue-as-new. */
export interface FleetCarried {
  state: FleetState;
  /** What each holder was last told ("granted", a waiting reason, "hold: …", "go"), by holder key. */
  told: Record<string, string>;
}

/** Input of the coordinator. */
export interface FleetCoordinatorInput {
  /** How often holders are checked for a closed workflow while leases are out (ms); default 30 s. */
  livenessEveryMs?: number;
  carried?: FleetCarried;
}

const keyOf = (holder: LeaseHolder): string => `${holder.workflowId}/${holder.runId}`;

/** Grants leases within the budget, holds freezes, and lets go of leases whose holders are gone. */
export async function fleetCoordinator(input: FleetCoordinatorInput = {}): Promise<void> {
  let state: FleetState = input.carried?.state ?? emptyFleet();
  const told = new Map<string, string>(Object.entries(input.carried?.told ?? {}));
  /** Why each waiting operation waits, by workflow id. */
  const reasons = new Map<string, string>();
  const livenessEveryMs = input.livenessEveryMs ?? 30_000;
  let lastLivenessMs = Date.now();
  let dirty = true;
  const { closedHolders } = proxyActivities<FleetActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
    summary: 'which lease holders have closed (terminated, timed out, failed without releasing)',
  });

  setHandler(requestLeaseSignal, (ask) => {
    const { budget, ...request } = ask;
    if (budget) state = { ...state, budget };
    // A holder that asks again (its request activity retried) keeps its place, or its lease and is told of it again.
    state = enqueue(state, request);
    if (state.leases.some((l) => keyOf(l.holder) === keyOf(request.holder))) told.delete(keyOf(request.holder));
    dirty = true;
  });
  setHandler(releaseLeaseSignal, (holder) => {
    state = release(state, holder);
    told.delete(keyOf(holder));
    dirty = true;
  });
  setHandler(
    freezeUpdate,
    (request) => {
      state = freeze(state, request, Date.now());
      dirty = true;
      log.warn(`fleet: ${request.cluster ?? 'every cluster'} frozen by ${request.by}: ${request.reason}`);
      return state.freezes.find((f) => f.cluster === request.cluster) as Freeze;
    },
    {
      validator: (request: FreezeRequest) => {
        const problems = freezeProblems(request, Date.now());
        if (problems.length > 0) throw new Error(`invalid freeze: ${problems.join('; ')}`);
      },
    },
  );
  setHandler(unfreezeUpdate, ({ cluster, by }) => {
    const result = unfreeze(state, cluster, Date.now());
    state = result.state;
    dirty = true;
    if (result.lifted) log.warn(`fleet: ${cluster ?? 'every cluster'} unfrozen by ${by}`);
    return result.lifted ? { lifted: result.lifted } : {};
  });
  setHandler(fleetQuery, () => {
    const nowMs = Date.now();
    return {
      ...state,
      reasons: Object.fromEntries(reasons),
      held: Object.fromEntries(heldLeases(state, nowMs).map(({ lease, reason }) => [lease.holder.workflowId, reason])),
    };
  });

  /** Send a signal to a holder; a holder that is gone loses its lease and its place. */
  async function tell(holder: LeaseHolder, what: string, send: () => Promise<void>): Promise<void> {
    if (told.get(keyOf(holder)) === what) return;
    try {
      await send();
      told.set(keyOf(holder), what);
    } catch (error) {
      log.warn(`fleet: ${holder.workflowId} is gone (${error instanceof Error ? error.message : String(error)}): its lease is released`);
      state = release(state, holder);
      told.delete(keyOf(holder));
      dirty = true;
    }
  }

  for (;;) {
    const nowMs = Date.now();
    const ends = [nextFreezeEnd(state.freezes, nowMs), state.leases.length + state.waiting.length > 0 ? lastLivenessMs + livenessEveryMs : undefined].filter((t): t is number => t !== undefined);
    const wakeIn = ends.length > 0 ? Math.max(1, Math.min(...ends) - nowMs) : undefined;
    if (!dirty) {
      if (wakeIn === undefined) await condition(() => dirty);
      else await condition(() => dirty, wakeIn);
    }
    dirty = false;

    const holders = [...state.leases.map((l) => l.holder), ...state.waiting.map((w) => w.holder)];
    if (holders.length > 0 && Date.now() - lastLivenessMs >= livenessEveryMs) {
      lastLivenessMs = Date.now();
      const closed = await closedHolders({ holders }).catch((error: unknown) => {
        log.warn(`fleet: could not check the lease holders: ${error instanceof Error ? error.message : String(error)}`);
        return [] as LeaseHolder[];
      });
      for (const holder of closed) {
        log.warn(`fleet: ${holder.workflowId} closed without releasing its lease: released`);
        state = release(state, holder);
        told.delete(keyOf(holder));
      }
    } else if (holders.length === 0) lastLivenessMs = Date.now();

    const admission = admit(state, Date.now());
    state = admission.state;
    reasons.clear();
    const held = new Map(heldLeases(state, Date.now()).map(({ lease, reason }) => [keyOf(lease.holder), reason]));
    const messages: Promise<void>[] = [];
    for (const lease of admission.granted) {
      const handle = getExternalWorkflowHandle(lease.holder.workflowId, lease.holder.runId);
      const key = keyOf(lease.holder);
      // A holder first learns of its lease, then (below) of a freeze over it; one that already knows hears nothing again.
      const said = told.get(key);
      if (said === undefined || said.startsWith('wait: ')) {
        messages.push(tell(lease.holder, 'granted', () => handle.signal(leaseGrantedSignal, { grantedAt: lease.grantedAt })));
      }
    }
    for (const { request, reason } of admission.blocked) {
      reasons.set(request.holder.workflowId, reason);
      messages.push(tell(request.holder, `wait: ${reason}`, () => getExternalWorkflowHandle(request.holder.workflowId, request.holder.runId).signal(leaseWaitingSignal, { reason })));
    }
    await Promise.all(messages);
    const holdMessages: Promise<void>[] = [];
    for (const lease of state.leases) {
      const key = keyOf(lease.holder);
      const reason = held.get(key);
      const handle = getExternalWorkflowHandle(lease.holder.workflowId, lease.holder.runId);
      if (reason !== undefined) holdMessages.push(tell(lease.holder, `hold: ${reason}`, () => handle.signal(leaseHoldSignal, { reason })));
      else if (told.get(key)?.startsWith('hold:')) holdMessages.push(tell(lease.holder, 'go', () => handle.signal(leaseHoldSignal, {})));
    }
    await Promise.all(holdMessages);
    setCurrentDetails(fleetDetails(state, reasons));

    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof fleetCoordinator>({ ...input, carried: { state, told: Object.fromEntries(told) } });
    }
  }
}

/** The UI's current details: leases, waiting operations and freezes, in a few lines. */
function fleetDetails(state: FleetState, reasons: ReadonlyMap<string, string>): string {
  const lines = [`**Budget**: ${describeBudget(state.budget)}`];
  for (const f of state.freezes) lines.push(`**Frozen** ${f.cluster ?? '(the fleet)'} by ${f.by}: ${f.reason}${f.until ? ` until ${f.until}` : ''}`);
  for (const l of state.leases) lines.push(`**Running** ${l.holder.workflowId} (${l.cluster}): ${l.description}`);
  for (const w of state.waiting) lines.push(`**Waiting** ${w.holder.workflowId} (${w.cluster}): ${reasons.get(w.holder.workflowId) ?? '…'}`);
  return lines.join('\n');
}
