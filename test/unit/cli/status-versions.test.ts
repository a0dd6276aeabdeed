import { renderStatus, type ClusterStatusReport } from '../../../src/cli/status-command';
import type { MemberSummary } from '../../../src/domain/assemble';
import type { MonitorStatus } from '../../../workflows/monitor';

function aMemberSummary(name: string, version?: string): MemberSummary {
  return { id: name, name, node: `node-${name.slice(-1)}`, healthy: true, isLearner: false, isLeader: name === 'etcd-0', ...(version === undefined ? {} : { version }) };
}

function aReport(members: MemberSummary[]): ClusterStatusReport {
  const status: MonitorStatus = { cluster: 'main', paused: false, health: 'healthy', cycles: 3, cyclesThisRun: 3, members, migration: {} };
  return { cluster: 'main', monitor: 'monitor-main', status };
}

describe('status names the etcd versions the guardian has not been tested with', () => {
  it('names a member on etcd 3.7 under the member table', () => {
    const text = renderStatus([aReport([aMemberSummary('etcd-0', '3.6.16'), aMemberSummary('etcd-1', '3.6.16'), aMemberSummary('etcd-2', '3.7.3')])]);
    expect(text).toContain('  etcd 3.7.3 on etcd-2: not tested with this guardian (tested: 3.4, 3.5, 3.6)');
    expect(text).not.toContain('on etcd-0');
  });

  it('says nothing of versions when every member runs a tested one, or did not answer', () => {
    const text = renderStatus([aReport([aMemberSummary('etcd-0', '3.4.23'), aMemberSummary('etcd-1', '3.5.35'), aMemberSummary('etcd-2')])]);
    expect(text).not.toContain('not tested');
  });
});
