import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyTlsFailure, EtcdTlsError, EtcdUnavailableError, isDefinitiveTlsFailure, tlsFailureMessage, type TlsFailure } from '../../../src/etcd/errors';
import { EtcdGateway, loadEtcdTls, type EtcdTls } from '../../../src/etcd/gateway';
import { selfSignedCa, signedLeaf } from '../../../src/sandbox/pki';

/**
 * What the guardian says when a TLS handshake with etcd fails. The texts are the ones grpc-js (under etcd3) and
 * node:https really produce for each failure, captured against etcd 3.4 with client-certificate authentication.
 */

const grpc = (cause: string): string => `14 UNAVAILABLE: No connection established. Last error: ${cause}. Resolution note: `;
const OPENSSL_BAD_CERTIFICATE =
  '803CC8B2397F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n';

describe('recognising a TLS failure in an error text', () => {
  it.each<[string, string, TlsFailure | undefined]>([
    ['a CA that did not sign the server certificate (grpc-js)', grpc('Error: unable to verify the first certificate'), { kind: 'server-untrusted', reason: 'unable to verify the first certificate' }],
    ['a CA that did not sign the server certificate (node:https)', 'unable to verify the first certificate', { kind: 'server-untrusted', reason: 'unable to verify the first certificate' }],
    ['a self-signed server certificate', grpc('Error: self-signed certificate'), { kind: 'server-untrusted', reason: 'self-signed certificate' }],
    ['a chain to an unknown root', 'self signed certificate in certificate chain', { kind: 'server-untrusted', reason: 'self signed certificate in certificate chain' }],
    ['a missing intermediate', 'unable to get local issuer certificate', { kind: 'server-untrusted', reason: 'unable to get local issuer certificate' }],
    [
      'a certificate that does not name the address',
      grpc("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.99.3 is not in the cert's list: 127.0.99.1"),
      { kind: 'server-name-mismatch', reason: "Hostname/IP does not match certificate's altnames: IP: 127.0.99.3 is not in the cert's list: 127.0.99.1" },
    ],
    ['an expired server certificate', 'certificate has expired', { kind: 'server-certificate-invalid', reason: 'certificate has expired' }],
    [
      'a client certificate the member refuses (grpc-js, with its timestamp)',
      `14 UNAVAILABLE: No connection established. Last error: ${OPENSSL_BAD_CERTIFICATE} (2026-11-25T02:26:55.301Z). Resolution note: `,
      { kind: 'client-certificate-refused', reason: 'sslv3 alert bad certificate (SSL alert number 42)' },
    ],
    ['no client certificate at all (node:https)', OPENSSL_BAD_CERTIFICATE, { kind: 'client-certificate-refused', reason: 'sslv3 alert bad certificate (SSL alert number 42)' }],
    ['a TLS 1.3 server that requires one', 'error:0A00045C:SSL routines::tlsv13 alert certificate required:SSL alert number 116', { kind: 'client-certificate-refused', reason: 'tlsv13 alert certificate required (SSL alert number 116)' }],
    ['a key that does not belong to the certificate', 'error:05800074:x509 certificate routines::key values mismatch', { kind: 'client-material-invalid', reason: 'error:05800074:x509 certificate routines::key values mismatch' }],
    [
      'a member that closes the handshake (restarting, or plain http)',
      grpc('Error: Client network socket disconnected before secure TLS connection was established'),
      { kind: 'handshake-interrupted', reason: 'Client network socket disconnected before secure TLS connection was established' },
    ],
    ['a refused connection', grpc('Error: connect ECONNREFUSED 127.0.99.9:2379'), undefined],
    ['a plaintext dial that fails', grpc('Failed to connect (2026-11-25T02:26:55.308Z)'), undefined],
    ['a timeout', 'member list at https://127.20.0.1:2379 timed out after 1000 ms', undefined],
    ['a refusal by etcd itself', 'etcdserver: unhealthy cluster', undefined],
  ])('%s', (_name, text, expected) => {
    expect(classifyTlsFailure(text)).toEqual(expected);
  });

  it.each<[TlsFailure['kind'], boolean]>([
    ['server-untrusted', true],
    ['server-name-mismatch', true],
    ['server-certificate-invalid', true],
    ['client-certificate-refused', true],
    ['client-material-invalid', true],
    ['handshake-interrupted', false],
  ])('treats %s as definitive (no retry mends it): %s', (kind, definitive) => {
    expect(isDefinitiveTlsFailure({ kind, reason: 'r' })).toBe(definitive);
  });
});

describe('the sentence an operator reads', () => {
  const files = { caFile: '/etc/guardian/ca.crt', certFile: '/etc/guardian/client.crt', keyFile: '/etc/guardian/client.key' };
  const endpoint = 'https://127.20.0.1:2379';

  it.each<[TlsFailure, string]>([
    [
      { kind: 'server-untrusted', reason: 'unable to verify the first certificate' },
      "etcd https://127.20.0.1:2379: TLS certificate not trusted by /etc/guardian/ca.crt: unable to verify the first certificate; tls.caFile must be the CA that signed the members' server certificates",
    ],
    [
      { kind: 'server-name-mismatch', reason: "Hostname/IP does not match certificate's altnames: IP: 127.20.0.1 is not in the cert's list: 127.20.0.2" },
      "etcd https://127.20.0.1:2379: TLS certificate does not name the address dialled: Hostname/IP does not match certificate's altnames: IP: 127.20.0.1 is not in the cert's list: 127.20.0.2; the member's server certificate needs it as a subjectAltName",
    ],
    [
      { kind: 'server-certificate-invalid', reason: 'certificate has expired' },
      'etcd https://127.20.0.1:2379: TLS certificate rejected: certificate has expired; the member needs a valid server certificate',
    ],
    [
      { kind: 'client-certificate-refused', reason: 'sslv3 alert bad certificate (SSL alert number 42)' },
      "etcd https://127.20.0.1:2379 refused the client certificate /etc/guardian/client.crt: sslv3 alert bad certificate (SSL alert number 42); it must be signed by a CA in the member's --trusted-ca-file",
    ],
    [
      { kind: 'client-material-invalid', reason: 'key values mismatch' },
      'etcd https://127.20.0.1:2379: the TLS files cannot be used (CA /etc/guardian/ca.crt, client certificate /etc/guardian/client.crt, key /etc/guardian/client.key): key values mismatch',
    ],
    [
      { kind: 'handshake-interrupted', reason: 'Client network socket disconnected before secure TLS connection was established' },
      'etcd https://127.20.0.1:2379: TLS handshake did not complete: Client network socket disconnected before secure TLS connection was established (a member that is restarting, or one that serves plain http on this port)',
    ],
  ])('for %j', (failure, message) => {
    expect(tlsFailureMessage(endpoint, failure, files)).toBe(message);
  });

  it('describes the CA when the file is not known', () => {
    expect(tlsFailureMessage(endpoint, { kind: 'server-untrusted', reason: 'self-signed certificate' })).toBe(
      "etcd https://127.20.0.1:2379: TLS certificate not trusted by the configured CA: self-signed certificate; tls.caFile must be the CA that signed the members' server certificates",
    );
  });
});

describe("the gateway's failures over TLS", () => {
  let dir: string;
  let tls: EtcdTls;
  const a = 'https://127.20.0.1:2379';
  const b = 'https://127.20.0.2:2379';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
    const ca = await selfSignedCa(dir, 'ca', 'test CA');
    const client = await signedLeaf(dir, 'client', ca, '/CN=etcd-guardian', 'clientAuth');
    tls = loadEtcdTls({ caFile: ca.cert, certFile: client.cert, keyFile: client.key });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A gateway whose calls fail at each endpoint with the given text. */
  async function failingAt(texts: Record<string, string>, withTls = true): Promise<unknown> {
    const gateway = new EtcdGateway({ endpoints: Object.keys(texts), timeoutMs: 1000, ...(withTls ? { tls } : {}) });
    try {
      return await gateway.firstAnswer('member list', (_client, endpoint) => Promise.reject(new Error(texts[endpoint] ?? '?'))).then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      gateway.close();
    }
  }

  it('keeps the paths it loaded, so that a failure can name them', () => {
    expect(tls.files).toEqual({ caFile: join(dir, 'ca.crt'), certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') });
    expect(tls.ca.toString('utf8')).toContain('-----BEGIN CERTIFICATE-----');
    expect(readFileSync(join(dir, 'client.key'), 'utf8')).toContain('PRIVATE KEY');
  });

  const hint = "tls.caFile must be the CA that signed the members' server certificates";

  it('throws a non-retryable EtcdTlsError naming the endpoints and the CA, once, when every endpoint distrusts the server alike', async () => {
    const c = 'https://127.20.0.3:2379';
    const untrusted = grpc('Error: unable to verify the first certificate');
    const error = await failingAt({ [a]: untrusted, [b]: untrusted, [c]: untrusted });
    expect(error).toBeInstanceOf(EtcdTlsError);
    expect(error).toMatchObject({
      code: 'ETCD_TLS',
      retryable: false,
      kind: 'server-untrusted',
      message: `member list: etcd ${a}, ${b}, ${c}: TLS certificate not trusted by ${join(dir, 'ca.crt')}: unable to verify the first certificate; ${hint}`,
    });
  });

  it('says each different reason once', async () => {
    const error = await failingAt({ [a]: grpc('Error: unable to verify the first certificate'), [b]: OPENSSL_BAD_CERTIFICATE });
    expect(error).toBeInstanceOf(EtcdTlsError);
    expect((error as EtcdTlsError).message).toBe(
      `member list: etcd ${a}: TLS certificate not trusted by ${join(dir, 'ca.crt')}: unable to verify the first certificate; ${hint}; ` +
        `etcd ${b} refused the client certificate ${join(dir, 'client.crt')}: sslv3 alert bad certificate (SSL alert number 42); it must be signed by a CA in the member's --trusted-ca-file`,
    );
  });

  it('stays a retryable EtcdUnavailableError, each endpoint explained, when one endpoint is merely down', async () => {
    const error = await failingAt({ [a]: grpc('Error: unable to verify the first certificate'), [b]: grpc('Error: connect ECONNREFUSED 127.20.0.2:2379') });
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect(error).toMatchObject({
      retryable: true,
      failures: [
        { endpoint: a, error: `etcd ${a}: TLS certificate not trusted by ${join(dir, 'ca.crt')}: unable to verify the first certificate; ${hint}` },
        { endpoint: b, error: grpc('Error: connect ECONNREFUSED 127.20.0.2:2379').trim() },
      ],
    });
  });

  it('retries an interrupted handshake: a restarting member does that', async () => {
    const error = await failingAt({ [a]: grpc('Error: Client network socket disconnected before secure TLS connection was established') });
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect((error as EtcdUnavailableError).message).toContain(`etcd ${a}: TLS handshake did not complete`);
  });

  it('leaves errors alone when the gateway does not speak TLS', async () => {
    const error = await failingAt({ [a]: 'unable to verify the first certificate' }, false);
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect((error as EtcdUnavailableError).failures).toEqual([{ endpoint: a, error: 'unable to verify the first certificate' }]);
  });

  it('fails at once, naming the files, when the key does not belong to the certificate', async () => {
    const other = await signedLeaf(dir, 'other', await selfSignedCa(dir, 'other-ca', 'other CA'), '/CN=other', 'clientAuth');
    const mismatched: EtcdTls = { ...tls, key: readFileSync(other.key), files: { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'client.crt'), keyFile: other.key } };
    const gateway = new EtcdGateway({ endpoints: [a], timeoutMs: 1000, tls: mismatched });
    try {
      const error = await gateway.memberList().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EtcdTlsError);
      const prefix = `member list: etcd ${a}: the TLS files cannot be used (CA ${join(dir, 'ca.crt')}, client certificate ${join(dir, 'client.crt')}, key ${other.key}): `;
      expect((error as EtcdTlsError).message.startsWith(prefix)).toBe(true);
      expect((error as EtcdTlsError).message.slice(prefix.length)).toMatch(/key values mismatch/);
    } finally {
      gateway.close();
    }
  });
});
