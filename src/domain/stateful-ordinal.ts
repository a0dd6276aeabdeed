/**
 * What the guardian does next to have a StatefulSet recreate an ordinal's pod on the node of the volume it reserved
 * (activities/statefulset.ts recreateStatefulPod runs this on every look until the pod is placed). Pure: the pod, its
 * claim and the readiness of the pod's node are read by the caller.
 */

/** The ordinal's pod as seen now. */
export interface OrdinalPodView {
  uid?: string;
  /** The node it is bound to; absent before the scheduler binds it. */
  nodeName?: string;
  /** Its deletionTimestamp, when it is being deleted. */
  deletingSince?: Date;
  phase?: string;
  /** Whether the node it is bound to is Ready (false when it is bound to none). */
  nodeReady: boolean;
}

/** The ordinal's claim as seen now. */
export interface OrdinalClaimView {
  uid?: string;
  /** The volume it is bound to, if any. */
  volumeName?: string;
  /** True once it is being deleted. */
  deleting: boolean;
}

/** The next action, and whether the ordinal is where it should be. */
export interface OrdinalAction {
  deleteClaim: boolean;
  deletePod: boolean;
  /** Delete the pod at once (grace 0): no kubelet is left to finish a graceful delete. */
  force: boolean;
  /** Why at once, for the log. */
  forceReason?: 'node not ready' | 'still terminating past its grace period';
  /** The controller's pod runs on the target node with its claim on the reserved volume. */
  placed: boolean;
}

/** A pod still terminating this long after its deletionTimestamp (the end of its grace period) has no kubelet finishing it. */
export const OVERDUE_TERMINATION_MS = 5_000;

/**
 * The claim goes while it is bound to another volume (not once it is already going); the pod goes while it runs
 * elsewhere, sits on a claim that is going away (it would wait for it forever), or holds the claim bound elsewhere,
 * unless it is already terminating and a kubelet can still finish that (its node is Ready and its grace period is not
 * over). Whether the pod is a voter's, which must never be deleted, is for the caller to check before it acts.
 */
export function nextOrdinalAction(params: { pod?: OrdinalPodView; claim?: OrdinalClaimView; targetNode: string; volume: string; now: Date }): OrdinalAction {
  const { pod, claim, targetNode, volume, now } = params;
  const claimElsewhere = claim?.volumeName !== undefined && claim.volumeName !== '' && claim.volumeName !== volume;
  const podElsewhere = pod?.nodeName !== undefined && pod.nodeName !== targetNode;
  const onDyingClaim = pod !== undefined && !pod.nodeName && claim?.deleting === true;
  const deleteClaim = claim !== undefined && claimElsewhere && !claim.deleting && claim.uid !== undefined;
  const podDown = pod !== undefined && !pod.nodeReady;
  const terminating = pod?.deletingSince !== undefined;
  const overdue = pod?.deletingSince !== undefined && pod.deletingSince.getTime() + OVERDUE_TERMINATION_MS < now.getTime();
  const force = podDown || overdue;
  const deletePod = pod?.uid !== undefined && (podElsewhere || onDyingClaim || claimElsewhere) && (!terminating || force);
  const placed = pod !== undefined && !terminating && pod.nodeName === targetNode && claim?.volumeName === volume && pod.phase === 'Running';
  const forceReason = podDown ? 'node not ready' : overdue ? 'still terminating past its grace period' : undefined;
  return { deleteClaim, deletePod, force, ...(forceReason ? { forceReason } : {}), placed };
}
