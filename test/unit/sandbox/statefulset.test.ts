import type { V1Pod } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveArgs } from '../../../src/sandbox/daemon/launch';
import { ETCD_LABELS, memberFlag, memberLayout } from '../../../src/sandbox/etcd-cluster';
import {
  claimName,
  headlessServiceManifest,
  localVolumeManifest,
  ordinalOf,
  statefulSetManifest,
  storageClassManifest,
} from '../../../src/sandbox/etcd-statefulset';
import { resolveEtcdWorkload, resolveOptions } from '../../../src/sandbox/options';
import { resolveCommand, type PodPlacement } from '../../../src/sandbox/pods/container-command';
import { renderInfo, renderStatus } from '../../../src/sandbox/report';
import { layoutNodes, placeMembers } from '../../../src/sandbox/topology';
import type { SandboxInfo, SandboxStatus } from '../../../src/sandbox/types';

/**
 * The `statefulset` workload without starting a sandbox: the objects the sandbox creates (as the contract with the
 * guardian fixes them), the option and flag that ask for it, and the start script, run by a real `sh` from the pod
 * spec exactly as the node simulator resolves it, with stand-ins for etcd and etcdctl that record what they got.
 */

const nodes = layoutNodes({ nodes: 6, racks: 3, domains: 2, slot: 7 });
const members = memberLayout(placeMembers(nodes, 3));
const SERVICE = '127.27.255.1:2379';

describe('the StatefulSet the sandbox creates', () => {
  const sts = statefulSetManifest({ members, token: 'tok', version: '3.6.16', serviceAddress: SERVICE });
  const container = sts.spec?.template.spec?.containers[0];

  it('is etcd in namespace etcd, Parallel, one replica per member, behind the headless Service etcd, selecting the bare pods\' labels', () => {
    expect(sts.metadata).toMatchObject({ name: 'etcd', namespace: 'etcd' });
    expect(sts.spec).toMatchObject({ serviceName: 'etcd', podManagementPolicy: 'Parallel', replicas: 3, selector: { matchLabels: ETCD_LABELS } });
    expect(sts.spec?.template.metadata?.labels).toEqual(ETCD_LABELS);
  });

  it('claims one volume per member from the template data on the local StorageClass, mounted as the data directory', () => {
    expect(sts.spec?.volumeClaimTemplates?.map((t) => [t.metadata?.name, t.spec?.storageClassName, t.spec?.accessModes])).toEqual([
      ['data', 'etcd-guardian-local', ['ReadWriteOnce']],
    ]);
    expect(container?.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/etcd' }]);
    expect(claimName(1)).toBe('data-etcd-1');
  });

  it('names the member after its pod and takes its URLs from the pod\'s IP, so one template serves every node', () => {
    expect(container?.args?.slice(0, 7)).toEqual([
      'etcd',
      '--name=$(POD_NAME)',
      '--data-dir=/var/lib/etcd',
      '--listen-client-urls=http://$(POD_IP):2379',
      '--advertise-client-urls=http://$(POD_IP):2379',
      '--listen-peer-urls=http://$(POD_IP):2380',
      '--initial-advertise-peer-urls=http://$(POD_IP):2380',
    ]);
    expect(container?.args?.some((a) => a.startsWith('--initial-cluster='))).toBe(false);
    expect(container?.env?.find((e) => e.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect(container?.env?.find((e) => e.name === 'ETCD_CLUSTER_ENDPOINTS')?.value).toBe(`http://${SERVICE}`);
    expect(container?.env?.find((e) => e.name === 'ETCD_INITIAL_CLUSTER')?.value).toBe(
      'etcd-0=http://127.27.0.1:2380,etcd-1=http://127.27.0.2:2380,etcd-2=http://127.27.0.3:2380',
    );
  });
});

describe('the objects beside it', () => {
  it('a StorageClass without provisioner that binds when the pod is scheduled and retains volumes', () => {
    expect(storageClassManifest()).toMatchObject({
      metadata: { name: 'etcd-guardian-local' },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    });
  });

  it('a local volume per member, on its node, reserved for its claim (no uid)', () => {
    expect(localVolumeManifest({ ordinal: 1, node: 'node-4' })).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'etcd-data-1-node-4', labels: { 'etcd-guardian.io/cluster': 'main', 'etcd-guardian.io/member': 'etcd-1' } },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'etcd-guardian-local',
        local: { path: '/var/lib/etcd-guardian/etcd-data-1-node-4' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-4'] }] }] } },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'etcd', name: 'data-etcd-1' },
      },
    });
  });

  it('a headless Service etcd over the members', () => {
    expect(headlessServiceManifest().spec).toMatchObject({ clusterIP: 'None', selector: ETCD_LABELS });
  });

  it.each([
    ['etcd-0', 0],
    ['etcd-12', 12],
    ['etcd-01', undefined],
    ['etcd-1-x', undefined],
    ['other-1', undefined],
  ])('the ordinal of %s is %s', (name, ordinal) => {
    expect(ordinalOf(name)).toBe(ordinal);
  });
});

describe('asking for it', () => {
  it('defaults to bare pods', () => {
    expect(resolveOptions({ stateDir: '/s' }).etcdWorkload).toBe('pods');
  });

  it('refuses another workload, naming the value and the choices', () => {
    expect(() => resolveOptions({ stateDir: '/s', etcdWorkload: 'deployment' as 'pods' })).toThrow('invalid etcdWorkload "deployment": choose one of pods, statefulset');
    // The CLI's parser names its flag (the unit project cannot load the CLI module: it pulls in the ESM-only client).
    expect(() => resolveEtcdWorkload('sts', '--etcd-workload')).toThrow('invalid --etcd-workload "sts": choose one of pods, statefulset');
  });

  it('the flag reaches the background process', () => {
    expect(serveArgs({ stateDir: '/s', etcdWorkload: 'statefulset' }, '/s')).toEqual(
      expect.arrayContaining(['--etcd-workload', 'statefulset']),
    );
  });
});

/** A pod the StatefulSet controller would make for an ordinal, as the API returns it once it runs on `node`. */
function statefulPod(ordinal: number, nodeIndex: number, tls = false): V1Pod {
  const sts = statefulSetManifest({ members: memberLayout(placeMembers(nodes, 3), tls), token: 'tok', tls, version: '3.6.16', serviceAddress: SERVICE });
  const template = sts.spec?.template;
  const address = nodes[nodeIndex]?.address ?? '';
  return {
    metadata: { ...template?.metadata, name: `etcd-${ordinal}`, namespace: 'etcd', uid: `uid-${ordinal}` },
    spec: {
      ...(template?.spec ?? { containers: [] }),
      nodeName: `node-${nodeIndex}`,
      volumes: [...(template?.spec?.volumes ?? []), { name: 'data', persistentVolumeClaim: { claimName: claimName(ordinal) } }],
    },
    status: { podIP: address, hostIP: address },
  };
}

describe('the member as `sandbox status` reads it', () => {
  it('has its pod\'s name and its node\'s client URL once it runs, nothing before', () => {
    const pod = statefulPod(1, 4);
    expect([memberFlag(pod, 'name'), memberFlag(pod, 'advertise-client-urls')]).toEqual(['etcd-1', 'http://127.27.0.5:2379']);
    expect(memberFlag({ ...pod, status: {} }, 'advertise-client-urls')).toBeUndefined();
  });

  it('and both renderings name the workload', () => {
    const status: SandboxStatus = { stateDir: '/s', observedAt: '', etcdVersion: '3.6.16', etcdWorkload: 'statefulset', nodes: [], members: [], faults: {} };
    expect(renderStatus(status)).toContain('etcd 3.6.16, StatefulSet etcd');
    const info = {
      stateDir: '/s',
      kubeconfig: '/s/kubeconfig',
      apiServerUrl: 'https://127.0.0.1:20720',
      logsDir: '/s/logs',
      nodes: [],
      etcd: {
        namespace: 'etcd',
        cluster: 'main',
        selector: 'a=b',
        clientUrls: [],
        members: [],
        workload: 'statefulset',
        statefulSet: { name: 'etcd', serviceName: 'etcd', claimTemplate: 'data', storageClassName: 'etcd-guardian-local' },
      },
    } as unknown as SandboxInfo;
    expect(renderInfo(info)).toContain(
      'etcd workload   StatefulSet etcd (headless Service etcd, claims data-etcd-<ordinal> on local volumes of StorageClass etcd-guardian-local)',
    );
    const { statefulSet: _sts, ...bare } = info.etcd;
    expect(renderInfo({ ...info, etcd: { ...bare, workload: 'pods' } })).toContain('etcd workload   bare pods (one per member, made by the sandbox)');
    expect(renderStatus({ ...status, etcdWorkload: 'pods' })).toContain('etcd 3.6.16, bare pods');
  });
});

/** What one run of the start script did. */
interface StartRun {
  exitCode: number | null;
  stderr: string;
  /** etcd's arguments, one a line, if it was started. */
  etcdArgs?: string[];
  /** The ETCD_* variables etcd saw (etcd refuses to start when one duplicates a flag). */
  etcdEnv?: string[];
  /** The endpoints etcdctl was given, if it was asked. */
  etcdctlEndpoints?: string;
}

describe('the start script', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eg-sts-start-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const out = join(dir, 'out');
    mkdirSync(out);
    // Stand-ins that record what they were given: etcd its arguments and its ETCD_* environment; etcdctl its endpoints,
    // answering with $FAKE_MEMBER_LIST or failing as an unreachable cluster does.
    writeFileSync(join(bin, 'etcd'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}/etcd-args\nenv | grep '^ETCD_' | sort > ${out}/etcd-env\nexit 0\n`);
    writeFileSync(
      join(bin, 'etcdctl'),
      `#!/bin/sh\nprintf '%s' "$ETCDCTL_ENDPOINTS" > ${out}/etcdctl-endpoints\nif [ -n "\${FAKE_MEMBER_LIST:-}" ]; then printf '%s\\n' "$FAKE_MEMBER_LIST"; exit 0; fi\necho 'Error: context deadline exceeded' >&2; exit 1\n`,
    );
    chmodSync(join(bin, 'etcd'), 0o755);
    chmodSync(join(bin, 'etcdctl'), 0o755);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the pod's command on node `nodeIndex` as the node simulator would, its claim mounted at the ordinal's volume there. */
  function start(ordinal: number, nodeIndex: number, memberList?: string, tls = false): StartRun {
    const nodeName = `node-${nodeIndex}`;
    const placement: PodPlacement = {
      nodeName,
      hostIP: nodes[nodeIndex]?.address ?? '',
      podIP: nodes[nodeIndex]?.address ?? '',
      hostPathRoot: join(dir, 'nodes', nodeName, 'hostpath'),
      podDir: join(dir, 'nodes', nodeName, 'pods', `etcd_etcd-${ordinal}`),
      claimPaths: { data: `/var/lib/etcd-guardian/etcd-data-${ordinal}-${nodeName}` },
    };
    const command = resolveCommand(statefulPod(ordinal, nodeIndex, tls), placement);
    const result = spawnSync(command.executable, command.args, {
      encoding: 'utf8',
      env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, ...command.env, ...(memberList === undefined ? {} : { FAKE_MEMBER_LIST: memberList }) },
    });
    const read = (name: string): string | undefined => (existsSync(join(dir, 'out', name)) ? readFileSync(join(dir, 'out', name), 'utf8') : undefined);
    const lines = (text: string | undefined): string[] | undefined => text?.split('\n').filter((l) => l !== '');
    return {
      exitCode: result.status,
      stderr: result.stderr,
      ...(read('etcd-args') === undefined ? {} : { etcdArgs: lines(read('etcd-args')), etcdEnv: lines(read('etcd-env')) }),
      ...(read('etcdctl-endpoints') === undefined ? {} : { etcdctlEndpoints: read('etcdctl-endpoints') }),
    };
  }

  const common = (address: string, name: string, dataDir: string): string[] => [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=http://${address}:2379`,
    `--advertise-client-urls=http://${address}:2379`,
    `--listen-peer-urls=http://${address}:2380`,
    `--initial-advertise-peer-urls=http://${address}:2380`,
    '--initial-cluster-token=tok',
    '--logger=zap',
    '--log-outputs=stderr',
  ];
  const dataDir = (ordinal: number, node: string): string => join(dir, 'nodes', node, 'hostpath', 'var/lib/etcd-guardian', `etcd-data-${ordinal}-${node}`);

  it('bootstraps an initial member on its own node when no cluster answers, with no ETCD_ variable left for etcd to trip on', () => {
    const run = start(1, 1);
    expect(run.exitCode).toBe(0);
    expect(run.etcdctlEndpoints).toBe(`http://${SERVICE}`);
    expect(run.etcdArgs).toEqual([
      ...common('127.27.0.2', 'etcd-1', dataDir(1, 'node-1')),
      '--initial-cluster-state=new',
      '--initial-cluster=etcd-0=http://127.27.0.1:2380,etcd-1=http://127.27.0.2:2380,etcd-2=http://127.27.0.3:2380',
    ]);
    expect(run.etcdEnv).toEqual([]);
  });

  it('never bootstraps a member moved to another node: it exits 1 and says why', () => {
    const run = start(1, 4);
    expect(run.exitCode).toBe(1);
    expect(run.etcdArgs).toBeUndefined();
    expect(run.stderr).toContain('no cluster answers at http://127.27.255.1:2379 and etcd-1=http://127.27.0.5:2380 is not one of the initial members');
  });

  it('joins as the learner the guardian added at its peer URL, with the started members and itself as the initial cluster', () => {
    const list = [
      '8e9e05c52164694d, started, etcd-0, http://127.27.0.1:2380, http://127.27.0.1:2379, false',
      '91bc3c398fb3c146, unstarted, , http://127.27.0.5:2380, , true',
      'fd422379fda50e48, started, etcd-2, http://127.27.0.3:2380, http://127.27.0.3:2379, false',
    ].join('\n');
    const run = start(1, 4, list);
    expect(run.exitCode).toBe(0);
    expect(run.etcdArgs).toEqual([
      ...common('127.27.0.5', 'etcd-1', dataDir(1, 'node-4')),
      '--initial-cluster-state=existing',
      '--initial-cluster=etcd-0=http://127.27.0.1:2380,etcd-2=http://127.27.0.3:2380,etcd-1=http://127.27.0.5:2380',
    ]);
    expect(run.etcdEnv).toEqual([]);
  });

  it('waits (exit 1, for the kubelet\'s back-off) while the running cluster does not list its peer URL', () => {
    const list = [
      '8e9e05c52164694d, started, etcd-0, http://127.27.0.1:2380, http://127.27.0.1:2379, false',
      'fd422379fda50e48, started, etcd-2, http://127.27.0.3:2380, http://127.27.0.3:2379, false',
    ].join('\n');
    const run = start(1, 4, list);
    expect(run.exitCode).toBe(1);
    expect(run.etcdArgs).toBeUndefined();
    expect(run.stderr).toContain('does not list http://127.27.0.5:2380: not starting until etcd-1 is added (as a learner)');
  });

  it('restarts a member whose volume holds data without asking the cluster or passing initial-cluster flags', () => {
    mkdirSync(join(dataDir(2, 'node-2'), 'member'), { recursive: true });
    const run = start(2, 2);
    expect(run.exitCode).toBe(0);
    expect(run.etcdctlEndpoints).toBeUndefined();
    expect(run.etcdArgs).toEqual(common('127.27.0.3', 'etcd-2', dataDir(2, 'node-2')));
  });

  it('with TLS asks the cluster over https with the pod\'s client certificate and runs etcd with the TLS flags', () => {
    const list = '8e9e05c52164694d, started, etcd-0, https://127.27.0.1:2380, https://127.27.0.1:2379, false\n91bc3c398fb3c146, unstarted, , https://127.27.0.5:2380, , true';
    const run = start(1, 4, list, true);
    expect(run.exitCode).toBe(0);
    expect(run.etcdctlEndpoints).toBe(`https://${SERVICE}`);
    expect(run.etcdArgs).toEqual(expect.arrayContaining(['--client-cert-auth=true', '--initial-cluster-state=existing', '--initial-cluster=etcd-0=https://127.27.0.1:2380,etcd-1=https://127.27.0.5:2380']));
    expect(run.etcdArgs).toContain(`--cert-file=${join(dir, 'nodes/node-4/hostpath/etc/kubernetes/pki/etcd/server.crt')}`);
  });
});
