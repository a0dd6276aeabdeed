import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { CONFIG_FILE_ENV } from '../config/env';
import { loadConfig } from '../config/load';
import type { GuardianConfig } from '../config/schema';
import { explainTemporalConnectError, temporalTls } from '../../worker/temporal-connection';

/** Config files looked for when neither --config nor ETCD_GUARDIAN_CONFIG names one, in order. */
export const DEFAULT_CONFIG_FILES = ['etcd-guardian.yaml', '.sandbox/guardian.yaml'];

/** A command-line mistake: exit code 2, nothing changed. */
export class CliArgumentError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'CliArgumentError';
  }
}

/** The config the CLI runs with: --config, else $ETCD_GUARDIAN_CONFIG, else the first default file that exists. */
export function cliConfig(file: string | undefined): GuardianConfig {
  return loadConfig({ file: cliConfigPath(file) });
}

/** The config file the CLI reads: --config, else $ETCD_GUARDIAN_CONFIG, else the first default file that exists. */
export function cliConfigPath(file: string | undefined): string {
  const chosen = file ?? process.env[CONFIG_FILE_ENV] ?? DEFAULT_CONFIG_FILES.find((f) => existsSync(f));
  if (!chosen) {
    throw new CliArgumentError(
      `no config file: pass --config <file>, set ${CONFIG_FILE_ENV}, or create ${DEFAULT_CONFIG_FILES.join(' or ')} (\`etcd-guardian sandbox up\` writes .sandbox/guardian.yaml)`,
    );
  }
  return chosen;
}

/** A Temporal client for the config's server and namespace. */
export async function temporalClient(config: GuardianConfig): Promise<Client> {
  const tls = temporalTls(config.temporal);
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5000, ...(tls ? { tls } : {}) }).catch(async (error: unknown) => {
    throw await explainTemporalConnectError(error, config.temporal);
  });
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The named cluster of the config, or an argument error listing the configured ones. */
export function clusterNamed(config: GuardianConfig, name: string) {
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) throw new CliArgumentError(`unknown cluster "${name}"; configured clusters: ${config.clusters.map((c) => c.name).join(', ')}`);
  return cluster;
}

/**
 * Who is asking, for `requestedBy`: `cli:` and the user, from $USER or else the OS account (a cron job or a container
 * often has no $USER); `cli:unknown` only when neither names anyone.
 */
export function cliRequester(env: NodeJS.ProcessEnv = process.env, account: () => string = () => userInfo().username): string {
  let user = env['USER']?.trim() || env['LOGNAME']?.trim();
  if (!user) {
    try {
      user = account().trim();
    } catch {
      // No passwd entry for this uid (a container's arbitrary user): nobody to name.
    }
  }
  return `cli:${user || 'unknown'}`;
}
