import { defineSpaceGameDay } from './harness/space-suite';

/**
 * Game day, space, 5 members with a 320 MiB quota: NOSPACE, a 200 MiB database mostly deleted and compacted then found
 * fragmented and defragmented member by member, the worker SIGKILLed mid-defragmentation, a member dying
 * mid-maintenance. In the full scope only (scripts/test-matrix.sh; scripts/test.sh leaves it out of CI's 30 minutes):
 * CI runs every scenario on 3 members (maintenance.test.ts).
 */

jest.setTimeout(1_800_000);

defineSpaceGameDay({ members: 5, quotaMiB: 320, fragmentMiB: 200, only: ['nospace', 'fragmentation', 'worker killed', 'member down'] });
