import { createConnection, createServer, type Server } from 'node:net';
import pino from 'pino';
import type { KubeClients } from '../../../src/sandbox/kube';
import { ServiceProxy } from '../../../src/sandbox/service-proxy';

/** The sandbox's kube-proxy stand-in: each new connection goes to a Ready member pod, and a gone one is passed over. */

const HOST = '127.0.0.1';

/** A server that answers every line with its own name: which backend a connection reached. */
async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.on('data', () => socket.write(name)));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

/** Asks through the proxy which backend answers. */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port }, () => socket.write('who?\n'));
    socket.once('data', (data) => {
      resolve(data.toString());
      socket.destroy();
    });
    socket.once('close', () => resolve('(closed)'));
    socket.once('error', reject);
  });
}

async function freePort(): Promise<number> {
  const { server, port } = await backend('probe');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function podAt(ip: string, ready: boolean, terminating = false) {
  return { metadata: terminating ? { deletionTimestamp: new Date() } : {}, status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } };
}

async function proxyOver(pods: unknown[], targetPort: number): Promise<{ proxy: ServiceProxy; port: number }> {
  const kube = { core: { listNamespacedPod: () => Promise.resolve({ items: pods }) } } as unknown as KubeClients;
  const port = await freePort();
  const proxy = await ServiceProxy.start({ kube, namespace: 'etcd', selector: 'app=etcd', host: HOST, port, targetPort, logger: pino({ enabled: false }), refreshMs: 60_000 });
  return { proxy, port };
}

it('routes to Ready pods only, as the EndpointSlice controller lists them: not an unready one, not a terminating one', async () => {
  const { proxy } = await proxyOver([podAt('127.0.0.3', true), podAt('127.0.0.2', false), podAt('127.0.0.4', true, true), podAt('127.0.0.1', true)], 2379);
  try {
    expect(proxy.currentBackends).toEqual(['127.0.0.1:2379', '127.0.0.3:2379']);
  } finally {
    await proxy.stop();
  }
});

it('joins a client to a Ready pod, byte for byte', async () => {
  const live = await backend('live');
  const { proxy, port } = await proxyOver([podAt(HOST, true)], live.port);
  try {
    expect(await ask(port)).toBe('live');
  } finally {
    await proxy.stop();
    await new Promise<void>((resolve) => live.server.close(() => resolve()));
  }
});

it('closes the client when no Ready pod accepts, as a refused connection, so that it reconnects', async () => {
  const { proxy, port } = await proxyOver([podAt(HOST, true)], await freePort());
  try {
    expect(await ask(port)).toBe('(closed)');
  } finally {
    await proxy.stop();
  }
});
