import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';

/**
 * A TLS front for a plain-TCP server, as a Temporal frontend configured for mTLS would present itself: it serves
 * `cert` (ALPN h2, for gRPC), requires a client certificate signed by `clientCa`, refuses any other, and pipes the
 * decrypted bytes to `upstream`. The Temporal CLI's dev server has no TLS flags; this stands in front of it.
 */
export interface TlsTerminator {
  /** host:port to dial. */
  address: string;
  /** Handshakes refused so far, with Node's reason (for a failing test's message). */
  refused: string[];
  /** Subjects of the client certificates accepted so far. */
  accepted: string[];
  stop(): Promise<void>;
}

export async function startTlsTerminator(options: {
  upstream: string;
  cert: string;
  key: string;
  clientCa: string;
  host?: string;
}): Promise<TlsTerminator> {
  const [upstreamHost, upstreamPort] = splitHostPort(options.upstream);
  const refused: string[] = [];
  const accepted: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(
    {
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      ca: readFileSync(options.clientCa),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client: TLSSocket) => {
      accepted.push(String(client.getPeerCertificate().subject?.CN ?? '?'));
      const backend = connect(upstreamPort, upstreamHost);
      sockets.add(client).add(backend);
      const close = (): void => {
        client.destroy();
        backend.destroy();
      };
      client.on('error', close).on('close', close);
      backend.on('error', close).on('close', close);
      client.pipe(backend).pipe(client);
    },
  );
  server.on('tlsClientError', (error) => refused.push(error.message));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the TLS terminator has no port');
  return {
    address: `${host}:${address.port}`,
    refused,
    accepted,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
