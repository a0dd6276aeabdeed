import { plainCause, unwrapCause } from '../domain/messages';
/** Errors of the etcd gateway, each with a code a workflow can branch on. */

/** No endpoint of the cluster answered in time; retrying later may succeed. */
export class EtcdUnavailableError extends Error {
  readonly code = 'ETCD_UNAVAILABLE';
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly failures: { endpoint: string; error: string }[],
  ) {
    super(`${operation}: no etcd endpoint answered (${failures.map((f) => `${f.endpoint}: ${plainCause(f.error)}`).join('; ') || 'no endpoints given'})`);
    this.name = 'EtcdUnavailableError';
  }

  /** Each endpoint's raw error, for the failure's details (the message says each cause in a few words). */
  get evidence(): { operation: string; failures: { endpoint: string; error: string }[] } {
    return { operation: this.operation, failures: this.failures };
  }
}

/**
 * Members answered but no leader is agreed (an election under way, a partition, a member cut off from its peers):
 * what any one of them says about the membership may be stale. Retrying later may succeed.
 */
export class EtcdNoLeaderError extends Error {
  readonly code = 'ETCD_NO_LEADER';
  readonly retryable = true;
  constructor(
    readonly operation: string,
    /** What each endpoint said about the leader, or why it did not answer. */
    readonly answers: { endpoint: string; said: string }[],
  ) {
    super(`${operation}: no leader is agreed by a majority of the members that answered (${answers.map((a) => `${a.endpoint}: ${a.said}`).join('; ')})`);
    this.name = 'EtcdNoLeaderError';
  }
}

/**
 * TLS material is missing or unreadable, or every endpoint refused the handshake for a reason no retry can mend (a
 * CA that did not sign the server certificates, a client certificate the members do not accept): a configuration
 * problem, not worth retrying.
 */
export class EtcdTlsError extends Error {
  readonly code = 'ETCD_TLS';
  readonly retryable = false;
  constructor(
    message: string,
    /** What the handshake said, when the error comes from one. */
    readonly kind?: TlsFailureKind,
  ) {
    super(message);
    this.name = 'EtcdTlsError';
  }
}

/** etcd answered and refused the request; the code says why, and retrying only helps for a failed precondition. */
export class EtcdRequestError extends Error {
  constructor(
    readonly code:
      | 'ETCD_NOT_FOUND'
      | 'ETCD_FAILED_PRECONDITION'
      | 'ETCD_ALREADY_EXISTS'
      | 'ETCD_INVALID_ARGUMENT'
      | 'ETCD_PERMISSION_DENIED'
      /** A revision compacted away, or not reached yet. */
      | 'ETCD_OUT_OF_RANGE'
      /** "database space exceeded": a NOSPACE alarm is raised, and every write is refused until it is disarmed. */
      | 'ETCD_NO_SPACE',
    readonly operation: string,
    readonly endpoint: string,
    detail: string,
  ) {
    super(`${operation} at ${endpoint}: ${detail}`);
    this.name = 'EtcdRequestError';
  }

  /**
   * "Not yet": a learner that has not caught up, a second learner while one is pending, a revision not reached yet, a
   * write refused until the NOSPACE alarm is disarmed.
   */
  get retryable(): boolean {
    return this.code === 'ETCD_FAILED_PRECONDITION' || this.code === 'ETCD_OUT_OF_RANGE' || this.code === 'ETCD_NO_SPACE';
  }
}

/** What a failed TLS handshake says about the setup, seen from the client. */
export type TlsFailureKind =
  /** The server's certificate does not chain to the CA the client trusts. */
  | 'server-untrusted'
  /** The certificate is trusted but does not name the address that was dialled. */
  | 'server-name-mismatch'
  /** The certificate is expired, not yet valid, or not meant for a server. */
  | 'server-certificate-invalid'
  /** The server refused the client certificate, or wanted one and got none. */
  | 'client-certificate-refused'
  /** The TLS files cannot be used: one is not PEM, or the key does not belong to the certificate. */
  | 'client-material-invalid'
  /** The connection closed mid-handshake: a member restarting, or one that does not speak TLS on that port. */
  | 'handshake-interrupted';

/** A TLS failure recognised in an error's text, with the library's reason cut down to its words. */
export interface TlsFailure {
  kind: TlsFailureKind;
  reason: string;
}

/** Phrases of Node's TLS stack and OpenSSL, as grpc-js and node:https pass them on, by what they mean. */
const TLS_PATTERNS: ReadonlyArray<readonly [RegExp, TlsFailureKind]> = [
  [/Hostname\/IP does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/i, 'server-name-mismatch'],
  [/unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate|certificate signature failure|invalid CA certificate/i, 'server-untrusted'],
  [/certificate has expired|certificate is not yet valid|unsupported certificate purpose/i, 'server-certificate-invalid'],
  [/alert (bad certificate|unknown ca|certificate required|certificate unknown|unsupported certificate|certificate expired|certificate revoked|access denied)/i, 'client-certificate-refused'],
  [/key values mismatch|no start line|bad base64 decode|PEM routines|unsupported private key/i, 'client-material-invalid'],
  [/disconnected before secure TLS connection was established|wrong version number|packet length too long/i, 'handshake-interrupted'],
];

/**
 * The words that matter in a TLS error's text: the cause grpc-js wraps (see unwrapCause), with OpenSSL's own prefix
 * ("<hex>:error:<code>:SSL routines:<function>:<reason>:<source file>:<line>:SSL alert number 42") reduced to its reason.
 */
function tlsReason(text: string): string {
  let reason = unwrapCause(text);
  const openssl = /SSL routines:[^:]*:([^:]+):.*?(SSL alert number \d+)?$/.exec(reason);
  if (openssl?.[1] !== undefined) reason = openssl[2] === undefined ? openssl[1] : `${openssl[1]} (${openssl[2]})`;
  return reason.replace(/\.$/, '').trim();
}

/** The TLS failure behind an error's text, or undefined when the text is about something else. Pure. */
export function classifyTlsFailure(text: string): TlsFailure | undefined {
  const match = TLS_PATTERNS.find(([pattern]) => pattern.test(text));
  return match === undefined ? undefined : { kind: match[1], reason: tlsReason(text) };
}

/** A failure that no retry can mend: the certificates or the config must change. */
export function isDefinitiveTlsFailure(failure: TlsFailure): boolean {
  return failure.kind !== 'handshake-interrupted';
}

/** The TLS files the message names; absent ones are described rather than left blank. */
export interface TlsFileNames {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * One sentence an operator can act on: the endpoint (or several, comma-separated, that failed alike), what went wrong
 * with which file, the reason, and what to do. Pure.
 */
export function tlsFailureMessage(endpoint: string, failure: TlsFailure, files: TlsFileNames = {}): string {
  const ca = files.caFile ?? 'the configured CA';
  const cert = files.certFile ?? 'the configured client certificate';
  switch (failure.kind) {
    case 'server-untrusted':
      return `etcd ${endpoint}: TLS certificate not trusted by ${ca}: ${failure.reason}; tls.caFile must be the CA that signed the members' server certificates`;
    case 'server-name-mismatch':
      return `etcd ${endpoint}: TLS certificate does not name the address dialled: ${failure.reason}; the member's server certificate needs it as a subjectAltName`;
    case 'server-certificate-invalid':
      return `etcd ${endpoint}: TLS certificate rejected: ${failure.reason}; the member needs a valid server certificate`;
    case 'client-certificate-refused':
      return `etcd ${endpoint} refused the client certificate ${cert}: ${failure.reason}; it must be signed by a CA in the member's --trusted-ca-file`;
    case 'client-material-invalid':
      // OpenSSL does not say which file it could not parse: name all three.
      return `etcd ${endpoint}: the TLS files cannot be used (CA ${ca}, client certificate ${cert}, key ${files.keyFile ?? 'the configured key'}): ${failure.reason}`;
    case 'handshake-interrupted':
      return `etcd ${endpoint}: TLS handshake did not complete: ${failure.reason} (a member that is restarting, or one that serves plain http on this port)`;
  }
}
