import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../../src/config/search-attributes';
import { findBinary } from '../../../src/sandbox/binaries';
import { ManagedProcess } from '../../../src/sandbox/processes';

/**
 * A Temporal dev server of its own for a test file: the cached `temporal` binary (a missing one throws
 * MissingBinaryError, which names scripts/install-components.sh), in-memory, headless, on free loopback ports, with
 * the guardian's search attributes registered as the sandbox registers them. Started here rather than through
 * TestWorkflowEnvironment.createLocal, whose 5 s start is too short on a loaded 2-core machine.
 */

/** A running dev server. */
export interface DevServer {
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  /** Where the server writes its log. */
  logPath: string;
  /** The server's process (its CPU time is measured by the fleet bench). */
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** `count` distinct free ports, all held open until every one is known. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port for a test server');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Start the dev server and wait until it lists every guardian search attribute. */
export async function startDevServer(options: { namespace?: string; timeoutMs?: number } = {}): Promise<DevServer> {
  const binary = findBinary('temporal');
  const namespace = options.namespace ?? 'default';
  const dir = mkdtempSync(join(tmpdir(), 'guardian-temporal-'));
  const logPath = join(dir, 'temporal.log');
  const [port, httpPort, metricsPort] = await freePorts(3);
  const address = `${HOST}:${port}`;
  const proc = await ManagedProcess.start({
    name: 'temporal (test)',
    command: binary,
    args: [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      HOST,
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--metrics-port',
      String(metricsPort),
      '--namespace',
      namespace,
      ...SEARCH_ATTRIBUTES.flatMap((attribute) => ['--search-attribute', `${attribute.name}=${attribute.type}`]),
      '--log-format',
      'json',
      '--log-level',
      'warn',
    ],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
    logPath,
    pidFile: { dir, file: 'temporal' },
  });
  const stop = async (): Promise<void> => {
    await proc.stop({ graceMs: 5_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  /** Undefined once the server is ready; otherwise what is still missing. */
  const notReady = async (): Promise<string | undefined> => {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = SEARCH_ATTRIBUTES.filter((attribute) => customAttributes[attribute.name] === undefined);
        return missing.length === 0 ? undefined : `missing search attributes ${missing.map((a) => a.name).join(', ')}`;
      } finally {
        await connection.close();
      }
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  };
  for (;;) {
    if (!proc.running) {
      await stop();
      throw new Error(`the Temporal dev server exited while starting (${JSON.stringify(proc.exitInfo)}); its log:\n${tail(logPath)}`);
    }
    const last = await notReady();
    if (last === undefined) return { address, namespace, logPath, pid: proc.pid, stop };
    if (Date.now() > deadline) {
      const log = tail(logPath);
      await stop();
      throw new Error(`the Temporal dev server at ${address} was not ready in time: ${last}; its log:\n${log}`);
    }
    await sleep(250);
  }
}
