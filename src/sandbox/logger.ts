import pino, { type Logger } from 'pino';

/** The sandbox's own log, and a way to close its file once the sandbox has stopped. */
export interface SandboxLog {
  logger: Logger;
  close(): void;
}

/** JSON lines in <state>/logs/sandbox.log, written synchronously so that a crash loses nothing. */
export function createSandboxLogger(path: string): SandboxLog {
  const destination = pino.destination({ dest: path, sync: true, mkdir: true });
  const level = process.env['ETCD_GUARDIAN_SANDBOX_LOG_LEVEL'] ?? 'info';
  const logger = pino({ level, base: { pid: process.pid } }, destination);
  const close = (): void => {
    // A straggler (a process exit reported late) must not write to a closed file.
    logger.level = 'silent';
    destination.end();
  };
  return { logger, close };
}

/** The logger type the sandbox's parts take. */
export type { Logger };
