import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../config/search-attributes';
import { findBinary } from './binaries';
import { type SandboxContext } from './context';
import { SandboxStartError, messageOf } from './errors';
import { CONTROL_PLANE_HOST } from './ports';
import { ManagedProcess } from './processes';
import { waitFor } from './wait';

/** The Temporal dev server, with its SQLite file in the state directory and the guardian's search attributes. */

/** The namespace the sandbox's workflows run in. */
export const TEMPORAL_NAMESPACE = 'default';

/** Where clients connect (host:port) and where a browser goes. */
export function temporalAddresses(ctx: SandboxContext): { address: string; uiUrl: string } {
  return {
    address: `${CONTROL_PLANE_HOST}:${ctx.ports.temporal}`,
    uiUrl: `http://${CONTROL_PLANE_HOST}:${ctx.ports.temporalUi}`,
  };
}

/** The dev server's command line. */
export function temporalArgs(ctx: SandboxContext): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    CONTROL_PLANE_HOST,
    '--port',
    String(ctx.ports.temporal),
    '--ui-port',
    String(ctx.ports.temporalUi),
    // Left alone, these two take random free ports, which could be a port another sandbox is about to bind.
    '--http-port',
    String(ctx.ports.temporalHttp),
    '--metrics-port',
    String(ctx.ports.temporalMetrics),
    '--db-filename',
    ctx.paths.temporalDb,
    '--namespace',
    TEMPORAL_NAMESPACE,
    ...SEARCH_ATTRIBUTES.flatMap((attribute) => ['--search-attribute', `${attribute.name}=${attribute.type}`]),
    '--log-format',
    'json',
  ];
}

/** Starts the dev server without waiting; see waitForTemporal. */
export async function startTemporal(ctx: SandboxContext): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: 'temporal',
    command: findBinary('temporal'),
    args: temporalArgs(ctx),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
    logPath: join(ctx.paths.logs, 'temporal.log'),
    pidFile: { dir: ctx.paths.run, file: 'temporal' },
  });
}

/** Waits until the frontend answers and lists every guardian search attribute. */
export async function waitForTemporal(ctx: SandboxContext, proc: ManagedProcess): Promise<void> {
  const { address } = temporalAddresses(ctx);
  try {
    await waitFor(
      'Temporal search attributes',
      async () => {
        const connection = await Connection.connect({ address, connectTimeout: 2_000 });
        try {
          const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: TEMPORAL_NAMESPACE });
          const missing = SEARCH_ATTRIBUTES.filter((attribute) => customAttributes[attribute.name] === undefined);
          if (missing.length > 0) throw new Error(`missing ${missing.map((attribute) => attribute.name).join(', ')}`);
          return true;
        } finally {
          await connection.close();
        }
      },
      { timeoutMs: 60_000, intervalMs: 250, abortIf: () => (proc.running ? undefined : 'the temporal process exited') },
    );
  } catch (error) {
    throw new SandboxStartError('Temporal dev server', messageOf(error), join(ctx.paths.logs, 'temporal.log'));
  }
  ctx.logger.info({ address, pid: proc.pid }, 'Temporal dev server is ready');
}
