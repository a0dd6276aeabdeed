import type { Decision } from './plan';

/**
 * The fleet's rules for disruptive operations (migrations, repairs, maintenance, recoveries): how many may run at
 * once across the fleet, per rack and per zone, and which clusters are frozen. Pure: the coordinator workflow keeps
 * the state and asks these functions what to grant; the CLI and tests ask them the same questions.
 */

/** Limits on concurrent disruptive operations; an absent limit is no limit. */
export interface FleetBudget {
  /** Across every cluster the coordinator serves. */
  maxConcurrent?: number;
  /** Operations touching the same rack (a member leaving it or arriving in it). */
  perRack?: number;
  /** Operations touching the same zone (failure domain). */
  perZone?: number;
}

/** Where a migration disrupts: the racks and zones of the member leaving, of the others replaced with it, and of the target. */
export function migrationDomains(plan: { member: { rack?: string; domain?: string }; alsoReplaced?: { rack?: string; domain?: string }[]; target: { rack?: string; domain?: string } }): { racks: string[]; zones: string[] } {
  const places = [plan.member, ...(plan.alsoReplaced ?? []), plan.target];
  return {
    racks: [...new Set(places.flatMap((p) => (p.rack !== undefined ? [p.rack] : [])))],
    zones: [...new Set(places.flatMap((p) => (p.domain !== undefined ? [p.domain] : [])))],
  };
}

/** Which workflow holds (or waits for) a lease: its id and run, so that a later run of the same id is another holder. */
export interface LeaseHolder {
  workflowId: string;
  runId: string;
}

/** The kinds of operation that take a lease. */
export type OperationKind = 'migration' | 'repair' | 'maintenance' | 'recovery';

/** What an operation asks for: where it will disrupt. */
export interface LeaseRequest {
  holder: LeaseHolder;
  cluster: string;
  operation: OperationKind;
  /** A line for people: "migrate etcd-1 from node-a to node-d". */
  description: string;
  /** The racks and zones of the members it takes out and of the nodes it places new members on. */
  racks: string[];
  zones: string[];
  requestedAt: string;
}

/** A granted request. */
export interface Lease extends LeaseRequest {
  grantedAt: string;
}

/** A freeze of the whole fleet (no `cluster`) or of one cluster. */
export interface Freeze {
  cluster?: string;
  reason: string;
  by: string;
  since: string;
  /** When it lifts by itself; absent: until someone unfreezes. */
  until?: string;
}

/** Everything the coordinator knows. */
export interface FleetState {
  budget: FleetBudget;
  leases: Lease[];
  /** Requests in the order they came. */
  waiting: LeaseRequest[];
  freezes: Freeze[];
}

/** An empty fleet with no limits. */
export function emptyFleet(budget: FleetBudget = {}): FleetState {
  return { budget, leases: [], waiting: [], freezes: [] };
}

/** The same holder: same workflow id and run. */
export function sameHolder(a: LeaseHolder, b: LeaseHolder): boolean {
  return a.workflowId === b.workflowId && a.runId === b.runId;
}

/** Freezes still in force at `nowMs`. */
export function activeFreezes(freezes: readonly Freeze[], nowMs: number): Freeze[] {
  return freezes.filter((f) => f.until === undefined || Date.parse(f.until) > nowMs);
}

/** The freeze that stops `cluster`, if any: the fleet's before the cluster's own. */
export function freezeOf(freezes: readonly Freeze[], cluster: string, nowMs: number): Freeze | undefined {
  const active = activeFreezes(freezes, nowMs);
  return active.find((f) => f.cluster === undefined) ?? active.find((f) => f.cluster === cluster);
}

/** "frozen (fleet) by alice since …: incident 123, until …" */
export function describeFreeze(freeze: Freeze): string {
  const scope = freeze.cluster === undefined ? 'the fleet is frozen' : `cluster ${freeze.cluster} is frozen`;
  return `${scope} by ${freeze.by} since ${freeze.since}: ${freeze.reason}${freeze.until ? ` (until ${freeze.until})` : ' (until unfrozen)'}`;
}

function holders(leases: readonly Lease[]): string {
  return leases.map((l) => `${l.holder.workflowId} (${l.cluster}: ${l.description})`).join(', ');
}

/**
 * Why `request` may not start now, or undefined when it may: a freeze over its cluster, or a limit its start would
 * exceed, naming the operations that hold the budget. A holder's own lease never counts against it.
 */
export function blockingReason(state: Pick<FleetState, 'budget' | 'leases' | 'freezes'>, request: LeaseRequest, nowMs: number): string | undefined {
  const freeze = freezeOf(state.freezes, request.cluster, nowMs);
  if (freeze) return describeFreeze(freeze);
  const others = state.leases.filter((l) => !sameHolder(l.holder, request.holder));
  const { maxConcurrent, perRack, perZone } = state.budget;
  if (maxConcurrent !== undefined && others.length >= maxConcurrent) {
    return `fleet budget: ${others.length} of ${maxConcurrent} disruptive operations run (${holders(others)})`;
  }
  for (const rack of new Set(request.racks)) {
    const inRack = others.filter((l) => l.racks.includes(rack));
    if (perRack !== undefined && inRack.length >= perRack) return `rack budget: ${inRack.length} of ${perRack} operations run in rack ${rack} (${holders(inRack)})`;
  }
  for (const zone of new Set(request.zones)) {
    const inZone = others.filter((l) => l.zones.includes(zone));
    if (perZone !== undefined && inZone.length >= perZone) return `zone budget: ${inZone.length} of ${perZone} operations run in zone ${zone} (${holders(inZone)})`;
  }
  return undefined;
}

/** What one pass over the waiting requests decides. */
export interface Admission {
  state: FleetState;
  granted: Lease[];
  /** Each request still waiting, with why. */
  blocked: { request: LeaseRequest; reason: string }[];
}

/**
 * Grant what the budget and the freezes allow, oldest request first; a later request whose racks and zones are free
 * may pass an earlier one that waits for another rack. A request from a holder that already has a lease is granted
 * again (its first grant may not have reached it), without counting twice.
 */
export function admit(state: FleetState, nowMs: number): Admission {
  const leases = [...state.leases];
  const granted: Lease[] = [];
  const blocked: Admission['blocked'] = [];
  const at = new Date(nowMs).toISOString();
  for (const request of state.waiting) {
    const held = leases.find((l) => sameHolder(l.holder, request.holder));
    if (held) {
      granted.push(held);
      continue;
    }
    const reason = blockingReason({ ...state, leases }, request, nowMs);
    if (reason !== undefined) {
      blocked.push({ request, reason });
      continue;
    }
    const lease: Lease = { ...request, grantedAt: at };
    leases.push(lease);
    granted.push(lease);
  }
  return { state: { ...state, leases, waiting: blocked.map((b) => b.request), freezes: activeFreezes(state.freezes, nowMs) }, granted, blocked };
}

/** Add a request, once per holder (a retried request changes nothing). */
export function enqueue(state: FleetState, request: LeaseRequest): FleetState {
  if (state.waiting.some((w) => sameHolder(w.holder, request.holder))) return state;
  return { ...state, waiting: [...state.waiting, request] };
}

/** Drop a holder's lease and its waiting request: released, given up, or its workflow closed. */
export function release(state: FleetState, holder: LeaseHolder): FleetState {
  return { ...state, leases: state.leases.filter((l) => !sameHolder(l.holder, holder)), waiting: state.waiting.filter((w) => !sameHolder(w.holder, holder)) };
}

/** What someone asks to freeze. */
export interface FreezeRequest {
  cluster?: string;
  reason: string;
  by: string;
  until?: string;
}

/** Problems with a freeze request, naming the field and value; empty when it is valid. */
export function freezeProblems(request: FreezeRequest, nowMs: number): string[] {
  const problems: string[] = [];
  if (typeof request.reason !== 'string' || request.reason.trim() === '') problems.push(`reason: expected a sentence saying why (an incident, a change), got ${JSON.stringify(request.reason)}`);
  if (typeof request.by !== 'string' || request.by.trim() === '') problems.push(`by: expected who freezes, got ${JSON.stringify(request.by)}`);
  if (request.cluster !== undefined && (typeof request.cluster !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(request.cluster))) {
    problems.push(`cluster: expected a cluster name such as "main", got ${JSON.stringify(request.cluster)}`);
  }
  if (request.until !== undefined) {
    const until = Date.parse(request.until);
    if (Number.isNaN(until)) problems.push(`until: expected a time such as 2026-12-01T18:00:00Z, got ${JSON.stringify(request.until)}`);
    else if (until <= nowMs) problems.push(`until: expected a time in the future, got ${request.until} (now is ${new Date(nowMs).toISOString()})`);
  }
  return problems;
}

/** Add a freeze; one of the same scope is replaced (its reason and end updated). */
export function freeze(state: FleetState, request: FreezeRequest, nowMs: number): FleetState {
  const kept = state.freezes.filter((f) => f.cluster !== request.cluster);
  const added: Freeze = {
    ...(request.cluster !== undefined ? { cluster: request.cluster } : {}),
    reason: request.reason.trim(),
    by: request.by.trim(),
    since: new Date(nowMs).toISOString(),
    ...(request.until !== undefined ? { until: new Date(Date.parse(request.until)).toISOString() } : {}),
  };
  return { ...state, freezes: [...activeFreezes(kept, nowMs), added] };
}

/** Lift the freeze of one scope (no cluster: the fleet's). Returns the state and whether one was lifted. */
export function unfreeze(state: FleetState, cluster: string | undefined, nowMs: number): { state: FleetState; lifted: Freeze | undefined } {
  const active = activeFreezes(state.freezes, nowMs);
  const lifted = active.find((f) => f.cluster === cluster);
  return { state: { ...state, freezes: active.filter((f) => f !== lifted) }, lifted };
}

/** The leases whose cluster a freeze now covers, with the freeze's words: their holders wait after the current step. */
export function heldLeases(state: FleetState, nowMs: number): { lease: Lease; reason: string }[] {
  return state.leases.flatMap((lease) => {
    const f = freezeOf(state.freezes, lease.cluster, nowMs);
    return f ? [{ lease, reason: describeFreeze(f) }] : [];
  });
}

/** When the next freeze lifts by itself, if any does. */
export function nextFreezeEnd(freezes: readonly Freeze[], nowMs: number): number | undefined {
  const ends = activeFreezes(freezes, nowMs)
    .map((f) => (f.until !== undefined ? Date.parse(f.until) : Number.NaN))
    .filter((t) => !Number.isNaN(t));
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

/**
 * A decision under a freeze: an operation the monitor would start becomes an alert that says what it would do and
 * who froze the cluster; monitoring and alerts go on. A dry run or a decision to do nothing stays as it is.
 */
export function underFreeze(decision: Decision, frozen: Freeze | undefined): Decision {
  if (!frozen || decision.kind === 'none' || decision.kind === 'alert' || decision.dryRun) return decision;
  return {
    kind: 'alert',
    reason: 'frozen',
    summary: `${describeFreeze(frozen)}: would ${decision.summary}`,
    findings: decision.kind === 'migrate' ? decision.plan.triggers : [],
  };
}

/** "at most 2 at once, 1 per rack, no zone limit" */
export function describeBudget(budget: FleetBudget): string {
  return [
    budget.maxConcurrent !== undefined ? `at most ${budget.maxConcurrent} at once` : 'no fleet limit',
    budget.perRack !== undefined ? `${budget.perRack} per rack` : 'no rack limit',
    budget.perZone !== undefined ? `${budget.perZone} per zone` : 'no zone limit',
  ].join(', ');
}
