import type { MemberObservation } from './observation';

/**
 * What keeps a cluster from being "verified": the wrong number of voters, a learner left, a voter that does not
 * answer or knows no leader, members that disagree on the leader. Empty when the membership has converged; the
 * HashKV comparison comes after.
 */
export function convergenceProblems(members: readonly MemberObservation[], expectedVoters: number): string[] {
  const voters = members.filter((m) => !m.isLearner);
  const problems: string[] = [];
  if (voters.length !== expectedVoters) problems.push(`${voters.length} voters, expected ${expectedVoters}`);
  const learners = members.filter((m) => m.isLearner);
  if (learners.length > 0) problems.push(`learner(s) left: ${learners.map((m) => m.name || m.id).join(', ')}`);
  const down = voters.filter((m) => !m.status.reachable || m.status.hasLeader === false);
  if (down.length > 0) problems.push(`unhealthy: ${down.map((m) => m.name || m.id).join(', ')}`);
  const leaders = agreedLeaders(voters);
  if (leaders.length !== 1) problems.push(`members disagree on the leader (${leaders.join(', ') || 'none'})`);
  return problems;
}

/** The distinct leader ids the voters report. */
export function agreedLeaders(voters: readonly MemberObservation[]): string[] {
  return [...new Set(voters.map((m) => m.status.leaderId).filter((l): l is string => l !== undefined && l !== '' && l !== '0'))];
}

/** The HashKV answers disagree: which member said what, for the failure message. */
export function hashDisagreement(answers: readonly { name: string; hash: string }[]): string | undefined {
  return new Set(answers.map((a) => a.hash)).size > 1 ? answers.map((a) => `${a.name}=${a.hash}`).join(', ') : undefined;
}
