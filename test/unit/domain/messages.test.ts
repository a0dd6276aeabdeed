import { hostPortOf, plainCause, unwrapCause } from '../../../src/domain/messages';

describe('plainCause: a failure in the words an operator uses', () => {
  it.each([
    ['a refused connection through grpc-js', '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.20.0.2:2379 (2026-11-30T10:00:00.000Z). Resolution note: ', 'connection refused'],
    ['a refused HTTP connection', 'connect ECONNREFUSED 127.0.1.2:2379', 'connection refused'],
    ['a reset connection', 'read ECONNRESET', 'connection reset'],
    ['an unreachable host', 'connect EHOSTUNREACH 10.0.0.9:2379', 'host unreachable'],
    ['an unreachable network', 'connect ENETUNREACH 10.0.0.9:2379', 'network unreachable'],
    ['a name that does not resolve', 'getaddrinfo ENOTFOUND etcd-1.etcd.svc', 'host name etcd-1.etcd.svc not found'],
    ['a TCP connect timeout', 'connect ETIMEDOUT 10.0.0.9:2379', 'connection timed out'],
    ['the gateway\'s own deadline', 'status of http://127.20.0.2:2379 timed out after 2000 ms', 'no answer within 2000 ms'],
    ['gRPC\'s deadline', '4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s', 'no answer before the deadline'],
    ['etcd\'s deadline', 'context deadline exceeded', 'no answer before the deadline'],
    ['a closed socket', 'socket hang up', 'connection closed before the answer'],
    ['an etcd refusal keeps etcd\'s words, without the gRPC code', '14 UNAVAILABLE: etcdserver: unhealthy cluster', 'etcdserver: unhealthy cluster'],
    ['nothing said', undefined, 'no answer'],
    ['an empty text', '  ', 'no answer'],
  ])('%s', (_name, raw, expected) => {
    expect(plainCause(raw)).toBe(expected);
  });

  it('keeps an unknown cause, and cuts a very long one visibly', () => {
    expect(plainCause('member list: etcd https://127.20.0.1:2379: TLS certificate not trusted by /tmp/ca.pem: unable to verify the first certificate')).toBe(
      'member list: etcd https://127.20.0.1:2379: TLS certificate not trusted by /tmp/ca.pem: unable to verify the first certificate',
    );
    const long = plainCause(`Error: ${'a'.repeat(400)}`);
    expect(long).toHaveLength(300);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('unwrapCause', () => {
  it('strips the gRPC wrapper, the timestamp, the resolution note and the Error prefixes', () => {
    expect(unwrapCause('14 UNAVAILABLE: No connection established. Last error: Error: Error [ERR_X]: something broke (2026-11-30T10:00:00.000Z). Resolution note: retry')).toBe('something broke');
  });
});

describe('hostPortOf', () => {
  it.each([
    ['https://127.20.0.2:2379', '127.20.0.2:2379'],
    ['http://etcd-0.etcd.svc:2379/', 'etcd-0.etcd.svc:2379'],
    ['not a url', 'not a url'],
    [undefined, undefined],
    ['', undefined],
  ])('%s -> %s', (url, expected) => {
    expect(hostPortOf(url)).toBe(expected);
  });
});
