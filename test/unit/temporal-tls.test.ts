import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { diagnoseTemporalTls, explainTemporalConnectError, temporalTls, TemporalConnectionError, TemporalTlsError } from '../../worker/temporal-connection';

const base = { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'etcd-guardian' };

describe('TLS of the Temporal connection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA');
  writeFileSync(join(dir, 'client.pem'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');

  it('is off when the config has no tls section', () => {
    expect(temporalTls(base)).toBeUndefined();
  });

  it('trusts the system CAs when the section is empty', () => {
    expect(temporalTls({ ...base, tls: {} })).toEqual({});
  });

  it('loads the CA and the client pair for mTLS', () => {
    expect(temporalTls({ ...base, tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') } })).toEqual({
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
  });

  it('checks the server certificate against serverName when one is given', () => {
    expect(temporalTls({ ...base, tls: { caFile: join(dir, 'ca.pem'), serverName: 'temporal.example.com' } })).toEqual({
      serverRootCACertificate: Buffer.from('CA'),
      serverNameOverride: 'temporal.example.com',
    });
  });

  it('names the field and the path of a file it cannot read', () => {
    expect(() => temporalTls({ ...base, tls: { caFile: join(dir, 'missing.pem') } })).toThrow(TemporalTlsError);
    expect(() => temporalTls({ ...base, tls: { caFile: join(dir, 'missing.pem') } })).toThrow(`temporal.tls.caFile ${join(dir, 'missing.pem')} cannot be read`);
  });
});

describe('why a TLS connection to Temporal fails', () => {
  it('leaves the SDK error alone when TLS is not configured', async () => {
    const error = new Error('14 UNAVAILABLE: No connection established');
    expect(await explainTemporalConnectError(error, base)).toBe(error);
  });

  it('says that nothing answers at the address, naming temporal.address', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const config = { ...base, address: `127.0.0.1:${port}`, tls: {} };
    const explained = await explainTemporalConnectError(new Error('14 UNAVAILABLE'), config);
    expect(explained).toBeInstanceOf(TemporalConnectionError);
    expect((explained as Error).message).toBe(`cannot connect to Temporal at 127.0.0.1:${port} over TLS: nothing answers at temporal.address 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('says that a plain-TCP server does not speak TLS', async () => {
    // What a TLS client meets at a Temporal frontend without TLS: an HTTP/2 server's first bytes, not a handshake.
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await diagnoseTemporalTls({ ...base, address: `127.0.0.1:${port}`, tls: {} })).toBe(
        `127.0.0.1:${port} does not speak TLS: remove temporal.tls, or point temporal.address at the TLS port`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
