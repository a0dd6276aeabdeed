import { defineGameDay } from './harness/gameday-suite';
import { testScope } from './support/scope';

/**
 * The game day on a StatefulSet-managed cluster (`sandbox up --etcd-workload statefulset`), with the same invariants
 * as on member pods, and each move checked as the StatefulSet's: the same ordinal on the chosen node, its claim on a
 * volume of that node, the old volume released. In the `ci` scope a replace (the leader's node down) and a move of a
 * live member (a crash loop), on etcd 3.5; every other fault kind runs on bare pods in CI, and every scenario here in
 * the `full` scope (the matrix).
 */

jest.setTimeout(900_000);

defineGameDay(
  'statefulset',
  testScope() === 'ci' ? ["a follower's pod crash-looping", "the leader's node down"] : undefined,
);
