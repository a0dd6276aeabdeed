/**
 * Keeps secrets out of log lines. The SDK attaches attributes to its log lines (and, at debug level, whole option
 * objects); an activity's attributes include its task token, which completes the activity for whoever holds it.
 * Pure.
 */

/** Attribute names whose values are secret however they look; the attribute is left out of the line. */
const SECRET_KEYS = /^(task_?token|token|access_?token|api_?key|password|passphrase|secret|authorization|private_?key|key|cert|crt|client_?cert_?pair|server_?root_?ca_?certificate)$/i;

const PEM = '-----BEGIN';
const MAX_DEPTH = 6;

/** A copy of `meta` without secret attributes: PEM text, key bytes and tokens are replaced or left out. */
export function scrubSecrets(meta: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return scrubRecord(meta, 0, new Set([meta]));
}

// `ancestors` holds the objects on the path from the root: an object met again there is a cycle.
function scrubRecord(record: Readonly<Record<string, unknown>>, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (SECRET_KEYS.test(key)) continue;
    clean[key] = scrubValue(value, depth + 1, ancestors);
  }
  return clean;
}

function scrubValue(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return value.includes(PEM) ? '[PEM redacted]' : value;
  if (typeof value !== 'object' || value === null) return value;
  // Certificates and keys travel as bytes: their length is all a reader needs.
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error || value instanceof Date) return value;
  if (ancestors.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  ancestors.add(value);
  try {
    return Array.isArray(value)
      ? value.map((item: unknown) => scrubValue(item, depth + 1, ancestors))
      : scrubRecord(value as Record<string, unknown>, depth, ancestors);
  } finally {
    ancestors.delete(value);
  }
}
