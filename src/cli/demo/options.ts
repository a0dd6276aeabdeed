import { resolve } from 'node:path';
import { CliArgumentError } from '../context';

/** The faults the demo can inject: both make the guardian move the member whose node they hit. */
export const DEMO_FAULTS = ['node-down', 'node-pressure'] as const;

/** A fault the demo can inject. */
export type DemoFault = (typeof DEMO_FAULTS)[number];

/** The flags of `etcd-guardian demo`, as commander hands them over. */
export interface DemoFlags {
  fault: string;
  faultAfter: string;
  timeout: string;
  stateDir: string;
  exitAfterMigration?: boolean;
  keep?: boolean;
}

/** What the demo runs with, every value checked. */
export interface DemoOptions {
  fault: DemoFault;
  /** Time between the 100 keys being written and the fault. */
  faultAfterMs: number;
  /** Longest wait from the fault to the end of the migration. */
  timeoutMs: number;
  /** Absolute state directory of the demo's sandbox. */
  stateDir: string;
  exitAfterMigration: boolean;
  /** Leave the sandbox (and the schedule in it) running at the end. */
  keep: boolean;
}

/** Defaults, also shown in `--help`. */
export const DEMO_DEFAULTS = { fault: 'node-down', faultAfterSeconds: 5, timeoutSeconds: 600, stateDir: '.sandbox' } as const;

function seconds(flag: string, raw: string, min: number, max: number): number {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new CliArgumentError(`${flag}: expected a number of seconds from ${min} to ${max}, got "${raw}"`);
  }
  return Math.round(value * 1000);
}

/** Checks every flag before anything starts: a wrong one is one line naming it, exit code 2, nothing changed. */
export function parseDemoOptions(flags: DemoFlags, cwd: string = process.cwd()): DemoOptions {
  const fault = DEMO_FAULTS.find((kind) => kind === flags.fault);
  if (fault === undefined) throw new CliArgumentError(`--fault: expected one of ${DEMO_FAULTS.join(', ')}, got "${flags.fault}"`);
  if (flags.stateDir.trim() === '') throw new CliArgumentError('--state-dir: expected a directory, got ""');
  return {
    fault,
    faultAfterMs: seconds('--fault-after', flags.faultAfter, 0, 600),
    timeoutMs: seconds('--timeout', flags.timeout, 30, 3600),
    stateDir: resolve(cwd, flags.stateDir),
    exitAfterMigration: flags.exitAfterMigration === true,
    keep: flags.keep === true,
  };
}
