import type { V1Pod } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATA_DIR_GUARD_SCRIPT,
  DATA_DIR_NOT_EMPTY_EXIT,
  GUARD_MARKER,
  GUARD_UID_ENV,
  RECOVERY_SEED_ANNOTATION,
  RESTORE_ENV,
  RESTORE_FAILED_EXIT,
  RESTORE_MARKER,
  RESTORE_SCRIPT,
  RESTORED_FROM_ANNOTATION,
  restoredSeedPod,
  seedPod,
  successorPod,
} from '../../../src/kube/member-pod';

const template: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'etcd-1', namespace: 'etcd', labels: { app: 'etcd', 'etcd-guardian.io/member': 'etcd-1' }, resourceVersion: '42', uid: 'u' },
  spec: {
    nodeName: 'node-1',
    hostNetwork: true,
    containers: [
      {
        name: 'etcd',
        image: 'quay.io/coreos/etcd:v3.4.23',
        command: ['etcd'],
        args: [
          '--name=etcd-1',
          '--data-dir=/var/lib/etcd',
          '--listen-client-urls=http://127.20.0.2:2379',
          '--advertise-client-urls=http://127.20.0.2:2379',
          '--listen-peer-urls=http://127.20.0.2:2380',
          '--initial-advertise-peer-urls=http://127.20.0.2:2380',
          '--initial-cluster=etcd-0=http://127.20.0.1:2380,etcd-1=http://127.20.0.2:2380,etcd-10=http://127.20.0.21:2380',
          '--initial-cluster-state=new',
          '--initial-cluster-token=tok',
        ],
      },
    ],
    volumes: [{ name: 'data', hostPath: { path: '/var/lib/etcd-guardian/main/etcd-1', type: 'DirectoryOrCreate' } }],
  },
  status: { phase: 'Running' },
};

describe('the pod of a successor member', () => {
  const pod = successorPod(template, {
    oldMemberName: 'etcd-1',
    newMemberName: 'etcd-3',
    oldAddress: '127.20.0.2',
    newAddress: '127.20.0.5',
    nodeName: 'node-4',
    initialCluster: 'etcd-0=http://127.20.0.1:2380,etcd-2=http://127.20.0.3:2380,etcd-3=http://127.20.0.5:2380',
    memberLabel: 'etcd-guardian.io/member',
  });

  it('swaps name and address in every flag, joins the existing cluster, and keeps the rest', () => {
    expect(pod.spec?.containers[0]?.args).toEqual([
      '--name=etcd-3',
      '--data-dir=/var/lib/etcd',
      '--listen-client-urls=http://127.20.0.5:2379',
      '--advertise-client-urls=http://127.20.0.5:2379',
      '--listen-peer-urls=http://127.20.0.5:2380',
      '--initial-advertise-peer-urls=http://127.20.0.5:2380',
      '--initial-cluster=etcd-0=http://127.20.0.1:2380,etcd-2=http://127.20.0.3:2380,etcd-3=http://127.20.0.5:2380',
      '--initial-cluster-state=existing',
      '--initial-cluster-token=tok',
    ]);
  });

  it('is bound to the chosen node, named and labelled for the new member, with its own data directory', () => {
    expect(pod.metadata).toEqual({
      name: 'etcd-3',
      namespace: 'etcd',
      labels: { app: 'etcd', 'etcd-guardian.io/member': 'etcd-3' },
      // The data directory its start guard checks before etcd runs.
      annotations: { 'etcd-guardian.io/replaces': 'etcd-1', 'etcd-guardian.io/data-dir': '/var/lib/etcd' },
    });
    expect(pod.spec?.nodeName).toBe('node-4');
    expect(pod.spec?.volumes?.[0]?.hostPath?.path).toBe('/var/lib/etcd-guardian/main/etcd-3');
    expect(pod.status).toBeUndefined();
  });

  it('keeps a reused name but gives the data directory the new member id, so an earlier incarnation\'s data is never picked up', () => {
    const reused = successorPod(template, { oldMemberName: 'etcd-0', newMemberName: 'etcd-1', nodeName: 'node-4', initialCluster: 'etcd-0=x,etcd-1=y', incarnation: '8e9e05c52164694d' });
    expect(reused.metadata?.name).toBe('etcd-1');
    expect(reused.spec?.containers[0]?.args?.[0]).toBe('--name=etcd-1');
    expect(reused.spec?.volumes?.[0]?.hostPath?.path).toBe('/var/lib/etcd-guardian/main/etcd-1-8e9e05c52164694d');
  });

  it('replaces whole tokens only', () => {
    const odd = successorPod(
      { ...template, spec: { ...template.spec!, containers: [{ name: 'etcd', args: ['--x=etcd-10,127.20.0.21,etcd-1'] }] } },
      { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', oldAddress: '127.20.0.2', newAddress: '127.20.0.5', nodeName: 'n', initialCluster: 'c' },
    );
    expect(odd.spec?.containers[0]?.args?.[0]).toBe('--x=etcd-10,127.20.0.21,etcd-3');
  });

  it('adds flags the template lacks and rewrites the two-word form', () => {
    const bare = successorPod(
      { ...template, spec: { ...template.spec!, containers: [{ name: 'etcd', args: ['--name', 'etcd-1'] }] } },
      { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', nodeName: 'n', initialCluster: 'c' },
    );
    expect(bare.spec?.containers[0]?.args).toEqual(['--name=etcd-3', '--initial-cluster=c', '--initial-cluster-state=existing']);
  });
});

/** A kubeadm-style member: a mirror pod, owned by its Node, data in /var/lib/etcd on the host. */
const kubeadmTemplate: V1Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'etcd-cp-1',
    namespace: 'kube-system',
    labels: { component: 'etcd', tier: 'control-plane' },
    annotations: {
      'kubernetes.io/config.mirror': 'a1b2',
      'kubernetes.io/config.hash': 'a1b2',
      'kubernetes.io/config.source': 'file',
      'kubernetes.io/config.seen': '2026-11-30T10:00:00Z',
      'kubeadm.kubernetes.io/etcd.advertise-client-urls': 'https://10.0.0.1:2379',
    },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'cp-1', uid: 'n1', controller: true }],
  },
  spec: {
    nodeName: 'cp-1',
    hostNetwork: true,
    containers: [
      {
        name: 'etcd',
        command: ['etcd', '--name=cp-1', '--data-dir=/var/lib/etcd', '--initial-cluster=cp-1=https://10.0.0.1:2380'],
        volumeMounts: [{ name: 'etcd-data', mountPath: '/var/lib/etcd' }],
      },
    ],
    volumes: [{ name: 'etcd-data', hostPath: { path: '/var/lib/etcd', type: 'DirectoryOrCreate' } }],
  },
};

describe('a successor never passes for what its template was', () => {
  const pod = successorPod(kubeadmTemplate, { oldMemberName: 'cp-1', newMemberName: 'etcd-4', nodeName: 'node-4', initialCluster: 'c' });

  it('drops every kubernetes.io/config.* annotation and the owner references, and keeps the others', () => {
    expect(pod.metadata?.annotations).toEqual({
      'kubeadm.kubernetes.io/etcd.advertise-client-urls': 'https://10.0.0.1:2379',
      'etcd-guardian.io/replaces': 'cp-1',
      'etcd-guardian.io/data-dir': '/var/lib/etcd',
      'etcd-guardian.io/fresh-data-dir': '/var/lib/etcd/etcd-4',
    });
    expect(pod.metadata?.ownerReferences).toBeUndefined();
  });

  it('gets a data directory named after the new member when the template shares /var/lib/etcd', () => {
    expect(pod.spec?.volumes).toEqual([{ name: 'etcd-data', hostPath: { path: '/var/lib/etcd/etcd-4', type: 'DirectoryOrCreate' } }]);
  });

  it('keeps a data directory the swap already named after the new member', () => {
    const sandboxStyle = successorPod(
      { ...template, spec: { ...template.spec!, containers: [{ ...template.spec!.containers[0]!, volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }] }] } },
      { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', nodeName: 'n', initialCluster: 'c' },
    );
    expect(sandboxStyle.spec?.volumes?.[0]?.hostPath?.path).toBe('/var/lib/etcd-guardian/main/etcd-3');
    expect(sandboxStyle.metadata?.annotations?.['etcd-guardian.io/fresh-data-dir']).toBeUndefined();
  });

  it('runs etcd behind a start guard that checks the data directory, with the flags untouched', () => {
    expect(pod.spec?.containers[0]?.command?.slice(0, 6)).toEqual(['sh', '-c', DATA_DIR_GUARD_SCRIPT, 'etcd-data-dir-guard', '/var/lib/etcd', 'etcd']);
    expect(pod.spec?.containers[0]?.env).toEqual([{ name: GUARD_UID_ENV, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }]);
    expect(pod.spec?.containers[0]?.command).toContain('--name=etcd-4');
  });

  it('replaces an earlier successor\'s guard instead of wrapping it twice', () => {
    const again = successorPod(pod, { oldMemberName: 'etcd-4', newMemberName: 'etcd-5', nodeName: 'node-5', initialCluster: 'c' });
    expect(again.spec?.containers[0]?.command?.filter((c) => c === 'sh')).toEqual(['sh']);
    expect(again.spec?.containers[0]?.command?.[5]).toBe('etcd');
  });
});

describe('the start guard', () => {
  const root = mkdtempSync(join(tmpdir(), 'guard-'));
  const run = (dir: string, uid = 'pod-uid-1') =>
    spawnSync('sh', ['-c', DATA_DIR_GUARD_SCRIPT, 'etcd-data-dir-guard', dir, 'echo', 'etcd started'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', [GUARD_UID_ENV]: uid } });

  it.each([
    ['a directory that does not exist yet', 'absent', false],
    ['an empty directory', 'empty', true],
  ])('starts etcd on %s, and marks it with the pod\'s uid', (_what, name, create) => {
    const dir = join(root, name);
    if (create) mkdirSync(dir);
    const result = run(dir);
    expect([result.status, result.stdout]).toEqual([0, 'etcd started\n']);
    expect(readFileSync(join(dir, GUARD_MARKER), 'utf8')).toBe('pod-uid-1');
  });

  it('starts etcd again for the same pod (a container restart), on the data it wrote', () => {
    const dir = join(root, 'restart');
    expect(run(dir).status).toBe(0);
    mkdirSync(join(dir, 'member', 'wal'), { recursive: true });
    expect([run(dir).status, run(dir).stdout]).toEqual([0, 'etcd started\n']);
  });

  it.each([
    ['an old member\'s data', (dir: string) => writeFileSync(join(dir, 'member', 'wal'), 'old'), 'pod-uid-1'],
    ['the data of another pod of the same name', (dir: string) => writeFileSync(join(dir, GUARD_MARKER), 'pod-uid-0'), 'pod-uid-1'],
    ['any data, when the pod\'s uid is unknown', (dir: string) => writeFileSync(join(dir, GUARD_MARKER), ''), ''],
  ])('does not start etcd on a directory with %s, and says why', (what, fill, uid) => {
    const dir = join(root, `dirty-${what.length}`);
    mkdirSync(join(dir, 'member'), { recursive: true });
    fill(dir);
    const result = run(dir, uid);
    expect(result.status).toBe(DATA_DIR_NOT_EMPTY_EXIT);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`data directory ${dir} is not empty and was not started by this pod`);
  });
});

describe('the pod of a recovery seed', () => {
  const change = { oldMemberName: 'etcd-1', newMemberName: 'etcd-3', nodeName: 'node-4', initialCluster: 'etcd-1=x,etcd-3=y' };

  it('restarts the survivor as it was, on its node and data, with --force-new-cluster once and without it after', () => {
    const forced = seedPod(template, true);
    expect(forced.metadata).toEqual({
      name: 'etcd-1',
      namespace: 'etcd',
      labels: { app: 'etcd', 'etcd-guardian.io/member': 'etcd-1' },
      annotations: { [RECOVERY_SEED_ANNOTATION]: 'force-new-cluster' },
    });
    expect(forced.spec?.nodeName).toBe('node-1');
    expect(forced.spec?.volumes).toEqual(template.spec?.volumes);
    expect(forced.spec?.containers[0]?.args).toEqual([...(template.spec?.containers[0]?.args ?? []), '--force-new-cluster']);
    const restarted = seedPod(forced, false);
    expect(restarted.spec?.containers[0]?.args).toEqual(template.spec?.containers[0]?.args);
    expect(restarted.metadata?.annotations).toEqual({ [RECOVERY_SEED_ANNOTATION]: 'restarted' });
    expect(restarted).not.toHaveProperty('status');
  });

  it("takes a successor's data-directory guard off: the seed's directory is its own and not empty", () => {
    const successor = successorPod(template, change);
    expect(successor.spec?.containers[0]?.command?.[0]).toBe('sh');
    const seed = seedPod(successor, true);
    expect(seed.spec?.containers[0]?.command).toEqual(['etcd']);
    expect(seed.spec?.containers[0]?.env ?? []).not.toContainEqual(expect.objectContaining({ name: GUARD_UID_ENV }));
  });

  it('never hands --force-new-cluster on to a member copied from the seed', () => {
    const successor = successorPod(seedPod(template, true), change);
    expect(successor.spec?.containers[0]?.args?.filter((a) => a.startsWith('--force-new-cluster'))).toEqual([]);
  });
});

describe('the pod of a seed restored from a backup', () => {
  const restored = restoredSeedPod(template, {
    oldMemberName: 'etcd-1',
    newMemberName: 'etcd-3',
    oldAddress: '127.20.0.2',
    newAddress: '127.20.0.5',
    nodeName: 'node-4',
    initialCluster: 'etcd-3=http://127.20.0.5:2380',
    token: 'main-restored-1',
    peerURL: 'http://127.20.0.5:2380',
    backup: { name: 'main-20261201T000000Z-ab', sha256: 'f'.repeat(64), source: 'http://127.0.0.1:8333/b?sig' },
  });
  const container = restored.spec?.containers[0];

  it('is a new member bootstrapping a one-member cluster under a new token, on its own data directory', () => {
    expect(restored.metadata?.name).toBe('etcd-3');
    expect(restored.spec?.nodeName).toBe('node-4');
    expect(container?.args).toEqual(
      expect.arrayContaining(['--name=etcd-3', '--initial-cluster=etcd-3=http://127.20.0.5:2380', '--initial-cluster-state=new', '--initial-cluster-token=main-restored-1', '--listen-peer-urls=http://127.20.0.5:2380']),
    );
    expect(restored.spec?.volumes).toEqual([{ name: 'data', hostPath: { path: '/var/lib/etcd-guardian/main/etcd-3', type: 'DirectoryOrCreate' } }]);
    expect(restored.metadata?.annotations).toMatchObject({ [RECOVERY_SEED_ANNOTATION]: 'restored', [RESTORED_FROM_ANNOTATION]: 'main-20261201T000000Z-ab' });
    expect(restored.metadata?.annotations).not.toHaveProperty(['etcd-guardian.io/replaces']);
  });

  it('runs the restore script before etcd, with the snapshot, its sha256 and the flags etcdutl needs', () => {
    expect(container?.command).toEqual(['sh', '-c', RESTORE_SCRIPT, 'etcd-guardian-restore', '/var/lib/etcd', 'etcd-3', 'etcd-3=http://127.20.0.5:2380', 'main-restored-1', 'http://127.20.0.5:2380', 'etcd']);
    expect(container?.env).toEqual([
      { name: RESTORE_ENV.source, value: 'http://127.0.0.1:8333/b?sig' },
      { name: RESTORE_ENV.sha256, value: 'f'.repeat(64) },
      { name: RESTORE_ENV.backup, value: 'main-20261201T000000Z-ab' },
    ]);
  });

  it('restarts as a plain seed without the script, and its copies never restore', () => {
    const plain = seedPod(restored, false);
    expect(plain.spec?.containers[0]?.command).toEqual(['etcd']);
    expect(plain.spec?.containers[0]).not.toHaveProperty('env');
    expect(plain.metadata?.annotations?.[RECOVERY_SEED_ANNOTATION]).toBe('restarted');
    const copy = successorPod(plain, { oldMemberName: 'etcd-3', newMemberName: 'etcd-4', nodeName: 'node-5', initialCluster: 'etcd-3=http://127.20.0.5:2380,etcd-4=http://127.20.0.6:2380' });
    expect(copy.spec?.containers[0]?.command?.slice(3, 6)).toEqual(['etcd-data-dir-guard', '/var/lib/etcd', 'etcd']);
    expect(copy.spec?.containers[0]?.env?.map((e) => e.name)).toEqual([GUARD_UID_ENV]);
    // A copy made while the seed still had its script is stripped too.
    const early = successorPod(restored, { oldMemberName: 'etcd-3', newMemberName: 'etcd-4', nodeName: 'node-5', initialCluster: 'etcd-4=x' });
    expect(early.spec?.containers[0]?.command?.slice(3)).toEqual(['etcd-data-dir-guard', '/var/lib/etcd', 'etcd']);
  });
});

describe('the restore script', () => {
  const root = mkdtempSync(join(tmpdir(), 'restore-'));
  const run = (dir: string, source: string, sha256: string) =>
    spawnSync('sh', ['-c', RESTORE_SCRIPT, 'etcd-guardian-restore', dir, 'etcd-3', 'etcd-3=http://127.0.0.1:2380', 'tok', 'http://127.0.0.1:2380', 'echo', 'etcd started'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', [RESTORE_ENV.source]: source, [RESTORE_ENV.sha256]: sha256, [RESTORE_ENV.backup]: 'b1' },
    });

  it('refuses a snapshot whose sha256 is not the recorded one, starts nothing, and keeps what the directory held', () => {
    const dir = join(root, 'mismatch');
    mkdirSync(join(dir, 'member', 'wal'), { recursive: true });
    const snapshot = join(root, 'snapshot.db');
    writeFileSync(snapshot, 'not the recorded bytes');
    const result = run(dir, snapshot, '0'.repeat(64));
    expect(result.status).toBe(RESTORE_FAILED_EXIT);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`backup b1 not restored: its snapshot has sha256 [0-9a-f]{64}, its record says ${'0'.repeat(64)}`));
    const aside = readdirSync(dir).filter((n) => n.startsWith('member.before-restore-'));
    expect(aside).toHaveLength(1);
    expect(readdirSync(join(dir, aside[0] ?? '?'))).toEqual(['wal']);
  });

  it('says so when the snapshot cannot be fetched', () => {
    const result = run(join(root, 'missing'), join(root, 'no-such-snapshot.db'), '0'.repeat(64));
    expect(result.status).toBe(RESTORE_FAILED_EXIT);
    expect(result.stderr).toContain('backup b1 not restored: the snapshot could not be fetched');
  });

  it('starts etcd at once on a directory it already restored this backup into (a container restart)', () => {
    const dir = join(root, 'restarted');
    mkdirSync(join(dir, 'member'), { recursive: true });
    writeFileSync(join(dir, RESTORE_MARKER), 'b1');
    expect(run(dir, '/nowhere', 'x')).toMatchObject({ status: 0, stdout: 'etcd started\n' });
  });
});
