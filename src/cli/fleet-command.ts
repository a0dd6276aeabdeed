import type { Command } from 'commander';
import { parseDuration } from '../config/duration';
import { describeBudget, describeFreeze, freezeProblems, type FreezeRequest } from '../domain/fleet';
import { freezeFleet, readFleet, unfreezeFleet } from '../temporal/fleet';
import type { FleetStatus } from '../../workflows/fleet-ids';
import { CliArgumentError, cliConfig, cliRequester, clusterNamed, temporalClient } from './context';

/** `--until`: a time (2026-12-01T18:00:00Z) or a duration from now (2h, 30m). Undefined: until unfrozen. */
export function untilOf(text: string | undefined, nowMs: number): string | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms !== undefined && ms > 0) return new Date(nowMs + ms).toISOString();
  // A date first (Date.parse reads "0" or "12" as years).
  const at = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) throw new CliArgumentError(`--until: expected a time such as 2026-12-01T18:00:00Z or a duration such as 2h, got "${text}"`);
  return new Date(at).toISOString();
}

/** The request a `freeze` command line makes, checked before anything is sent (a bad one changes nothing). */
export function freezeRequestOf(options: { cluster?: string; reason?: string; until?: string; by?: string }, nowMs: number, requester: string): FreezeRequest {
  const until = untilOf(options.until, nowMs);
  const request: FreezeRequest = { reason: options.reason ?? '', by: options.by ?? requester, ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), ...(until !== undefined ? { until } : {}) };
  const problems = freezeProblems(request, nowMs);
  if (problems.length > 0) throw new CliArgumentError(problems.map((p) => `--${p}`).join('; '));
  return request;
}

/** The human form of the fleet: budget, freezes, running and waiting operations. */
export function renderFleet(status: FleetStatus | undefined): string {
  if (!status) return 'fleet: no coordinator has run yet: nothing frozen, no operation running\n';
  const lines = [`budget: ${describeBudget(status.budget)}`];
  lines.push(status.freezes.length === 0 ? 'frozen: nothing' : 'frozen:');
  for (const f of status.freezes) lines.push(`  ${describeFreeze(f)}`);
  lines.push(status.leases.length === 0 ? 'running: no disruptive operation' : 'running:');
  for (const l of status.leases) {
    const held = status.held[l.holder.workflowId];
    lines.push(`  ${l.holder.workflowId} (${l.cluster}, ${l.operation}) since ${l.grantedAt}: ${l.description}; racks ${l.racks.join(',') || '?'}, zones ${l.zones.join(',') || '?'}${held ? `; held after its current step: ${held}` : ''}`);
  }
  lines.push(status.waiting.length === 0 ? 'waiting: none' : 'waiting:');
  for (const w of status.waiting) lines.push(`  ${w.holder.workflowId} (${w.cluster}, ${w.operation}) since ${w.requestedAt}: ${status.reasons[w.holder.workflowId] ?? 'being admitted'}`);
  return `${lines.join('\n')}\n`;
}

/** `freeze`, `unfreeze` and `fleet`: stop disruptive operations during an incident, and see what runs and waits. */
export function registerFleetCommands(program: Command): void {
  program
    .command('freeze')
    .description('start no disruptive operation (migration, repair, maintenance, recovery) until unfrozen; running ones finish their current step and wait; monitoring and alerts go on')
    .option('-c, --config <file>', 'config file')
    .option('--cluster <name>', 'only this cluster (default: the whole fleet)')
    .requiredOption('--reason <text>', 'why (an incident, a change window), shown wherever an operation waits')
    .option('--until <time>', 'lift by itself then: a time (2026-12-01T18:00:00Z) or a duration from now (2h)')
    .option('--by <name>', 'who freezes, for the history (default: cli:$USER, else the OS account)')
    .option('--json', 'print the freeze as JSON')
    .action(async (options: { config?: string; cluster?: string; reason: string; until?: string; by?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      if (options.cluster !== undefined) clusterNamed(config, options.cluster);
      const request = freezeRequestOf(options, Date.now(), cliRequester());
      const client = await temporalClient(config);
      try {
        const frozen = await freezeFleet(client, config.temporal.taskQueue, request);
        process.stdout.write(options.json ? `${JSON.stringify(frozen, null, 2)}\n` : `${describeFreeze(frozen)}\n`);
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('unfreeze')
    .description('lift the freeze of the fleet or of one cluster: waiting operations go on')
    .option('-c, --config <file>', 'config file')
    .option('--cluster <name>', "this cluster's freeze (default: the fleet's)")
    .option('--by <name>', 'who unfreezes, for the history (default: cli:$USER, else the OS account)')
    .action(async (options: { config?: string; cluster?: string; by?: string }) => {
      const config = cliConfig(options.config);
      if (options.cluster !== undefined) clusterNamed(config, options.cluster);
      const client = await temporalClient(config);
      try {
        const lifted = await unfreezeFleet(client, config.temporal.taskQueue, { ...(options.cluster !== undefined ? { cluster: options.cluster } : {}), by: options.by ?? cliRequester() });
        const scope = options.cluster === undefined ? 'the fleet' : `cluster ${options.cluster}`;
        process.stdout.write(lifted ? `unfrozen ${scope} (was: ${describeFreeze(lifted)})\n` : `${scope} was not frozen: nothing changed\n`);
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('fleet')
    .description('show the fleet budget, the freezes, and the disruptive operations running and waiting (with why)')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print the coordinator\'s state as JSON')
    .action(async (options: { config?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      const client = await temporalClient(config);
      try {
        const status = await readFleet(client, config.temporal.taskQueue);
        process.stdout.write(options.json ? `${JSON.stringify(status ?? null, null, 2)}\n` : renderFleet(status));
      } finally {
        await client.connection.close();
      }
    });
}
