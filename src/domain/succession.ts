import type { ClusterObservation, MemberObservation } from './observation';
import { choosePlacement, placementRequestFor } from './placement';
import type { Policy } from './policy';

/** Why a member must not leave yet: the successor that has to follow it could not be added. */
export interface SuccessorBlocker {
  code: 'LEARNER_PRESENT' | 'NO_TEMPLATE' | 'NO_FEASIBLE_NODE';
  message: string;
}

/**
 * Before a member leaves for good, the successor that must follow it has to be possible: etcd's one learner slot
 * free, a pod left to copy, a feasible node. Undefined when nothing blocks it.
 */
export function successorBlocker(observation: ClusterObservation, leaving: MemberObservation, policy: Policy): SuccessorBlocker | undefined {
  const who = leaving.name || leaving.id;
  const learners = observation.members.filter((m) => m.isLearner);
  if (learners.length > 0) {
    return {
      code: 'LEARNER_PRESENT',
      message: `will not remove ${who}: learner ${learners.map((m) => `${m.name || '(not started)'} (${m.id})`).join(', ')} is in the cluster and etcd allows one learner, so no successor could join; remove it first (etcd-guardian repair ${observation.cluster})`,
    };
  }
  if (!observation.pods.some((p) => !p.terminating)) {
    return { code: 'NO_TEMPLATE', message: `will not remove ${who}: no pod of cluster ${observation.cluster} is left to copy the successor's spec from` };
  }
  const placement = choosePlacement(placementRequestFor(observation, { memberId: leaving.id, name: leaving.name, ...(leaving.nodeName ? { nodeName: leaving.nodeName } : {}) }, policy));
  if (!placement.chosen) return { code: 'NO_FEASIBLE_NODE', message: `will not remove ${who}: its successor would have nowhere to go: ${placement.summary}` };
  return undefined;
}
