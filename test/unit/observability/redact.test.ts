import { scrubSecrets } from '../../../src/observability/redact';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQ...\n-----END PRIVATE KEY-----\n';

describe('scrubSecrets', () => {
  it("leaves out an activity's task token and keeps the attributes a reader needs", () => {
    const meta = { taskToken: 'CiQ2YjM...', activityType: 'removeMember', workflowId: 'migrate-main', attempt: 2, isLocal: false };
    expect(scrubSecrets(meta)).toEqual({ activityType: 'removeMember', workflowId: 'migrate-main', attempt: 2, isLocal: false });
  });

  it.each([
    ['a TLS option object', { tls: { clientCertPair: { crt: 'x', key: 'y' }, serverRootCACertificate: 'z', serverNameOverride: 'temporal' } }, { tls: { serverNameOverride: 'temporal' } }],
    ['an API key and a password', { apiKey: 'k', password: 'p', user: 'u' }, { user: 'u' }],
    ['an authorization header', { headers: { Authorization: 'Bearer abc', accept: 'json' } }, { headers: { accept: 'json' } }],
    ['PEM text under any name', { detail: PEM, path: '/etc/etcd/pki/ca.crt' }, { detail: '[PEM redacted]', path: '/etc/etcd/pki/ca.crt' }],
    ['certificate bytes', { material: Buffer.from(PEM) }, { material: `[${Buffer.byteLength(PEM)} bytes]` }],
    ['PEM text in a list', { chain: ['a', PEM] }, { chain: ['a', '[PEM redacted]'] }],
  ])('removes %s', (_case, meta, expected) => {
    expect(scrubSecrets(meta)).toEqual(expected);
  });

  it('keeps the paths of certificate files: a path is not a secret', () => {
    expect(scrubSecrets({ caFile: '/ca.crt', certFile: '/c.crt', keyFile: '/c.key' })).toEqual({ caFile: '/ca.crt', certFile: '/c.crt', keyFile: '/c.key' });
  });

  it('keeps errors and dates as they are, for the logger to serialize', () => {
    const error = new Error('boom');
    const at = new Date('2026-01-01T00:00:00Z');
    const scrubbed = scrubSecrets({ error, at });
    expect(scrubbed['error']).toBe(error);
    expect(scrubbed['at']).toBe(at);
  });

  it('survives a cycle and stops at a depth, and shows a shared object twice', () => {
    const shared = { n: 1 };
    const looped: Record<string, unknown> = { name: 'loop', shared, again: shared };
    looped['self'] = looped;
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    expect(scrubSecrets(looped)).toEqual({ name: 'loop', shared: { n: 1 }, again: { n: 1 }, self: '[circular]' });
    expect(JSON.stringify(scrubSecrets(deep))).toBe('{"a":{"b":{"c":{"d":{"e":{"f":"[nested too deep]"}}}}}}');
  });

  it('does not change the object it was given', () => {
    const meta = { taskToken: 't', nested: { key: 'k' } };
    scrubSecrets(meta);
    expect(meta).toEqual({ taskToken: 't', nested: { key: 'k' } });
  });
});
