import { ScheduleNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import type { GuardianConfig } from '../config/schema';
import {
  applyBackupSchedule,
  applyMonitorSchedule,
  backupScheduleIdFor,
  changeSchedules,
  reconfigureMonitor,
  pruneSchedules,
  scheduleIdFor,
  triggerMonitor,
  type ScheduleChange,
} from '../temporal/schedules';
import { clusterNamed, cliConfig, temporalClient } from './context';

/** How often a schedule checks that its monitor runs, and how late a missed check may still run. */
const SCHEDULE_EVERY_MS = 60_000;
const CATCHUP_WINDOW_MS = 5 * 60_000;

function selected(config: GuardianConfig, cluster: string | undefined) {
  return cluster ? [clusterNamed(config, cluster)] : config.clusters;
}

/** `etcd-guardian schedule apply|pause|resume|trigger|delete`: one Temporal Schedule per cluster keeps its monitor alive. */
export function registerScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('manage the Temporal Schedules that keep one monitor per cluster running');
  const common = (cmd: Command): Command =>
    cmd.option('-c, --config <file>', 'config file').option('--cluster <name>', 'only this cluster (default: every configured cluster)');

  common(schedule.command('apply'))
    .description('create or update each cluster\'s schedule; applying twice changes nothing')
    .option('--every <seconds>', 'how often the schedule checks that the monitor runs', String(SCHEDULE_EVERY_MS / 1000))
    .option('--no-prune', 'keep the schedules and monitors of clusters no longer in the config (default: without --cluster, they are deleted and cancelled)')
    .option('--json', 'print the outcome as JSON')
    .action(async (options: { config?: string; cluster?: string; every: string; json?: boolean; prune: boolean }) => {
      const config = cliConfig(options.config);
      const everySeconds = Number(options.every);
      if (!Number.isFinite(everySeconds) || everySeconds < 1) throw new Error(`--every must be a number of seconds of at least 1, got "${options.every}"`);
      const client = await temporalClient(config);
      // Keyed by schedule id: the monitor's, and the backups' when backup.schedule is set (or was).
      const outcomes: Record<string, string> = {};
      for (const cluster of selected(config, options.cluster)) {
        const spec = {
          cluster: cluster.name,
          taskQueue: config.temporal.taskQueue,
          intervalMs: cluster.interval,
          endpointTimeoutMs: cluster.endpointTimeout,
          continueAsNewEvery: cluster.monitor.continueAsNewEvery,
          everyMs: everySeconds * 1000,
          catchupWindowMs: CATCHUP_WINDOW_MS,
        };
        const outcome = await applyMonitorSchedule(client, spec);
        // A running monitor continues as new with its own input: it hears of new settings from here.
        const told = outcome === 'updated' ? await reconfigureMonitor(client, spec) : undefined;
        outcomes[scheduleIdFor(cluster.name)] = told ? `${outcome}; running monitor ${told} reconfigured` : outcome;
        const backups = await applyBackupSchedule(client, { cluster: cluster.name, taskQueue: config.temporal.taskQueue, everyMs: cluster.backup.schedule?.every });
        if (backups !== 'none') outcomes[backupScheduleIdFor(cluster.name)] = backups;
      }
      // Only with the whole config in view: --cluster says nothing of the others.
      if (options.cluster === undefined && options.prune) Object.assign(outcomes, await pruneSchedules(client, config.temporal.taskQueue, config.clusters.map((c) => c.name)));
      if (options.json) process.stdout.write(`${JSON.stringify(outcomes)}\n`);
      else for (const [id, outcome] of Object.entries(outcomes)) process.stdout.write(`${id}: ${outcome}\n`);
      await client.connection.close();
    });

  const simple: [ScheduleChange, string, string][] = [
    ['pause', 'paused', "pause the schedule and the cluster's backup schedule (a running monitor keeps running; signal it to pause sampling)"],
    ['resume', 'resumed', "resume a paused schedule and the cluster's backup schedule"],
    ['delete', 'deleted', "delete the schedule and the cluster's backup schedule (a running monitor keeps running until terminated)"],
  ];
  for (const [name, done, description] of simple) {
    common(schedule.command(name))
      .description(description)
      .action(async (options: { config?: string; cluster?: string }) => {
        const config = cliConfig(options.config);
        const client = await temporalClient(config);
        try {
          for (const cluster of selected(config, options.cluster)) {
            await changeSchedules(client, cluster.name, name);
            process.stdout.write(`${scheduleIdFor(cluster.name)}: ${done}\n`);
          }
        } catch (error) {
          if (error instanceof ScheduleNotFoundError) throw new Error(`${error.message}: run \`etcd-guardian schedule apply\` first`, { cause: error });
          throw error;
        } finally {
          await client.connection.close();
        }
      });
  }

  common(schedule.command('trigger'))
    .description('start the monitor now unless one runs (overlap SKIP)')
    .action(async (options: { config?: string; cluster?: string }) => {
      const config = cliConfig(options.config);
      const client = await temporalClient(config);
      try {
        for (const cluster of selected(config, options.cluster)) {
          await triggerMonitor(client, cluster.name);
          process.stdout.write(`${scheduleIdFor(cluster.name)}: triggered\n`);
        }
      } finally {
        await client.connection.close();
      }
    });
}
