import { describeResult } from '../../../src/report/activities';
import type { ActivitySpan } from '../../../src/report/history';
import { migrationStepLabeller } from '../../../src/report/migration';

/** Activity results in a report's words, for the input and result shapes of current and older workflow code. */

const SKIPPED = 'no backup of cluster main before this migration (backup.required is false): EACCES: permission denied, open \'/backups/main-migrate-main.db\'';

describe('what a completed activity did, in one line', () => {
  it.each([
    [
      'a backup says its size, revision, hash and file',
      'backupSnapshot',
      { cluster: 'main', migrationId: 'migrate-main' },
      { path: '/backups/main-migrate-main.db', revision: 6, bytes: 20512, sha256: '3a89471a27db6c4694738d9883b8925dd2899024da345f9f2daca61afcb6446e', endpoint: 'http://127.22.0.1:2379' },
      '20512 bytes at revision 6, sha256 3a89471a27db, /backups/main-migrate-main.db',
    ],
    [
      'a skipped backup says why there is none, not "0 bytes"',
      'backupSnapshot',
      { cluster: 'main', migrationId: 'migrate-main' },
      { path: '/backups/main-migrate-main.db', revision: 0, bytes: 0, sha256: '', endpoint: 'http://127.22.0.1:2379', skipped: SKIPPED },
      `no backup: ${SKIPPED}`,
    ],
    [
      'a learner added from a peer URL (current input)',
      'addLearner',
      { cluster: 'main', podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', surge: true },
      { id: '6f493d5e946f9085', peerURL: 'http://127.22.0.5:2380', added: true },
      'learner added: etcd-3 (6f493d5e946f9085) at http://127.22.0.5:2380',
    ],
    [
      'a learner added on a node (input of older histories)',
      'addLearner',
      { cluster: 'main', nodeName: 'node-4', podName: 'etcd-3' },
      { id: '6f493d5e946f9085', peerURL: 'http://127.22.0.5:2380', added: true },
      'learner added: etcd-3 (6f493d5e946f9085) at http://127.22.0.5:2380',
    ],
    [
      'a learner that was already a member, its answer lost the first time',
      'addLearner',
      { cluster: 'main', podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380' },
      { id: '6f493d5e946f9085', peerURL: 'http://127.22.0.5:2380', added: false },
      'already a member: etcd-3 (6f493d5e946f9085) at http://127.22.0.5:2380',
    ],
    [
      'a successor taken back whole: member removed, then its pod',
      'retireSuccessor',
      { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', memberId: '6f493d5e946f9085' } },
      { removed: true, podDeleted: true },
      'removed member etcd-3 (6f493d5e946f9085), then deleted its pod',
    ],
    [
      'a successor removed whose pod was already gone',
      'retireSuccessor',
      { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', memberId: '6f493d5e946f9085' } },
      { removed: true, podDeleted: false },
      'removed member etcd-3 (6f493d5e946f9085), its pod was already gone',
    ],
    [
      'a successor whose add-learner answer was lost, found by nothing but its peer URL, never a member',
      'retireSuccessor',
      { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380' } },
      { removed: false, podDeleted: true },
      'etcd-3 was not a member, deleted its pod',
    ],
    [
      'a successor with neither a member nor a pod left',
      'retireSuccessor',
      { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380' } },
      { removed: false, podDeleted: false },
      'etcd-3 was not a member, its pod was already gone',
    ],
    [
      'the compensation of older histories, still read',
      'removeAddedMember',
      { cluster: 'main', nodeName: 'node-4', podName: 'etcd-3' },
      { removed: true },
      'removed etcd-3 on node-4',
    ],
    [
      'a down voter a replace took along that answers again',
      'removeMember',
      { cluster: 'main', memberId: '5', onlyIfDown: true, successorFollows: true },
      { removed: false, answers: true },
      'member 5 answers again: left in place',
    ],
    [
      'a member already removed',
      'removeMember',
      { cluster: 'main', memberId: '5', onlyIfDown: false, successorFollows: true },
      { removed: false },
      'member 5 was already gone',
    ],
    [
      'a pod deleted by force, saying why',
      'deletePod',
      { cluster: 'main', podName: 'etcd-2', memberId: '3', memberDown: true },
      { deleted: true, forced: true, why: 'member etcd-2 was down when planned' },
      'deleted pod etcd-2 (forced: member etcd-2 was down when planned)',
    ],
    [
      'a pod deleted by force by an older worker that gave no reason',
      'deletePod',
      { cluster: 'main', podName: 'etcd-2' },
      { deleted: true, forced: true },
      'deleted pod etcd-2 (forced: node not ready)',
    ],
  ])('%s', (_name, type, input, result, line) => {
    expect(describeResult(type, input, result)).toBe(line);
  });
});

/** A completed activity span of `type` with `input`, scheduled as event `id`. */
function aSpan(id: number, type: string, input: unknown): ActivitySpan {
  return { scheduledEventId: id, activityId: String(id), type, input, scheduledMs: id * 1000, attempt: 1, status: 'completed', closedMs: id * 1000 + 500 };
}

describe('which step or compensation an activity was', () => {
  const current = [
    aSpan(1, 'addLearner', { cluster: 'main', podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', surge: true }),
    aSpan(2, 'retireSuccessor', { cluster: 'main', successor: { podName: 'etcd-3', peerURL: 'http://127.22.0.5:2380', memberId: '6f493d5e946f9085' } }),
    aSpan(3, 'deletePod', { cluster: 'main', podName: 'etcd-1', memberId: '2' }),
  ];
  const older = [
    aSpan(1, 'addLearner', { cluster: 'main', nodeName: 'node-4', podName: 'etcd-3' }),
    aSpan(2, 'deletePod', { cluster: 'main', podName: 'etcd-3' }),
    aSpan(3, 'removeAddedMember', { cluster: 'main', nodeName: 'node-4', podName: 'etcd-3' }),
    aSpan(4, 'deletePod', { cluster: 'main', podName: 'etcd-1' }),
  ];

  it.each([
    ['current code', current, [['schedule-pod', false], ['compensate: retire etcd-3', true], ['delete-pod', false]]],
    [
      'older code, whose compensation deleted the pod it created, then removed the learner',
      older,
      [['schedule-pod', false], ['compensate: delete pod etcd-3', true], ['compensate: remove learner etcd-3 on node-4', true], ['delete-pod', false]],
    ],
  ])('labels the activities of %s', (_name, spans, labels) => {
    const label = migrationStepLabeller(spans);
    expect(spans.map((s) => { const l = label(s); return [l.step, l.compensation]; })).toEqual(labels);
  });

  it('names a retire whose input lost its successor with a question mark rather than failing', () => {
    const span = aSpan(1, 'retireSuccessor', { cluster: 'main' });
    expect(migrationStepLabeller([span])(span)).toEqual({ step: 'compensate: retire ?', compensation: true });
  });
});
