import type { BackupMeta } from './backups';
import { formatDurationMs } from './space';

/**
 * Where a cluster that lost quorum comes back from, and what that costs. Pure: the recovery gathers what each member
 * still answers (a member without quorum still serves its own status and serializable reads) and the store's
 * backups, and this decides the seed and says the data-loss window, before any approval is asked for.
 *
 * etcd's disaster recovery has two ways back: restart the member with the most recent data with
 * `--force-new-cluster` (it keeps everything that member applied), or restore a snapshot into fresh data
 * directories under a new cluster token (it keeps what the snapshot held). A survivor is preferred whenever one
 * answers: it holds at least what the newest backup holds, unless the backup is newer, which the plan checks.
 */

/** What one member answers while quorum is lost. */
export interface SurvivorFigures {
  member: string;
  id: string;
  node?: string;
  /** It answered its status: its process runs and its data directory is readable. */
  answered: boolean;
  /** Raft applied index and the keyspace revision it serves locally (serializable), when it answered. */
  appliedIndex?: number;
  revision?: number;
  /** Why it did not answer. */
  error?: string;
}

/** Where to recover from: the operator's choice; `auto` prefers a survivor, else the newest verified backup. */
export type RecoverySource = 'auto' | 'survivor' | 'backup';

/** What the data lost by a recovery is known to be. */
export interface DataLossWindow {
  /** The revision the recovered cluster starts from. */
  keptRevision: number;
  /** The highest revision any answering member serves; undefined when none answers. */
  highestSeenRevision?: number;
  /** Revisions between them (0 when nothing answered is lost). */
  lostRevisions?: number;
  /** From a backup: how long before now it was taken (writes since then are lost). */
  sinceBackupMs?: number;
  /** Members that did not answer: their data may be newer than anything seen, and is lost either way. */
  unheard: string[];
  /** The window in one sentence, for the plan and the approval. */
  summary: string;
}

/** The recovery's plan, before approval. */
export type RecoveryPlan =
  | { source: 'survivor'; seed: SurvivorFigures & { revision: number; appliedIndex: number }; window: DataLossWindow; reasons: string[] }
  | { source: 'backup'; backup: BackupMeta; window: DataLossWindow; reasons: string[] };

/** The plan, or why there is none. */
export type RecoveryDecision = { ok: true; plan: RecoveryPlan } | { ok: false; code: 'QUORUM_HELD' | 'NO_SOURCE'; reason: string };

/** What the planner is given. */
export interface RecoveryInput {
  cluster: string;
  from: RecoverySource;
  /** Voters, and how many of them are healthy: a recovery while quorum holds would throw away a working cluster. */
  voters: number;
  healthyVoters: number;
  members: readonly SurvivorFigures[];
  backups: readonly BackupMeta[];
  /** Backups found damaged while planning (their snapshot no longer has the recorded sha256): never restored. */
  refusedBackups?: readonly { name: string; reason: string }[];
  nowMs: number;
}

/** The answering member with the highest applied index (then revision, then name): the one with the most recent data. */
export function bestSurvivor(members: readonly SurvivorFigures[]): (SurvivorFigures & { revision: number; appliedIndex: number }) | undefined {
  const answered = members.filter((m): m is SurvivorFigures & { revision: number; appliedIndex: number } => m.answered && m.appliedIndex !== undefined && m.revision !== undefined);
  return [...answered].sort((a, b) => b.appliedIndex - a.appliedIndex || b.revision - a.revision || (a.member < b.member ? -1 : 1))[0];
}

/** The newest backup a restore drill proved; never one that failed or was never drilled. */
export function newestVerifiedBackup(backups: readonly BackupMeta[]): BackupMeta | undefined {
  return [...backups].filter((b) => b.verified !== undefined && b.drillFailed === undefined).sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt))[0];
}

function windowOf(keptRevision: number, members: readonly SurvivorFigures[], sinceBackupMs?: number): DataLossWindow {
  const seen = members.filter((m) => m.answered && m.revision !== undefined).map((m) => m.revision ?? 0);
  const highestSeenRevision = seen.length > 0 ? Math.max(...seen) : undefined;
  const lostRevisions = highestSeenRevision === undefined ? undefined : Math.max(0, highestSeenRevision - keptRevision);
  const unheard = members.filter((m) => !m.answered).map((m) => m.member);
  const parts = [
    lostRevisions === undefined
      ? `no member answers, so the revisions written after ${keptRevision} are unknown`
      : lostRevisions === 0
        ? `nothing any answering member holds is lost (revision ${keptRevision} kept)`
        : `revisions ${keptRevision + 1} to ${highestSeenRevision ?? '?'} (${lostRevisions}) are lost`,
  ];
  if (sinceBackupMs !== undefined) parts.push(`every write of the last ${formatDurationMs(sinceBackupMs)} (since the backup) is lost`);
  if (unheard.length > 0) parts.push(`what ${unheard.join(', ')} held beyond that is unknown (they do not answer)`);
  return {
    keptRevision,
    ...(highestSeenRevision !== undefined ? { highestSeenRevision } : {}),
    ...(lostRevisions !== undefined ? { lostRevisions } : {}),
    ...(sinceBackupMs !== undefined ? { sinceBackupMs } : {}),
    unheard,
    summary: parts.join('; '),
  };
}

/**
 * The recovery plan for a cluster that lost quorum: from the survivor with the most recent data, or from the newest
 * verified backup when no member answers (or the operator asks for it, or it is newer than every survivor). Refused
 * while quorum holds, and when there is nothing to recover from.
 */
export function planRecovery(input: RecoveryInput): RecoveryDecision {
  const quorum = Math.floor(input.voters / 2) + 1;
  if (input.voters > 0 && input.healthyVoters >= quorum) {
    return {
      ok: false,
      code: 'QUORUM_HELD',
      reason: `cluster ${input.cluster} has quorum (${input.healthyVoters} of ${input.voters} voters healthy, ${quorum} needed): a recovery would throw away a working cluster; migrate the members at risk instead`,
    };
  }
  const survivor = bestSurvivor(input.members);
  const refused = input.refusedBackups ?? [];
  const backup = newestVerifiedBackup(input.backups.filter((b) => !refused.some((r) => r.name === b.name)));
  const refusals = refused.map((r) => `backup ${r.name} refused: ${r.reason}`);
  const fromBackup = (reasons: string[]): RecoveryDecision => {
    if (!backup) {
      const failed = input.backups.filter((b) => b.drillFailed !== undefined).length;
      const unverified = input.backups.filter((b) => b.verified === undefined && b.drillFailed === undefined).length;
      return {
        ok: false,
        code: 'NO_SOURCE',
        reason: `${[...reasons, ...refusals].join('; ')}; and cluster ${input.cluster} has no verified backup to restore (${input.backups.length} stored: ${failed} failed their drill, ${unverified} never drilled${refused.length > 0 ? `, ${refused.length} damaged` : ''}): run \`etcd-guardian backup verify\` on one, or bring a member's data back`,
      };
    }
    const window = windowOf(backup.revision, input.members, Math.max(0, input.nowMs - Date.parse(backup.takenAt)));
    return {
      ok: true,
      plan: { source: 'backup', backup, window, reasons: [...reasons, ...refusals, `restore ${backup.name} (revision ${backup.revision}, taken ${backup.takenAt}, verified ${backup.verified?.at ?? '?'})`] },
    };
  };
  if (input.from === 'backup') return fromBackup(['the operator asked for the newest verified backup']);
  if (!survivor) {
    const why = `no member of ${input.cluster} answers with its data (${input.members.map((m) => `${m.member}: ${m.error ?? 'no answer'}`).join(', ') || 'no members'})`;
    return input.from === 'survivor' ? { ok: false, code: 'NO_SOURCE', reason: `${why}, and the operator asked for a survivor` } : fromBackup([why]);
  }
  if (input.from === 'auto' && backup && backup.revision > survivor.revision) {
    return fromBackup([`the newest verified backup (revision ${backup.revision}) is newer than every survivor (best: ${survivor.member} at revision ${survivor.revision})`]);
  }
  const others = input.members.filter((m) => m.answered && m.member !== survivor.member);
  return {
    ok: true,
    plan: {
      source: 'survivor',
      seed: survivor,
      window: windowOf(survivor.revision, input.members),
      reasons: [
        `restart ${survivor.member}${survivor.node ? ` on ${survivor.node}` : ''} with --force-new-cluster: it has applied the most (index ${survivor.appliedIndex}, revision ${survivor.revision})${others.length > 0 ? `; ${others.map((m) => `${m.member} at index ${m.appliedIndex ?? '?'}`).join(', ')}` : ''}`,
      ],
    },
  };
}

/** What decides whether the monitor starts a recovery (which then waits for approval, unless autoApprove). */
export interface RecoveryTrigger {
  /** When this worker first saw the quorum-lost finding confirmed, in this unbroken run of it; undefined: not lost. */
  quorumLostSinceMs?: number;
  nowMs: number;
  /** `recovery.startAfter`; undefined: the monitor never starts one. */
  startAfterMs?: number;
  /** An operation runs under the cluster's migration id, or the last one ended this long ago. */
  operationRunning: boolean;
  lastEndedMs?: number;
  cooldownMs: number;
}

/**
 * Whether the monitor starts a recovery now: quorum lost (confirmed) for at least `recovery.startAfter`, nothing else
 * running on the cluster, and no operation ended within the cooldown (a recovery refused or rejected is not started
 * again every cycle). The recovery itself still re-plans, and waits for a person unless the cluster auto-approves.
 */
export function recoveryDue(t: RecoveryTrigger): boolean {
  if (t.startAfterMs === undefined || t.quorumLostSinceMs === undefined || t.operationRunning) return false;
  if (t.nowMs - t.quorumLostSinceMs < t.startAfterMs) return false;
  return t.lastEndedMs === undefined || t.nowMs - t.lastEndedMs >= t.cooldownMs;
}
