import { defineGameDay } from './harness/gameday-suite';
import { testScope } from './support/scope';

/**
 * The game day on a StatefulSet-managed cluster (`sandbox up --etcd-workload statefulset`), with the same invariants
 * as on member pods, and each move checked as the StatefulSet's: the same ordinal on the chosen node, its claim on a
 * volume of that node, the old volume released. In the `ci` scope the four fault kinds that move a member; the
 * flapping node and the lost quorum, where nothing moves whatever the workload, run in the `full` scope (the matrix).
 */

jest.setTimeout(900_000);

defineGameDay(
  'statefulset',
  testScope() === 'ci' ? ['node CPU pressure under a member', "a follower's pod frozen", "a follower's pod crash-looping", "the leader's node down"] : undefined,
);
