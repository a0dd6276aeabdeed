/**
 * Failures as a person says them. Node, grpc-js and etcd3 wrap a cause in layers ("14 UNAVAILABLE: No connection
 * established. Last error: Error: connect ECONNREFUSED 127.20.0.2:2379 (2026-…). Resolution note: "); a headline
 * (a finding, a failed step, `status`) carries the cause in a few words, and the raw text stays in the evidence.
 * Pure.
 */

/** The longest cause kept in a headline; the evidence has the rest. */
const MAX_CAUSE_CHARS = 300;

/** Known causes, by what they mean to an operator. The first match wins. */
const CAUSES: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [/\bECONNREFUSED\b/, () => 'connection refused'],
  [/\bECONNRESET\b/, () => 'connection reset'],
  [/\bEHOSTUNREACH\b/, () => 'host unreachable'],
  [/\bENETUNREACH\b/, () => 'network unreachable'],
  [/\bgetaddrinfo (?:ENOTFOUND|EAI_AGAIN) (\S+)/, (m) => `host name ${m[1] ?? '?'} not found`],
  [/\b(?:connect )?ETIMEDOUT\b/, () => 'connection timed out'],
  [/\btimed out after (\d+) ms\b/, (m) => `no answer within ${m[1] ?? '?'} ms`],
  [/\bDEADLINE_EXCEEDED\b|\bcontext deadline exceeded\b|\bDeadline exceeded\b/i, () => 'no answer before the deadline'],
  [/\bsocket hang up\b/, () => 'connection closed before the answer'],
  [/\bEPIPE\b/, () => 'connection closed while sending'],
];

/** The innermost cause of a wrapped gRPC/Node error text, without codes, timestamps and resolution notes. */
export function unwrapCause(raw: string): string {
  let text = raw.replace(/\s+/g, ' ').trim();
  const last = /Last error: (.*)$/.exec(text);
  if (last?.[1] !== undefined) text = last[1];
  return text
    .replace(/\.? ?Resolution note:.*$/, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/^(?:Error(?: \[[A-Z_]+\])?: )+/, '')
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/\.$/, '')
    .trim();
}

/** "connection refused", "no answer within 2000 ms", or the unwrapped text when it is none of the known causes. */
export function plainCause(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return 'no answer';
  for (const [pattern, say] of CAUSES) {
    const m = pattern.exec(raw);
    if (m) return say(m);
  }
  const text = unwrapCause(raw);
  if (text === '') return 'no answer';
  return text.length <= MAX_CAUSE_CHARS ? text : `${text.slice(0, MAX_CAUSE_CHARS - 1).trimEnd()}…`;
}

/** "127.20.0.2:2379" from "https://127.20.0.2:2379": where a person would point a client. */
export function hostPortOf(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  try {
    const u = new URL(url);
    return u.host || url;
  } catch {
    return url;
  }
}
