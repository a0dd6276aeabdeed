import { nextOrdinalAction, type OrdinalClaimView, type OrdinalPodView } from '../../../src/domain/stateful-ordinal';

const now = new Date('2026-11-30T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const pod = (over: Partial<OrdinalPodView> = {}): OrdinalPodView => ({ uid: 'p1', nodeName: 'node-1', phase: 'Running', nodeReady: true, ...over });
const claim = (over: Partial<OrdinalClaimView> = {}): OrdinalClaimView => ({ uid: 'c1', volumeName: 'old-vol', deleting: false, ...over });
const act = (p: OrdinalPodView | undefined, c: OrdinalClaimView | undefined) =>
  nextOrdinalAction({ ...(p ? { pod: p } : {}), ...(c ? { claim: c } : {}), targetNode: 'node-4', volume: 'new-vol', now });

describe('what the guardian does next to have the StatefulSet recreate an ordinal on the reserved volume', () => {
  it.each<[string, OrdinalPodView | undefined, OrdinalClaimView | undefined, { deleteClaim: boolean; deletePod: boolean; force: boolean; placed: boolean; forceReason?: string }]>([
    ['pod on its old node, claim on the old volume: both go, gracefully', pod(), claim(), { deleteClaim: true, deletePod: true, force: false, placed: false }],
    ['the old node is not Ready: the pod goes at once', pod({ nodeReady: false }), claim(), { deleteClaim: true, deletePod: true, force: true, placed: false, forceReason: 'node not ready' }],
    ['pod terminating within its grace period on a Ready node: left to its kubelet', pod({ deletingSince: ago(1_000) }), claim({ deleting: true }), { deleteClaim: false, deletePod: false, force: false, placed: false }],
    ['pod terminating past its grace period: forced', pod({ deletingSince: ago(6_000) }), claim({ deleting: true }), { deleteClaim: false, deletePod: true, force: true, placed: false, forceReason: 'still terminating past its grace period' }],
    ['unscheduled pod on a claim being deleted: it goes too', pod({ nodeName: undefined, nodeReady: false, phase: 'Pending' }), claim({ deleting: true, volumeName: undefined }), { deleteClaim: false, deletePod: true, force: true, placed: false, forceReason: 'node not ready' }],
    ['nothing there yet: wait for the controller', undefined, undefined, { deleteClaim: false, deletePod: false, force: false, placed: false }],
    ['the new pod runs on the target with the claim on the reserved volume: placed', pod({ nodeName: 'node-4' }), claim({ volumeName: 'new-vol' }), { deleteClaim: false, deletePod: false, force: false, placed: true }],
    ['the new pod on the target but still Pending: not yet', pod({ nodeName: 'node-4', phase: 'Pending' }), claim({ volumeName: 'new-vol' }), { deleteClaim: false, deletePod: false, force: false, placed: false }],
    ['a claim without a uid is never deleted (no precondition to hold it to)', pod({ nodeName: 'node-4' }), claim({ uid: undefined }), { deleteClaim: false, deletePod: true, force: false, placed: false }],
  ])('%s', (_name, p, c, expected) => {
    expect(act(p, c)).toEqual(expected);
  });
});
