/** Times as the Kubernetes API writes them; apart from the clients, so that pure manifests can use them. */

/** A time as Kubernetes' MicroTime wants it (six fractional digits), for Lease renewTime and acquireTime. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

/** A time as Kubernetes' Time (RFC 3339, seconds). */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
