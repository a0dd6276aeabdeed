import { type Command } from 'commander';
import { resolve } from 'node:path';
import {
  DEFAULTS,
  FAULT_KINDS,
  MEMBER_COUNTS,
  SandboxArgumentError,
  SandboxNotRunningError,
  parseFaultKind,
  type SandboxOptions,
} from '../sandbox';
import { launchSandbox } from '../sandbox/daemon/launch';
import { findRunningSandbox, type RunningSandbox } from '../sandbox/daemon/running';
import { serveSandbox } from '../sandbox/daemon/serve';
import { shutdownSandbox } from '../sandbox/daemon/shutdown';
import { isNodeFault, parseFraction } from '../sandbox/faults';
import { weedInstalled } from '../sandbox/object-store';
import { ETCD_VERSION_ENV, ETCD_WORKLOADS, memberCountError, parseEtcdQuota, resolveEtcdVersion, resolveEtcdWorkload } from '../sandbox/options';
import { TESTED_ETCD_MINORS } from '../domain/etcd-version';
import { renderInfo, renderStatus } from '../sandbox/report';
import { statePaths } from '../sandbox/state-dir';
import { writeSandboxGuardianConfig } from './sandbox-guardian-config';

/**
 * `etcd-guardian sandbox ...`: up, down, status, fault, heal, and the hidden `serve` that `up` runs in the
 * background. The work lives in src/sandbox; this file only parses flags and prints.
 */

/** The state directory when --state-dir is not given: `.sandbox/` in the current directory (git-ignored). */
const DEFAULT_STATE_DIR = '.sandbox';

/** The flags of the sandbox commands, as commander hands them over. */
export interface SandboxFlags {
  stateDir: string;
  members?: string;
  nodes?: string;
  racks?: string;
  domains?: string;
  gracePeriod?: string;
  slot?: string;
  temporal?: boolean;
  objectStore?: boolean;
  etcdTls?: boolean;
  etcdVersion?: string;
  etcdWorkload?: string;
  etcdQuota?: string;
  json?: boolean;
  cpu?: string;
  memory?: string;
}

/** A whole-number flag; a value that is not one gets the same one-line error as an out-of-range number. */
function wholeNumber(value: string | undefined, invalid: (raw: string) => Error): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw invalid(value);
  return Number(value);
}

function countError(what: string, max: string) {
  return (raw: string): Error => new SandboxArgumentError(`invalid ${what} ${raw}: choose a whole number from 1 to ${max}`);
}

/** Sandbox options from the flags of `up` and `serve`. */
export function sandboxOptions(flags: SandboxFlags): Omit<SandboxOptions, 'onProgress'> {
  const grace = flags.gracePeriod === undefined ? undefined : Number(flags.gracePeriod);
  if (grace !== undefined && !Number.isFinite(grace)) {
    throw new SandboxArgumentError(`invalid --grace-period ${flags.gracePeriod ?? ''}: choose from 1 to 600 seconds`);
  }
  return {
    stateDir: flags.stateDir,
    members: wholeNumber(flags.members, memberCountError),
    nodes: wholeNumber(flags.nodes, countError('node count', '250')),
    racks: wholeNumber(flags.racks, countError('rack count', 'the node count')),
    domains: wholeNumber(flags.domains, countError('domain count', 'the rack count')),
    slot: wholeNumber(flags.slot, (raw) => new SandboxArgumentError(`invalid slot ${raw}: choose a whole number from 0 to 99`)),
    nodeGracePeriodSeconds: grace,
    temporal: flags.temporal !== false,
    // Unless asked either way: on when scripts/install-object-store.sh has built it (the tests' install does; the
    // demo's does not, and its backups then go to a directory).
    objectStore: flags.objectStore ?? weedInstalled(),
    etcdTls: flags.etcdTls === true,
    // Checked here, so that `up` refuses a bad value before it spawns anything.
    etcdVersion: resolveEtcdVersion(flags.etcdVersion),
    etcdWorkload: resolveEtcdWorkload(flags.etcdWorkload, '--etcd-workload'),
    ...(flags.etcdQuota !== undefined ? { etcdQuotaBytes: parseEtcdQuota(flags.etcdQuota) } : {}),
  };
}

async function running(stateDir: string): Promise<RunningSandbox> {
  const paths = statePaths(resolve(stateDir));
  const found = await findRunningSandbox(paths);
  if (found === undefined) throw new SandboxNotRunningError(paths.root);
  return found;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Registers `sandbox` and its subcommands on the program. */
export function registerSandboxCommand(program: Command, params: { cliEntry: () => string }): void {
  const sandbox = program.command('sandbox').description('a local Kubernetes + etcd + Temporal world to run the guardian against');
  const withStateDir = (command: Command): Command =>
    command.option('--state-dir <dir>', 'where the sandbox keeps its state, logs and kubeconfig', DEFAULT_STATE_DIR);
  const withLayout = (command: Command): Command =>
    command
      .option('--members <n>', `etcd members: ${MEMBER_COUNTS.join(', ')} (default ${DEFAULTS.members})`)
      .option('--nodes <n>', `simulated nodes (default ${DEFAULTS.nodes})`)
      .option('--racks <n>', `racks the nodes spread over (default ${DEFAULTS.racks})`)
      .option('--domains <n>', `failure domains the racks sit in (default ${DEFAULTS.domains})`)
      .option('--grace-period <seconds>', `silence before a node turns Unknown (default ${DEFAULTS.nodeGracePeriodSeconds}; Kubernetes: 40-50)`)
      .option('--slot <n>', 'port/address block 0-99 (default: the first free one)')
      .option('--no-temporal', 'do not start the Temporal dev server')
      .option('--object-store', 'start the S3 object store for backups (default: when scripts/install-object-store.sh has installed it)')
      .option('--no-object-store', 'start no object store: backups go to a directory in the state directory')
      .option('--etcd-tls', 'run the etcd members with TLS and client-certificate authentication (certificates made for this sandbox)')
      .option('--etcd-version <minor>', `etcd the members run: ${TESTED_ETCD_MINORS.join(', ')} (default $${ETCD_VERSION_ENV}, else ${DEFAULTS.etcdVersion})`)
      .option('--etcd-quota <size>', 'the members\' space quota (--quota-backend-bytes), such as 64MiB, to reach NOSPACE in a test (default: etcd\'s 2GiB)')
      .option('--etcd-workload <kind>', `how the members run: ${ETCD_WORKLOADS.join(' | ')} (default ${DEFAULTS.etcdWorkload}; statefulset: a StatefulSet with a local volume per member)`);

  withLayout(withStateDir(sandbox.command('up')))
    .description('start the sandbox in the background and wait until its etcd cluster is healthy')
    .option('--json', 'print where everything is as JSON')
    .action(async (flags: SandboxFlags) => {
      const started = Date.now();
      const result = await launchSandbox({
        options: sandboxOptions(flags),
        cliEntry: params.cliEntry(),
        onProgress: (message) => process.stderr.write(`  ${message}\n`),
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      // The guardian's config for this sandbox, where the other commands look for one by default.
      const guardianConfig = result.info.temporal ? writeSandboxGuardianConfig(result.info).path : undefined;
      const configLine = guardianConfig ? `\nguardian config: ${guardianConfig} (etcd-guardian worker --config ${guardianConfig})` : '';
      if (flags.json === true) print(JSON.stringify(result.info, null, 2));
      else if (result.alreadyRunning) print(`sandbox already running (pid ${result.info.pid}); \`sandbox down\` first to change it\n${renderInfo(result.info)}${configLine}`);
      else print(`sandbox ready in ${seconds} s\n${renderInfo(result.info)}${configLine}`);
    });

  withStateDir(sandbox.command('down'))
    .description('stop every process of the sandbox')
    .action(async (flags: SandboxFlags) => {
      const report = await shutdownSandbox(flags.stateDir);
      if (report.stoppedOrderly) print('sandbox stopped');
      else if (report.killed.length === 0) print(`no sandbox was running in ${resolve(flags.stateDir)}`);
      if (report.killed.length > 0) print(`stopped leftover processes: ${report.killed.join(', ')}`);
    });

  withStateDir(sandbox.command('status'))
    .description('nodes (conditions, taints, usage) and etcd members (phase, readiness, restarts, health)')
    .option('--json', 'print the status as JSON')
    .action(async (flags: SandboxFlags) => {
      const status = await (await running(flags.stateDir)).client.status();
      print(flags.json === true ? JSON.stringify(status, null, 2) : renderStatus(status));
    });

  withStateDir(sandbox.command('fault'))
    .description(`inject a fault: ${FAULT_KINDS.join(', ')}`)
    .argument('<kind>', FAULT_KINDS.join(' | '))
    .argument('<target>', 'a node (node-down, node-pressure) or a pod (pod-freeze, pod-crash)')
    .option('--cpu <fraction>', 'node-pressure: CPU usage to report, 0-1')
    .option('--memory <fraction>', 'node-pressure: memory usage to report, 0-1 (MemoryPressure from 0.9)')
    .action(async (kindArg: string, target: string, flags: SandboxFlags) => {
      // Checked before the sandbox is even looked for: a wrong argument is wrong whether or not one runs.
      const kind = parseFaultKind(kindArg);
      const levels = {
        ...(flags.cpu === undefined ? {} : { cpu: parseFraction('--cpu', flags.cpu) }),
        ...(flags.memory === undefined ? {} : { memory: parseFraction('--memory', flags.memory) }),
      };
      if (kind !== 'node-pressure' && (flags.cpu !== undefined || flags.memory !== undefined)) {
        throw new SandboxArgumentError(`--cpu and --memory apply to node-pressure only, not to ${kind}`);
      }
      const { client } = await running(flags.stateDir);
      print(await client.fault({ kind, target, ...levels }));
      if (isNodeFault(kind)) print(`undo with: etcd-guardian sandbox heal ${target}`);
    });

  withStateDir(sandbox.command('heal'))
    .description('undo every fault of a node or pod')
    .argument('<target>', 'node or pod name')
    .action(async (target: string, flags: SandboxFlags) => {
      const healed = await (await running(flags.stateDir)).client.heal(target);
      print(healed.length === 0 ? `${target} had no fault` : `healed ${target}: ${healed.join(', ')}`);
    });

  withLayout(withStateDir(sandbox.command('serve', { hidden: true })))
    .description('run the sandbox in this process until stopped (what `up` starts in the background)')
    .action(async (flags: SandboxFlags) => {
      await serveSandbox(sandboxOptions(flags));
    });
}
