import { GAME_DAY_SCENARIOS, defineGameDay } from './harness/gameday-suite';
import { testScope } from './support/scope';

/**
 * The game day on bare member pods (harness/gameday-suite.ts). In the `ci` scope every fault kind once: node pressure
 * runs as memory pressure only (the CPU case is the same fault kind and the same surge), to keep CI under 30 minutes;
 * the `full` scope (the matrix) runs every scenario.
 */

jest.setTimeout(900_000);

defineGameDay('pods', testScope() === 'ci' ? GAME_DAY_SCENARIOS.filter((name) => name !== 'node CPU pressure under a member') : undefined);
