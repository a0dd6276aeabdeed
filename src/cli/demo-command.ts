import type { Command } from 'commander';
import { createDisplay } from './demo/display';
import { DEMO_DEFAULTS, DEMO_FAULTS, parseDemoOptions, type DemoFlags } from './demo/options';
import { runDemo } from './demo/run';

/**
 * `etcd-guardian demo`: the whole story in one command. A sandbox, the guardian's worker and schedule, a fault under
 * one member, the guardian noticing and moving it, the keys checked, the Temporal UI address and the post-mortem.
 * It runs until Ctrl-C (or, with --exit-after-migration, until the migration is verified) and leaves nothing running.
 */

/** Signals that end the demo, and the exit code each gives (128 + the signal's number, as shells report it). */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/** A process that has cleaned up exits even if a library left a handle open; this is how long it may linger. */
const EXIT_GRACE_MS = 5_000;

/** Registers `demo` on the program. */
export function registerDemoCommand(program: Command, params: { cliEntry: () => string }): void {
  program
    .command('demo')
    .description('the guardian against a local sandbox: a fault under a member, detection, the migration step by step, the keys verified, the post-mortem')
    .option('--fault <kind>', `the fault to inject under a member: ${DEMO_FAULTS.join(' | ')}`, DEMO_DEFAULTS.fault)
    .option('--fault-after <seconds>', 'seconds between the healthy cluster with its keys written and the fault', String(DEMO_DEFAULTS.faultAfterSeconds))
    .option('--timeout <seconds>', 'longest wait from the fault to the end of the migration', String(DEMO_DEFAULTS.timeoutSeconds))
    .option('--state-dir <dir>', "where the demo's sandbox keeps its state, logs and guardian.yaml", DEMO_DEFAULTS.stateDir)
    .option('--exit-after-migration', 'exit once the migration is verified and the report printed (exit code 0 only if everything was verified)')
    .option('--keep', 'leave the sandbox running at the end (stop it with `etcd-guardian sandbox down`)')
    .action(async (flags: DemoFlags) => {
      // Every flag is checked before anything starts.
      const options = parseDemoOptions(flags);
      const started = Date.now();
      const display = createDisplay(process.stdout, `etcd-guardian demo · ${options.fault}`, started);
      const interrupt = new AbortController();
      let signalled: StopSignal | undefined;
      const onSignal = (signal: StopSignal): void => {
        if (signalled === undefined) {
          signalled = signal;
          display.note(`${signal}: stopping everything the demo started (this takes a few seconds)`);
          interrupt.abort(new Error(`interrupted by ${signal}`));
        } else {
          display.note(`${signal} again: still stopping; the sandbox's processes must not be left behind`);
        }
      };
      const handlers = Object.keys(STOP_SIGNALS).map((name) => {
        const signal = name as StopSignal;
        const handler = (): void => onSignal(signal);
        process.on(signal, handler);
        return { signal, handler };
      });
      try {
        const outcome = await runDemo({ options, cliEntry: params.cliEntry(), display, interrupt: interrupt.signal });
        process.exitCode = outcome === 'interrupted' ? STOP_SIGNALS[signalled ?? 'SIGINT'] : outcome === 'verified' ? 0 : 1;
      } finally {
        display.close();
        for (const { signal, handler } of handlers) process.off(signal, handler);
        // Everything the demo started is stopped by now; a handle some library keeps open must not hold the exit.
        setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
      }
    });
}
