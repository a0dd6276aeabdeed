import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { untestedVersionNotes } from '../domain/etcd-version';
import { describeFreeze, freezeOf } from '../domain/fleet';
import { readFleet } from '../temporal/fleet';
import { scheduleIdFor, runningMonitor } from '../temporal/schedules';
import type { FleetStatus } from '../../workflows/fleet-ids';
import type { MonitorStatus } from '../../workflows/monitor';
import { listWaitingApprovals, type WaitingApproval } from './approval-command';
import { cliConfig, clusterNamed, temporalClient } from './context';
import { collectPublishedEndpoints, type PublishedEndpoints } from './published-endpoints';

/** One cluster's line of `status`: the monitor's answer, or why there is none. */
export interface ClusterStatusReport {
  cluster: string;
  monitor?: string;
  status?: MonitorStatus;
  problem?: string;
  /** The monitor's workflow task keeps failing (a worker bug, or code that no longer replays its history). */
  stuck?: string;
  /** The client endpoints the guardian published for the cluster, as clients read them. */
  clients?: PublishedEndpoints;
  /** Members on an etcd version the guardian has not been tested with, one sentence each. */
  untestedVersions?: string[];
  /** The freeze over the cluster, in a sentence. */
  frozen?: string;
  /** Why the cluster's operation in flight waits: for a fleet lease, or held by a freeze between two steps. */
  operationWaits?: string;
  /** The cluster's plan that waits for a person, in a sentence with the command that answers it. */
  awaitingApproval?: string;
}

/** Add the plans that wait for a person to their clusters' reports. */
export function withApprovals(reports: ClusterStatusReport[], waiting: readonly WaitingApproval[]): ClusterStatusReport[] {
  for (const report of reports) {
    const w = waiting.find((entry) => entry.cluster === report.cluster);
    if (w) report.awaitingApproval = `${w.operation} ${w.plan} waits for a person${w.deadline ? ` until ${w.deadline}` : ''} (${w.reasons.join('; ')}): etcd-guardian approve ${w.cluster}, or reject ${w.cluster} --reason "..."`;
  }
  return reports;
}

/** Add what the fleet's coordinator says of each cluster: its freeze, and why its operation waits. */
export function withFleet(reports: ClusterStatusReport[], fleet: FleetStatus | undefined, nowMs: number): ClusterStatusReport[] {
  if (!fleet) return reports;
  for (const report of reports) {
    const freeze = freezeOf(fleet.freezes, report.cluster, nowMs);
    if (freeze) report.frozen = describeFreeze(freeze);
    const waiting = fleet.waiting.find((w) => w.cluster === report.cluster);
    const held = fleet.leases.find((l) => l.cluster === report.cluster && fleet.held[l.holder.workflowId] !== undefined);
    if (waiting) report.operationWaits = `${waiting.holder.workflowId} waits for a fleet lease: ${fleet.reasons[waiting.holder.workflowId] ?? 'being admitted'}`;
    else if (held) report.operationWaits = `${held.holder.workflowId} is held after its current step: ${fleet.held[held.holder.workflowId] ?? ''}`;
  }
  return reports;
}

/** Why a running workflow is stuck, when its workflow task has failed more than once; undefined otherwise. */
export function stuckReason(pending: { attempt?: number | null } | null | undefined, workflowId: string): string | undefined {
  const attempt = pending?.attempt ?? 0;
  if (attempt <= 1) return undefined;
  return `monitor ${workflowId} is stuck: its workflow task has failed ${attempt - 1} time(s) in a row (a worker bug, or workflow code that no longer replays its history); read the worker's log for "Workflow task failed" and the metric temporal_workflow_task_execution_failed`;
}

/** Ask each cluster's running monitor for its `status`. */
export async function collectStatus(client: Client, clusters: readonly string[]): Promise<ClusterStatusReport[]> {
  const reports: ClusterStatusReport[] = [];
  for (const cluster of clusters) {
    try {
      const workflowId = await runningMonitor(client, cluster);
      if (!workflowId) {
        reports.push({ cluster, problem: `no monitor running; the schedule ${scheduleIdFor(cluster)} starts one within a minute (or run \`etcd-guardian schedule trigger\`)` });
        continue;
      }
      const handle = client.workflow.getHandle(workflowId);
      // A monitor whose workflow task keeps failing answers no query, or an old one: say so first.
      const stuck = stuckReason((await handle.describe()).raw.pendingWorkflowTask, workflowId);
      if (stuck) {
        reports.push({ cluster, monitor: workflowId, problem: stuck, stuck });
        continue;
      }
      const status = await handle.query<MonitorStatus>('status');
      const untested = untestedVersionNotes(status.members);
      reports.push({ cluster, monitor: workflowId, status, ...(untested.length > 0 ? { untestedVersions: untested } : {}) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      reports.push({ cluster, problem: error instanceof WorkflowNotFoundError || /not found/i.test(message) ? `no schedule: run \`etcd-guardian schedule apply\` (${message})` : message });
    }
  }
  return reports;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The human form: a header per cluster, a row per member, then findings and the migration in flight. */
export function renderStatus(reports: readonly ClusterStatusReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (!r.status) {
      lines.push(`${r.cluster}: ${r.problem ?? 'unknown'}`, ...(r.frozen ? [`  FROZEN: ${r.frozen}`] : []), ...(r.awaitingApproval ? [`  AWAITING APPROVAL: ${r.awaitingApproval}`] : []), '');
      continue;
    }
    const s = r.status;
    const q = s.assessment?.quorum;
    lines.push(
      `${r.cluster}: ${s.health.toUpperCase()}${s.paused ? ' (paused)' : ''}  voters ${q ? `${q.healthyVoters}/${q.voters}` : '?'}  fault tolerance ${q?.faultTolerance ?? '?'}  leader ${s.assessment?.leader?.name ?? 'none'}  cycles ${s.cycles}  last ${s.lastCycleAt ?? 'never'}`,
    );
    lines.push(`  ${pad('MEMBER', 10)}${pad('NODE', 10)}${pad('RACK', 10)}${pad('DOMAIN', 10)}HEALTH`);
    for (const m of s.members) {
      lines.push(`  ${pad(m.name, 10)}${pad(m.node ?? '?', 10)}${pad(m.rack ?? '?', 10)}${pad(m.domain ?? '?', 10)}${m.healthy ? 'healthy' : 'DOWN'}${m.isLearner ? ' (learner)' : ''}${m.isLeader ? ' (leader)' : ''}`);
    }
    const unmovable = s.members.filter((m) => m.workload !== undefined);
    if (unmovable.length > 0) {
      lines.push('  not moved by the guardian (monitored and alerted only):');
      for (const m of unmovable) lines.push(`    ${m.name}: ${m.workload ?? ''}`);
    }
    for (const note of r.untestedVersions ?? untestedVersionNotes(s.members)) lines.push(`  ${note}`);
    const findings = s.assessment?.findings ?? [];
    if (findings.length > 0) {
      lines.push('  findings:');
      for (const f of findings) lines.push(`    ${f.confirmed ? '' : '(pending) '}${f.severity}: ${f.message}`);
    }
    if (r.clients) lines.push(`  clients: ${r.clients.endpoints ? r.clients.endpoints.join(',') : r.clients.problem ?? '?'} (ConfigMap ${r.clients.configMap})`);
    if (s.decision) lines.push(`  decision: ${s.decision.summary}`);
    if (s.decision?.kind === 'alert' && s.decision.runbook) lines.push(...s.decision.runbook.map((line) => `  ${line}`));
    if (r.frozen) lines.push(`  FROZEN: ${r.frozen}`);
    if (s.migration.inFlight) lines.push(`  migration in flight: ${s.migration.inFlight.workflowId} (${s.migration.inFlight.member})`);
    if (r.operationWaits) lines.push(`  waiting: ${r.operationWaits}`);
    if (r.awaitingApproval) lines.push(`  AWAITING APPROVAL: ${r.awaitingApproval}`);
    if (s.lastError) lines.push(`  last cycle failed: ${s.lastError}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** `etcd-guardian status [--json]`: each cluster's monitor status. Exit code 1 when a cluster is not healthy. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("show each cluster's health, members, findings and migration in flight, as its monitor sees it")
    .option('-c, --config <file>', 'config file')
    .option('--cluster <name>', 'only this cluster')
    .option('--json', 'print the monitors\' status answers as JSON')
    .action(async (options: { config?: string; cluster?: string; json?: boolean }) => {
      const config = cliConfig(options.config);
      const clusters = options.cluster ? [clusterNamed(config, options.cluster).name] : config.clusters.map((c) => c.name);
      const client = await temporalClient(config);
      try {
        // The monitors' answers matter most: a visibility store that cannot list the waiting plans leaves them out.
        const waiting = await listWaitingApprovals(client).catch((error: unknown) => {
          process.stderr.write(`etcd-guardian status: the plans waiting for approval could not be listed: ${error instanceof Error ? error.message : String(error)}\n`);
          return [];
        });
        const reports = withApprovals(withFleet(await collectStatus(client, clusters), await readFleet(client, config.temporal.taskQueue), Date.now()), waiting);
        // Loaded here, not at the top: the Kubernetes client is ESM-flavoured and this module's pure parts are unit-tested.
        const { KubeGateway, loadKubeConfig } = await import('../kube/gateway');
        const kube = new KubeGateway(loadKubeConfig(config.kubernetes));
        const published = await collectPublishedEndpoints((namespace, name) => kube.readConfigMapData(namespace, name), config.clusters.filter((c) => clusters.includes(c.name)));
        for (const report of reports) {
          const clients = published.get(report.cluster);
          if (clients) report.clients = clients;
        }
        process.stdout.write(options.json ? `${JSON.stringify(reports, null, 2)}\n` : renderStatus(reports));
        if (reports.some((r) => r.status?.health !== 'healthy')) process.exitCode = 1;
      } finally {
        await client.connection.close();
      }
    });
}
