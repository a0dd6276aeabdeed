import { type V1Pod, type V1Probe } from '@kubernetes/client-node';
import { accessSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors';
import { type Logger } from '../logger';
import { fallbackTerminationMessage } from './termination-message';
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
import { newProbeState, probeKillMessage, probeVerdict, recordProbe, type ContainerProbes, type ProbeKind } from './probe-state';
import { probeOnce, probeTiming, runExecProbe } from './probes';
import { foreignConditions, statusDrifted, type StatusLike } from './status-sync';

/**
 * Runs one pod as a local process, the way a kubelet's pod worker runs its container: start, restart with
 * back-off, startup, liveness and readiness probes (a failed startup or liveness probe kills the container, which
 * is then restarted), status, and deletion within the grace period. Every step runs through `tick()`, one at a
 * time; probes run beside the steps (a hung probe waits up to its timeout, which must not hold up a deletion);
 * faults act directly on the process.
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
/**
 * How long after its own last write the worker compares the API's copy of the status with what it knows, and writes
 * again when they differ (the kubelet's status manager reconciles every 10 s). It leaves the watch time to deliver the
 * worker's own write first.
 */
const STATUS_RESYNC_MS = 2_000;

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
  /** The probes of the current process (undefined before the first start). */
  private probes: ContainerProbes | undefined;
  /** Probes in flight for the current process. */
  private probing = new Set<ProbeKind>();
  /** The process being killed for a failed probe. */
  private killing: ManagedProcess | undefined;
  private backoffMs: number | undefined;
  private nextStartAt = 0;
  private busy: Promise<void> | undefined;
  private suspended = false;
  private frozen = false;
  private crashing = false;
  private terminating = false;
  private closed = false;
  private lastWritten: string | undefined;
  private lastWrittenAt = 0;
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
    if (proc?.running === true && this.killing !== proc) {
      if (this.crashing && now - proc.startedAt.getTime() >= CRASH_AFTER_MS) proc.signal('SIGKILL');
      else this.runProbes(proc, now);
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
      logPath: this.logPath(),
      pidFile: { dir: join(this.deps.paths.run, 'pods'), file: `${this.namespace}_${this.name}` },
    });
    if (this.everStarted) this.restartCount++;
    this.everStarted = true;
    this.process = proc;
    this.phase = 'Running';
    this.probes = this.newProbes(proc.startedAt.getTime());
    this.probing = new Set();
    if (this.frozen) proc.signal('SIGSTOP');
    // The node may have gone down while the process was being spawned.
    if (this.suspended || this.closed) proc.signal('SIGKILL');
    void proc.exited.then((exit) => this.onExit(proc, exit));
    this.deps.logger.info({ pod: this.key, pid: proc.pid, restartCount: this.restartCount }, 'container started');
  }

  /** The container's log, every start of it appended. */
  private logPath(): string {
    return join(this.deps.paths.logs, `${this.name}.log`);
  }

  private waitAndRetry(reason: string, message: string, delayMs: number): void {
    this.waiting = { reason, message };
    this.nextStartAt = Date.now() + delayMs;
    this.deps.logger.warn({ pod: this.key, reason, message }, 'container cannot start');
  }

  private onExit(proc: ManagedProcess, exit: ExitInfo): void {
    if (this.process !== proc) return;
    this.process = undefined;
    const killedForProbe = this.killing === proc;
    this.killing = undefined;
    // pod-freeze stopped that process; it cannot outlive it.
    this.frozen = false;
    const exitCode = exitCodeOf(exit);
    // FallbackToLogsOnError: an error exit's message is the end of the container's log, as the kubelet gives it.
    const message = exitCode !== 0 && this.container()?.terminationMessagePolicy === 'FallbackToLogsOnError' ? fallbackTerminationMessage(this.logPath()) : undefined;
    this.lastTermination = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message !== undefined ? { message } : {}),
      startedAt: proc.startedAt,
      finishedAt: exit.at,
      containerID: `sandbox://${proc.pid}`,
    };
    this.deps.logger.info({ pod: this.key, exitCode, signal: exit.signal }, 'container exited');
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    // A container killed for a failed probe is restarted whatever its exit code, unless the policy is Never.
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0 && !killedForProbe)) {
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

  /** The probes of a process that started at `startedAt`: startup and liveness only when the container has them. */
  private newProbes(startedAt: number): ContainerProbes {
    const container = this.container();
    const startup = container?.startupProbe;
    const liveness = container?.livenessProbe;
    return {
      ...(startup === undefined ? {} : { startup: newProbeState('startup', probeTiming(startup), startedAt) }),
      ...(liveness === undefined ? {} : { liveness: newProbeState('liveness', probeTiming(liveness), startedAt) }),
      readiness: newProbeState('readiness', probeTiming(container?.readinessProbe), startedAt),
    };
  }

  private probeSpec(kind: ProbeKind): V1Probe | undefined {
    const container = this.container();
    if (kind === 'startup') return container?.startupProbe;
    return kind === 'liveness' ? container?.livenessProbe : container?.readinessProbe;
  }

  /** Starts the probes that are due, or kills the process when its startup or liveness probe failed. */
  private runProbes(proc: ManagedProcess, now: number): void {
    if (this.probes === undefined) return;
    const verdict = probeVerdict(this.probes, now);
    if (verdict.kill !== undefined) {
      this.killForProbe(proc, verdict.kill);
      return;
    }
    for (const kind of verdict.due) {
      if (this.probing.has(kind)) continue;
      this.probing.add(kind);
      void this.runProbe(proc, kind, this.probing);
    }
  }

  private async runProbe(proc: ManagedProcess, kind: ProbeKind, inFlight: Set<ProbeKind>): Promise<void> {
    const container = this.container();
    const spec = this.probeSpec(kind);
    const timing = probeTiming(spec);
    const target = {
      podIP: this.deps.node.address,
      ports: container?.ports ?? [],
      exec: (command: readonly string[], timeoutMs: number) => this.execProbe(command, timeoutMs),
    };
    const startedAt = Date.now();
    let passed: boolean;
    try {
      passed = await probeOnce(spec, target, timing.timeoutMs);
    } finally {
      inFlight.delete(kind);
    }
    // A probe of a process that has since been replaced says nothing about the new one.
    const state = this.probes?.[kind];
    if (this.process !== proc || this.probes === undefined || state === undefined) return;
    const next = recordProbe(state, passed, startedAt, Date.now());
    this.probes = { ...this.probes, [kind]: next };
    if (!passed && kind !== 'readiness') {
      this.deps.logger.info({ pod: this.key, probe: kind, failures: next.failures, failureThreshold: timing.failureThreshold }, `${kind} probe failed`);
    }
  }

  /**
   * Kills the process for a failed startup or liveness probe, as the kubelet does: SIGTERM, SIGKILL after the grace
   * period (the probe's own terminationGracePeriodSeconds, else the pod's). A runtime does not resume a stopped
   * process first, so a frozen one dies by the SIGKILL (exit code 137). The exit restarts it per the restart policy.
   */
  private killForProbe(proc: ManagedProcess, probe: 'startup' | 'liveness'): void {
    this.killing = proc;
    const graceSeconds = this.probeSpec(probe)?.terminationGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.deps.logger.info({ pod: this.key, container: this.containerName, probe, graceSeconds }, probeKillMessage(this.containerName, probe));
    proc.signal('SIGTERM');
    const abort = new AbortController();
    void Promise.race([proc.exited, sleep(graceSeconds * 1000, undefined, { signal: abort.signal }).catch(() => undefined)])
      .then(async () => {
        abort.abort();
        if (proc.running) await proc.kill(KILL_WAIT_MS);
      })
      .catch((error: unknown) => this.deps.logger.warn({ pod: this.key, err: messageOf(error) }, 'probe kill failed'));
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
    const running = proc?.running === true;
    const verdict = running && this.probes !== undefined ? probeVerdict(this.probes, Date.now()) : undefined;
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
      started: verdict?.started ?? false,
      ready: (verdict?.ready ?? false) && this.killing === undefined,
      ...(proc?.running === true ? { containerID: `sandbox://${proc.pid}` } : {}),
    };
  }

  /**
   * Writes the status when it changed, or when the API's copy says otherwise (someone else wrote over it: the node
   * lifecycle controller marks the pods of an unreachable node not Ready). Conditions the kubelet does not own stay.
   */
  private async writeStatus(): Promise<void> {
    if (this.suspended || this.closed) return;
    const previous: readonly PodConditionRead[] = this.lastConditions ?? this.pod.status?.conditions ?? [];
    const now = new Date();
    const own = podStatusJson(this.runtime(), previous, now);
    const ownConditions = own['conditions'] as PodConditionRead[];
    const status = { ...own, conditions: [...ownConditions, ...foreignConditions(this.pod.status?.conditions)] };
    const text = JSON.stringify(status);
    if (text === this.lastWritten) {
      const settled = now.getTime() - this.lastWrittenAt >= STATUS_RESYNC_MS;
      if (!settled || !statusDrifted(status as StatusLike, this.pod.status as StatusLike | undefined)) return;
      this.deps.logger.info({ pod: this.key }, 'pod status in the API differs from the node\'s; writing it again');
    }
    await this.deps.api.writeStatus(this.namespace, this.name, status);
    this.lastWritten = text;
    this.lastWrittenAt = Date.now();
    this.lastConditions = ownConditions;
  }
}
