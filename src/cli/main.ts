#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { registerBackupCommand } from './backup-command';
import { registerDemoCommand } from './demo-command';
import { registerApprovalCommands } from './approval-command';
import { registerFleetCommands } from './fleet-command';
import { registerFollowCommand, registerMigrateCommand } from './migrate-command';
import { registerMaintainCommand } from './maintain-command';
import { registerRecoverCommand } from './recover-command';
import { registerRepairCommand } from './repair-command';
import { registerReportCommand } from './report-command';
import { registerSandboxCommand } from './sandbox-command';
import { registerScheduleCommand } from './schedule-command';
import { registerStatusCommand } from './status-command';
import { registerWorkerCommand } from './worker-command';

/**
 * The etcd-guardian CLI. Each command family lives in its own module and registers itself here; errors are printed
 * as one line, with exit code 2 for a wrong argument and 1 for anything else.
 */

/** The version in the nearest package.json (src/cli in development, dist/src/cli once built). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'etcd-guardian') return pkg.version ?? '0.0.0';
    } catch {
      // No package.json here; look one level up.
    }
  }
  return '0.0.0';
}

/** The program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('etcd-guardian')
    .description('keeps etcd clusters on Kubernetes out of disaster')
    .version(packageVersion())
    // Usage errors (unknown option, missing argument) are argument errors: exit code 2, like the checks of our own.
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'Config: --config <file>, else $ETCD_GUARDIAN_CONFIG, else ./etcd-guardian.yaml, else ./.sandbox/guardian.yaml',
        '(written by `etcd-guardian sandbox up` and `etcd-guardian demo`).',
        '',
        'Exit codes: 0 done (status: every cluster healthy); 1 failed, or a cluster is not healthy, or a migration',
        'did not succeed; 2 wrong arguments or an invalid config, nothing was changed; 128+n stopped by signal n.',
      ].join('\n'),
    );
  registerWorkerCommand(program);
  registerScheduleCommand(program);
  registerStatusCommand(program);
  registerMigrateCommand(program);
  registerRepairCommand(program);
  registerMaintainCommand(program);
  registerBackupCommand(program);
  registerRecoverCommand(program);
  registerApprovalCommands(program);
  registerFleetCommands(program);
  registerFollowCommand(program);
  registerReportCommand(program);
  registerSandboxCommand(program, { cliEntry: () => __filename });
  registerDemoCommand(program, { cliEntry: () => __filename });
  return program;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    // A command may set a non-zero exit code without failing (status of an unhealthy cluster).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`etcd-guardian: ${message}\n`);
    return code === 'INVALID_ARGUMENT' || code === 'INVALID_CONFIG' ? 2 : 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
