import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from '../src/config/schema';

/** A Temporal TLS file that cannot be read: a configuration problem, said with the path. */
export class TemporalTlsError extends Error {
  readonly code = 'TEMPORAL_TLS';
  constructor(message: string) {
    super(message);
    this.name = 'TemporalTlsError';
  }
}

function read(label: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TemporalTlsError(`temporal.tls.${label} ${path} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * The TLS options of a Temporal connection (client or worker): absent section = plain TCP, present = TLS with the
 * given CA (else the system's) and client certificate (mTLS) when one is configured.
 */
export function temporalTls(config: TemporalConfig): TLSConfig | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const options: TLSConfig = {};
  if (tls.caFile) options.serverRootCACertificate = read('caFile', tls.caFile);
  if (tls.certFile && tls.keyFile) options.clientCertPair = { crt: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) };
  return options;
}
