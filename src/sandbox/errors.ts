/**
 * The sandbox's errors. Each carries a stable code, so that the CLI and the control endpoint can map it to an exit
 * code or an HTTP status without `instanceof` (the error may have crossed a process boundary as JSON).
 */

/** A caller asked for something that cannot be: a bad option, an unknown node or pod, an unknown fault. */
export class SandboxArgumentError extends Error {
  /** Stable code to branch on. */
  readonly code = 'INVALID_ARGUMENT' as const;

  constructor(message: string) {
    super(message);
    this.name = 'SandboxArgumentError';
  }
}

/** A component binary is not in the cache; the message says which and how to install it. */
export class MissingBinaryError extends Error {
  /** Stable code to branch on. */
  readonly code = 'MISSING_BINARY' as const;

  constructor(
    readonly binary: string,
    readonly binDir: string,
    remedy = 'run scripts/install-components.sh to install it',
  ) {
    super(`${binary} is missing from ${binDir}: ${remedy}`);
    this.name = 'MissingBinaryError';
  }
}

/** A component did not come up; the message names it and, when there is one, its log file. */
export class SandboxStartError extends Error {
  /** Stable code to branch on. */
  readonly code = 'START_FAILED' as const;

  constructor(
    readonly component: string,
    reason: string,
    readonly logPath?: string,
  ) {
    super(`${component} did not start: ${reason}${logPath === undefined ? '' : ` (log: ${logPath})`}`);
    this.name = 'SandboxStartError';
  }
}

/** A command needs a running sandbox and there is none in the state directory. */
export class SandboxNotRunningError extends Error {
  /** Stable code to branch on. */
  readonly code = 'NOT_RUNNING' as const;

  constructor(readonly stateDir: string) {
    super(`no sandbox is running in ${stateDir}: start one with \`etcd-guardian sandbox up\``);
    this.name = 'SandboxNotRunningError';
  }
}

/** `unknown node "node-9": choose one of node-0, node-1`: the one-line form of every unknown-name error. */
export function unknownChoice(what: string, value: string, choices: readonly string[]): SandboxArgumentError {
  const listed = choices.length === 0 ? `there is no ${what} to choose from` : `choose one of ${choices.join(', ')}`;
  return new SandboxArgumentError(`unknown ${what} ${JSON.stringify(value)}: ${listed}`);
}

/** The message of anything thrown, for logs and one-line errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
