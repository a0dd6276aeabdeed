import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalTls, TemporalTlsError } from '../../worker/temporal-connection';

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
