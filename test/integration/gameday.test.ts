import { defineGameDay } from './harness/gameday-suite';

/** The game day on bare member pods: every scenario, in every scope (harness/gameday-suite.ts). */

jest.setTimeout(900_000);

defineGameDay('pods');
