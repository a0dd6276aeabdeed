import { GAME_DAY_SCENARIOS, defineGameDay } from './harness/gameday-suite';
import { testScope } from './support/scope';

/**
 * The game day on bare member pods (harness/gameday-suite.ts). In the `ci` scope every fault kind once, to keep CI
 * under 30 minutes: node pressure runs as memory pressure only (the CPU case is the same fault kind and the same
 * surge), and the crash loop is the damaged database's (a pod-crash fault's kill, then etcd's own data error; the
 * fault's endless crash loop runs in the StatefulSet game day). The `full` scope (the matrix) runs every scenario.
 */

jest.setTimeout(900_000);

const CI_SKIPS = ['node CPU pressure under a member', "a follower's pod crash-looping"];

defineGameDay('pods', testScope() === 'ci' ? GAME_DAY_SCENARIOS.filter((name) => !CI_SKIPS.includes(name)) : undefined);
