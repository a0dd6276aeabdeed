import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removePidFile, writePidFile } from './pid-files';

/**
 * Child processes of the sandbox. Each runs in its own process group (so a signal reaches anything it forks, and a
 * Ctrl-C in the terminal that ran `sandbox up` does not), writes straight to its log file (so it outlives the
 * process that started it), and has a pid file.
 */

/** How a process ended. */
export interface ExitInfo {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  at: Date;
}

/** What to run. */
export interface ProcessSpec {
  /** What the process is, for logs and pid files ("kube-apiserver", "pod etcd/etcd-0"). */
  name: string;
  /** Absolute path of the executable. */
  command: string;
  args: readonly string[];
  /** The whole environment of the process (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** Where to write the pid file, and its file name without `.pid`. */
  pidFile: { dir: string; file: string };
}

/** How long to wait when stopping. */
export interface StopTimeouts {
  /** Time between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Time to wait for the exit after SIGKILL before giving up (a process in uninterruptible sleep). */
  killWaitMs?: number;
}

/** Every child still running, for the exit hook below. */
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

/**
 * A safety net: children run in their own process groups and would outlive their parent, so when the owning
 * process exits without stopping the sandbox (an uncaught error, a test runner giving up), they are killed with it.
 * Only SIGKILL of the owner itself escapes this; `sandbox down` sweeps those leftovers from the pid files.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) proc.signal('SIGKILL');
  });
}

/** A running (or finished) child process. */
export class ManagedProcess {
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | undefined;

  private constructor(
    readonly name: string,
    readonly pid: number,
    readonly startedAt: Date,
    private readonly child: ChildProcess,
    private readonly pidPath: string,
  ) {
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(this);
        this.exit = { code, signal, at: new Date() };
        removePidFile(this.pidPath);
        resolve(this.exit);
      });
    });
  }

  /** Starts a process; rejects when it cannot be started at all (missing executable, bad cwd). */
  static async start(spec: ProcessSpec): Promise<ManagedProcess> {
    mkdirSync(dirname(spec.logPath), { recursive: true });
    appendFileSync(spec.logPath, `--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
    const log = openSync(spec.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(log);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${spec.name}: spawned without a pid`);
    const pidPath = writePidFile(spec.pidFile.dir, spec.pidFile.file, spec.name, pid, true);
    installExitHook();
    return new ManagedProcess(spec.name, pid, new Date(), child, pidPath);
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exit === undefined;
  }

  /** The exit, once it happened. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Sends a signal to the process group; false when the process has already exited. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit. */
  async stop(timeouts: StopTimeouts): Promise<ExitInfo | undefined> {
    if (this.exit !== undefined) return this.exit;
    this.signal('SIGTERM');
    // A process stopped by SIGSTOP (a frozen pod) only acts on SIGTERM once it runs again.
    this.signal('SIGCONT');
    if (await this.exitsWithin(timeouts.graceMs)) return this.exit;
    this.signal('SIGKILL');
    await this.exitsWithin(timeouts.killWaitMs ?? 5_000);
    return this.exit;
  }

  /** Kills at once (SIGKILL to the group). */
  async kill(killWaitMs = 5_000): Promise<ExitInfo | undefined> {
    this.signal('SIGKILL');
    await this.exitsWithin(killWaitMs);
    return this.exit;
  }

  private async exitsWithin(ms: number): Promise<boolean> {
    if (this.exit !== undefined) return true;
    const abort = new AbortController();
    const timedOut = sleep(ms, false, { signal: abort.signal }).catch(() => false);
    const exited = await Promise.race([this.exited.then(() => true), timedOut]);
    abort.abort();
    return exited;
  }
}
