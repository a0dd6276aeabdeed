import { defineSpaceGameDay } from './harness/space-suite';

/**
 * Game day, space, 3 members with a 64 MiB quota (`sandbox up --etcd-quota 64MiB`): NOSPACE recovered without an
 * operator, fragmentation found and defragmented member by member, the worker SIGKILLed mid-defragmentation, a member
 * dying mid-maintenance replaced by the migration path. The writer, the quorum sampler and the audit throughout.
 */

jest.setTimeout(1_200_000);

defineSpaceGameDay({ members: 3, quotaMiB: 64, fragmentMiB: 36 });
