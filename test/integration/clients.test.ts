import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { startMigration } from '../../src/cli/migrate-command';
import { endpointsConfigMapName } from '../../src/domain/endpoints';
import { withTimeout } from '../../src/errors';
import { kubeClients } from '../../src/sandbox/kube';
import { startGuardian, type GuardianHarness } from './harness/guardian';
import { currentEndpoints } from './harness/invariants';
import { LongLivedWriter } from './harness/long-lived-client';
import { finished } from './harness/migration';
import { until } from './harness/wait';

/**
 * Clients keep finding the cluster: every migration gives the member a new node and, with host networking, a new
 * address. A client configured the documented way (the cluster's Service address) before three migrations that move
 * every original member still writes after them, over the one connection it keeps; a client configured with the
 * original members' addresses reaches none of them; and the published endpoints name the members that are there.
 */

jest.setTimeout(900_000);

let h: GuardianHarness;

beforeAll(async () => {
  h = await startGuardian();
}, 300_000);

afterAll(async () => {
  await h?.stop();
});

it('a long-lived client on the Service address writes through three migrations that move every original member, and counts what it saw fail', async () => {
  const original = [...h.sandbox.info.etcd.clientUrls];
  const serviceUrl = h.sandbox.info.etcd.serviceUrl;
  if (serviceUrl === undefined) throw new Error('the sandbox publishes no Service address for its etcd cluster');
  const client = new LongLivedWriter(serviceUrl, 'clients/long-lived-');
  client.start(40);
  try {
    await until('the long-lived client to be acknowledged', () => Promise.resolve(client.acked.length >= 10 ? true : undefined));
    const windows: { member: string; strategy: string; seconds: number; acked: number; failed: number; errors: string[] }[] = [];
    // Each original member in turn, so that whichever member the client's connection landed on is moved away.
    for (const [member, strategy] of [['etcd-0', 'replace'], ['etcd-1', 'surge'], ['etcd-2', 'surge']] as const) {
      const handle = await startMigration(h.client, h.config.temporal.taskQueue, { cluster: 'main', member, strategy, reason: `clients test: move ${member}` });
      const { from, to } = await finished(handle);
      windows.push({ member, strategy, seconds: (to - from) / 1000, ...client.window(from, to) });
    }
    const afterThird = client.acked.length;
    await until('the long-lived client to write after the third migration', () => Promise.resolve(client.acked.length >= afterThird + 20 ? true : undefined), { timeoutMs: 30_000 });
    // The figures a reader of the test log wants: what this one client saw fail during each migration.
    console.log(`long-lived client on ${serviceUrl}, per migration:\n${windows.map((w) => `  ${w.strategy} ${w.member} (${w.seconds.toFixed(1)} s): ${w.acked} acked, ${w.failed} failed${w.errors.length ? ` (${w.errors.join('; ')})` : ''}`).join('\n')}`);

    // Every original member is gone: none of their addresses is a member's any more.
    const now = await currentEndpoints([serviceUrl]);
    expect(now).toHaveLength(3);
    expect(now.filter((url) => original.includes(url))).toEqual([]);

    // A client configured with the members' addresses before the migrations reaches none of them.
    const stale = new Etcd3({ hosts: original, dialTimeout: 1000, faultHandling: { host: () => noop, global: noop } });
    try {
      await expect(withTimeout(stale.put('clients/stale').value('x').exec(), 5000, 'put through the original addresses')).rejects.toThrow();
    } finally {
      stale.close();
    }

    // The published endpoints are the members that are there, for clients and tooling that read them.
    const kube = kubeClients(h.sandbox.info.kubeconfig);
    const published = await kube.core.readNamespacedConfigMap({ namespace: h.sandbox.info.etcd.namespace, name: endpointsConfigMapName('main') });
    expect((published.data?.['endpoints'] ?? '').split(',').sort()).toEqual([...now].sort());
    expect(published.metadata?.labels).toMatchObject({ 'etcd-guardian.io/cluster': 'main', 'app.kubernetes.io/managed-by': 'etcd-guardian' });

    // Every key the long-lived client had acknowledged before the read is there. The client still writes: a key
    // acknowledged while the read runs may be after the revision it read at, so the list is taken first.
    const acked = [...client.acked];
    const reader = new Etcd3({ hosts: now });
    try {
      const keys = await reader.getAll().prefix('clients/long-lived-').keys();
      expect(acked.filter((k) => !keys.includes(k))).toEqual([]);
    } finally {
      reader.close();
    }
  } finally {
    await client.stop();
  }
});
