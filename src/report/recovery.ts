import type { RecoveryProgress } from '../../workflows/recover';
import type { RunHistory } from './history';
import type { RecoveryReport } from './types';

/**
 * The post-mortem of a quorum-loss recovery, from what the run returned (or, when it failed, the progress its failure
 * carries): the plan with its data-loss window, who approved or rejected it and when, each step, the first write.
 */
export function buildRecoveryReport(run: RunHistory): RecoveryReport | undefined {
  const recorded = (run.close?.result ?? (Array.isArray(run.close?.details) ? (run.close.details as unknown[])[0] : run.close?.details)) as RecoveryProgress | undefined;
  if (recorded === undefined || typeof recorded !== 'object' || typeof recorded.cluster !== 'string') return undefined;
  const plan = recorded.assessment?.plan;
  return {
    cluster: recorded.cluster,
    phase: recorded.phase,
    ...(plan ? { source: plan.source, from: plan.source === 'survivor' ? `${plan.seed.member}${plan.seed.node ? ` on ${plan.seed.node}` : ''}` : plan.backup.name, dataLoss: plan.window.summary } : {}),
    ...(plan?.source === 'backup'
      ? { restored: { revision: plan.backup.revision, takenAt: plan.backup.takenAt, into: `${recorded.assessment?.seedPod?.podName ?? '?'} on ${recorded.assessment?.restore?.node ?? '?'}` } }
      : {}),
    reasons: plan?.reasons ?? [],
    ...(recorded.approval ? { approval: recorded.approval } : {}),
    ...(recorded.rejection ? { rejection: recorded.rejection } : {}),
    steps: recorded.steps,
    ...(recorded.writable ? { writable: recorded.writable } : {}),
    added: recorded.repair?.additions.map((a) => a.name) ?? [],
    ...(recorded.error ? { error: recorded.error } : {}),
  };
}
