import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The compiled CLI, or an error saying how to get it. */
export function builtCli(): string {
  const cli = join(__dirname, '../../../dist/src/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` (scripts/test.sh does) before the integration tests`);
  return cli;
}

/**
 * `etcd-guardian worker --config <file>` in a process group of its own, as an operator runs it, so that a test can
 * kill it as a crash would (SIGKILL, no shutdown) and start another.
 */
export class CliWorker {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts the worker; its JSON logs go to `logFile` when given, else only its stderr shows (in the test output). */
  static start(configFile: string, options: { logFile?: string } = {}): CliWorker {
    const log = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
    try {
      const stdio = log === undefined ? (['ignore', 'ignore', 'inherit'] as const) : (['ignore', log, log] as const);
      return new CliWorker(spawn(process.execPath, [builtCli(), 'worker', '--config', configFile], { detached: true, stdio: [...stdio] }));
    } finally {
      if (log !== undefined) closeSync(log);
    }
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** SIGTERM (a graceful shutdown), then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const stopped = this.signal('SIGTERM');
    if ((await Promise.race([stopped, sleep(graceMs, 'timeout', { ref: false })])) === 'timeout') await this.signal('SIGKILL');
  }

  /** Signals the worker's process group; resolves once it has exited (false when it had already gone). */
  async signal(signal: NodeJS.Signals): Promise<boolean> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try {
      process.kill(-this.pid, signal);
    } catch {
      return false;
    }
    await exited;
    return true;
  }
}
