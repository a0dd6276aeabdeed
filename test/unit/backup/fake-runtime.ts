import { setImmediate } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import type { ActivityDeps, ClusterRuntime } from '../../../activities/runtime';
import { writeBackupFile, type BackupFiles } from '../../../src/backup/write';
import type { EndpointStatus, EtcdAlarm, EtcdMemberInfo } from '../../../src/etcd/gateway';
import type { EtcdPort } from '../../../src/etcd/port';
import type { NodeObservation } from '../../../src/domain/observation';
import type { PodInfo } from '../../../src/kube/convert';
import type { NodeUsage } from '../../../src/kube/gateway';
import type { KubePort } from '../../../src/kube/port';
import { aPolicy } from '../../builders';

/**
 * A one-member etcd cluster that answers every question the backup activity asks, and streams `stream` as its
 * snapshot through the real file writer, so that what reaches the disk is what the gateway would write.
 */

/** The member's client endpoint, where the snapshot comes from. */
export const ENDPOINT = 'http://127.0.8.1:2379';
/** The revision the fake etcd reports. */
export const REVISION = 42;

const member: EtcdMemberInfo = { id: '1', name: 'etcd-0', peerURLs: ['http://127.0.8.1:2380'], clientURLs: [ENDPOINT], isLearner: false };

const notUsed = (what: string) => (): Promise<never> => Promise.reject(new Error(`${what} is not used by the backup`));

/** How the fake cluster behaves. */
export interface FakeClusterOptions {
  /** The cluster's name; `main` unless told. */
  name?: string;
  directory: string;
  required: boolean;
  retain?: { count: number; maxAge: number };
  /** The snapshot's chunks; a generator that throws is a stream that breaks. */
  stream?: () => AsyncIterable<Uint8Array>;
  /** The file system the snapshot is written through, to inject disk errors. */
  files?: BackupFiles;
}

async function* snapshotBytes(): AsyncGenerator<Uint8Array> {
  for (const part of ['etcd ', 'snapshot']) {
    await setImmediate();
    yield Buffer.from(part);
  }
}

class FakeEtcd implements EtcdPort {
  constructor(private readonly options: FakeClusterOptions) {}
  memberList = (): Promise<{ members: EtcdMemberInfo[]; endpoint: string }> => Promise.resolve({ members: [{ ...member }], endpoint: ENDPOINT });
  endpointStatus = (endpoint: string): Promise<EndpointStatus> =>
    Promise.resolve({ endpoint, reachable: true, memberId: '1', leaderId: '1', raftTerm: 2, raftIndex: 10, raftAppliedIndex: 10, dbSizeBytes: 13 });
  alarms = (): Promise<EtcdAlarm[]> => Promise.resolve([]);
  metricsText = (): Promise<string> => Promise.resolve('');
  revision = (): Promise<number> => Promise.resolve(REVISION);
  async snapshot(endpoint: string, path: string): Promise<{ revision: number; bytes: number; sha256: string }> {
    const stream = (this.options.stream ?? snapshotBytes)();
    const written = await writeBackupFile(path, stream, { source: `etcd ${endpoint}`, ...(this.options.files ? { files: this.options.files } : {}) });
    return { revision: REVISION, ...written };
  }
  addLearner = notUsed('addLearner');
  removeMember = notUsed('removeMember');
  promoteMember = notUsed('promoteMember');
  moveLeader = notUsed('moveLeader');
  hashKv = notUsed('hashKv');
  keyCount = notUsed('keyCount');
  localRevision = notUsed('localRevision');
  defragment = notUsed('defragment');
  compact = notUsed('compact');
  disarmAlarm = notUsed('disarmAlarm');
  put = notUsed('put');
  close(): void {}
}

class FakeKube implements KubePort {
  listNodes = (): Promise<NodeObservation[]> => Promise.resolve([]);
  listPods = (): Promise<PodInfo[]> =>
    Promise.resolve([{ name: 'etcd-0', nodeName: 'node-0', hostIP: '127.0.8.1', phase: 'Running', ready: true, restartCount: 0, terminating: false }]);
  listPodObjects = (): Promise<V1Pod[]> => Promise.resolve([]);
  getPod = (): Promise<undefined> => Promise.resolve(undefined);
  createPod = notUsed('createPod');
  deletePod = notUsed('deletePod');
  getClaim = notUsed('getClaim');
  deleteClaim = notUsed('deleteClaim');
  getVolume = notUsed('getVolume');
  listVolumes = notUsed('listVolumes');
  createVolume = notUsed('createVolume');
  deleteVolume = notUsed('deleteVolume');
  nodeUsage = (): Promise<NodeUsage> => Promise.resolve({ ok: false, error: 'no metrics API' });
}

/** The runtime of a cluster (`main` unless told), one healthy member, backups as `options` say. */
export function aBackupCluster(options: FakeClusterOptions): ClusterRuntime {
  const backup = { required: options.required, directory: options.directory, ...(options.retain ? { retain: options.retain } : {}) };
  return {
    name: options.name ?? 'main',
    namespace: 'etcd',
    podSelector: 'app=etcd',
    addressing: { mode: 'host-network' },
    clientPort: 2379,
    peerPort: 2380,
    scheme: 'http',
    topology: { rackLabel: 'rack', domainLabel: 'zone' },
    policy: aPolicy(),
    seedEndpoints: [],
    etcd: new FakeEtcd(options),
    kube: new FakeKube(),
    histograms: new Map(),
    metricsFigures: new Map(),
    // The worker hands over the config's whole backup section, retention included.
    backup,
    memberLabel: 'etcd-guardian.io/member',
  };
}

/** Activity deps for the given clusters: no Temporal context needed for sleeping or heartbeating. */
export function depsWith(...runtimes: ClusterRuntime[]): ActivityDeps {
  return {
    clusters: new Map(runtimes.map((r) => [r.name, r])),
    now: () => new Date(),
    effects: { sleep: () => Promise.resolve(), heartbeat: () => undefined },
  };
}

/** A logger that keeps what it is told, for asserting warnings. */
export class RecordingLogger implements Logger {
  readonly lines: { level: LogLevel; message: string }[] = [];
  log(level: LogLevel, message: string, _meta?: LogMetadata): void {
    this.lines.push({ level, message });
  }
  trace = (message: string): void => this.log('TRACE', message);
  debug = (message: string): void => this.log('DEBUG', message);
  info = (message: string): void => this.log('INFO', message);
  warn = (message: string): void => this.log('WARN', message);
  error = (message: string): void => this.log('ERROR', message);
  /** The messages logged at `level`. */
  at(level: LogLevel): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}
