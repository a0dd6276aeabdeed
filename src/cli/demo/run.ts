import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { ClusterConfig, GuardianConfig } from '../../config/schema';
import { EtcdGateway, loadEtcdTls } from '../../etcd/gateway';
import { errorText, withTimeout } from '../../errors';
import { loadReport, renderMarkdown } from '../../report/report';
import type { SandboxInfo } from '../../sandbox';
import { ControlClient } from '../../sandbox/control-client';
import { launchSandbox, type LaunchResult } from '../../sandbox/daemon/launch';
import { servePidPath } from '../../sandbox/daemon/messages';
import { findRunningSandbox } from '../../sandbox/daemon/running';
import { shutdownSandbox } from '../../sandbox/daemon/shutdown';
import { isRecordedProcessAlive, readPidFile, readPidFiles } from '../../sandbox/pid-files';
import { statePaths } from '../../sandbox/state-dir';
import { applyMonitorSchedule, runningMonitor, scheduleIdFor } from '../../temporal/schedules';
import type { MigrationResult } from '../../../workflows/migrate';
import { CliArgumentError, temporalClient } from '../context';
import { writeSandboxGuardianConfig } from '../sandbox-guardian-config';
import { abortReason, unlessAborted, whenAborted } from './abort';
import type { DemoDisplay } from './display';
import { checkDemoKeys, describeKeyCheck, keyCheckPassed, writeDemoKeys, type KeyCheck } from './keys';
import type { DemoOptions } from './options';
import { formatClock, formatSeconds, observeDetection, type DemoSnapshot, type Detection, type MigrationView } from './view';
import { ClusterWatch } from './watch';
import { installDemoRuntime, startDemoWorker, type DemoWorker } from './worker';

/**
 * The demo from start to end: a sandbox, the guardian's worker and schedule, 100 keys, a fault under one member,
 * the guardian noticing and moving that member, the keys checked on every member, the Temporal UI address and the
 * post-mortem report. Whatever happens (success, failure, Ctrl-C), clean-up stops what the demo started.
 */

/** How the demo ended. */
export type DemoOutcome = 'verified' | 'failed' | 'interrupted';

/** What the demo needs from the command. */
export interface DemoRun {
  options: DemoOptions;
  /** The CLI script, to start `sandbox serve` in the background. */
  cliEntry: string;
  display: DemoDisplay;
  /** Aborted by SIGINT or SIGTERM. */
  interrupt: AbortSignal;
}

/** Keys written before the fault and checked after the migration. */
const KEY_COUNT = 100;
/** How often the schedule checks that the monitor runs (it also starts one at once). */
const SCHEDULE_EVERY_MS = 10_000;
/** Usage a node-pressure fault reports: above the CPU threshold and into MemoryPressure. */
const PRESSURE = { cpu: 0.96, memory: 0.93 } as const;
/** The member the fault hits, when it exists. */
const PREFERRED_VICTIM = 'etcd-1';

/** The sandbox processes of a state directory that still run, from its pid files, as "name (pid)". */
function sandboxProcessesAlive(stateDir: string): string[] {
  const paths = statePaths(stateDir);
  const serve = readPidFile(servePidPath(paths));
  const records = [...readPidFiles(paths.run).map((file) => file.record), ...(serve ? [serve] : [])];
  return records.filter(isRecordedProcessAlive).map((record) => `${record.name} (${record.pid})`);
}

/** Plays the demo and cleans up after it; resolves with how it ended. */
export async function runDemo(run: DemoRun): Promise<DemoOutcome> {
  const demo = new Demo(run);
  try {
    return await demo.play();
  } catch (error) {
    if (run.interrupt.aborted) return 'interrupted';
    throw error;
  } finally {
    await demo.cleanUp();
  }
}

class Demo {
  /** Aborted by an interrupt or by the worker failing: every wait ends with it. */
  private readonly stop = new AbortController();
  private readonly started = Date.now();
  private launch: Promise<LaunchResult> | undefined;
  private info: SandboxInfo | undefined;
  private worker: DemoWorker | undefined;
  private client: Client | undefined;
  private cluster: ClusterConfig | undefined;
  private scheduleApplied = false;
  private watch: ClusterWatch | undefined;
  private etcd: EtcdGateway | undefined;
  private detection: Detection | undefined;
  private victim: { member: string; node: string } | undefined;

  constructor(private readonly run: DemoRun) {
    const forward = (): void => this.stop.abort(run.interrupt.reason);
    if (run.interrupt.aborted) forward();
    else run.interrupt.addEventListener('abort', forward, { once: true });
  }

  private get display(): DemoDisplay {
    return this.run.display;
  }

  /** Waits for a promise unless the demo is stopped first (the promise is left to settle on its own). */
  private wait<T>(promise: Promise<T>): Promise<T> {
    return unlessAborted(promise, this.stop.signal);
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => {
      throw abortReason(this.stop.signal);
    });
  }

  private until<T>(what: string, ready: (snapshot: DemoSnapshot) => T | undefined, timeoutMs: number): Promise<T> {
    if (!this.watch) throw new Error('nothing to watch yet');
    return this.watch.until(what, ready, timeoutMs, this.stop.signal);
  }

  async play(): Promise<DemoOutcome> {
    const { options } = this.run;
    const info = await this.startSandbox();
    const config = this.writeConfig(info);
    const cluster = config.clusters[0];
    if (!cluster) throw new Error('the demo config has no cluster');
    this.cluster = cluster;
    const client = await this.startGuardian(info, config, cluster);

    this.display.activity("waiting for the monitor's first healthy cycles");
    const healthy = await this.until('the monitor to see a healthy cluster', (s) => (s.health === 'healthy' && s.members.length > 0 && (s.cycles ?? 0) >= 2 ? s : undefined), 180_000);
    this.etcd = this.etcdGateway(cluster, info.etcd.clientUrls);
    this.display.activity(`writing ${KEY_COUNT} keys`);
    const revision = await this.wait(writeDemoKeys(this.etcd, KEY_COUNT));
    this.display.note(`wrote ${KEY_COUNT} keys under demo/ (revision ${revision})`);

    const node = await this.injectFault(info, healthy);
    this.display.activity(`waiting for the guardian to notice: a signal must hold for ${cluster.hysteresis.samples} samples, one every ${formatSeconds(cluster.interval)}`);
    await this.until('the guardian to detect the fault', () => this.detection?.confirmed, 180_000);
    this.display.activity('the guardian is moving the member');
    const closed = await this.until('the migration to end', (s) => (s.migration?.closed !== undefined ? s.migration : undefined), options.timeoutMs);
    const cyclesAtClose = this.latest().cycles ?? 0;
    const outcome = await this.migrationOutcome(client, closed);
    this.display.note(outcome.sentence);

    // The fault has done its part: the node comes back, as a repaired one would.
    const healed = await this.wait(this.control(info).heal(node)).catch((error: unknown) => {
      if (this.stop.signal.aborted) throw error;
      return [`heal failed: ${errorText(error)}`];
    });
    this.display.note(`healed ${node}: ${healed.join(', ') || 'no fault left'}`);
    let keys: KeyCheck | undefined;
    if (outcome.result) {
      this.display.activity('checking the keys and HashKV on every member');
      keys = await this.checkKeys(info, cluster);
      this.display.note(`${keyCheckPassed(keys) ? 'VERIFIED' : 'NOT VERIFIED'}: ${describeKeyCheck(keys)}`);
    }
    // The report's final membership comes from the monitor's first full cycle after the migration.
    this.display.activity('waiting for a monitor cycle after the migration');
    await this.until('a monitor cycle after the migration', (snapshot) => ((snapshot.cycles ?? 0) >= cyclesAtClose + 2 ? true : undefined), 30_000).catch((error: unknown) => {
      if (this.stop.signal.aborted) throw error;
    });

    const verified = outcome.result !== undefined && keys !== undefined && keyCheckPassed(keys);
    await this.summary(client, info, closed, outcome.result, keys);
    if (options.exitAfterMigration) return verified ? 'verified' : 'failed';
    this.display.activity(`the guardian keeps watching · Temporal UI ${info.temporal?.uiUrl ?? '?'} · Ctrl-C stops everything${options.keep ? ' but the sandbox (--keep)' : ''}`);
    await whenAborted(this.stop.signal);
    return 'interrupted';
  }

  private latest(): DemoSnapshot {
    if (!this.watch) throw new Error('nothing watched yet');
    return this.watch.latest;
  }

  /** The worker in this process, the schedule, and the watch over the monitor and the migration. */
  private async startGuardian(info: SandboxInfo, config: GuardianConfig, cluster: ClusterConfig): Promise<Client> {
    const logPath = join(info.logsDir, 'demo-worker.log');
    installDemoRuntime(config, logPath);
    this.display.activity('starting the guardian worker');
    this.worker = await this.wait(startDemoWorker(config));
    this.worker.running.catch((error: unknown) => this.stop.abort(new Error(`the guardian worker stopped: ${errorText(error)}`)));
    const client = await this.wait(temporalClient(config));
    this.client = client;
    await this.wait(
      applyMonitorSchedule(client, {
        cluster: cluster.name,
        taskQueue: config.temporal.taskQueue,
        intervalMs: cluster.interval,
        continueAsNewEvery: cluster.monitor.continueAsNewEvery,
        everyMs: SCHEDULE_EVERY_MS,
        catchupWindowMs: 60_000,
      }),
    );
    this.scheduleApplied = true;
    this.display.note(
      `worker running in this process (task queue ${config.temporal.taskQueue}, log ${logPath}); schedule ${scheduleIdFor(cluster.name)} keeps a monitor sampling cluster ${cluster.name} every ${formatSeconds(cluster.interval)}`,
    );
    this.watch = new ClusterWatch(client, cluster.name, (snapshot) => {
      const before = this.detection;
      if (before) {
        this.detection = observeDetection(before, snapshot, Date.now());
        // Said before the snapshot's own lines, which may already include the migration's first steps.
        if (!before.confirmed && this.detection.confirmed) this.display.note(this.detectionSentence());
      }
      this.display.update(snapshot);
    });
    this.watch.start();
    return client;
  }

  /** After the pause, the fault on the node of etcd-1 (or another member); resolves with the node. */
  private async injectFault(info: SandboxInfo, healthy: DemoSnapshot): Promise<string> {
    const { options } = this.run;
    const victim = healthy.members.find((m) => m.name === PREFERRED_VICTIM) ?? healthy.members.find((m) => !m.leader) ?? healthy.members[0];
    if (!victim?.node) throw new Error('the monitor reports no member with a node');
    const node = victim.node;
    this.victim = { member: victim.name, node };
    this.display.activity(`injecting ${options.fault} on ${node} (the node of ${victim.name}) in ${formatSeconds(options.faultAfterMs)}`);
    await this.pause(options.faultAfterMs);
    const said = await this.wait(this.control(info).fault({ kind: options.fault, target: node, ...(options.fault === 'node-pressure' ? PRESSURE : {}) }));
    this.detection = { faultAt: Date.now(), subjects: [victim.name, node] };
    this.display.note(`FAULT ${options.fault} on ${node} (${victim.name}): ${said}`);
    this.watch?.followMigration();
    return node;
  }

  /** Starts the sandbox in the background (as `sandbox up` does), refusing a directory where one already runs. */
  private async startSandbox(): Promise<SandboxInfo> {
    const { options, cliEntry } = this.run;
    const paths = statePaths(options.stateDir);
    const running = await findRunningSandbox(paths);
    const serving = readPidFile(servePidPath(paths));
    if (running !== undefined || (serving !== undefined && isRecordedProcessAlive(serving))) {
      throw new CliArgumentError(
        `--state-dir: a sandbox already runs in ${paths.root} (pid ${running?.info.pid ?? serving?.pid ?? '?'}); the demo starts its own: stop that one with \`etcd-guardian sandbox down --state-dir ${paths.root}\` or choose another directory`,
      );
    }
    this.display.note(`etcd-guardian demo: ${options.fault} under a member after ${formatSeconds(options.faultAfterMs)}; sandbox state in ${paths.root}`);
    this.display.activity('starting the sandbox: Temporal dev server, kube-apiserver, simulated nodes, etcd members');
    this.launch = launchSandbox({
      options: { stateDir: paths.root },
      cliEntry,
      onProgress: (message) => this.display.activity(`starting the sandbox: ${message}`),
    });
    const { info } = await this.wait(this.launch);
    this.info = info;
    this.display.note(
      `sandbox ready in ${formatSeconds(Date.now() - this.started)}: ${info.etcd.members.length} etcd members on ${info.nodes.length} nodes; Temporal ${info.temporal?.address ?? '(none)'}, UI ${info.temporal?.uiUrl ?? '(none)'}`,
    );
    return info;
  }

  private writeConfig(info: SandboxInfo): GuardianConfig {
    return writeSandboxGuardianConfig(info).config;
  }

  private control(info: SandboxInfo): ControlClient {
    if (info.controlUrl === undefined) throw new Error('the sandbox has no control endpoint');
    return new ControlClient(info.controlUrl, statePaths(info.stateDir));
  }

  private etcdGateway(cluster: ClusterConfig, endpoints: readonly string[]): EtcdGateway {
    const tls = cluster.tls ? loadEtcdTls(cluster.tls) : undefined;
    return new EtcdGateway({ endpoints, timeoutMs: 3000, ...(tls ? { tls } : {}) });
  }

  private detectionSentence(): string {
    const d = this.detection;
    if (!d?.confirmed) return 'not detected';
    const after = (at: number): string => formatSeconds(at - d.faultAt);
    const finding = d.confirmed.finding ?? d.noticed?.finding;
    const what = finding ? `${finding.severity} ${finding.kind} ${finding.subject}: ${finding.message}` : 'the migration started';
    return `DETECTED ${after(d.confirmed.at)} after the fault (first noticed after ${d.noticed ? after(d.noticed.at) : '?'}): ${what}`;
  }

  private async migrationOutcome(client: Client, closed: MigrationView): Promise<{ result?: MigrationResult; sentence: string }> {
    const handle = client.workflow.getHandle(closed.workflowId, closed.runId);
    const steps = closed.progress.steps;
    const took = steps[0]?.startedAt && steps.at(-1)?.endedAt ? ` in ${formatSeconds(Date.parse(steps.at(-1)?.endedAt ?? '') - Date.parse(steps[0].startedAt))}` : '';
    try {
      const result = (await this.wait(handle.result())) as MigrationResult;
      return {
        result,
        sentence: `MIGRATED ${result.member} from ${result.from ?? '?'} to ${result.to ?? '?'} as ${result.newMember ?? '?'} (${result.strategy}): ${steps.length} steps${took}`,
      };
    } catch (error) {
      if (this.stop.signal.aborted) throw error;
      const cause = error instanceof WorkflowFailedError ? (error.cause ?? error) : error;
      return { sentence: `MIGRATION FAILED (${closed.closed ?? 'failed'}): ${errorText(cause)}` };
    }
  }

  /** Counts the keys and compares HashKV; members may still be catching up, so it looks again for a while. */
  private async checkKeys(info: SandboxInfo, cluster: ClusterConfig): Promise<KeyCheck> {
    const control = this.control(info);
    const status = await this.wait(control.status());
    const live = status.members.filter((m) => !m.terminating).map((m) => m.clientUrl);
    const gateway = this.etcdGateway(cluster, [...new Set([...live, ...info.etcd.clientUrls])]);
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const check = await this.wait(checkDemoKeys(gateway, KEY_COUNT, 3000)).catch((error: unknown) => {
          if (this.stop.signal.aborted) throw error;
          return errorText(error);
        });
        if (typeof check !== 'string' && (keyCheckPassed(check) || Date.now() > deadline)) return check;
        if (typeof check === 'string' && Date.now() > deadline) throw new Error(`cannot check the keys: ${check}`);
        await this.pause(1000);
      }
    } finally {
      gateway.close();
    }
  }

  private async summary(client: Client, info: SandboxInfo, closed: MigrationView, result: MigrationResult | undefined, keys: KeyCheck | undefined): Promise<void> {
    const d = this.detection;
    const ui = info.temporal?.uiUrl ?? '';
    const namespace = info.temporal?.namespace ?? 'default';
    const migrationUrl = `${ui}/namespaces/${namespace}/workflows/${closed.workflowId}${closed.runId ? `/${closed.runId}/history` : ''}`;
    const sinceFault = (at: number | undefined): string => (d && at !== undefined ? `${formatSeconds(at - d.faultAt)} after the fault` : '?');
    const lastEnd = closed.progress.steps.at(-1)?.endedAt;
    const rows: [string, string][] = [
      ['fault', `${this.run.options.fault} on ${this.victim?.node ?? '?'} (the node of ${this.victim?.member ?? '?'})`],
      ['noticed', sinceFault(d?.noticed?.at)],
      ['detected', `${sinceFault(d?.confirmed?.at)} (confirmed over ${this.cluster?.hysteresis.samples ?? '?'} samples)`],
      ['migration', `started ${sinceFault(d?.migrationStartedAt)}, ${result ? `ended ${sinceFault(lastEnd ? Date.parse(lastEnd) : undefined)}` : `ended ${closed.closed ?? closed.progress.phase}`}`],
      ['moved', result ? `${result.member} ${result.from ?? '?'} → ${result.to ?? '?'} as ${result.newMember ?? '?'} (${result.strategy})` : 'no'],
      ['keys', keys ? `${keyCheckPassed(keys) ? 'verified' : 'NOT verified'}: ${describeKeyCheck(keys)}` : 'not checked (the migration failed)'],
      ['Temporal UI', migrationUrl],
      ['monitor', `${ui}/namespaces/${namespace}/workflows?query=${encodeURIComponent(`WorkflowType="monitorCluster"`)}`],
      ['demo', `${formatClock(Date.now() - this.started)} so far (m:ss)`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    this.display.print(['', '── the story ──', ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ''].join('\n'));
    try {
      const report = await this.wait(withTimeout(loadReport(client, closed.workflowId, closed.runId), 30_000, 'loading the report'));
      this.display.print(`── post-mortem report (etcd-guardian report ${closed.workflowId} --run-id ${closed.runId ?? '?'}) ──\n\n${renderMarkdown(report)}`);
    } catch (error) {
      if (this.stop.signal.aborted) throw error;
      this.display.print(`post-mortem report unavailable: ${errorText(error)}`);
    }
  }

  /** Stops what the demo started, each part on its own so that one failure does not leave the rest running. */
  async cleanUp(): Promise<void> {
    const { options } = this.run;
    const attempt = async (what: string, work: () => Promise<unknown>, timeoutMs: number): Promise<boolean> => {
      try {
        await withTimeout(work(), timeoutMs, what);
        return true;
      } catch (error) {
        this.display.note(`clean-up: ${what} failed: ${errorText(error)}`);
        return false;
      }
    };
    if (this.launch === undefined) {
      // Refused before anything started: nothing to stop, nothing to say.
      this.display.close();
      return;
    }
    this.display.activity(options.keep ? 'stopping the worker (the sandbox stays up: --keep)' : 'stopping: worker, schedule, sandbox');
    await attempt('stopping the status display', async () => this.watch?.stop(), 10_000);
    const client = this.client;
    if (client && this.scheduleApplied && !options.keep && this.cluster) {
      const cluster = this.cluster.name;
      await attempt(
        'deleting the schedule and ending the monitor',
        async () => {
          const monitor = await runningMonitor(client, cluster).catch(() => undefined);
          await client.schedule.getHandle(scheduleIdFor(cluster)).delete();
          if (monitor) await client.workflow.getHandle(monitor).terminate('etcd-guardian demo ended').catch(() => undefined);
        },
        15_000,
      );
    }
    if (this.worker) await attempt('stopping the worker', () => this.worker?.stop() ?? Promise.resolve(), 45_000);
    if (client) await attempt('closing the Temporal client', () => client.connection.close(), 5_000);
    this.etcd?.close();
    // --keep keeps a sandbox that is up; one interrupted while starting is stopped all the same.
    if (!options.keep || this.info === undefined) {
      this.display.activity('bringing the sandbox down');
      const ready = this.info !== undefined;
      await attempt('stopping the sandbox', () => shutdownSandbox(options.stateDir), 90_000);
      if (!ready) {
        // Stopped while starting: once the launch has given up (it sees the background process exit), whatever was
        // started in between is swept from the pid files too.
        await attempt('waiting for the sandbox launch to give up', () => this.launch?.catch(() => undefined) ?? Promise.resolve(), 30_000);
        await attempt('stopping what the sandbox left', () => shutdownSandbox(options.stateDir), 30_000);
      }
      const left = sandboxProcessesAlive(options.stateDir);
      if (left.length === 0) {
        this.display.note('sandbox stopped');
        this.display.activity('stopped: nothing of the demo is left running');
      } else {
        this.display.note(`still running: ${left.join(', ')}; run etcd-guardian sandbox down --state-dir ${options.stateDir}`);
        this.display.activity('stopped, but sandbox processes are left (see above)');
      }
    } else if (this.info && options.keep) {
      const config = join(this.info.stateDir, 'guardian.yaml');
      this.display.note(
        `sandbox left running (--keep): etcd-guardian worker --config ${config} resumes the guardian; etcd-guardian sandbox down --state-dir ${this.info.stateDir} stops it`,
      );
      this.display.activity('stopped; the sandbox is still running (--keep)');
    }
    this.display.close();
  }
}
