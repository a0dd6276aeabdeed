import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * A small HTTP(S) client for the sandbox's own probes and control calls. Node's fetch cannot take a custom CA
 * without undici's private API, and the sandbox's servers use a CA of their own.
 */

/** A request. */
export interface HttpRequest {
  url: string;
  method?: string;
  /** Serialized as JSON when present. */
  body?: unknown;
  /** Bearer token. */
  token?: string;
  /** PEM of the CA to trust (HTTPS). */
  ca?: string;
  /** PEM of a client certificate and its key, for servers that ask for one (HTTPS). */
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

/** A response with its body as text. */
export interface HttpResponse {
  status: number;
  text: string;
}

/** Sends a request; rejects on connection errors and on timeout, never on an HTTP status. */
export function httpCall(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.token !== undefined) headers['authorization'] = `Bearer ${req.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const call = send(
      url,
      { method: req.method ?? 'GET', headers, ca: req.ca, cert: req.cert, key: req.key, timeout: req.timeoutMs ?? 5_000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    call.on('timeout', () => call.destroy(new Error(`${req.method ?? 'GET'} ${req.url} timed out`)));
    call.on('error', reject);
    call.end(body);
  });
}
