import type { Decision } from '../domain/plan';
import { FINDING_KINDS, type Assessment } from '../domain/risk';
import type { MetricSample } from './metric-definitions';

/**
 * What one monitor cycle says about a cluster, as metric samples. Pure: the monitor workflow records them.
 * Every finding kind and every health state is written each cycle (0 when absent), because a gauge once written
 * keeps its value: a finding that went away must read 0, not its last count.
 */

/** The health states of a cluster, as the monitor names them (`Health` in workflows/monitor.ts). */
export const HEALTH_STATES = ['healthy', 'degraded', 'at-risk', 'quorum-lost', 'unknown'] as const;
/** One of `HEALTH_STATES`. */
export type HealthState = (typeof HEALTH_STATES)[number];

/** What a successful cycle produced, and the leader of the cycle before (to count leader changes). */
export interface CycleOutcome {
  cluster: string;
  assessment: Assessment;
  decision: Decision;
  health: HealthState;
  /** The leader's member id at the previous cycle; absent when unknown (first cycle, no leader then). */
  previousLeaderId?: string;
  /** When the cycle ended (the workflow's clock) and the monitor's interval: a stalled monitor shows in alerts. */
  cycle: CycleClock;
  /** A migration, repair or maintenance of the cluster runs. */
  operationRunning: boolean;
  /** The newest verified backup, when backups are scheduled and one exists. */
  backup?: { lastVerifiedAgeSeconds: number; lastVerifiedBytes: number };
}

/** When a cycle ended, and how often cycles should end. */
export interface CycleClock {
  atMs: number;
  intervalMs: number;
}

function clockSamples(cluster: string, clock: CycleClock): MetricSample[] {
  return [
    { metric: 'lastCycle', value: clock.atMs / 1000, labels: { cluster } },
    { metric: 'interval', value: clock.intervalMs / 1000, labels: { cluster } },
  ];
}

function healthSamples(cluster: string, health: HealthState): MetricSample[] {
  return HEALTH_STATES.map((state) => ({ metric: 'health', value: state === health ? 1 : 0, labels: { cluster, health: state } }));
}

/** The decision's second word: a migration's strategy, a repair's kind, a maintenance's mode, or why nothing or an alert. */
export function decisionReason(decision: Decision): string {
  switch (decision.kind) {
    case 'migrate':
      return decision.plan.strategy;
    case 'repair':
      return decision.plan.kind;
    case 'maintain':
      return decision.plan.mode;
    default:
      return decision.reason;
  }
}

/** The samples of a cycle that completed: quorum figures, health, findings, decision, leader change. */
export function cycleSamples(outcome: CycleOutcome): MetricSample[] {
  const { cluster, assessment, decision } = outcome;
  const { quorum } = assessment;
  const samples: MetricSample[] = [
    { metric: 'voters', value: quorum.voters, labels: { cluster } },
    { metric: 'healthyVoters', value: quorum.healthyVoters, labels: { cluster } },
    // Negative when quorum is lost; gauges take no negative value, and the health gauge says quorum-lost.
    { metric: 'faultTolerance', value: Math.max(0, quorum.faultTolerance), labels: { cluster } },
    ...healthSamples(cluster, outcome.health),
  ];
  for (const kind of FINDING_KINDS) {
    const ofKind = assessment.findings.filter((finding) => finding.kind === kind);
    const confirmed = ofKind.filter((finding) => finding.confirmed).length;
    samples.push({ metric: 'findings', value: confirmed, labels: { cluster, kind, status: 'confirmed' } });
    samples.push({ metric: 'findings', value: ofKind.length - confirmed, labels: { cluster, kind, status: 'pending' } });
  }
  samples.push({ metric: 'cycles', value: 1, labels: { cluster, result: 'ok' } }, ...clockSamples(cluster, outcome.cycle));
  samples.push({ metric: 'operationRunning', value: outcome.operationRunning ? 1 : 0, labels: { cluster } });
  if (outcome.backup) {
    samples.push({ metric: 'backupAge', value: outcome.backup.lastVerifiedAgeSeconds, labels: { cluster } });
    samples.push({ metric: 'backupBytes', value: outcome.backup.lastVerifiedBytes, labels: { cluster } });
  }
  samples.push({ metric: 'decisions', value: 1, labels: { cluster, decision: decision.kind, reason: decisionReason(decision) } });
  // Added every cycle, 0 most of the time, so that the series exists (and rate() works) before the first change.
  const leaderId = assessment.leader?.id;
  const changed = outcome.previousLeaderId !== undefined && leaderId !== undefined && leaderId !== outcome.previousLeaderId;
  samples.push({ metric: 'leaderChanges', value: changed ? 1 : 0, labels: { cluster } });
  return samples;
}

/**
 * The samples of a cycle that failed (an observation or the assessment could not be made): health unknown. The
 * quorum figures keep their last values; the health gauge says they are stale.
 */
export function failedCycleSamples(cluster: string, clock: CycleClock): MetricSample[] {
  return [...healthSamples(cluster, 'unknown'), { metric: 'cycles', value: 1, labels: { cluster, result: 'failed' } }, ...clockSamples(cluster, clock)];
}
