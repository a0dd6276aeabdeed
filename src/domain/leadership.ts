import type { MemberObservation } from './observation';
import { knownLeader } from './quorum';

/** Where leadership should go when it must leave a member, or why it cannot. */
export type LeadershipMove =
  | { kind: 'not-leader'; leader: MemberObservation }
  | { kind: 'move'; from: MemberObservation; to: MemberObservation }
  | { kind: 'no-leader' }
  | { kind: 'no-target'; from: MemberObservation };

/**
 * Decide whether leadership must leave `awayFrom`, and to whom: the most caught-up voter that answers and knows the
 * leader (ties broken by name), so the new leader has the least to catch up and the choice is the same every time.
 */
export function leadershipMove(members: readonly MemberObservation[], awayFrom: string): LeadershipMove {
  const leader = knownLeader(members);
  if (!leader) return { kind: 'no-leader' };
  if (leader.id !== awayFrom) return { kind: 'not-leader', leader };
  const to = members
    .filter((m) => m.id !== awayFrom && !m.isLearner && m.status.reachable && m.status.hasLeader !== false)
    .sort((a, b) => (b.status.raftIndex ?? 0) - (a.status.raftIndex ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
  return to ? { kind: 'move', from: leader, to } : { kind: 'no-target', from: leader };
}
