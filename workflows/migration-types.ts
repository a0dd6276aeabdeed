/** What a migration reports while it runs and when it ends. */
import type { BackupRecord } from '../activities/backup';
import type { MigrationPlan } from '../src/domain/plan';
import type { Verdict } from '../src/domain/approval';
import type { ApprovalProgress } from './approval';
import type { LeaseProgress } from './lease';
import type { StepRecord } from './saga';

/** What the `progress` query answers. */
export interface MigrationProgress extends LeaseProgress, ApprovalProgress {
  cluster: string;
  member: string;
  /**
   * `awaiting-approval`: the cluster's approval rules hold the plan for a person (why in `approvalNeeded`);
   * `waiting`: for a fleet lease (the budget, a freeze), with why in `waitingFor`.
   */
  phase: 'validating' | 'planning' | 'awaiting-approval' | 'waiting' | 'migrating' | 'compensating' | 'succeeded' | 'failed';
  strategy?: string;
  from?: string;
  to?: string;
  currentStep?: string;
  steps: StepRecord[];
}

/** The outcome of a migration that did not fail. */
export interface MigrationResult {
  cluster: string;
  member: string;
  dryRun: boolean;
  /** Who asked, as the input said (`requestedBy`); the report shows it with the starting client's identity. */
  requestedBy?: string;
  /** Who approved the plan, when the cluster's approval rules held it for a person. */
  approvedBy?: Verdict & { at: string };
  plan: MigrationPlan;
  strategy: string;
  from?: string;
  to?: string;
  newMember?: string;
  /** Other voters that were down too and were replaced in the same run (see MigrationPlan.alsoReplaced). */
  alsoReplaced?: { member: string; from?: string; newMember: string; to: string }[];
  backup?: BackupRecord;
  verified?: { voters: string[]; leader: string; revision: number; hash: string };
  steps: StepRecord[];
}
