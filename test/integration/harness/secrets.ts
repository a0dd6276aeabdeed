import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';

/**
 * Looking for secrets where they must never be: workflow histories and the worker's log. A leak shows as a PEM
 * marker, as any base64 line of a certificate or key the run used, or as the value of a secret the test wrote.
 */

/** Markers of PEM material of any kind. */
const PEM_MARKERS = ['-----BEGIN', 'PRIVATE KEY-----', 'CERTIFICATE-----'];

/** Every certificate and key file under `root` (the sandbox's PKI and the nodes' host paths), recursively. */
export function pemFilesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile() && /\.(key|crt|pem)$/.test(name)) found.push(path);
    }
  };
  walk(root);
  return found;
}

/** The base64 lines of a PEM file: what would show if its content leaked, whatever the surrounding encoding. */
export function pemBody(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length >= 40 && !line.startsWith('-----'));
}

/** What of `secrets` (and any PEM marker) shows in `text`, each named once: empty when nothing leaked. */
export function leaksIn(text: string, secrets: readonly { what: string; value: string }[]): string[] {
  const leaks = PEM_MARKERS.filter((marker) => text.includes(marker)).map((marker) => `PEM marker "${marker}"`);
  for (const secret of secrets) if (text.includes(secret.value)) leaks.push(secret.what);
  return [...new Set(leaks)];
}

/** The history of every workflow the Temporal namespace holds (every run), as JSON text with the workflow named. */
export async function everyHistory(client: Client): Promise<{ workflow: string; text: string }[]> {
  const histories: { workflow: string; text: string }[] = [];
  for await (const execution of client.workflow.list()) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    histories.push({ workflow: `${execution.type} ${execution.workflowId} ${execution.runId}`, text: JSON.stringify(history) });
  }
  return histories;
}
