import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { noop } from 'cockatiel';
import { Command } from 'commander';
import { Etcd3 } from 'etcd3';
import pino from 'pino';
import { collectStatus, renderStatus } from '../../src/cli/status-command';
import { startMigration } from '../../src/cli/migrate-command';
import { registerSandboxCommand, sandboxOptions, type SandboxFlags } from '../../src/cli/sandbox-command';
import { parseConfig } from '../../src/config/load';
import { withTimeout } from '../../src/errors';
import { EtcdTlsError } from '../../src/etcd/errors';
import { selfSignedCa } from '../../src/sandbox/pki';
import { applyMonitorSchedule, runningMonitor, scheduleIdFor } from '../../src/temporal/schedules';
import { installGuardianRuntime } from '../../src/observability/runtime';
import { buildClusterRuntimes } from '../../worker/runtimes';
import { createGuardianWorker, sourceWorkflows } from '../../worker/worker';
import type { MonitorStatus } from '../../workflows/monitor';
import { configDocumentFor, startGuardian, type GuardianHarness } from './harness/guardian';
import { finished } from './harness/migration';
import { everyHistory, leaksIn, pemBody, pemFilesUnder } from './harness/secrets';
import { until } from './harness/wait';

/**
 * The guardian against an etcd cluster that speaks only TLS and wants a client certificate on every connection
 * (client and peer ports). It monitors and migrates with the certificate paths of its config, refuses nothing a
 * correct config allows, says plainly when its CA did not sign the members' certificates, and never lets a
 * certificate or key into a workflow history.
 */

jest.setTimeout(300_000);

const INTERVAL_MS = 2000;
const KEYS = 40;

let h: GuardianHarness;
let tls: { caFile: string; certFile: string; keyFile: string };
let monitorId: string;
let migration: WorkflowHandle | undefined;

function tlsClient(hosts: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...hosts],
    dialTimeout: 2000,
    credentials: { rootCertificate: readFileSync(tls.caFile), certChain: readFileSync(tls.certFile), privateKey: readFileSync(tls.keyFile) },
    faultHandling: { host: () => noop, global: noop },
  });
}

/** GET a member's /health in plain http, or in https with the given trust and (optionally) client certificate. */
function getHealth(url: string, options: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = url.startsWith('https:') ? httpsGet(`${url}/health`, { ...options, timeout: 3000 }, onResponse) : httpGet(`${url}/health`, { timeout: 3000 }, onResponse);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** The worker's log: the guardian's own runtime and JSON logger, as `etcd-guardian worker` installs them, into a file. */
const workerLog = join(mkdtempSync(join(tmpdir(), 'etcd-tls-worker-log-')), 'worker.log');

/** A secret-like value an application stores in etcd: it reaches the snapshot, and must reach nothing else. */
const APP_SECRET = { key: 'app/secrets/db-password', value: `s3cr3t-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}` };

async function monitorStatus(client: Client, workflowId: string): Promise<MonitorStatus> {
  return client.workflow.getHandle(workflowId).query<MonitorStatus>('status');
}

beforeAll(async () => {
  // Debug level: every line the worker could write is in the file the leak check reads.
  installGuardianRuntime({ logLevel: 'debug', metricsPort: 0 }, pino.destination({ dest: workerLog, sync: true }));
  h = await startGuardian({ etcdTls: true, tuning: { interval: `${INTERVAL_MS}ms`, endpointTimeout: '1s', dryRun: true } });
  if (!h.sandbox.info.etcd.tls) throw new Error('the sandbox was started with etcdTls but reports no etcd TLS files');
  tls = h.sandbox.info.etcd.tls;
  await applyMonitorSchedule(h.client, {
    cluster: 'main',
    taskQueue: h.config.temporal.taskQueue,
    intervalMs: INTERVAL_MS,
    continueAsNewEvery: 100,
    everyMs: 60_000,
    catchupWindowMs: 60_000,
  });
  monitorId = await until('the schedule to start the monitor', () => runningMonitor(h.client, 'main'));
}, 180_000);

afterAll(async () => {
  await h?.client.schedule.getHandle(scheduleIdFor('main')).delete().catch(() => undefined);
  if (monitorId) await h.client.workflow.getHandle(monitorId).terminate('test over').catch(() => undefined);
  await h?.stop();
});

it.each([
  [['--etcd-tls'], true],
  [[], false],
])('`sandbox up %j` asks for etcd TLS: %s', (args, expected) => {
  const program = new Command();
  registerSandboxCommand(program, { cliEntry: () => 'main.js' });
  const up = program.commands.find((c) => c.name() === 'sandbox')?.commands.find((c) => c.name() === 'up');
  if (!up) throw new Error('no `sandbox up` command');
  up.parseOptions(args);
  expect(sandboxOptions(up.opts<SandboxFlags>()).etcdTls).toBe(expected);
});

it('runs every member with https URLs and hands the guardian certificate paths, never their content', async () => {
  expect(h.sandbox.info.etcd.clientUrls).toHaveLength(3);
  for (const member of h.sandbox.info.etcd.members) {
    expect(member.clientUrl).toMatch(/^https:\/\/127\.\d+\.0\.\d+:2379$/);
    expect(member.peerUrl).toMatch(/^https:\/\/127\.\d+\.0\.\d+:2380$/);
  }
  expect(h.config.clusters[0]?.tls).toEqual(tls);
  expect(readFileSync(tls.caFile, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
  expect(JSON.stringify(h.sandbox.info)).not.toContain('-----BEGIN');
  // The sandbox's own health check speaks TLS too.
  const status = await h.sandbox.status();
  expect(status.members.map((m) => [m.name, m.ready, m.healthy])).toEqual([
    ['etcd-0', true, true],
    ['etcd-1', true, true],
    ['etcd-2', true, true],
  ]);
});

it('refuses plaintext and connections without a client certificate, and serves one that has it', async () => {
  const url = h.sandbox.info.etcd.clientUrls[0] ?? '';
  const ca = readFileSync(tls.caFile);
  await expect(getHealth(url.replace(/^https:/, 'http:'))).rejects.toThrow();
  await expect(getHealth(url, { ca })).rejects.toThrow(/alert (bad certificate|certificate required)/);
  const plain = new Etcd3({ hosts: [url.replace(/^https:/, 'http:')], dialTimeout: 1000, faultHandling: { host: () => noop, global: noop } });
  try {
    await expect(withTimeout(plain.cluster.memberList({ linearizable: false }), 5000, 'plaintext member list')).rejects.toThrow();
  } finally {
    plain.close();
  }
  const answered = await getHealth(url, { ca, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });
  expect(answered.status).toBe(200);
  expect(JSON.parse(answered.body)).toMatchObject({ health: 'true' });
});

it('monitors the cluster through TLS: healthy, three voters, no findings, as `etcd-guardian status` shows it', async () => {
  const seen = await until('a monitor cycle through TLS', async () => {
    const s = await monitorStatus(h.client, monitorId);
    return s.cycles >= 2 ? s : undefined;
  });
  expect(seen.health).toBe('healthy');
  expect(seen.assessment?.quorum).toMatchObject({ voters: 3, healthyVoters: 3, faultTolerance: 1 });
  expect(seen.assessment?.findings).toEqual([]);
  expect(seen.members.map((m) => [m.name, m.healthy])).toEqual([
    ['etcd-0', true],
    ['etcd-1', true],
    ['etcd-2', true],
  ]);
  const text = renderStatus(await collectStatus(h.client, ['main']));
  expect(text).toMatch(/^main: HEALTHY {2}voters 3\/3 {2}fault tolerance 1/);
});

it('migrates a follower to a named node over TLS; the new member serves TLS and every key is intact', async () => {
  const seeds = h.sandbox.info.etcd.clientUrls;
  const client = tlsClient(seeds);
  let follower: { name: string; node: string };
  try {
    for (let i = 0; i < KEYS; i++) await client.put(`tls-test/key-${i}`).value(`value-${i}`);
    // In the snapshot the migration takes first; the leak check below looks for it everywhere else.
    await client.put(APP_SECRET.key).value(APP_SECRET.value);
    const [status, list] = await Promise.all([client.maintenance.status(), client.cluster.memberList({ linearizable: true })]);
    const name = list.members.find((m) => !m.isLearner && m.ID !== status.leader && m.name)?.name ?? '';
    const node = h.sandbox.info.etcd.members.find((m) => m.name === name)?.node ?? '';
    follower = { name, node };
  } finally {
    client.close();
  }
  // node-(i+3) shares node-i's rack, which the follower leaves: a feasible target however the racks are laid out.
  const targetNode = `node-${Number(follower.node.replace('node-', '')) + 3}`;
  const target = h.sandbox.info.nodes.find((n) => n.name === targetNode);
  migration = await startMigration(h.client, h.config.temporal.taskQueue, { cluster: 'main', member: follower.name, targetNode, reason: 'TLS drill' });
  const { result } = await finished(migration);
  expect(result).toMatchObject({ member: follower.name, from: follower.node, to: targetNode, strategy: 'surge', newMember: 'etcd-3' });
  expect(result.verified?.voters).toHaveLength(3);

  const after = tlsClient(h.sandbox.info.etcd.members.filter((m) => m.name !== follower.name).map((m) => m.clientUrl));
  try {
    const members = (await after.cluster.memberList({ linearizable: true })).members;
    expect(members.map((m) => m.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2', 'etcd-3'].filter((n) => n !== follower.name));
    const newcomer = members.find((m) => m.name === 'etcd-3');
    expect(newcomer?.clientURLs).toEqual([`https://${target?.address ?? '?'}:2379`]);
    expect(newcomer?.peerURLs).toEqual([`https://${target?.address ?? '?'}:2380`]);
    const values = await after.getAll().prefix('tls-test/').strings();
    expect(Object.keys(values)).toHaveLength(KEYS);
    for (let i = 0; i < KEYS; i++) expect(values[`tls-test/key-${i}`]).toBe(`value-${i}`);
  } finally {
    after.close();
  }
  const status = await until('the new member to be ready and healthy', async () => {
    const s = await h.sandbox.status();
    return s.members.length === 3 && s.members.every((m) => m.ready && m.healthy) ? s : undefined;
  });
  expect(status.members.find((m) => m.name === 'etcd-3')).toMatchObject({ node: targetNode, clientUrl: `https://${target?.address ?? '?'}:2379` });
});

it("keeps certificates and keys out of the histories of the migration and the monitor, and out of the sandbox's log", async () => {
  if (!migration) throw new Error('the migration test did not run');
  const secrets = [tls.caFile, tls.certFile, tls.keyFile].flatMap(pemBody);
  expect(secrets.length).toBeGreaterThan(0);
  for (const history of [await migration.fetchHistory(), await h.client.workflow.getHandle(monitorId).fetchHistory()]) {
    const text = JSON.stringify(history);
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toContain('-----BEGIN');
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of secrets) expect(text).not.toContain(line);
  }
  const log = readFileSync(join(h.sandbox.info.logsDir, 'sandbox.log'), 'utf8');
  expect(log).toContain(tls.certFile);
  expect(log).not.toContain('-----BEGIN');
});

it("keeps every certificate, key and stored secret of the run out of every workflow history and the worker's log, and the snapshot private", async () => {
  if (!migration) throw new Error('the migration test did not run');
  // Every certificate and key the run made: the CA, the guardian's and the health check's, every node's server pair.
  const files = pemFilesUnder(h.sandbox.info.stateDir);
  expect(files.filter((f) => f.endsWith('.key')).length).toBeGreaterThanOrEqual(h.sandbox.info.nodes.length + 2);
  const secrets = [...files.flatMap((file) => pemBody(file).map((value) => ({ what: `a line of ${file}`, value }))), { what: `the value of ${APP_SECRET.key}`, value: APP_SECRET.value }];

  // The check can fail: a log line carrying a key, or the stored secret, is caught.
  const keyFile = files.find((f) => f.endsWith('.key')) ?? '';
  expect(leaksIn(`{"msg":"tls","key":${JSON.stringify(readFileSync(keyFile, 'utf8'))}}`, secrets)).toEqual(expect.arrayContaining(['PEM marker "-----BEGIN"', `a line of ${keyFile}`]));
  expect(leaksIn(`{"msg":"value ${APP_SECRET.value}"}`, secrets)).toEqual([`the value of ${APP_SECRET.key}`]);

  const histories = await everyHistory(h.client);
  // The monitor (and its continued runs), the migration, the wrong-CA suite's runs when they ran first: all of them.
  expect(histories.map((hst) => hst.workflow.split(' ')[0])).toEqual(expect.arrayContaining(['monitorCluster', 'migrateMember']));
  expect(histories.filter((hst) => leaksIn(hst.text, secrets).length > 0).map((hst) => `${hst.workflow}: ${leaksIn(hst.text, secrets).join(', ')}`)).toEqual([]);

  const log = readFileSync(workerLog, 'utf8');
  // The log is the worker's: its migration steps are there, with the certificate paths it was given.
  expect(log).toContain('"step":"backup-snapshot"');
  expect(log).toContain('verify-quorum');
  expect(leaksIn(log, secrets)).toEqual([]);

  // The snapshot the migration took holds the secret: it and its directory are the worker's alone.
  const backup = (await finished(migration)).result.backup;
  if (!backup?.path) throw new Error('the migration took no snapshot');
  expect(readFileSync(backup.path).includes(Buffer.from(APP_SECRET.value))).toBe(true);
  expect([statSync(backup.path).mode & 0o777, statSync(dirname(backup.path)).mode & 0o777]).toEqual([0o600, 0o700]);
});

describe('a guardian whose CA did not sign the members\' certificates', () => {
  const cluster = 'wrong-ca';
  const taskQueue = 'etcd-guardian-wrong-ca';
  let wrongCa: string;
  let worker: { worker: Worker; connection: NativeConnection; client: Client; running: Promise<void>; stopWatching: () => void } | undefined;

  beforeAll(async () => {
    wrongCa = (await selfSignedCa(mkdtempSync(join(tmpdir(), 'wrong-ca-')), 'wrong-ca', 'some other CA')).cert;
  });

  afterAll(async () => {
    await h.client.schedule.getHandle(scheduleIdFor(cluster)).delete().catch(() => undefined);
    const id = await runningMonitor(h.client, cluster).catch(() => undefined);
    if (id) await h.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    if (worker) {
      worker.worker.shutdown();
      await worker.running;
      worker.stopWatching();
      await worker.connection.close();
      await worker.client.connection.close();
    }
  });

  function wrongConfig() {
    const document = configDocumentFor(h.sandbox, { interval: `${INTERVAL_MS}ms`, endpointTimeout: '1s', dryRun: true });
    const temporal = document['temporal'] as Record<string, unknown>;
    const [main] = document['clusters'] as Array<Record<string, unknown>>;
    return parseConfig({ ...document, temporal: { ...temporal, taskQueue }, clusters: [{ ...main, name: cluster, tls: { ...tls, caFile: wrongCa } }] }, 'wrong-ca test');
  }

  it('fails a member list at once with an EtcdTlsError naming every endpoint, the CA file and the reason', async () => {
    const runtime = buildClusterRuntimes(wrongConfig()).get(cluster);
    if (!runtime) throw new Error('no runtime');
    // The members as they are now: an earlier test moved one.
    const endpoints = (await h.sandbox.status()).members.map((m) => m.clientUrl).slice(0, 2);
    expect(endpoints).toHaveLength(2);
    try {
      const failure = await runtime.etcd.memberList(endpoints).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(EtcdTlsError);
      const reason = 'unable to verify the first certificate';
      const hint = "tls.caFile must be the CA that signed the members' server certificates";
      expect((failure as EtcdTlsError).message).toBe(`member list: etcd ${endpoints.join(', ')}: TLS certificate not trusted by ${wrongCa}: ${reason}; ${hint}`);
      expect((failure as EtcdTlsError).kind).toBe('server-untrusted');
    } finally {
      runtime.etcd.close();
    }
  });

  it('shows the reason in its monitor\'s findings and in `etcd-guardian status`', async () => {
    const config = wrongConfig();
    const created = await createGuardianWorker(config, { source: sourceWorkflows() });
    worker = { ...created, running: created.worker.run() };
    await applyMonitorSchedule(h.client, { cluster, taskQueue, intervalMs: INTERVAL_MS, continueAsNewEvery: 100, everyMs: 60_000, catchupWindowMs: 60_000 });
    const id = await until('the schedule to start the wrong-CA monitor', () => runningMonitor(h.client, cluster));
    // The members as they are now: the migration test moved one of them (whichever was a follower).
    const members = (await h.sandbox.status()).members.map((m) => m.name);
    const seen = await until(`a finding about every member (${members.join(', ')})`, async () => {
      const s = await monitorStatus(h.client, id);
      const about = new Set(s.assessment?.findings.filter((f) => f.kind === 'member-unreachable').map((f) => f.member));
      return members.every((m) => about.has(m)) ? s : undefined;
    });
    const expected = `TLS certificate not trusted by ${wrongCa}: unable to verify the first certificate`;
    const unreachable = seen.assessment?.findings.filter((f) => f.kind === 'member-unreachable') ?? [];
    expect(unreachable.map((f) => f.member).sort()).toEqual([...members].sort());
    for (const finding of unreachable) expect(finding.message).toContain(expected);
    const text = renderStatus(await collectStatus(h.client, [cluster]));
    // No member list, so the members are the pods' stand-ins, with no client URL to name.
    expect(text).toContain(`member ${members[0] ?? '?'} does not answer: member list: etcd https://`);
    expect(text).toContain(expected);
  });
});
