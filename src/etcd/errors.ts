/** Errors of the etcd gateway, each with a code a workflow can branch on. */

/** No endpoint of the cluster answered in time; retrying later may succeed. */
export class EtcdUnavailableError extends Error {
  readonly code = 'ETCD_UNAVAILABLE';
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly failures: { endpoint: string; error: string }[],
  ) {
    super(`${operation}: no etcd endpoint answered (${failures.map((f) => `${f.endpoint}: ${f.error}`).join('; ') || 'no endpoints given'})`);
    this.name = 'EtcdUnavailableError';
  }
}

/** TLS material is missing or unreadable: a configuration problem, not worth retrying. */
export class EtcdTlsError extends Error {
  readonly code = 'ETCD_TLS';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'EtcdTlsError';
  }
}

/** etcd answered and refused the request; the code says why, and retrying only helps for a failed precondition. */
export class EtcdRequestError extends Error {
  constructor(
    readonly code: 'ETCD_NOT_FOUND' | 'ETCD_FAILED_PRECONDITION' | 'ETCD_ALREADY_EXISTS' | 'ETCD_INVALID_ARGUMENT' | 'ETCD_PERMISSION_DENIED',
    readonly operation: string,
    readonly endpoint: string,
    detail: string,
  ) {
    super(`${operation} at ${endpoint}: ${detail}`);
    this.name = 'EtcdRequestError';
  }

  /** A learner that has not caught up, or a second learner while one is pending: etcd says "not yet". */
  get retryable(): boolean {
    return this.code === 'ETCD_FAILED_PRECONDITION';
  }
}
