import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, connect } from 'node:tls';
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
 * given CA (else the system's), client certificate (mTLS) when one is configured, and the name to check on the
 * server's certificate (and send as SNI) when it is not the address's host.
 */
export function temporalTls(config: TemporalConfig): TLSConfig | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const options: TLSConfig = {};
  if (tls.caFile) options.serverRootCACertificate = read('caFile', tls.caFile);
  if (tls.certFile && tls.keyFile) options.clientCertPair = { crt: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) };
  if (tls.serverName) options.serverNameOverride = tls.serverName;
  return options;
}

/** Temporal could not be reached over TLS, with what was wrong and which `temporal.tls` field to change. */
export class TemporalConnectionError extends Error {
  readonly code = 'TEMPORAL_CONNECTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemporalConnectionError';
  }
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/** What a failed handshake means for the operator, from Node's error code; undefined when it means nothing known. */
function explainHandshake(error: NodeJS.ErrnoException & { reason?: string }, config: TemporalConfig, name: string): string {
  const tls = config.tls ?? {};
  const ca = tls.caFile ? `temporal.tls.caFile ${tls.caFile}` : 'the system CAs (temporal.tls.caFile is not set)';
  switch (error.code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return tls.serverName
        ? `temporal.tls.serverName "${tls.serverName}" is not a name on the server's certificate (${error.reason ?? error.message})`
        : `the server's certificate is not valid for ${name} (${error.reason ?? error.message}); set temporal.tls.serverName to the name it carries`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_UNTRUSTED':
      return `the server's certificate is not trusted by ${ca}: ${error.message}; temporal.tls.caFile must be the CA that signed the frontend's certificate`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `the server's certificate is outside its validity period: ${error.message}`;
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return 'the server requires a client certificate: set temporal.tls.certFile and temporal.tls.keyFile';
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
      return tls.certFile
        ? `the server refused the client certificate temporal.tls.certFile ${tls.certFile} (${error.message.trim()}): it must be signed by a CA the server trusts for clients`
        : 'the server requires a client certificate: set temporal.tls.certFile and temporal.tls.keyFile';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return `${config.address} does not speak TLS: remove temporal.tls, or point temporal.address at the TLS port`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return `nothing answers at temporal.address ${config.address} (${error.code})`;
    default:
      return `the TLS handshake failed: ${error.message}`;
  }
}

/**
 * Why a TLS connection to Temporal fails, found by one handshake of our own with the same CA, client pair and
 * server name (the SDK's own errors say "transport error" and little else). Undefined when the handshake succeeds
 * and the server keeps the connection: the problem is not TLS. After a TLS 1.3 handshake the server judges the
 * client certificate and may still hang up with an alert, so the connection is watched for `settleMs`.
 */
export function diagnoseTemporalTls(config: TemporalConfig, settleMs = 500): Promise<string | undefined> {
  const { host, port } = hostPort(config.address);
  const options = temporalTls(config) ?? {};
  const name = config.tls?.serverName ?? host;
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const socket = connect({
      host,
      port,
      ...(isIP(name) ? {} : { servername: name }),
      ...(options.serverRootCACertificate ? { ca: Buffer.from(options.serverRootCACertificate) } : {}),
      ...(options.clientCertPair ? { cert: Buffer.from(options.clientCertPair.crt), key: Buffer.from(options.clientCertPair.key) } : {}),
      ALPNProtocols: ['h2'],
      // Node checks the certificate against `servername`; for an address by IP with no serverName, against the IP.
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    });
    const timer = setTimeout(() => done(`no TLS answer from ${config.address} within 5s`), 5_000);
    let secured = false;
    socket.once('secureConnect', () => {
      secured = true;
      setTimeout(() => done(undefined), settleMs);
    });
    socket.once('error', (error: NodeJS.ErrnoException & { reason?: string }) => done(explainHandshake(error, config, name)));
    // A server that hangs up right after a TLS 1.3 handshake, before a byte is exchanged, refused the client's
    // certificate without saying so (some servers send no alert).
    socket.once('close', () =>
      done(
        !secured
          ? `${config.address} closed the connection during the TLS handshake`
          : config.tls?.certFile
            ? `the server hung up right after the handshake: it did not accept the client certificate temporal.tls.certFile ${config.tls.certFile}, which must be signed by a CA the server trusts for clients`
            : 'the server hung up right after the handshake: it requires a client certificate; set temporal.tls.certFile and temporal.tls.keyFile',
      ),
    );
  });
}

/**
 * The error to show for a failed connection to Temporal: with TLS configured, what the handshake says was wrong
 * and which field to change; otherwise (or when the handshake is fine) the SDK's own error.
 */
export async function explainTemporalConnectError(error: unknown, config: TemporalConfig): Promise<unknown> {
  if (!config.tls) return error;
  const diagnosis = await diagnoseTemporalTls(config);
  if (diagnosis === undefined) return error;
  return new TemporalConnectionError(`cannot connect to Temporal at ${config.address} over TLS: ${diagnosis}`, { cause: error });
}
