import { z } from 'zod';
import type { MemberSummary } from '../domain/assemble';
import type { Decision } from '../domain/plan';
import type { Assessment } from '../domain/risk';
import type { SampleWindow } from '../domain/window';
import { InvalidInputError } from './errors';
import { validate } from './issues';
import { clusterName, nodeName, strategyName } from './names';

/**
 * Schemas of the workflows' inputs. Workflow code validates its input first thing, so that a bad start from
 * the CLI or the Temporal UI fails at once with every problem named. Pure: no Node built-ins, no I/O.
 */

// Built once per worker: worker/bundle-options.ts preloads this module, so every workflow shares these schemas. None
// is exported: the SDK deep-freezes a shared module's exports, and a frozen zod schema fails when first used.
const clusterNameSchema = clusterName();
const nodeNameSchema = nodeName();
const strategySchema = strategyName();

const nonEmpty = (expected: string) => z.string({ error: `expected ${expected}` }).trim().min(1);
const wholeNumber = z.int({ error: 'expected a whole number of at least 0' }).min(0);

const sampleWindowSchema = z.strictObject({
  samples: wholeNumber,
  streaks: z.record(z.string(), wholeNumber),
  counters: z.record(z.string(), z.number()),
  increments: z.record(z.string(), z.array(z.number())),
  gauges: z.record(z.string(), z.array(z.tuple([z.number(), z.number()]))).optional(),
  returns: z.record(z.string(), z.strictObject({ up: z.boolean(), at: z.number().optional() })).optional(),
}) satisfies z.ZodType<SampleWindow>;

/** The last cycle's outcome, carried so that `status` answers at once after a continue-as-new. */
export interface MonitorLast {
  health: string;
  lastCycleAt?: string;
  members: MemberSummary[];
  assessment?: Assessment;
  decision?: Decision;
}

// Produced by the previous run of the same workflow, never typed in by a person: checked for shape only.
const lastSchema = z.custom<MonitorLast>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
  error: 'expected the previous run\'s last status (an object)',
});

const carriedSchema = z.strictObject({
  cycles: wholeNumber,
  last: lastSchema.optional(),
  window: sampleWindowSchema,
  migration: z
    .strictObject({
      inFlight: z
        .strictObject({
          workflowId: nonEmpty('the workflow id of the running migration'),
          member: nonEmpty('the member being migrated'),
          operation: z.enum(['maintenance']).optional(),
        })
        .optional(),
      lastEndedAt: z.iso.datetime({ offset: true }).optional(),
    })
    .prefault({}),
});

const monitorClusterInputSchema = z.strictObject(
  {
    cluster: clusterNameSchema,
    intervalMs: z.int({ error: 'expected a whole number of milliseconds of at least 1000' }).min(1000),
    continueAsNewEvery: z.int({ error: 'expected a whole number between 1 and 1000' }).min(1).max(1000),
    /** The cluster's per-call deadline: the observing activities' timeout grows with it. */
    endpointTimeoutMs: z.int({ error: 'expected a whole number of milliseconds' }).min(1).optional(),
    carried: carriedSchema.optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster, intervalMs and continueAsNewEvery' : undefined) },
);

const migrateMemberInputSchema = z
  .strictObject(
    {
      cluster: clusterNameSchema,
      member: nonEmpty('a member name or hex id, such as "etcd-1" or "8e9e05c52164694d"'),
      reason: nonEmpty('a non-empty reason').default('manual migration'),
      strategy: strategySchema.default('auto'),
      targetNode: nodeNameSchema.optional(),
      dryRun: z.boolean({ error: 'expected true or false' }).default(false),
      requestedBy: nonEmpty('the name of who asked').optional(),
      /** Node name to the reason it must not receive the member. */
      excludedNodes: z.record(nodeNameSchema, nonEmpty('a reason')).optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster and member' : undefined) },
  )
  .superRefine((input, ctx) => {
    if (input.targetNode !== undefined && input.excludedNodes?.[input.targetNode] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['targetNode'],
        message: 'expected a node that is not in excludedNodes',
        input: input.targetNode,
      });
    }
  });

const repairMembershipInputSchema = z.strictObject(
  {
    cluster: clusterNameSchema,
    reason: nonEmpty('a non-empty reason').default('manual repair'),
    dryRun: z.boolean({ error: 'expected true or false' }).default(false),
    requestedBy: nonEmpty('the name of who asked').optional(),
    /** Remove this dead member (name or hex id), as approved by `requestedBy`; nothing else is repaired. */
    approveRemoval: nonEmpty('a member name or hex id').optional(),
    /** The parent workflow (a recovery) whose fleet lease covers this run; honoured only from that parent. */
    underLeaseOf: nonEmpty('the workflow id of the parent holding the fleet lease').optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster' : undefined) },
).superRefine((input, ctx) => {
  // An approval is recorded with its approver: an anonymous one is refused.
  if (input.approveRemoval !== undefined && input.requestedBy === undefined) {
    ctx.addIssue({ code: 'custom', path: ['requestedBy'], message: `the approver's name is required with approveRemoval (${input.approveRemoval})` });
  }
});

const maintainClusterInputSchema = z
  .strictObject(
    {
      cluster: clusterNameSchema,
      /** `auto`: NOSPACE recovery when the alarm is raised, else a defragmentation of the fragmented members. */
      mode: z.enum(['auto', 'defragment', 'nospace'], { error: 'expected one of auto, defragment, nospace' }).default('auto'),
      /** Defragment only these members (names); absent: the fragmented ones. */
      members: z.array(nonEmpty('a member name such as "etcd-1"'), { error: 'expected a list of member names such as ["etcd-1"]' }).min(1, 'expected at least one member name; leave members out for the fragmented ones').optional(),
      /** Defragment every member, fragmented or not. */
      all: z.boolean({ error: 'expected true or false' }).default(false),
      reason: nonEmpty('a non-empty reason').optional(),
      dryRun: z.boolean({ error: 'expected true or false' }).default(false),
      requestedBy: nonEmpty('the name of who asked').optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster' : undefined) },
  )
  .superRefine((input, ctx) => {
    if (input.mode === 'nospace' && (input.members !== undefined || input.all)) {
      ctx.addIssue({ code: 'custom', path: [input.members !== undefined ? 'members' : 'all'], message: 'expected no member selection with mode nospace: a NOSPACE recovery defragments every member' });
    }
    if (input.members !== undefined && input.all) {
      ctx.addIssue({ code: 'custom', path: ['all'], message: 'expected either members or all, not both' });
    }
  });

/** Input of the maintainCluster workflow once validated, defaults applied. */
export type MaintainClusterInput = z.output<typeof maintainClusterInputSchema>;

/** What a caller may send to maintainCluster. */
export type MaintainClusterRequest = z.input<typeof maintainClusterInputSchema>;

/** Validates a maintainCluster input; throws InvalidInputError listing every problem. */
export function parseMaintainClusterInput(raw: unknown): MaintainClusterInput {
  const result = validate(maintainClusterInputSchema, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('maintainCluster', result.issues);
  return result.value;
}

const backupClusterInputSchema = z.strictObject(
  {
    cluster: clusterNameSchema,
    /** Why: `scheduled` from the schedule, an operator's words otherwise. */
    reason: nonEmpty('a non-empty reason').default('operator'),
    requestedBy: nonEmpty('the name of who asked').optional(),
    /** Skip the restore drill (the backup then stays unverified); default false. */
    skipDrill: z.boolean({ error: 'expected true or false' }).default(false),
    /** Take no backup: run the restore drill of this stored one (its name, as `backup list` prints it). */
    verify: nonEmpty('the name of a stored backup, as `etcd-guardian backup list` prints it').optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster' : undefined) },
);

const backupClusterInputChecked = backupClusterInputSchema.superRefine((input, ctx) => {
  if (input.verify !== undefined && input.skipDrill) {
    ctx.addIssue({ code: 'custom', path: ['skipDrill'], message: 'expected no skipDrill with verify: verify runs only the drill' });
  }
});

/** Input of the backupCluster workflow once validated, defaults applied. */
export type BackupClusterInput = z.output<typeof backupClusterInputSchema>;

/** What a caller (the schedule, the CLI, the Temporal UI) may send to backupCluster. */
export type BackupClusterRequest = z.input<typeof backupClusterInputSchema>;

/** Validates a backupCluster input; throws InvalidInputError listing every problem. */
export function parseBackupClusterInput(raw: unknown): BackupClusterInput {
  const result = validate(backupClusterInputChecked, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('backupCluster', result.issues);
  return result.value;
}

const recoverClusterInputSchema = z.strictObject(
  {
    cluster: clusterNameSchema,
    /** Where from: `auto` (a survivor, else the newest verified backup), `survivor` or `backup`. */
    from: z.enum(['auto', 'survivor', 'backup'], { error: 'expected one of auto, survivor, backup' }).default('auto'),
    /** Plan only: the seed and the data-loss window, nothing waited for or touched. */
    dryRun: z.boolean({ error: 'expected true or false' }).default(false),
    reason: nonEmpty('a non-empty reason').optional(),
    requestedBy: nonEmpty('the name of who asked').optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected an object with cluster' : undefined) },
);

/** Input of the recoverCluster workflow once validated, defaults applied. */
export type RecoverClusterInput = z.output<typeof recoverClusterInputSchema>;

/** What a caller (the CLI, the Temporal UI) may send to recoverCluster. */
export type RecoverClusterRequest = z.input<typeof recoverClusterInputSchema>;

/** Validates a recoverCluster input; throws InvalidInputError listing every problem. */
export function parseRecoverClusterInput(raw: unknown): RecoverClusterInput {
  const result = validate(recoverClusterInputSchema, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('recoverCluster', result.issues);
  return result.value;
}

/** Input of the repairMembership workflow once validated, defaults applied. */
export type RepairMembershipInput = z.output<typeof repairMembershipInputSchema>;

/** What a caller may send to repairMembership. */
export type RepairMembershipRequest = z.input<typeof repairMembershipInputSchema>;

/** Validates a repairMembership input; throws InvalidInputError listing every problem. */
export function parseRepairMembershipInput(raw: unknown): RepairMembershipInput {
  const result = validate(repairMembershipInputSchema, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('repairMembership', result.issues);
  return result.value;
}

/** What the monitor carries from one run to the next across continue-as-new. */
export type MonitorCarried = z.output<typeof carriedSchema>;

/**
 * Input of the monitorCluster workflow: the cluster's name (the worker holds its config, so that history carries
 * no configuration and no secrets), the sampling interval, and the state carried across continue-as-new.
 */
export type MonitorClusterInput = z.output<typeof monitorClusterInputSchema>;

/** Input of the migrateMember workflow once validated, defaults applied. */
export type MigrateMemberInput = z.output<typeof migrateMemberInputSchema>;

/** What a caller (the CLI, the monitor, the Temporal UI) may send to migrateMember: defaulted fields optional. */
export type MigrateMemberRequest = z.input<typeof migrateMemberInputSchema>;

// Workflow code runs these: stay off zod's eval-compiled path so parsing never depends on the sandbox's eval.
const IN_WORKFLOW = { jitless: true };

/** Validates a monitorCluster input; throws InvalidInputError listing every problem. */
export function parseMonitorClusterInput(raw: unknown): MonitorClusterInput {
  const result = validate(monitorClusterInputSchema, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('monitorCluster', result.issues);
  return result.value;
}

/** Validates a migrateMember input; throws InvalidInputError listing every problem. */
export function parseMigrateMemberInput(raw: unknown): MigrateMemberInput {
  const result = validate(migrateMemberInputSchema, raw, IN_WORKFLOW);
  if (!result.ok) throw new InvalidInputError('migrateMember', result.issues);
  return result.value;
}
