import { defineSpaceGameDay } from './harness/space-suite';
import { testScope } from './support/scope';

/**
 * Game day, space, 5 members with a 320 MiB quota: a 200 MiB database mostly deleted and compacted, then found
 * fragmented and defragmented member by member (every member shrinks). The `full` scope (the matrix) adds NOSPACE, the
 * worker SIGKILLed mid-defragmentation and a member dying mid-maintenance, which the 3-member suite runs in CI.
 */

jest.setTimeout(1_800_000);

defineSpaceGameDay({ members: 5, quotaMiB: 320, fragmentMiB: 200, ...(testScope() === 'ci' ? { only: ['fragmentation'] } : { only: ['nospace', 'fragmentation', 'worker killed', 'member down'] }) });
