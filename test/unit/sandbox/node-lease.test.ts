import { nodeLeaseManifest } from '../../../src/sandbox/nodes/node-object';

/**
 * The simulated kubelet's Lease at creation. The node lifecycle controller keeps the version of a node's lease its
 * informer gave it, and takes a newer one only when that one's renewTime is after the kept one's: a lease kept
 * without renewTime is never replaced, the node's grace runs out while it renews, and a node that really goes down
 * is never marked Unknown (CI, 2026-12-02: "read version: 305 is not as new as written version: 443").
 */
describe("a simulated node's Lease", () => {
  const node = { name: 'node-4', index: 4, address: '127.20.0.5', rack: 'rack-1', domain: 'zone-1' };
  const lease = nodeLeaseManifest(node, new Date('2026-12-02T01:31:40.502Z'));

  it('is created already renewed, at the time of its creation, in microseconds', () => {
    expect(lease.spec?.renewTime).toBe('2026-12-02T01:31:40.502000Z');
    expect(lease.spec?.acquireTime).toBe('2026-12-02T01:31:40.502000Z');
  });

  it('is held by its node for 40 s in kube-node-lease, as a kubelet writes it', () => {
    expect(lease.metadata).toEqual({ name: 'node-4', namespace: 'kube-node-lease' });
    expect(lease.spec).toMatchObject({ holderIdentity: 'node-4', leaseDurationSeconds: 40 });
  });
});
