import { z } from 'zod';
import { byteSize, parseByteSize, SIZE_EXPECTED } from '../../../src/config/size';
import { etcdPodManifest } from '../../../src/sandbox/etcd-cluster';
import { parseEtcdQuota, resolveOptions } from '../../../src/sandbox/options';

describe('sizes as operators write them', () => {
  it.each<[unknown, number | undefined]>([
    ['100MiB', 100 * 1024 ** 2],
    ['64MB', 64e6],
    ['2GiB', 2 * 1024 ** 3],
    ['1.5 GiB', 1.5 * 1024 ** 3],
    ['512kib', 512 * 1024],
    ['4096', 4096],
    [4096, 4096],
    ['64 parsecs', undefined],
    ['-1MiB', undefined],
    [-5, undefined],
    [1.5, undefined],
    ['', undefined],
    [null, undefined],
  ])('%j reads %j bytes', (input, bytes) => expect(parseByteSize(input)).toBe(bytes));

  it('a size field names what it expects, and its minimum', () => {
    const schema = z.object({ quota: byteSize(1) });
    const bad = schema.safeParse({ quota: 'lots' });
    expect(bad.success ? [] : bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([`quota: ${SIZE_EXPECTED}`]);
    const zero = schema.safeParse({ quota: 0 });
    expect(zero.success ? [] : zero.error.issues.map((i) => i.message)).toEqual(['expected a size of at least 1 bytes']);
  });
});

describe('the sandbox\'s --etcd-quota', () => {
  it('is passed to every member as --quota-backend-bytes', () => {
    expect(resolveOptions({ stateDir: '/tmp/s', etcdQuotaBytes: parseEtcdQuota('64MiB') }).etcdQuotaBytes).toBe(64 * 1024 ** 2);
    const member = { name: 'etcd-0', node: { name: 'node-0' }, clientUrl: 'http://127.0.0.1:2379', peerUrl: 'http://127.0.0.1:2380' };
    const pod = etcdPodManifest(member as Parameters<typeof etcdPodManifest>[0], [member as Parameters<typeof etcdPodManifest>[0]], 't', false, '3.6.16', 64 * 1024 ** 2);
    expect(pod.spec?.containers[0]?.args).toContain(`--quota-backend-bytes=${64 * 1024 ** 2}`);
    expect(etcdPodManifest(member as Parameters<typeof etcdPodManifest>[0], [member as Parameters<typeof etcdPodManifest>[0]], 't').spec?.containers[0]?.args?.some((a) => a.startsWith('--quota-backend-bytes'))).toBe(false);
  });

  it.each([
    ['64 parsecs', `invalid --etcd-quota "64 parsecs": ${SIZE_EXPECTED}`],
    ['1MiB', 'invalid --etcd-quota 1048576: choose at least 8388608 bytes (8MiB), such as 64MiB'],
  ])('refuses %j before anything starts', (value, message) => {
    expect(() => parseEtcdQuota(value)).toThrow(message);
  });
});
