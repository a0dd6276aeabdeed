import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load';
import { sandboxGuardianConfigDocument } from '../../../src/cli/sandbox-guardian-config';
import type { SandboxClusterTuning } from '../../../src/config/sandbox';
import type { GuardianConfig } from '../../../src/config/schema';
import { Sandbox, type SandboxOptions } from '../../../src/sandbox';
import { createGuardianWorker, sourceWorkflows } from '../../../worker/worker';

/** A sandbox with the guardian's worker running against it, as a test needs it. */
export interface GuardianHarness {
  sandbox: Sandbox;
  config: GuardianConfig;
  client: Client;
  /** Start (or restart) the worker, with the harness's config or another one; resolves once it polls. `configFile`: it reloads that file when it changes. */
  startWorker(config?: GuardianConfig, options?: { configFile?: string }): Promise<void>;
  /** Stop the worker gracefully (or abruptly, as a crash would). */
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The raw config document for a running sandbox, as `etcd-guardian worker --config` reads it. A sandbox whose members
 * serve TLS gets the cluster's `tls` section: the paths of its CA and of the guardian's client certificate.
 */
export function configDocumentFor(sandbox: Sandbox, tuning: SandboxClusterTuning = {}): Record<string, unknown> {
  return sandboxGuardianConfigDocument(sandbox.info, tuning);
}

/** The guardian config for a running sandbox. */
export function configFor(sandbox: Sandbox, tuning: SandboxClusterTuning = {}): GuardianConfig {
  return parseConfig(configDocumentFor(sandbox, tuning), 'test sandbox');
}

/** Write the config document as a YAML file in the sandbox's state directory; returns its path. */
export function writeConfigFile(sandbox: Sandbox, tuning: SandboxClusterTuning = {}): string {
  const path = join(sandbox.info.stateDir, 'guardian.yaml');
  writeFileSync(path, stringify(configDocumentFor(sandbox, tuning)));
  return path;
}

/** Start a sandbox and a guardian worker against it; `etcdTls` runs the members with TLS (same as `sandbox: { etcdTls: true }`). */
export async function startGuardian(
  options: { sandbox?: Partial<SandboxOptions>; tuning?: SandboxClusterTuning; etcdTls?: boolean; worker?: boolean } = {},
): Promise<GuardianHarness> {
  const sandbox = await Sandbox.start({
    stateDir: mkdtempSync(join(tmpdir(), 'guardian-test-')),
    ...options.sandbox,
    ...(options.etcdTls === undefined ? {} : { etcdTls: options.etcdTls }),
  });
  const config = configFor(sandbox, options.tuning);
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }), namespace: config.temporal.namespace });
  let current: { worker: Worker; connection: NativeConnection; running: Promise<void>; client: Client; stopWatching: () => void } | undefined;
  const harness: GuardianHarness = {
    sandbox,
    config,
    client,
    async startWorker(workerConfig = config, options = {}) {
      const created = await createGuardianWorker(workerConfig, { source: sourceWorkflows(), ...options });
      current = { ...created, running: created.worker.run() };
    },
    async stopWorker() {
      if (!current) return;
      const { worker, running, connection, client: workerClient, stopWatching } = current;
      current = undefined;
      stopWatching();
      worker.shutdown();
      await running;
      await connection.close();
      await workerClient.connection.close();
    },
    async stop() {
      await harness.stopWorker().catch(() => undefined);
      await client.connection.close().catch(() => undefined);
      await sandbox.stop();
      // Each sandbox leaves ~370 MB of data and logs; GUARDIAN_TEST_KEEP_STATE=1 keeps them for a post-mortem.
      if (process.env['GUARDIAN_TEST_KEEP_STATE'] !== '1') rmSync(sandbox.info.stateDir, { recursive: true, force: true });
    },
  };
  // worker: false leaves the worker to the test (startWorker later, or the CLI's `worker` in a process of its own).
  if (options.worker !== false) await harness.startWorker();
  return harness;
}
