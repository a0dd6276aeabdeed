import { approvalLines, waitingApproval } from '../../../src/cli/approval-command';
import { renderStatus, withApprovals } from '../../../src/cli/status-command';

const needed = { reasons: ['main is critical (approval.critical): every plan on it waits for a person'], timeoutMs: 3_600_000, since: '2026-12-01T10:00:00.000Z', deadline: '2026-12-01T11:00:00.000Z' };

describe('waitingApproval: a run that waits for a person, in one entry', () => {
  it.each([
    [
      'a migration',
      'migrateMember',
      { cluster: 'main', phase: 'awaiting-approval', member: 'etcd-0', strategy: 'surge', from: 'node-0', to: 'node-3', approvalNeeded: needed },
      { cluster: 'main', workflowId: 'w', operation: 'migration', plan: 'surge etcd-0 from node-0 to node-3', reasons: needed.reasons, since: needed.since, deadline: needed.deadline },
    ],
    [
      'a maintenance',
      'maintainCluster',
      { cluster: 'main', phase: 'awaiting-approval', plan: { mode: 'defragment', reasons: ['etcd-1 is 70% free pages'] }, approvalNeeded: needed },
      { cluster: 'main', workflowId: 'w', operation: 'maintenance', plan: 'defragment maintenance: etcd-1 is 70% free pages', reasons: needed.reasons, since: needed.since, deadline: needed.deadline },
    ],
    [
      'a repair',
      'repairMembership',
      { cluster: 'main', phase: 'awaiting-approval', plan: { kind: 'grow', reasons: ['2 of 3 voters'] }, approvalNeeded: needed },
      { cluster: 'main', workflowId: 'w', operation: 'repair', plan: 'repair (grow): 2 of 3 voters', reasons: needed.reasons, since: needed.since, deadline: needed.deadline },
    ],
    [
      'a recovery',
      'recoverCluster',
      { cluster: 'main', phase: 'awaiting-approval', assessment: { plan: { reasons: ['etcd-2 has the most data'] } }, approvalNeeded: needed },
      { cluster: 'main', workflowId: 'w', operation: 'recovery', plan: 'recovery from lost quorum: etcd-2 has the most data', reasons: needed.reasons, since: needed.since, deadline: needed.deadline },
    ],
  ])('%s', (_name, type, progress, expected) => {
    expect(waitingApproval(type, 'w', progress)).toEqual(expected);
  });

  it.each([
    ['a migration that runs', 'migrateMember', { phase: 'migrating' }],
    ['a migration that waits for a lease', 'migrateMember', { phase: 'waiting' }],
    ['a monitor', 'monitorCluster', { phase: 'awaiting-approval' }],
  ])('nothing for %s', (_name, type, progress) => {
    expect(waitingApproval(type, 'w', progress)).toBeUndefined();
  });
});

describe('approvalLines', () => {
  it('says when nothing waits', () => {
    expect(approvalLines([], 0)).toEqual(['no plan waits for approval']);
  });

  it('lists each plan by cluster: how long it waited, when it is abandoned, why, and the commands that answer it', () => {
    const now = Date.parse('2026-12-01T10:05:00.000Z');
    const entry = waitingApproval('migrateMember', 'etcd-guardian-migrate-main', {
      cluster: 'main',
      phase: 'awaiting-approval',
      member: 'etcd-0',
      strategy: 'surge',
      from: 'node-0',
      to: 'node-3',
      approvalNeeded: needed,
    });
    const other = { ...entry!, cluster: 'alpha', workflowId: 'etcd-guardian-migrate-alpha' };
    expect(approvalLines([entry!, other], now)).toEqual([
      'alpha: migration waiting for 5m, abandoned in 55m without an answer (etcd-guardian-migrate-alpha)',
      '  plan: surge etcd-0 from node-0 to node-3',
      '  why: main is critical (approval.critical): every plan on it waits for a person',
      '  approve: etcd-guardian approve alpha    reject: etcd-guardian reject alpha --reason "..."',
      'main: migration waiting for 5m, abandoned in 55m without an answer (etcd-guardian-migrate-main)',
      '  plan: surge etcd-0 from node-0 to node-3',
      '  why: main is critical (approval.critical): every plan on it waits for a person',
      '  approve: etcd-guardian approve main    reject: etcd-guardian reject main --reason "..."',
    ]);
  });
});

describe('status and the plans that wait for a person', () => {
  it('puts each waiting plan on its cluster, with or without a monitor, and says how to answer it', () => {
    const entry = waitingApproval('migrateMember', 'migrate-main', { cluster: 'main', phase: 'awaiting-approval', member: 'etcd-1', strategy: 'surge', from: 'node-1', to: 'node-4', approvalNeeded: needed });
    const reports = withApprovals([{ cluster: 'main', problem: 'no monitor running' }, { cluster: 'other', problem: 'no monitor running' }], entry ? [entry] : []);
    expect(renderStatus(reports).split('\n')).toEqual([
      'main: no monitor running',
      '  AWAITING APPROVAL: migration surge etcd-1 from node-1 to node-4 waits for a person until 2026-12-01T11:00:00.000Z (main is critical (approval.critical): every plan on it waits for a person): etcd-guardian approve main, or reject main --reason "..."',
      '',
      'other: no monitor running',
      '',
    ]);
  });
});
