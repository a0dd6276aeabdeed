import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadReport, renderMarkdown } from '../report/report';
import { cliConfig, CliArgumentError, temporalClient } from './context';

/**
 * `etcd-guardian report <workflow-id> [--json] [--run-id <id>] [--output <file>]`: the post-mortem of a migration
 * or a monitor run, read from its workflow history. An unknown workflow id is one line naming it, exit code 1.
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('the post-mortem of a migration or a monitor run, from its workflow history: evidence, plan, every step with its duration, compensations, final membership')
    .argument('<workflow-id>', 'migrate-<cluster> for a migration; a monitor run\'s id (monitor-<cluster>-<time>) for a monitor')
    .option('-c, --config <file>', 'config file')
    .option('--run-id <id>', 'a particular run of the workflow (default: its latest run)')
    .option('--json', 'print the report as JSON, for machines')
    .option('-o, --output <file>', 'write the report to this file instead of standard output')
    .action(async (workflowId: string, options: { config?: string; runId?: string; json?: boolean; output?: string }) => {
      if (workflowId.trim() === '') throw new CliArgumentError('workflow-id: expected a workflow id such as migrate-main, got ""');
      if (options.runId !== undefined && options.runId.trim() === '') throw new CliArgumentError('--run-id: expected a run id, got ""');
      const config = cliConfig(options.config);
      const client = await temporalClient(config);
      try {
        const report = await loadReport(client, workflowId, options.runId);
        const text = options.json ? `${JSON.stringify(report, null, 2)}\n` : renderMarkdown(report);
        if (options.output === undefined) {
          process.stdout.write(text);
          return;
        }
        try {
          writeFileSync(options.output, text);
        } catch (error) {
          throw new Error(`cannot write the report to ${options.output}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        process.stderr.write(`wrote the report of ${report.workflowId} (run ${report.runId}) to ${options.output}\n`);
      } finally {
        await client.connection.close();
      }
    });
}
