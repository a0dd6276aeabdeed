import type { V1Pod } from '@kubernetes/client-node';
import { toPodInfo } from '../../../src/kube/convert';

function crashed(message: string | undefined, where: 'state' | 'lastState'): V1Pod {
  const terminated = { exitCode: 1, reason: 'Error', ...(message !== undefined ? { message } : {}) };
  return {
    metadata: { name: 'etcd-1' },
    spec: { nodeName: 'node-1', containers: [{ name: 'etcd' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'etcd', image: 'etcd', imageID: '', ready: false, restartCount: 4, ...(where === 'state' ? { state: { terminated } } : { state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated } }) }] },
  };
}

describe('toPodInfo', () => {
  it.each<[string, V1Pod, string | undefined]>([
    ['a crash loop whose last exit names a wiped data directory', crashed('{"msg":"discovery failed","error":"member 4fdc66716f67c6c8 has already been bootstrapped"}', 'lastState'), 'its data directory was wiped'],
    ['a container that just exited on a corrupt database', crashed('panic: failed to open database', 'state'), 'its database file (member/snap/db) is corrupt'],
    ['an exit that says nothing of the data', crashed('bind: address already in use', 'lastState'), undefined],
    ['an exit without a message (no FallbackToLogsOnError)', crashed(undefined, 'lastState'), undefined],
  ])('%s', (_case, pod, fault) => {
    const info = toPodInfo(pod);
    expect(info.restartCount).toBe(4);
    if (fault === undefined) expect(info).not.toHaveProperty('dataFault');
    else expect(info.dataFault).toMatch(new RegExp(`^${fault.replace(/[()/]/g, '\\$&')}`));
    expect(info.lastExit).toEqual({ exitCode: 1, reason: 'Error' });
  });

  it('a container that never exited has no last exit', () => {
    const pod: V1Pod = { metadata: { name: 'etcd-1' }, status: { containerStatuses: [{ name: 'etcd', image: 'etcd', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } };
    expect(toPodInfo(pod)).not.toHaveProperty('lastExit');
  });
});
