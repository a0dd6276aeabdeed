import type { Command } from 'commander';
import { InvalidInputError } from '../config/errors';
import { parseRepairMembershipInput, type RepairMembershipRequest } from '../config/workflow-inputs';
import { repairSummary } from '../domain/summaries';
import type { RepairResult } from '../../workflows/repair';
import { runClusterWorkflow } from './cluster-workflow';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed } from './context';

/** One line of the plan per step, for the dry run and the outcome. */
function planLines(result: RepairResult): string[] {
  return [
    `repair ${result.cluster} (${result.plan.kind}): ${result.plan.reasons.join('; ')}`,
    ...(result.plan.approval ? [`approved by ${result.plan.approval.approvedBy}: remove ${result.plan.approval.member} (${result.plan.approval.memberId})`] : []),
    ...result.plan.steps.map((s, i) => `  ${i + 1}. ${s.step}: ${s.description}`),
  ];
}

/**
 * `etcd-guardian repair <cluster> [--dry-run]`: bring the cluster back to its desired voters (the workflow the
 * monitor starts for a cluster short of voters); also the way to take out a surplus voter or a leftover learner.
 */
export function registerRepairCommand(program: Command): void {
  program
    .command('repair')
    .description('bring a cluster back to its desired number of voters: add the missing ones, or remove a leftover learner or one surplus voter')
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--reason <text>', 'why, for the history', 'manual repair')
    .option('--approve-removal <member>', 'remove this dead member (name or hex id) and nothing else: no pod is deleted, no successor added (kubeadm static pods); you are recorded as the approver')
    .option('--approver <name>', 'who approves, for the history (default: cli:$USER, else the OS account)')
    .option('--dry-run', 'plan only: print the steps; change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (cluster: string, options: { config?: string; reason: string; dryRun?: boolean; json?: boolean; approveRemoval?: string; approver?: string }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const request: RepairMembershipRequest = {
        cluster,
        reason: options.reason,
        dryRun: options.dryRun === true,
        requestedBy: options.approver ?? cliRequester(),
        ...(options.approveRemoval !== undefined ? { approveRemoval: options.approveRemoval } : {}),
      };
      try {
        parseRepairMembershipInput(request);
      } catch (error) {
        if (error instanceof InvalidInputError) throw new CliArgumentError(error.message);
        throw error;
      }
      const result = await runClusterWorkflow<RepairResult>(config, cluster, 'repairMembership', request, 'repair', repairSummary(request));
      const lines = [...planLines(result), result.dryRun ? 'dry run: nothing changed' : `verified: ${result.verified?.voters.join(', ') ?? '?'}`, ...(result.plan.runbook ?? [])];
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${lines.join('\n')}\n`);
    });
}
