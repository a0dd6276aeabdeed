/** The errors the migration's activities throw, each with a code the workflow branches on (never instanceof). */

/** An activity's error: a code the workflow branches on, whether Temporal retries it, and its class's name. */
abstract class ActivityError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A refusal the operator must act on: bad input, a quorum violation, nowhere to go. Never retried. */
export class MigrationRefusedError extends ActivityError {
  readonly retryable = false;
  constructor(
    readonly code:
      | 'INVALID_INPUT'
      | 'QUORUM_GUARD'
      | 'NO_FEASIBLE_NODE'
      | 'POD_CONFLICT'
      | 'BACKUP_REQUIRED'
      | 'PEER_DOWN'
      | 'NO_TEMPLATE'
      | 'LEARNER_PRESENT'
      | 'VOTER_POD'
      | 'NOTHING_TO_REPAIR'
      | 'REPAIR_REFUSED'
      | 'PLACEMENT_POLICY'
      | 'STATIC_POD'
      | 'CONTROLLER_OWNED'
      | 'WORKLOAD_MISMATCH'
      | 'NOTHING_TO_MAINTAIN'
      | 'STILL_FULL',
    message: string,
  ) {
    super(message);
  }
}

/** Not done yet (a learner catching up, a pod starting): Temporal retries the step. */
export class NotReadyYetError extends ActivityError {
  readonly code = 'NOT_READY_YET';
  readonly retryable = true;
}

/**
 * No member list could be read (every endpoint failed, or none agreed on a leader): who is a member is unknown.
 * Retried: a step that acted on "unknown" as if it were "absent" could delete the pod of a voter.
 */
export class MembershipUnknownError extends ActivityError {
  readonly code = 'MEMBERSHIP_UNKNOWN';
  readonly retryable = true;
}

/** The node under the new member's pod went away: waiting longer cannot help, the next node should be tried. */
export class TargetLostError extends ActivityError {
  readonly code = 'TARGET_LOST';
  readonly retryable = false;
}

/**
 * The quorum guard said no from this observation. Retried for the step's attempts: a voter that looked down once
 * may answer the next look. The workflow still sees the type QUORUM_GUARD when the attempts run out.
 */
export class QuorumGuardError extends ActivityError {
  readonly code = 'QUORUM_GUARD';
  readonly retryable = true;
}

/** A surge whose member went down before its successor joined: etcd adds no member now, so the plan is stale. */
export class PlanStaleError extends ActivityError {
  readonly code = 'PLAN_STALE';
  readonly retryable = false;
}

/**
 * Maintenance must not go on: a voter is down, the cluster has no fault tolerance or no leader. Not retried: the
 * maintenance ends, the cluster as it was, and the monitor's migration path takes over the member at fault.
 */
export class MaintenanceStoppedError extends ActivityError {
  readonly code = 'MAINTENANCE_STOPPED';
  readonly retryable = false;
}
