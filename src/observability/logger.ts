import type { Logger as TemporalLogger, LogLevel as TemporalLogLevel, LogMetadata } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevelName } from '../config/schema';
import { scrubSecrets } from './redact';

/**
 * The worker's logs: one JSON object a line (pino), on stdout unless told otherwise. The Temporal runtime's
 * logger forwards here, so the SDK's lines (worker, workflow `log`, activity `log`, the native core) come out
 * the same way, with the SDK's attributes (workflowId, activityType, taskQueue...) as fields.
 */

/** How the worker's logger is made. */
export interface GuardianLoggerOptions {
  level: LogLevelName;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

/** A pino logger named etcd-guardian at the given level; errors under `err` or `error` are serialized with their stack. */
export function createGuardianLogger(options: GuardianLoggerOptions): Logger {
  return pino(
    {
      name: 'etcd-guardian',
      level: options.level,
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    // Synchronous: a worker that crashes must not lose the lines that explain why.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

const PINO_METHOD: Record<TemporalLogLevel, LogLevelName> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The Temporal SDK's `Logger` over a pino logger: attributes become fields, secrets are left out (see redact.ts). */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly target: Logger) {}

  log(level: TemporalLogLevel, message: string, meta?: LogMetadata): void {
    const method = PINO_METHOD[level] ?? 'info';
    if (!this.target.isLevelEnabled(method)) return;
    this.target[method](meta ? scrubSecrets(meta) : {}, message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * The native core's log filter for a log level: the core at the same level; its third-party crates (gRPC, HTTP)
 * at ERROR, or WARN when debugging, since even their debug output is about the transport, not the guardian.
 */
export function coreLogFilter(level: LogLevelName): { core: TemporalLogLevel; other: TemporalLogLevel } {
  const core = PINO_LEVEL_TO_TEMPORAL[level];
  return { core, other: level === 'trace' || level === 'debug' ? 'WARN' : 'ERROR' };
}

const PINO_LEVEL_TO_TEMPORAL: Record<LogLevelName, TemporalLogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
