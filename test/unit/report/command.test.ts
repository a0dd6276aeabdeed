import { Command } from 'commander';
import { registerReportCommand } from '../../../src/cli/report-command';

/**
 * `etcd-guardian report` checks its arguments before it reads a config or connects to anything. A thrown error
 * with code INVALID_ARGUMENT is what main() turns into exit code 2 and one line.
 */

function program(): Command {
  const p = new Command('etcd-guardian').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerReportCommand(p);
  return p;
}

async function failure(args: string[]): Promise<{ code?: unknown; message: string }> {
  try {
    await program().parseAsync(['node', 'etcd-guardian', 'report', ...args]);
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  throw new Error('expected the command to fail');
}

it('an empty workflow id is an argument error naming it', async () => {
  expect(await failure([''])).toEqual({ code: 'INVALID_ARGUMENT', message: 'workflow-id: expected a workflow id such as migrate-main, got ""' });
});

it('an empty run id is an argument error naming the option', async () => {
  expect(await failure(['migrate-main', '--run-id', ' '])).toEqual({ code: 'INVALID_ARGUMENT', message: '--run-id: expected a run id, got ""' });
});

it('a missing workflow id is a usage error', async () => {
  expect(await failure([])).toMatchObject({ code: 'commander.missingArgument', message: "error: missing required argument 'workflow-id'" });
});
