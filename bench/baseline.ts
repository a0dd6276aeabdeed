/**
 * What Kubernetes alone does after a fault, with the guardian absent: samples of the node, the member pods and etcd's
 * member list, taken about once a second, folded into a timeline of first times from the fault. Pure: no I/O, no clock
 * (every sample carries its time), so that the table it feeds is tested without a sandbox.
 */

/** One member pod as a sample sees it. */
export interface PodSample {
  /** The pod's uid: a StatefulSet's replacement keeps the name, never the uid. */
  uid: string;
  pod: string;
  /** The etcd member the pod runs (its --name). */
  member: string;
  /** spec.nodeName; empty while unscheduled. */
  node: string;
  /** metadata.deletionTimestamp is set. */
  terminating: boolean;
  restartCount: number;
  /** The member answered its health check. */
  healthy: boolean;
}

/** One member as etcd's member list gives it. */
export interface ListedMemberSample {
  id: string;
  name: string;
}

/** The world at one moment, as far as a baseline run looks. */
export interface Sample {
  /** Epoch milliseconds. */
  at: number;
  /** The node the fault hit (or the faulted pod's node): condition type → status, and taints as "key:Effect". */
  node: { conditions: Record<string, string>; taints: string[] } | undefined;
  /** Every member pod of the cluster. */
  pods: PodSample[];
  /** etcd's member list, or undefined when no member answered one. */
  members: ListedMemberSample[] | undefined;
}

/** The member a fault was aimed at: its pod (at the fault) and that pod's node. */
export interface Victim {
  member: string;
  pod: string;
  node: string;
}

/** What Kubernetes did after the fault; every `atMs` counts from the fault. */
export interface Timeline {
  fault: string;
  faultAt: number;
  victim: Victim & { uid: string; memberId?: string };
  before: { conditions: Record<string, string>; taints: string[]; restartCount: number; podUids: string[]; memberIds: string[]; healthy: boolean };
  /** Every change of the node's conditions. */
  conditions: { type: string; from: string; to: string; atMs: number }[];
  /** Every taint put on the node or taken off it. */
  taints: { taint: string; added: boolean; atMs: number }[];
  /** The victim pod first seen with a deletionTimestamp (an eviction, since nobody else deletes it). */
  evictedAtMs?: number;
  /** The victim pod gone from the API. */
  podGoneAtMs?: number;
  /** Member pods that did not exist at the fault: when first seen, and when first seen bound to a node. */
  newPods: { uid: string; pod: string; member: string; firstSeenAtMs: number; node?: string; scheduledAtMs?: number }[];
  /** The victim's member id first missing from a member list that answered. */
  memberRemovedAtMs?: number;
  /** Member ids that were not in the list at the fault. */
  membersAdded: { id: string; name: string; atMs: number }[];
  /** The victim pod's restart count at the fault and last seen, and when it first grew. */
  restarts: { before: number; last: number; firstAtMs?: number };
  /** Every change of the victim member's health. */
  health: { healthy: boolean; atMs: number }[];
  /** The last sample, from the fault. */
  lastAtMs: number;
  samples: number;
}

function victimPod(sample: Sample, uid: string): PodSample | undefined {
  return sample.pods.find((p) => p.uid === uid);
}

/** A timeline of a fault at `faultAt` on `victim`, from the sample taken just before it. */
export function startTimeline(fault: string, victim: Victim, faultAt: number, before: Sample): Timeline {
  const pod = before.pods.find((p) => p.pod === victim.pod);
  if (pod === undefined) throw new Error(`the sample before the fault has no pod ${victim.pod}: it has ${before.pods.map((p) => p.pod).join(', ') || 'none'}`);
  const memberId = before.members?.find((m) => m.name === victim.member)?.id;
  return {
    fault,
    faultAt,
    victim: { ...victim, uid: pod.uid, ...(memberId === undefined ? {} : { memberId }) },
    before: {
      conditions: { ...(before.node?.conditions ?? {}) },
      taints: [...(before.node?.taints ?? [])],
      restartCount: pod.restartCount,
      podUids: before.pods.map((p) => p.uid),
      memberIds: (before.members ?? []).map((m) => m.id),
      healthy: pod.healthy,
    },
    conditions: [],
    taints: [],
    newPods: [],
    membersAdded: [],
    restarts: { before: pod.restartCount, last: pod.restartCount },
    health: [],
    lastAtMs: 0,
    samples: 0,
  };
}

/** The node's conditions and taints as the timeline last recorded them. */
function currentNode(t: Timeline): { conditions: Record<string, string>; taints: Set<string> } {
  const conditions = { ...t.before.conditions };
  for (const c of t.conditions) conditions[c.type] = c.to;
  const taints = new Set(t.before.taints);
  for (const change of t.taints) {
    if (change.added) taints.add(change.taint);
    else taints.delete(change.taint);
  }
  return { conditions, taints };
}

function currentlyHealthy(t: Timeline): boolean {
  return t.health.at(-1)?.healthy ?? t.before.healthy;
}

/** The timeline with one more sample folded in; samples must come in time order, after the fault. */
export function observe(t: Timeline, s: Sample): Timeline {
  const atMs = s.at - t.faultAt;
  if (atMs < t.lastAtMs) throw new Error(`sample at ${atMs} ms from the fault came after one at ${t.lastAtMs} ms: samples must come in time order`);
  const next: Timeline = {
    ...t,
    conditions: [...t.conditions],
    taints: [...t.taints],
    newPods: t.newPods.map((p) => ({ ...p })),
    membersAdded: [...t.membersAdded],
    restarts: { ...t.restarts },
    health: [...t.health],
    lastAtMs: atMs,
    samples: t.samples + 1,
  };

  // A node that could not be read says nothing about its conditions or taints.
  if (s.node !== undefined) {
    const node = currentNode(t);
    for (const [type, status] of Object.entries(s.node.conditions)) {
      const from = node.conditions[type] ?? '(none)';
      if (from !== status) next.conditions.push({ type, from, to: status, atMs });
    }
    const seen = new Set(s.node.taints);
    for (const taint of s.node.taints) if (!node.taints.has(taint)) next.taints.push({ taint, added: true, atMs });
    for (const taint of node.taints) if (!seen.has(taint)) next.taints.push({ taint, added: false, atMs });
  }

  const pod = victimPod(s, t.victim.uid);
  if (pod === undefined) {
    next.podGoneAtMs ??= atMs;
  } else {
    if (pod.terminating) next.evictedAtMs ??= atMs;
    if (pod.restartCount > t.restarts.last && next.restarts.firstAtMs === undefined) next.restarts.firstAtMs = atMs;
    next.restarts.last = Math.max(t.restarts.last, pod.restartCount);
  }
  // The member's health: its pod's answer; a member whose pod is gone is not healthy.
  const healthy = pod?.healthy ?? false;
  if (healthy !== currentlyHealthy(t)) next.health.push({ healthy, atMs });

  for (const p of s.pods) {
    if (t.before.podUids.includes(p.uid)) continue;
    let known = next.newPods.find((n) => n.uid === p.uid);
    if (known === undefined) {
      known = { uid: p.uid, pod: p.pod, member: p.member, firstSeenAtMs: atMs };
      next.newPods.push(known);
    }
    if (p.node !== '' && known.scheduledAtMs === undefined) {
      known.node = p.node;
      known.scheduledAtMs = atMs;
    }
  }

  if (s.members !== undefined) {
    if (t.victim.memberId !== undefined && !s.members.some((m) => m.id === t.victim.memberId)) next.memberRemovedAtMs ??= atMs;
    for (const m of s.members) {
      if (t.before.memberIds.includes(m.id) || next.membersAdded.some((a) => a.id === m.id)) continue;
      next.membersAdded.push({ id: m.id, name: m.name, atMs });
    }
  }
  return next;
}

/** How long a member must stay healthy again to count as restored: a crash-looping one answers for a moment after each restart. */
export const RESTORED_AFTER_MS = 15_000;

/**
 * When the victim member became healthy again (having been unhealthy after the fault), if it then stayed healthy up
 * to the last sample and for at least `holdMs`; else undefined. Kubernetes restored it in place.
 */
export function healthyAgainAtMs(t: Timeline, holdMs = RESTORED_AFTER_MS): number | undefined {
  const last = t.health.at(-1);
  if (last === undefined || !last.healthy || !t.health.some((h) => !h.healthy)) return undefined;
  return t.lastAtMs - last.atMs >= holdMs ? last.atMs : undefined;
}

/** When to stop watching: at `boundMs` from the fault, or earlier once the victim has been healthy again for `settledMs`. */
export interface StopRule {
  boundMs: number;
  /** Stop once the member has been healthy again this long after being unhealthy (nothing more will happen). */
  settledMs?: number;
}

/** Why to stop watching now, or undefined to go on. */
export function stopReason(t: Timeline, rule: StopRule): string | undefined {
  if (t.lastAtMs >= rule.boundMs) return `the ${seconds(rule.boundMs, 0)} s bound`;
  if (rule.settledMs !== undefined && healthyAgainAtMs(t, rule.settledMs) !== undefined) return `healthy again for ${seconds(rule.settledMs, 0)} s`;
  return undefined;
}

/** One write of the bench's writer: when it started (epoch ms) and whether etcd acknowledged it. */
export interface WriteSample {
  at: number;
  ok: boolean;
}

/** The writes that started in [from, to]: how many, how many failed, and the first failure's time from `from`. */
export function writesBetween(writes: readonly WriteSample[], from: number, to: number): { total: number; failed: number; firstFailedAtMs?: number } {
  const mine = writes.filter((w) => w.at >= from && w.at <= to);
  const firstFailed = mine.find((w) => !w.ok);
  return { total: mine.length, failed: mine.filter((w) => !w.ok).length, ...(firstFailed === undefined ? {} : { firstFailedAtMs: firstFailed.at - from }) };
}

/** Milliseconds as seconds with `digits` decimals. */
function seconds(ms: number, digits = 1): string {
  return (ms / 1000).toFixed(digits);
}

/** "node.kubernetes.io/unreachable:NoExecute" as "unreachable:NoExecute": every taint Kubernetes puts here has that prefix. */
function shortTaint(taint: string): string {
  return taint.replace(/^node\.kubernetes\.io\//, '');
}

/** A write count as a cell: "0 of 2100 failed", "12 of 2100 failed (first at 0.4 s)". */
export function writesCell(w: { total: number; failed: number; firstFailedAtMs?: number }): string {
  if (w.total === 0) return 'no writes';
  const first = w.firstFailedAtMs === undefined ? '' : ` (first at ${seconds(w.firstFailedAtMs)} s)`;
  return `${w.failed} of ${w.total} failed${first}`;
}

/** The Kubernetes-alone cells of a results row, each a short sentence with times from the fault in seconds. */
export interface BaselineCells {
  node: string;
  taints: string;
  eviction: string;
  replacementPod: string;
  member: string;
  restarts: string;
  healthyAgain: string;
  observed: string;
}

/**
 * The row's cells for one timeline; `stoppedBecause` is stopReason's answer when the watch ended, `holdMs` how long
 * the member must have stayed healthy again to count as restored.
 */
export function baselineCells(t: Timeline, stoppedBecause: string, holdMs = RESTORED_AFTER_MS): BaselineCells {
  const node = t.conditions.length === 0 ? 'no change' : t.conditions.map((c) => `${c.type} ${c.from}→${c.to} at ${seconds(c.atMs)} s`).join('; ');
  const added = t.taints.filter((c) => c.added);
  const taints = added.length === 0 ? 'none' : added.map((c) => `${shortTaint(c.taint)} at ${seconds(c.atMs)} s`).join('; ');
  const eviction =
    t.evictedAtMs !== undefined
      ? `at ${seconds(t.evictedAtMs)} s${t.podGoneAtMs === undefined ? ', pod left Terminating' : `, pod gone at ${seconds(t.podGoneAtMs)} s`}`
      : t.podGoneAtMs !== undefined
        ? `pod gone at ${seconds(t.podGoneAtMs)} s`
        : 'none';
  const replacementPod =
    t.newPods.length === 0
      ? 'none'
      : t.newPods
          .map((p) => (p.scheduledAtMs === undefined ? `${p.pod} created at ${seconds(p.firstSeenAtMs)} s, never scheduled` : `${p.pod} on ${p.node ?? '?'} at ${seconds(p.scheduledAtMs)} s`))
          .join('; ');
  const removed = t.memberRemovedAtMs === undefined ? undefined : `removed at ${seconds(t.memberRemovedAtMs)} s`;
  const addedMembers = t.membersAdded.map((m) => `${m.name || m.id} added at ${seconds(m.atMs)} s`);
  const member = removed === undefined && addedMembers.length === 0 ? 'no: still listed, no member added' : [removed ?? 'not removed', ...addedMembers].join('; ');
  const grew = t.restarts.last - t.restarts.before;
  const restarts = grew === 0 ? 'none' : `${grew} (first at ${seconds(t.restarts.firstAtMs ?? 0)} s)`;
  const firstDown = t.health.find((h) => !h.healthy);
  const again = healthyAgainAtMs(t, holdMs);
  const briefly = t.health.filter((h) => h.healthy).length;
  const healthyAgain =
    firstDown === undefined
      ? 'never unhealthy'
      : again !== undefined
        ? `at ${seconds(again)} s (unhealthy from ${seconds(firstDown.atMs)} s)`
        : `no (unhealthy from ${seconds(firstDown.atMs)} s${briefly === 0 ? '' : `; answered again ${briefly} time${briefly === 1 ? '' : 's'}, never for ${seconds(holdMs, 0)} s`})`;
  return { node, taints, eviction, replacementPod, member, restarts, healthyAgain, observed: `${seconds(t.lastAtMs, 0)} s (${stoppedBecause})` };
}

/**
 * How much sooner the guardian had a verified quorum than Kubernetes alone, from the two measurements only: the time
 * Kubernetes restored the member (healthy again in place, or a successor added) over the guardian's p50; while
 * Kubernetes never restored it, a lower bound from how long it was watched ("> 97x"); "-" when the member never
 * failed (a node under pressure: the guardian moves it before anything breaks, and there is nothing to restore).
 */
export function ratioCell(t: Timeline, guardianMs: number, holdMs = RESTORED_AFTER_MS): string {
  if (!Number.isFinite(guardianMs) || guardianMs <= 0) return '-';
  const times = (ms: number): string => `${Math.round(ms / guardianMs)}x`;
  const eviction = t.evictedAtMs === undefined ? '' : `; eviction alone ${times(t.evictedAtMs)}`;
  const successor = t.membersAdded[0]?.atMs;
  const restored = [healthyAgainAtMs(t, holdMs), successor].filter((v): v is number => v !== undefined);
  if (restored.length > 0) return `${times(Math.min(...restored))}${eviction}`;
  if (!t.health.some((h) => !h.healthy) && t.evictedAtMs === undefined) return '-';
  return `> ${times(t.lastAtMs)} (not restored)${eviction}`;
}

/** A toleration as the pod carries it: "node.kubernetes.io/unreachable:NoExecute for 300 s". */
export function tolerationText(t: { key?: string; operator?: string; effect?: string; tolerationSeconds?: number }): string {
  const what = `${t.key ?? '*'}${t.operator === 'Exists' || t.operator === undefined ? '' : ` ${t.operator}`}:${t.effect ?? '*'}`;
  return t.tolerationSeconds === undefined ? what : `${what} for ${t.tolerationSeconds} s`;
}

/** A probe as a sentence: "httpGet :2381/livez every 10 s, timeout 15 s, 8 failures" (undefined when the pod has none). */
export function probeText(p:
  | {
      httpGet?: { path?: string; port?: number | string };
      tcpSocket?: { port?: number | string };
      exec?: { command?: string[] };
      initialDelaySeconds?: number;
      periodSeconds?: number;
      timeoutSeconds?: number;
      failureThreshold?: number;
    }
  | undefined): string | undefined {
  if (p === undefined) return undefined;
  const how = p.httpGet
    ? `httpGet :${String(p.httpGet.port ?? '?')}${p.httpGet.path ?? '/'}`
    : p.tcpSocket
      ? `tcpSocket :${String(p.tcpSocket.port ?? '?')}`
      : p.exec
        ? `exec ${(p.exec.command ?? []).join(' ')}`
        : 'no handler';
  // Kubernetes' defaults when a field is left out.
  return `${how} after ${p.initialDelaySeconds ?? 0} s, every ${p.periodSeconds ?? 10} s, timeout ${p.timeoutSeconds ?? 1} s, ${p.failureThreshold ?? 3} failures`;
}
