import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { temporalClient } from '../../src/cli/context';
import { parseConfig } from '../../src/config/load';
import type { GuardianConfig } from '../../src/config/schema';
import { selfSignedCa, signedLeaf, type CertPair } from '../../src/sandbox/pki';
import { createGuardianWorker, sourceWorkflows } from '../../worker/worker';
import { startDevServer, type DevServer } from './harness/temporal-dev-server';
import { startTlsTerminator, type TlsTerminator } from './harness/tls-terminator';

/**
 * mTLS to Temporal, against a real Temporal dev server behind a TLS front that requires and verifies client
 * certificates (the dev server has no TLS flags of its own). With the right CA, client pair and serverName the
 * guardian's worker polls and its client runs a workflow; with a piece missing or wrong, the connection fails with
 * an error that says what was wrong and which temporal.tls field to change.
 */

jest.setTimeout(180_000);

const SERVER_NAME = 'temporal.guardian.test';

let server: DevServer;
let front: TlsTerminator;
let dir: string;
let ca: CertPair;
let client: CertPair;
let intruder: CertPair;
let otherCa: CertPair;
let kubeconfig: string;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // Installed already by another suite in this process: keep it.
  }
  dir = mkdtempSync(join(tmpdir(), 'guardian-mtls-'));
  [ca, otherCa] = await Promise.all([selfSignedCa(dir, 'temporal-ca', 'temporal-test-ca'), selfSignedCa(dir, 'other-ca', 'somebody-else-ca')]);
  const [frontend, worker, stranger] = await Promise.all([
    // By DNS name only: an address by IP needs serverName to be checked at all.
    signedLeaf(dir, 'frontend', ca, '/CN=temporal-frontend', 'serverAuth', [`DNS:${SERVER_NAME}`]),
    signedLeaf(dir, 'worker', ca, '/CN=etcd-guardian-worker', 'clientAuth'),
    signedLeaf(dir, 'intruder', otherCa, '/CN=intruder', 'clientAuth'),
  ]);
  client = worker;
  intruder = stranger;
  server = await startDevServer();
  front = await startTlsTerminator({ upstream: server.address, cert: frontend.cert, key: frontend.key, clientCa: ca.cert });
  // The worker builds its Kubernetes gateway from a kubeconfig; nothing here calls it.
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'none', user: { token: 'unused' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
      'current-context': 'none',
    }),
  );
}, 150_000);

afterAll(async () => {
  await front?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function configWith(tls: Record<string, string>): GuardianConfig {
  return parseConfig(
    {
      temporal: { address: front.address, namespace: server.namespace, taskQueue: `mtls-${Date.now()}`, tls },
      kubernetes: { kubeconfig },
      worker: { metricsPort: 0 },
      clusters: [{ name: 'main', podSelector: 'app=etcd', addressing: { mode: 'host-network' } }],
    },
    'mtls test config',
  );
}

async function connectError(config: GuardianConfig): Promise<string> {
  try {
    const c = await temporalClient(config);
    await c.connection.close();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the connection to fail');
}

it('with the CA, the client pair and the serverName: the worker polls and a workflow runs on it', async () => {
  const config = configWith({ caFile: ca.cert, certFile: client.cert, keyFile: client.key, serverName: SERVER_NAME });
  const { worker, connection, client: workerClient, stopWatching } = await createGuardianWorker(config, { source: sourceWorkflows() });
  const running = worker.run();
  const temporal = await temporalClient(config);
  try {
    // A migration whose input is refused at once: it runs on this worker, over mTLS, and ends with the workflow's own
    // answer, before any activity.
    const handle = await temporal.workflow.start('migrateMember', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `migrate-main-mtls-${Date.now()}`,
      args: [{ cluster: 'main', member: 'etcd-1', strategy: 'sideways', requestedBy: 'mtls-test' }],
    });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toContain('strategy: expected one of auto, replace, surge, got "sideways"');
    const description = await handle.describe();
    expect(description.status.name).toBe('FAILED');
    // Every connection the guardian made went through the TLS front with its client certificate.
    expect(new Set(front.accepted)).toEqual(new Set(['etcd-guardian-worker']));
  } finally {
    worker.shutdown();
    await running;
    stopWatching();
    await temporal.connection.close();
    await workerClient.connection.close();
    await connection.close();
  }
});

it('without a client certificate: refused, and the error says to set certFile and keyFile', async () => {
  const config = configWith({ caFile: ca.cert, serverName: SERVER_NAME });
  const expected = `cannot connect to Temporal at ${front.address} over TLS: the server requires a client certificate: set temporal.tls.certFile and temporal.tls.keyFile`;
  expect(await connectError(config)).toBe(expected);
  await expect(createGuardianWorker(config, { source: sourceWorkflows() })).rejects.toThrow(expected);
});

it('with a client certificate from another CA: refused, naming certFile', async () => {
  const config = configWith({ caFile: ca.cert, certFile: intruder.cert, keyFile: intruder.key, serverName: SERVER_NAME });
  // Node's TLS server hangs up without an alert for a client certificate it does not trust (Go's sends "bad
  // certificate", which reads the same to the operator).
  expect(await connectError(config)).toBe(
    `cannot connect to Temporal at ${front.address} over TLS: the server hung up right after the handshake: it did not accept the client certificate temporal.tls.certFile ${intruder.cert}, which must be signed by a CA the server trusts for clients`,
  );
});

it('with the wrong serverName: refused, naming serverName and the names on the certificate', async () => {
  const config = configWith({ caFile: ca.cert, certFile: client.cert, keyFile: client.key, serverName: 'elsewhere.guardian.test' });
  expect(await connectError(config)).toBe(
    `cannot connect to Temporal at ${front.address} over TLS: temporal.tls.serverName "elsewhere.guardian.test" is not a name on the server's certificate (Host: elsewhere.guardian.test. is not in the cert's altnames: DNS:${SERVER_NAME})`,
  );
});

it('with no serverName for an address by IP: refused, saying to set serverName', async () => {
  const config = configWith({ caFile: ca.cert, certFile: client.cert, keyFile: client.key });
  expect(await connectError(config)).toMatch(/over TLS: the server's certificate is not valid for 127\.0\.0\.1 \(.*\); set temporal\.tls\.serverName to the name it carries$/);
});

it("with a CA that did not sign the server's certificate: refused, naming caFile", async () => {
  const config = configWith({ caFile: otherCa.cert, certFile: client.cert, keyFile: client.key, serverName: SERVER_NAME });
  expect(await connectError(config)).toMatch(
    new RegExp(`over TLS: the server's certificate is not trusted by temporal\\.tls\\.caFile ${otherCa.cert}: .*; temporal\\.tls\\.caFile must be the CA that signed the frontend's certificate$`),
  );
});
