import { quorumOf, type AcknowledgedWrite, type ModelMember } from './etcd-model';
import type { World } from './world';

/** What the simulator checks after every step: who votes, who is healthy, whether quorum holds, and the writes. */

/** Current voters. */
export function voters(world: World): ModelMember[] {
  return world.etcdModel.list().filter((m) => !m.isLearner);
}

/** Current learners. */
export function learners(world: World): ModelMember[] {
  return world.etcdModel.list().filter((m) => m.isLearner);
}

/** Voters whose process runs, connected to their peers, in a cluster with a leader: what /health calls healthy. */
export function healthyVoters(world: World): ModelMember[] {
  return voters(world).filter((m) => world.etcdModel.hasLeader(m));
}

/** The quorum arithmetic of the cluster now. */
export interface QuorumState {
  voters: number;
  healthyVoters: number;
  learners: number;
  quorum: number;
  /** A leader exists (a majority of voters can talk). */
  hasQuorum: boolean;
  /** Healthy voters that could be lost without losing quorum; negative when quorum is already lost. */
  faultTolerance: number;
  leader?: string;
}

/** The quorum state now. */
export function quorumState(world: World): QuorumState {
  const all = voters(world);
  const healthy = healthyVoters(world).length;
  const quorum = quorumOf(all.length);
  const leaderId = world.etcdModel.leaderId();
  const leader = leaderId === undefined ? undefined : world.etcdModel.find(leaderId);
  return {
    voters: all.length,
    healthyVoters: healthy,
    learners: learners(world).length,
    quorum,
    hasQuorum: leaderId !== undefined,
    faultTolerance: healthy - quorum,
    ...(leader ? { leader: leader.name || leader.id } : {}),
  };
}

/**
 * Acknowledged writes the cluster no longer holds durably: Raft keeps a committed entry as long as a majority of
 * the current voters has it (any future leader then has it too). Empty in a healthy history.
 */
export function lostAcknowledgedWrites(world: World): AcknowledgedWrite[] {
  const current = voters(world);
  const need = quorumOf(current.length);
  return world.etcdModel.acknowledgedWrites().filter((w) => current.length === 0 || current.filter((v) => v.applied >= w.index).length < need);
}

/** Acknowledged writes a member has not applied (a member that lags or was cut off misses the latest ones). */
export function missingWrites(world: World, member: ModelMember): AcknowledgedWrite[] {
  return world.etcdModel.acknowledgedWrites().filter((w) => member.applied < w.index);
}
