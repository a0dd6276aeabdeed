import {
  isTestedEtcdVersion,
  learnerRefusalCode,
  livenessPath,
  parseEtcdVersion,
  peersMarkSilentPeerInactive,
  readinessPath,
  snapshotTool,
  untestedVersionNotes,
  type EtcdVersion,
} from '../../../src/domain/etcd-version';

function v(text: string): EtcdVersion {
  const parsed = parseEtcdVersion(text);
  if (parsed === undefined) throw new Error(`test version ${text} does not parse`);
  return parsed;
}

describe('reading an etcd version', () => {
  it.each([
    ['3.6.16', { major: 3, minor: 6, patch: 16, text: '3.6.16' }],
    ['v3.5.35', { major: 3, minor: 5, patch: 35, text: 'v3.5.35' }],
    ['3.6.0-rc.2', { major: 3, minor: 6, patch: 0, text: '3.6.0-rc.2' }],
    [' 3.4.23\n', { major: 3, minor: 4, patch: 23, text: '3.4.23' }],
  ])('%j reads as %j', (text, expected) => {
    expect(parseEtcdVersion(text)).toEqual(expected);
  });

  it.each(['', '3.6', 'three.six.one', '3.6.x', 'etcd 3.6.16'])('%j is not a version', (text) => {
    expect(parseEtcdVersion(text)).toBeUndefined();
  });
});

describe('which versions the guardian is tested with', () => {
  it.each([
    ['3.4.23', true],
    ['3.5.0', true],
    ['3.5.35', true],
    ['3.6.16', true],
    ['3.3.27', false],
    ['3.7.3', false],
    ['4.0.0', false],
  ])('etcd %s: tested %s', (text, tested) => {
    expect(isTestedEtcdVersion(v(text))).toBe(tested);
  });
});

describe('the endpoints that say a member is ready and alive', () => {
  it.each([
    ['3.4.23', '/health', '/health?serializable=true'],
    ['3.5.0', '/health', '/health?serializable=true'],
    ['3.5.10', '/health', '/health?serializable=true'],
    ['3.5.11', '/readyz', '/livez'],
    ['3.5.35', '/readyz', '/livez'],
    ['3.6.0', '/readyz', '/livez'],
    ['3.6.16', '/readyz', '/livez'],
    ['3.7.3', '/readyz', '/livez'],
    ['4.0.0', '/readyz', '/livez'],
  ])('etcd %s is asked %s for readiness and %s for liveness', (text, ready, live) => {
    expect(readinessPath(v(text))).toBe(ready);
    expect(livenessPath(v(text))).toBe(live);
  });
});

describe('the tool that restores or checks a snapshot', () => {
  it.each([
    ['3.4.23', 'etcdctl'],
    ['3.5.0', 'etcdutl'],
    ['3.5.35', 'etcdutl'],
    ['3.6.16', 'etcdutl'],
  ])('etcd %s: %s', (text, command) => {
    expect(snapshotTool(v(text)).command).toBe(command);
  });

  it('restores into a new data directory with the member name, cluster, peer URL and token', () => {
    const args = snapshotTool(v('3.6.16')).restoreArgs({
      snapshotFile: '/backups/main.db',
      dataDir: '/var/lib/etcd/restored',
      name: 'etcd-0',
      initialCluster: 'etcd-0=http://127.20.0.1:2380',
      initialAdvertisePeerUrls: 'http://127.20.0.1:2380',
      token: 'main-restored',
    });
    expect(args).toEqual([
      'snapshot',
      'restore',
      '/backups/main.db',
      '--data-dir=/var/lib/etcd/restored',
      '--name=etcd-0',
      '--initial-cluster=etcd-0=http://127.20.0.1:2380',
      '--initial-advertise-peer-urls=http://127.20.0.1:2380',
      '--initial-cluster-token=main-restored',
    ]);
  });

  it('checks a snapshot with `snapshot status` as JSON', () => {
    expect(snapshotTool(v('3.4.23')).statusArgs('/backups/main.db')).toEqual(['snapshot', 'status', '/backups/main.db', '--write-out=json']);
  });
});

describe('naming members on a version the guardian has not been tested with', () => {
  it('says nothing when every member runs a tested version', () => {
    expect(untestedVersionNotes([{ name: 'etcd-0', version: '3.6.16' }, { name: 'etcd-1', version: '3.5.35' }, { name: 'etcd-2', version: '3.4.23' }])).toEqual([]);
  });

  it('names each member on an untested version, with the tested ones', () => {
    expect(
      untestedVersionNotes([
        { name: 'etcd-0', version: '3.6.16' },
        { name: 'etcd-1', version: '3.7.3' },
        { name: 'etcd-2', version: '3.3.27' },
      ]),
    ).toEqual([
      'etcd 3.7.3 on etcd-1: not tested with this guardian (tested: 3.4, 3.5, 3.6)',
      'etcd 3.3.27 on etcd-2: not tested with this guardian (tested: 3.4, 3.5, 3.6)',
    ]);
  });

  it('says nothing of a member that reported no version (it did not answer)', () => {
    expect(untestedVersionNotes([{ name: 'etcd-0' }, { name: 'etcd-1', version: '' }])).toEqual([]);
  });

  it('names a version it cannot read as it came', () => {
    expect(untestedVersionNotes([{ name: 'etcd-0', version: 'devel' }])).toEqual([
      'etcd "devel" on etcd-0: not tested with this guardian (tested: 3.4, 3.5, 3.6)',
    ]);
  });
});

describe('whether peers mark a silent (frozen or cut-off) peer inactive', () => {
  it.each([
    ['3.4.23', true],
    ['3.5.0', false],
    ['3.5.35', false],
    ['3.6.16', false],
  ])('etcd %s: %s', (text, marks) => {
    expect(peersMarkSilentPeerInactive(v(text))).toBe(marks);
  });
});

describe('how a learner refuses what it does not serve', () => {
  it.each([
    ['3.4.23', 'UNAVAILABLE'],
    ['3.5.35', 'UNAVAILABLE'],
    ['3.6.0', 'FAILED_PRECONDITION'],
    ['3.6.16', 'FAILED_PRECONDITION'],
  ])('etcd %s: %s', (text, code) => {
    expect(learnerRefusalCode(v(text))).toBe(code);
  });
});
