import { type V1Pod } from '@kubernetes/client-node';
import { accessSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { messageOf } from '../errors';
import { type Logger } from '../logger';
import { ManagedProcess, type ExitInfo } from '../processes';
import { hostPathRoot, podWorkDir, type StatePaths } from '../state-dir';
import { type NodeLayout } from '../topology';
import { nextBackoffMs } from './backoff';
import { nodeLabels } from '../nodes/node-object';
import { resolveClaimVolumes } from './claim-volumes';
import { ContainerConfigError, resolveCommand, resolveExecProbe, type PodPlacement } from './container-command';
import { findExecutable } from './executable';
import { type PodApi } from './pod-api';
import { podStatusJson, type ContainerState, type PodConditionRead, type PodRuntime, type Termination } from './pod-status';
import { probeOnce, probeTiming, runExecProbe } from './probes';

/**
 * Runs one pod as a local process, the way a kubelet's pod worker runs its container: start, restart with
 * back-off, readiness, status, and deletion within the grace period. Every step runs through `tick()`, one at a
 * time; faults act directly on the process.
 */

/** What a pod worker needs from its node. */
export interface PodWorkerDeps {
  node: NodeLayout;
  paths: StatePaths;
  logger: Logger;
  api: PodApi;
  /** PATH for the pod's process: the component cache first. */
  searchPath: string;
}

/** How long a crash-faulted process runs before it is killed again: long enough to be seen starting. */
const CRASH_AFTER_MS = 1_000;
/** Delay before retrying a container whose spec cannot be run (it only changes if the pod is replaced). */
const CONFIG_RETRY_MS = 5_000;
/** How often a pod whose claims are not bound yet looks again. */
const CLAIM_RETRY_MS = 1_000;
/** After SIGKILL, how long to wait for the exit (the hard deadline on top of the grace period). */
const KILL_WAIT_MS = 5_000;

/** Exit code of a process killed by a signal, as container runtimes report it: 128 + the signal's number. */
function exitCodeOf(exit: ExitInfo): number {
  if (exit.code !== null) return exit.code;
  const number = exit.signal === null ? 0 : (osConstants.signals[exit.signal] ?? 0);
  return 128 + number;
}

/** A pod and the process that runs it. */
export class PodWorker {
  private pod: V1Pod;
  private process: ManagedProcess | undefined;
  private readonly acceptedAt = new Date();
  private phase: PodRuntime['phase'] = 'Pending';
  private waiting: { reason: string; message?: string } = { reason: 'ContainerCreating' };
  private lastTermination: Termination | undefined;
  private restartCount = 0;
  private everStarted = false;
  private ready = false;
  private probe = { nextAt: 0, successes: 0, failures: 0 };
  private backoffMs: number | undefined;
  private nextStartAt = 0;
  private busy: Promise<void> | undefined;
  private suspended = false;
  private frozen = false;
  private crashing = false;
  private terminating = false;
  private closed = false;
  private lastWritten: string | undefined;
  private lastConditions: PodConditionRead[] | undefined;
  /** Node paths of the pod's claim volumes, once mounted (they stay mounted for the pod's life, as the kubelet's do). */
  private claimPaths: Record<string, string> | undefined;

  constructor(
    pod: V1Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
  }

  /** namespace/name. */
  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** The pod's name. */
  get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  /** The pod's namespace. */
  get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  /** The pod's uid. */
  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  /** The name of the container the process runs. */
  get containerName(): string {
    return this.container()?.name ?? '';
  }

  /** The pid of the running process, if any. */
  get pid(): number | undefined {
    return this.process?.running === true ? this.process.pid : undefined;
  }

  /** Faults in force on this pod. */
  get faults(): string[] {
    return [...(this.frozen ? ['pod-freeze'] : []), ...(this.crashing ? ['pod-crash'] : [])];
  }

  /** Takes the pod's latest version from the API. */
  update(pod: V1Pod): void {
    this.pod = pod;
  }

  /** Runs one step (start, probe, crash, terminate, write status); concurrent calls share the step in flight. */
  tick(): Promise<void> {
    if (this.busy === undefined) {
      this.busy = this.step()
        .catch((error: unknown) => this.deps.logger.warn({ pod: this.key, err: messageOf(error) }, 'pod step failed'))
        .finally(() => {
          this.busy = undefined;
        });
    }
    return this.busy;
  }

  /** The node went down: the process dies at once (SIGKILL) and nothing is written until resume(). */
  async suspend(): Promise<void> {
    this.suspended = true;
    await this.process?.kill(KILL_WAIT_MS);
  }

  /** The node is back: the next tick restarts the process and writes a fresh status. */
  resume(): void {
    this.suspended = false;
    this.lastWritten = undefined;
    this.lastConditions = undefined;
    this.nextStartAt = 0;
  }

  /** pod-freeze: SIGSTOP; the process keeps its sockets but answers nothing. */
  freeze(): void {
    this.frozen = true;
    this.process?.signal('SIGSTOP');
  }

  /** pod-crash: the process is killed now and after every restart until healed. */
  crash(): void {
    this.crashing = true;
    this.process?.signal('SIGKILL');
  }

  /** Undoes pod-freeze and pod-crash; returns the faults it removed. */
  heal(): string[] {
    const healed = this.faults;
    if (this.frozen) this.process?.signal('SIGCONT');
    this.frozen = false;
    if (this.crashing) this.nextStartAt = 0;
    this.crashing = false;
    return healed;
  }

  /** The pod left the API (or the sandbox stops): stop the process and never start it again. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    await this.busy;
    await this.process?.stop({ graceMs, killWaitMs: KILL_WAIT_MS });
  }

  private async step(): Promise<void> {
    if (this.suspended || this.closed) return;
    if (this.pod.metadata?.deletionTimestamp !== undefined && this.pod.metadata.deletionTimestamp !== null) {
      await this.terminate();
      return;
    }
    const now = Date.now();
    if (this.process === undefined && this.phase !== 'Succeeded' && this.phase !== 'Failed' && now >= this.nextStartAt) {
      await this.start();
    }
    const proc = this.process;
    if (proc?.running === true) {
      if (this.crashing && now - proc.startedAt.getTime() >= CRASH_AFTER_MS) proc.signal('SIGKILL');
      else if (now >= this.probe.nextAt) await this.runProbe();
    }
    await this.writeStatus();
  }

  private placement(): PodPlacement {
    const { node, paths } = this.deps;
    return {
      nodeName: node.name,
      hostIP: node.address,
      // No pod network exists: every pod, host-networked or not, has its node's address.
      podIP: node.address,
      hostPathRoot: hostPathRoot(paths, node.name),
      podDir: podWorkDir(paths, node.name, this.namespace, this.name),
      ...(this.claimPaths === undefined ? {} : { claimPaths: this.claimPaths }),
    };
  }

  /** Mounts the pod's claim volumes: false (and a waiting reason) while a claim is unbound or its volume cannot be used here. */
  private async mountClaims(): Promise<boolean> {
    if (this.claimPaths !== undefined) return true;
    const node = { name: this.deps.node.name, labels: nodeLabels(this.deps.node) };
    const claims = await resolveClaimVolumes(this.pod, this.namespace, node, this.deps.api);
    if (claims.kind === 'ready') {
      this.claimPaths = claims.paths;
      return true;
    }
    // The kubelet keeps such a pod in ContainerCreating; a volume pinned elsewhere gets its FailedMount reason.
    this.waiting = { reason: claims.kind === 'waiting' ? 'ContainerCreating' : 'FailedMount', message: claims.message };
    this.nextStartAt = Date.now() + (claims.kind === 'waiting' ? CLAIM_RETRY_MS : CONFIG_RETRY_MS);
    return false;
  }

  private async start(): Promise<void> {
    if (!(await this.mountClaims())) return;
    const placement = this.placement();
    let resolved;
    try {
      resolved = resolveCommand(this.pod, placement);
      for (const mount of resolved.mounts) {
        if (mount.create) mkdirSync(mount.hostDir, { recursive: true });
        else accessSync(mount.hostDir);
      }
    } catch (error) {
      const reason = error instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'CreateContainerError';
      this.waitAndRetry(reason, messageOf(error), CONFIG_RETRY_MS);
      return;
    }
    mkdirSync(placement.podDir, { recursive: true });
    const executable = findExecutable(resolved.executable, this.deps.searchPath, placement.podDir);
    if (executable === undefined) {
      this.waitAndRetry('RunContainerError', `exec: "${resolved.executable}": executable file not found in $PATH`, CONFIG_RETRY_MS);
      return;
    }
    const proc = await ManagedProcess.start({
      name: `pod ${this.key}`,
      command: executable,
      args: resolved.args,
      env: {
        PATH: this.deps.searchPath,
        HOME: placement.podDir,
        HOSTNAME: this.pod.spec?.hostNetwork === true ? this.deps.node.name : this.name,
        ...resolved.env,
      },
      cwd: placement.podDir,
      logPath: join(this.deps.paths.logs, `${this.name}.log`),
      pidFile: { dir: join(this.deps.paths.run, 'pods'), file: `${this.namespace}_${this.name}` },
    });
    if (this.everStarted) this.restartCount++;
    this.everStarted = true;
    this.process = proc;
    this.phase = 'Running';
    this.ready = false;
    const timing = probeTiming(this.container()?.readinessProbe);
    this.probe = { nextAt: Date.now() + timing.initialDelayMs, successes: 0, failures: 0 };
    if (this.frozen) proc.signal('SIGSTOP');
    // The node may have gone down while the process was being spawned.
    if (this.suspended || this.closed) proc.signal('SIGKILL');
    void proc.exited.then((exit) => this.onExit(proc, exit));
    this.deps.logger.info({ pod: this.key, pid: proc.pid, restartCount: this.restartCount }, 'container started');
  }

  private waitAndRetry(reason: string, message: string, delayMs: number): void {
    this.waiting = { reason, message };
    this.nextStartAt = Date.now() + delayMs;
    this.deps.logger.warn({ pod: this.key, reason, message }, 'container cannot start');
  }

  private onExit(proc: ManagedProcess, exit: ExitInfo): void {
    if (this.process !== proc) return;
    this.process = undefined;
    this.ready = false;
    const exitCode = exitCodeOf(exit);
    this.lastTermination = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: proc.startedAt,
      finishedAt: exit.at,
      containerID: `sandbox://${proc.pid}`,
    };
    this.deps.logger.info({ pod: this.key, exitCode, signal: exit.signal }, 'container exited');
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      this.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      return;
    }
    this.backoffMs = nextBackoffMs(this.backoffMs, exit.at.getTime() - proc.startedAt.getTime());
    this.nextStartAt = Date.now() + this.backoffMs;
    // The kubelet's wording, so that anyone who knows `kubectl describe pod` recognises it.
    const container = this.container()?.name ?? '';
    const seconds = Math.round(this.backoffMs / 1000);
    this.waiting = {
      reason: 'CrashLoopBackOff',
      message: `back-off ${seconds}s restarting failed container=${container} pod=${this.name}_${this.namespace}(${this.uid})`,
    };
  }

  private async runProbe(): Promise<void> {
    const container = this.container();
    const timing = probeTiming(container?.readinessProbe);
    this.probe.nextAt = Date.now() + timing.periodMs;
    const target = {
      podIP: this.deps.node.address,
      ports: container?.ports ?? [],
      exec: (command: readonly string[], timeoutMs: number) => this.execProbe(command, timeoutMs),
    };
    const ok = await probeOnce(container?.readinessProbe, target, timing.timeoutMs);
    if (ok) {
      this.probe.failures = 0;
      this.probe.successes++;
      if (this.probe.successes >= timing.successThreshold) this.ready = true;
    } else {
      this.probe.successes = 0;
      this.probe.failures++;
      if (this.probe.failures >= timing.failureThreshold) this.ready = false;
    }
  }

  /** An exec probe, run like the container: same environment, PATH and mount paths, in the pod's directory. */
  private async execProbe(command: readonly string[], timeoutMs: number): Promise<boolean> {
    const placement = this.placement();
    let resolved;
    try {
      resolved = resolveExecProbe(this.pod, placement, command);
    } catch {
      return false;
    }
    const executable = findExecutable(resolved.executable, this.deps.searchPath, placement.podDir);
    if (executable === undefined) return false;
    return runExecProbe({
      executable,
      args: resolved.args,
      env: { PATH: this.deps.searchPath, HOME: placement.podDir, ...resolved.env },
      cwd: placement.podDir,
      timeoutMs,
    });
  }

  private async terminate(): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    const graceSeconds = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    const exit = await this.process?.stop({ graceMs: graceSeconds * 1000, killWaitMs: KILL_WAIT_MS });
    this.deps.logger.info({ pod: this.key, graceSeconds, signal: exit?.signal, code: exit?.code }, 'pod stopped for deletion');
    this.closed = true;
    await this.deps.api.deleteNow(this.namespace, this.name, this.uid);
  }

  private container(): NonNullable<V1Pod['spec']>['containers'][number] | undefined {
    return this.pod.spec?.containers[0];
  }

  private runtime(): PodRuntime {
    const container = this.container();
    const proc = this.process;
    let state: ContainerState;
    const finished = this.phase === 'Succeeded' || this.phase === 'Failed';
    if (proc?.running === true) state = { kind: 'running', startedAt: proc.startedAt };
    else if (finished && this.lastTermination !== undefined) state = { kind: 'terminated', ...this.lastTermination };
    else state = { kind: 'waiting', ...this.waiting };
    return {
      phase: this.phase,
      startTime: this.acceptedAt,
      hostIP: this.deps.node.address,
      podIP: this.deps.node.address,
      containerName: container?.name ?? '',
      image: container?.image ?? '',
      state,
      ...(this.lastTermination === undefined ? {} : { lastTermination: this.lastTermination }),
      restartCount: this.restartCount,
      ready: this.ready && proc?.running === true,
      ...(proc?.running === true ? { containerID: `sandbox://${proc.pid}` } : {}),
    };
  }

  private async writeStatus(): Promise<void> {
    if (this.suspended || this.closed) return;
    const previous: readonly PodConditionRead[] = this.lastConditions ?? this.pod.status?.conditions ?? [];
    const status = podStatusJson(this.runtime(), previous, new Date());
    const text = JSON.stringify(status);
    if (text === this.lastWritten) return;
    await this.deps.api.writeStatus(this.namespace, this.name, status);
    this.lastWritten = text;
    this.lastConditions = status['conditions'] as PodConditionRead[];
  }
}
