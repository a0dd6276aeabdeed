import { errorText, TimeoutError } from '../../../src/errors';
import { EtcdNoLeaderError, EtcdRequestError, EtcdUnavailableError } from '../../../src/etcd/errors';
import type { EtcdPort } from '../../../src/etcd/port';
import type { WorldEvent } from '../model/events';

/**
 * A tiny scenario format that runs against any target with the etcd port: the model (model-target.ts) and real etcd
 * processes through the real gateway (etcd-target.ts, run by test/integration/model-contract.test.ts). A scenario
 * is a list of port calls and world events, each call with the outcome it must have. Outcomes are compared by class
 * and etcd's own words only, never by timings or endpoint texts, so both targets can agree.
 */

/** A member of the scenario: an initial member's name, or `$learner` for the last learner added. */
export type ScenarioMember = string;

/** What a call must end with. */
export type Outcome =
  | { ok: true }
  /** A member list that answered with these members' names, sorted (a learner not started yet has none: ""). */
  | { ok: true; members: string[] }
  /** etcd refused (EtcdRequestError) with this message, e.g. "etcdserver: too many learner members in cluster". */
  | { refused: string }
  /** No endpoint answered (EtcdUnavailableError); `reason` is etcd's message when every endpoint gave one. */
  | { unavailable: true; reason?: string }
  /** Members answered but no leader was agreed by a majority of them (EtcdNoLeaderError): membership unknown. */
  | { noLeader: true }
  | { timeout: true };

/** One port call with its expected outcome; `at` names the members whose endpoints are used, in order. */
export type ScenarioCall =
  | { call: 'memberList'; at: ScenarioMember[]; expect: Outcome }
  | { call: 'addLearner'; node: string; at: ScenarioMember[]; expect: Outcome }
  | { call: 'removeMember'; member: ScenarioMember; at: ScenarioMember[]; expect: Outcome }
  | { call: 'promoteMember'; member: ScenarioMember; at: ScenarioMember[]; expect: Outcome }
  /** `at` may be `$leader`: the current leader's endpoint. */
  | { call: 'moveLeader'; to: ScenarioMember; at: ScenarioMember; expect: Outcome }
  /** Rewrite `keys` keys with values of the scenario's `space.valueBytes` until a put is refused; the outcome is that refusal. */
  | { call: 'fillUntilRefused'; keys: number; at: ScenarioMember[]; expect: Outcome }
  | { call: 'put'; key: string; at: ScenarioMember[]; expect: Outcome }
  /** Compact to the revision `at[0]` reads now (`again`: the revision of the previous compaction). */
  | { call: 'compact'; again?: boolean; at: ScenarioMember[]; expect: Outcome }
  | { call: 'defragment'; member: ScenarioMember; expect: Outcome }
  /** Disarm every NOSPACE alarm the alarm list shows. */
  | { call: 'disarmNospace'; at: ScenarioMember[]; expect: Outcome };

/** One step: a call, a world event, or starting the last learner's process (its pod, in the sandbox). */
export type ScenarioStep =
  | ScenarioCall
  | { event: WorldEvent }
  | { startLearner: { name: string; node: string } }
  | { waitMs: number }
  /** Start a stopped member again with `--force-new-cluster` (etcd's disaster recovery), on its own data. */
  | { forceNewCluster: ScenarioMember };

/** A scripted scenario on a fresh healthy cluster of `members` voters. */
export interface Scenario {
  name: string;
  members: number;
  steps: ScenarioStep[];
  /**
   * The etcd behaviour the outcomes are written for, when they depend on the version: whether a frozen member stays
   * active to its peers (3.5+) or not (3.4). The model runs with the same setting; real etcd only on such a version.
   */
  silentPeersStayActive?: boolean;
  /**
   * Space: real etcd runs with `--quota-backend-bytes=quotaBytes`; the model with that quota, a 1 MiB empty database
   * and `valueBytes` per write. Outcomes are compared, never sizes: the two count bytes differently.
   */
  space?: { quotaBytes: number; valueBytes: number };
}

/** What a scenario runs against. */
export interface ScenarioTarget {
  etcd: EtcdPort;
  /** The client endpoint of a member by name or id. */
  endpointOf(member: string): string;
  /** The id of a member by name. */
  idOf(member: string): string;
  /** The current leader's name or id. */
  leader(): Promise<string>;
  /** A node's InternalIP. */
  nodeIP(node: string): string;
  apply(event: WorldEvent): Promise<void>;
  /** Start the learner's process on the node with the given --initial-cluster. */
  startMember(params: { name: string; node: string; initialCluster: string }): Promise<void>;
  /** Start a stopped member's process again with --force-new-cluster; resolves once it leads its one-member cluster. */
  forceNewCluster(member: string): Promise<void>;
  wait(ms: number): Promise<void>;
}

/** One step's result. */
export interface StepResult {
  step: number;
  call: string;
  expected: Outcome;
  actual: Outcome;
  detail: string;
}

/** What a call ended with, in the scenario's terms. */
export function outcomeOf(error: unknown): Outcome {
  if (error === undefined) return { ok: true };
  if (error instanceof EtcdRequestError) return { refused: etcdMessage(error.message) ?? error.message };
  if (error instanceof EtcdUnavailableError) {
    const reasons = new Set(error.failures.map((f) => etcdMessage(f.error)));
    const [reason] = [...reasons];
    return reasons.size === 1 && reason !== undefined ? { unavailable: true, reason } : { unavailable: true };
  }
  if (error instanceof EtcdNoLeaderError) return { noLeader: true };
  if (error instanceof TimeoutError) return { timeout: true };
  // Anything else is a bug in the target or the runner, not an outcome to compare.
  throw error instanceof Error ? error : new Error(errorText(error));
}

/** The "etcdserver: ..." part of an error's text, if it has one. */
function etcdMessage(text: string): string | undefined {
  return /(etcdserver: .*)$/.exec(text)?.[1];
}

/** Run a scenario; every step's expected and actual outcome, for a test to compare. */
export async function runScenario(target: ScenarioTarget, scenario: Scenario): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let learner: { id: string; peerURL: string; members: { id: string; name: string; peerURLs: string[] }[] } | undefined;
  const resolve = (member: ScenarioMember): string => (member === '$learner' ? (learner?.id ?? 'no-learner-yet') : target.idOf(member));
  const endpoints = (at: ScenarioMember[]): string[] => at.map((m) => target.endpointOf(resolve(m)));
  let compactedAt = 0;
  for (const [index, step] of scenario.steps.entries()) {
    if ('event' in step) {
      await target.apply(step.event);
      continue;
    }
    if ('waitMs' in step) {
      await target.wait(step.waitMs);
      continue;
    }
    if ('forceNewCluster' in step) {
      await target.forceNewCluster(step.forceNewCluster);
      continue;
    }
    if ('startLearner' in step) {
      if (!learner) throw new Error(`scenario "${scenario.name}" step ${index}: no learner to start`);
      const { name } = step.startLearner;
      const initialCluster = learner.members.map((m) => `${m.id === learner?.id ? name : m.name}=${m.peerURLs[0] ?? ''}`).join(',');
      await target.startMember({ ...step.startLearner, initialCluster });
      continue;
    }
    let error: unknown;
    let listed: string[] | undefined;
    try {
      switch (step.call) {
        case 'memberList': {
          const { members } = await target.etcd.memberList(endpoints(step.at));
          if ('members' in step.expect) listed = members.map((m) => m.name).sort();
          break;
        }
        case 'addLearner': {
          const peerURL = `http://${target.nodeIP(step.node)}:2380`;
          const added = await target.etcd.addLearner(peerURL, endpoints(step.at));
          learner = { id: added.id, peerURL, members: added.members };
          break;
        }
        case 'removeMember':
          await target.etcd.removeMember(resolve(step.member), endpoints(step.at));
          break;
        case 'promoteMember':
          await target.etcd.promoteMember(resolve(step.member), endpoints(step.at));
          break;
        case 'moveLeader': {
          const at = step.at === '$leader' ? await target.leader() : resolve(step.at);
          await target.etcd.moveLeader(target.endpointOf(at), resolve(step.to));
          break;
        }
        case 'fillUntilRefused': {
          const value = 'v'.repeat(scenario.space?.valueBytes ?? 1024);
          // Bounded: a target that never refuses ends the loop and the step reports ok, which the expectation catches.
          for (let i = 0; i < 10_000; i++) await target.etcd.put(`fill-${i % step.keys}`, value, endpoints(step.at));
          break;
        }
        case 'put':
          await target.etcd.put(step.key, 'x', endpoints(step.at));
          break;
        case 'compact': {
          const at = endpoints(step.at);
          const revision = step.again ? compactedAt : await target.etcd.revision(at[0] ?? '');
          compactedAt = revision;
          await target.etcd.compact(revision, at);
          break;
        }
        case 'defragment':
          await target.etcd.defragment(target.endpointOf(resolve(step.member)), 30_000);
          break;
        case 'disarmNospace': {
          const at = endpoints(step.at);
          for (const alarm of await target.etcd.alarms(at)) if (alarm.alarm === 'NOSPACE') await target.etcd.disarmAlarm(alarm.memberId, 'NOSPACE', at);
          break;
        }
      }
    } catch (caught) {
      error = caught;
    }
    const actual = error === undefined && listed !== undefined ? { ok: true as const, members: listed } : outcomeOf(error);
    results.push({ step: index, call: step.call, expected: step.expect, actual, detail: error === undefined ? 'ok' : errorText(error) });
  }
  return results;
}

/** The model's etcd options for a scenario: its space settings, when it has them. */
export function modelSpaceOptions(scenario: Scenario): { quotaBytes?: number; dbSizeBytes?: number; bytesPerWrite?: number } {
  return scenario.space ? { quotaBytes: scenario.space.quotaBytes, dbSizeBytes: 1024 * 1024, bytesPerWrite: scenario.space.valueBytes } : {};
}
