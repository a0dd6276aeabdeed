import type { LogLevel } from '@temporalio/common';
import { LogTimestamp } from '@temporalio/worker';
import type { LogLevelName } from '../../../src/config/schema';
import { coreLogFilter, createGuardianLogger, PinoTemporalLogger } from '../../../src/observability/logger';
import { guardianRuntimeOptions } from '../../../src/observability/runtime';

/** A logger writing into an array, and the lines it wrote, parsed. */
function capture(level: LogLevelName) {
  const lines: string[] = [];
  const logger = createGuardianLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>), lines };
}

describe('the Temporal SDK logger over pino', () => {
  it('writes one JSON object a line with level, msg and the SDK attributes as fields', () => {
    const { logger, parsed, lines } = capture('info');
    new PinoTemporalLogger(logger).info('Activity completed', {
      sdkComponent: 'activity',
      workflowId: 'migrate-main',
      activityType: 'removeMember',
      taskQueue: 'etcd-guardian',
      durationMs: 12,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(parsed()[0]).toMatchObject({
      level: 30,
      name: 'etcd-guardian',
      msg: 'Activity completed',
      sdkComponent: 'activity',
      workflowId: 'migrate-main',
      activityType: 'removeMember',
      taskQueue: 'etcd-guardian',
      durationMs: 12,
    });
    expect(typeof parsed()[0]?.['time']).toBe('number');
  });

  it.each<[LogLevel, number]>([
    ['TRACE', 10],
    ['DEBUG', 20],
    ['INFO', 30],
    ['WARN', 40],
    ['ERROR', 50],
  ])('maps the SDK level %s to pino level %i', (level, pinoLevel) => {
    const { logger, parsed } = capture('trace');
    new PinoTemporalLogger(logger).log(level, 'message');
    expect(parsed().map((line) => line['level'])).toEqual([pinoLevel]);
  });

  it('drops lines below the configured level', () => {
    const { logger, parsed } = capture('warn');
    const sdk = new PinoTemporalLogger(logger);
    sdk.debug('polling');
    sdk.info('Worker state changed');
    sdk.warn('slow activation');
    sdk.error('activity failed');
    expect(parsed().map((line) => line['msg'])).toEqual(['slow activation', 'activity failed']);
  });

  it("never writes an activity's task token nor PEM text", () => {
    const { logger, lines } = capture('info');
    new PinoTemporalLogger(logger).warn('Activity failed', { taskToken: 'CiQ2YjM1secret', detail: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' });
    expect(lines.join('')).not.toMatch(/CiQ2YjM1secret|BEGIN CERTIFICATE/);
  });

  it('serializes an error with its message and stack, whatever else the SDK attached', () => {
    const { logger, parsed } = capture('info');
    new PinoTemporalLogger(logger).error('Workflow task failed', { [LogTimestamp]: 123n, error: new Error('boom') });
    const line = parsed()[0];
    expect(line?.['error']).toMatchObject({ type: 'Error', message: 'boom' });
    expect(String((line?.['error'] as { stack?: string }).stack)).toContain('boom');
  });
});

describe('coreLogFilter', () => {
  it.each<[LogLevelName, { core: LogLevel; other: LogLevel }]>([
    ['trace', { core: 'TRACE', other: 'WARN' }],
    ['debug', { core: 'DEBUG', other: 'WARN' }],
    ['info', { core: 'INFO', other: 'ERROR' }],
    ['warn', { core: 'WARN', other: 'ERROR' }],
    ['error', { core: 'ERROR', other: 'ERROR' }],
  ])('keeps the core at %s and its transport crates quieter', (level, expected) => {
    expect(coreLogFilter(level)).toEqual(expected);
  });
});

describe('the runtime options of the worker', () => {
  const { logger } = capture('info');

  it('serves Prometheus metrics on every interface at the metrics port, with the guardian histograms bucketed', () => {
    const options = guardianRuntimeOptions({ logLevel: 'info', metricsPort: 9464 }, logger);
    const metrics = options.telemetryOptions?.metrics;
    expect(metrics && 'prometheus' in metrics ? metrics.prometheus : undefined).toMatchObject({
      bindAddress: '0.0.0.0:9464',
      countersTotalSuffix: true,
      useSecondsForDurations: true,
      histogramBucketOverrides: {
        etcd_guardian_migration_duration_seconds: expect.any(Array) as unknown,
        etcd_guardian_migration_step_duration_seconds: expect.any(Array) as unknown,
      },
    });
  });

  it('serves no metrics when the port is 0', () => {
    expect(guardianRuntimeOptions({ logLevel: 'info', metricsPort: 0 }, logger).telemetryOptions?.metrics).toBeUndefined();
  });

  it("forwards the core's logs to the logger at the configured level", () => {
    expect(guardianRuntimeOptions({ logLevel: 'debug', metricsPort: 0 }, logger).telemetryOptions?.logging).toEqual({
      filter: { core: 'DEBUG', other: 'WARN' },
      forward: {},
    });
    expect(guardianRuntimeOptions({ logLevel: 'debug', metricsPort: 0 }, logger).logger).toBeInstanceOf(PinoTemporalLogger);
  });
});
