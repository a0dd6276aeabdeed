import { type V1Pod } from '@kubernetes/client-node';
import { SandboxArgumentError } from '../../src/sandbox';
import { resolveOptions } from '../../src/sandbox/options';
import { kubeletConditions } from '../../src/sandbox/nodes/conditions';
import { controllerManagerArgs, nodeMonitorPeriodSeconds } from '../../src/sandbox/kube-controllers';
import { type Pki } from '../../src/sandbox/pki';
import { baselineUsage, usageQuantities } from '../../src/sandbox/nodes/usage';
import { nextBackoffMs } from '../../src/sandbox/pods/backoff';
import { resolveCommand } from '../../src/sandbox/pods/container-command';
import { expandVars } from '../../src/sandbox/pods/expansion';
import { layoutNodes, placeMembers } from '../../src/sandbox/topology';

/**
 * The sandbox's pure rules, without starting anything: topology, placement of the initial members, what the
 * simulated kubelet runs for a pod spec, and the node lifecycle controller's conditions and taints. (They sit here,
 * next to the sandbox's integration tests, because test/unit belongs to the domain.)
 */

const now = new Date('2026-01-01T10:00:00Z');
const pair = (name: string) => ({ cert: `/pki/${name}.crt`, key: `/pki/${name}.key` });
const fakePki: Pki = {
  ca: pair('ca'),
  apiServer: pair('apiserver'),
  metricsServer: pair('metrics'),
  frontProxyCa: pair('front-proxy-ca'),
  frontProxyClient: pair('front-proxy-client'),
  serviceAccountKey: '/pki/sa.key',
  serviceAccountPub: '/pki/sa.pub',
};

describe('the sandbox topology', () => {
  it('puts racks inside domains: 3 racks in 2 domains gives rack-0 and rack-1 in zone-0, rack-2 in zone-1', () => {
    expect(layoutNodes({ nodes: 6, racks: 3, domains: 2, slot: 4 }).map((n) => [n.name, n.address, n.rack, n.domain])).toEqual([
      ['node-0', '127.24.0.1', 'rack-0', 'zone-0'],
      ['node-1', '127.24.0.2', 'rack-1', 'zone-0'],
      ['node-2', '127.24.0.3', 'rack-2', 'zone-1'],
      ['node-3', '127.24.0.4', 'rack-0', 'zone-0'],
      ['node-4', '127.24.0.5', 'rack-1', 'zone-0'],
      ['node-5', '127.24.0.6', 'rack-2', 'zone-1'],
    ]);
  });

  it.each([
    [3, 6, 3, ['node-0', 'node-1', 'node-2']],
    [5, 6, 3, ['node-0', 'node-1', 'node-2', 'node-3', 'node-4']],
    [5, 9, 3, ['node-0', 'node-1', 'node-2', 'node-3', 'node-4']],
    [7, 7, 3, ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6']],
    [3, 4, 2, ['node-0', 'node-1', 'node-2']],
  ])('places %i members on %i nodes in %i racks one rack at a time', (members, nodes, racks, expected) => {
    const layout = layoutNodes({ nodes, racks, domains: 1, slot: 0 });
    const placed = placeMembers(layout, members);
    expect(placed.map((n) => n.name)).toEqual(expected);
    const perRack = new Map<string, number>();
    for (const node of placed) perRack.set(node.rack, (perRack.get(node.rack) ?? 0) + 1);
    expect(Math.max(...perRack.values()) - Math.min(...perRack.values())).toBeLessThanOrEqual(1);
  });
});

describe('the sandbox options', () => {
  it.each([
    [{ members: 4 }, 'invalid member count 4: choose one of 1, 3, 5, 7'],
    [{ members: 0 }, 'invalid member count 0: choose one of 1, 3, 5, 7'],
    [{ members: 9 }, 'invalid member count 9: choose one of 1, 3, 5, 7'],
    [{ members: 7, nodes: 6 }, 'invalid member count 7: 6 nodes hold at most 6 members; choose more nodes or fewer members'],
    [{ nodes: 0 }, 'invalid node count 0: choose a whole number from 1 to 250'],
    [{ racks: 7 }, 'invalid rack count 7: choose a whole number from 1 to 6'],
    [{ domains: 4 }, 'invalid domain count 4: choose a whole number from 1 to 3'],
    [{ slot: 100 }, 'invalid slot 100: choose a whole number from 0 to 99'],
    [{ nodeGracePeriodSeconds: 0 }, 'invalid nodeGracePeriodSeconds 0: choose from 1 to 600 seconds'],
  ])('rejects %j with one line naming the value and the choices', (options, message) => {
    expect(() => resolveOptions({ stateDir: '/tmp/x', ...options })).toThrow(new SandboxArgumentError(message));
  });

  it('defaults to 6 nodes, 3 racks, 2 domains, 3 members, Temporal on and an 8 s grace period', () => {
    const resolved = resolveOptions({ stateDir: 'relative/dir' });
    expect(resolved).toMatchObject({ nodes: 6, racks: 3, domains: 2, members: 3, temporal: true, nodeGracePeriodSeconds: 8 });
    expect(resolved.stateDir.startsWith('/')).toBe(true);
  });
});

describe('what the simulated kubelet runs', () => {
  it.each([
    ['$(A)-x', 'alpha-x'],
    ['$$(A)', '$(A)'],
    ['$(MISSING)', '$(MISSING)'],
    ['$(A', '$(A'],
    ['cost $5', 'cost $5'],
    ['$(A)$(B)', 'alphabeta'],
  ])('expands %s to %s as Kubernetes does', (input, output) => {
    const env: Record<string, string> = { A: 'alpha', B: 'beta' };
    expect(expandVars(input, (name) => env[name])).toBe(output);
  });

  it('fills env from values and field references, expands args, and maps mount paths to the node hostPath', () => {
    const pod: V1Pod = {
      metadata: { name: 'etcd-9', namespace: 'etcd', uid: 'u-1' },
      spec: {
        nodeName: 'node-4',
        containers: [
          {
            name: 'etcd',
            image: 'etcd',
            command: ['etcd'],
            args: ['--name=$(POD_NAME)', '--data-dir=/var/lib/etcd', '--wal-dir=/var/lib/etcd/wal', '--listen-client-urls=http://$(HOST_IP):2379'],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              { name: 'GREETING', value: 'hello $(POD_NAME)' },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }],
          },
        ],
        volumes: [{ name: 'data', hostPath: { path: '/var/lib/etcd-guardian/main/etcd-9', type: 'DirectoryOrCreate' } }],
      },
    };
    const resolved = resolveCommand(pod, {
      nodeName: 'node-4',
      hostIP: '127.20.0.5',
      podIP: '127.20.0.5',
      hostPathRoot: '/state/nodes/node-4/hostpath',
      podDir: '/state/nodes/node-4/pods/etcd_etcd-9',
    });
    const dataDir = '/state/nodes/node-4/hostpath/var/lib/etcd-guardian/main/etcd-9';
    expect(resolved).toEqual({
      executable: 'etcd',
      args: ['--name=etcd-9', `--data-dir=${dataDir}`, `--wal-dir=${dataDir}/wal`, '--listen-client-urls=http://127.20.0.5:2379'],
      env: { POD_NAME: 'etcd-9', HOST_IP: '127.20.0.5', GREETING: 'hello etcd-9' },
      mounts: [{ mountPath: '/var/lib/etcd', hostDir: dataDir, create: true }],
    });
  });

  it.each([
    [undefined, 1_000, 1_000],
    [1_000, 1_000, 2_000],
    [4_000, 1_000, 8_000],
    [8_000, 1_000, 8_000],
    [8_000, 60_000, 1_000],
  ])('after a delay of %s ms and a run of %i ms, waits %i ms before the next start', (previous, ran, next) => {
    expect(nextBackoffMs(previous, ran)).toBe(next);
  });
});

describe('the node conditions the simulated kubelet posts', () => {
  it('keeps a condition transition time while its status holds', () => {
    const earlier = new Date('2026-01-01T09:00:00Z');
    const first = kubeletConditions({ memoryPressure: false }, [], earlier);
    const again = kubeletConditions({ memoryPressure: true }, first, now);
    expect(again.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['MemoryPressure', 'True', '2026-01-01T10:00:00Z'],
      ['DiskPressure', 'False', '2026-01-01T09:00:00Z'],
      ['PIDPressure', 'False', '2026-01-01T09:00:00Z'],
      ['Ready', 'True', '2026-01-01T09:00:00Z'],
    ]);
  });

});

describe('the real controller-manager and scheduler the sandbox runs', () => {
  it.each([
    [8, 1],
    [20, 2],
    [50, 5],
    [300, 5],
  ])('with a %i s node grace period, the node lifecycle controller looks every %i s (Kubernetes: 5 s at 50 s)', (grace, period) => {
    expect(nodeMonitorPeriodSeconds(grace)).toBe(period);
    expect(controllerManagerArgs({ kubeconfig: '/k', pki: fakePki, gracePeriodSeconds: grace })).toEqual(
      expect.arrayContaining([`--node-monitor-grace-period=${grace}s`, `--node-monitor-period=${period}s`]),
    );
  });

  it('runs every default controller but the endpoint ones, which refuse the loopback pod addresses', () => {
    const args = controllerManagerArgs({ kubeconfig: '/k', pki: fakePki, gracePeriodSeconds: 8 });
    expect(args).toContain('--controllers=*,-endpoint,-endpointslice,-endpointslicemirroring');
    expect(args).toContain('--use-service-account-credentials=true');
    expect(args).toContain(`--service-account-private-key-file=${fakePki.serviceAccountKey}`);
  });
});

describe('simulated node usage', () => {
  it('idles each node at a steady baseline of 10-30% CPU and 20-35% memory', () => {
    for (const name of ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-17']) {
      const usage = baselineUsage(name);
      expect(usage).toEqual(baselineUsage(name));
      expect([usage.cpu >= 0.1 && usage.cpu <= 0.3, usage.memory >= 0.2 && usage.memory <= 0.35]).toEqual([true, true]);
    }
  });

  it('reports usage as metrics-server does: nanocores and KiB of a 4-CPU, 16 GiB node', () => {
    expect(usageQuantities({ cpu: 0.95, memory: 0.5 })).toEqual({ cpu: '3800000000n', memory: '8388608Ki' });
  });
});
