import type { Command } from 'commander';
import { InvalidInputError } from '../config/errors';
import { parseMaintainClusterInput, type MaintainClusterRequest } from '../config/workflow-inputs';
import { formatBytes } from '../domain/space';
import { maintenanceSummary } from '../domain/summaries';
import type { MaintenanceResult } from '../../workflows/maintain';
import { runClusterWorkflow } from './cluster-workflow';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed } from './context';

/** The plan, one line per step, then what each step did. */
export function maintenanceLines(result: MaintenanceResult): string[] {
  const { plan } = result;
  return [
    `${plan.mode === 'nospace' ? 'NOSPACE recovery' : 'defragmentation'} of ${result.cluster}: ${plan.reasons.join('; ')}`,
    ...plan.before.map((b) => `  ${b.member}: ${b.dbSizeBytes !== undefined ? formatBytes(b.dbSizeBytes) : '?'} (${b.dbSizeInUseBytes !== undefined ? formatBytes(b.dbSizeInUseBytes) : '?'} in use) of a ${formatBytes(b.quotaBytes)} quota`),
    ...plan.skipped.map((s) => `  skipped ${s.member}: ${s.reason}`),
    ...plan.steps.map((s, i) => `  ${i + 1}. ${s.step}: ${s.description}`),
    ...(result.dryRun ? ['dry run: nothing changed'] : result.steps.filter((s) => s.step !== 'plan').map((s) => `  ${s.status} ${s.step}${s.detail ? `: ${s.detail}` : ''}`)),
  ];
}

/**
 * `etcd-guardian maintain <cluster> [--mode ...] [--member ...|--all] [--dry-run]`: defragment members one at a time
 * (the leader last), or recover from NOSPACE (compact, defragment, disarm, prove a write). The workflow the monitor
 * starts for a confirmed space finding, under the cluster's migration id.
 */
export function registerMaintainCommand(program: Command): void {
  program
    .command('maintain')
    .description('defragment the members of a cluster one at a time (leader last), or recover it from NOSPACE (compact, defragment, disarm the alarm, prove a write)')
    .argument('<cluster>', 'cluster name, as in the config')
    .option('-c, --config <file>', 'config file')
    .option('--mode <mode>', 'auto (NOSPACE recovery when the alarm is raised, else defragment), defragment or nospace', 'auto')
    .option('--member <name...>', 'defragment only these members')
    .option('--all', 'defragment every member, fragmented or not')
    .option('--reason <text>', 'why, for the history')
    .option('--dry-run', 'plan only: print the steps; change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (cluster: string, options: { config?: string; mode: string; member?: string[]; all?: boolean; reason?: string; dryRun?: boolean; json?: boolean }) => {
      const config = cliConfig(options.config);
      clusterNamed(config, cluster);
      const request = {
        cluster,
        mode: options.mode,
        ...(options.member ? { members: options.member } : {}),
        ...(options.all ? { all: true } : {}),
        ...(options.reason ? { reason: options.reason } : {}),
        dryRun: options.dryRun === true,
        requestedBy: cliRequester(),
      } as MaintainClusterRequest;
      try {
        parseMaintainClusterInput(request);
      } catch (error) {
        if (error instanceof InvalidInputError) throw new CliArgumentError(error.message);
        throw error;
      }
      const result = await runClusterWorkflow<MaintenanceResult>(config, cluster, 'maintainCluster', request, 'maintenance', maintenanceSummary({ ...request, mode: request.mode ?? 'auto' }));
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${maintenanceLines(result).join('\n')}\n`);
    });
}
